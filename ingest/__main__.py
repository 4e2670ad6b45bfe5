"""python -m ingest: add articles to the library, list them, remove them, check the store.

python -m ingest PATH|URL|- ... [--store DIR] [--include GLOB] [--exclude GLOB] [--keep comments] [--allow-private]
                                [--dry-run [--show]] [--ray local|ADDRESS]   (--ray: embed on a Ray cluster)
python -m ingest --sample           load the small sample library shipped with Dossier
python -m ingest list               the articles, newest first
python -m ingest remove ID|PATH|URL|DUMP.jsonl ...
python -m ingest check [--repair]
python -m ingest rechunk [--yes]    chunk and embed every article again with the current chunk settings
python -m ingest export FILE.jsonl[.gz]   every article record (no vectors), to move or back up the library
python -m ingest import FILE.jsonl[.gz]   an export into this store or server (re-embedded; unchanged ones skipped)
python -m ingest feed [URL ...] [--every 15m] [--allow-private]   poll RSS/Atom feeds (no URL: every subscribed one)
python -m ingest feeds              the subscribed feeds, with their last poll, items and failures
python -m ingest libraries          the store's libraries with their sizes (--library NAME picks one for any command)
python -m ingest remove-library NAME --yes
python -m ingest watch DIR ... [--include GLOB] [--exclude GLOB] [--dry-run]   mirror folders into the library
                                    until Ctrl-C (--dry-run: print what the first sync would do)
"""

import argparse
import functools
import logging
import signal
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from urllib.parse import urlsplit

from rag import DossierError, Library
from rag.backup import export_library, import_library
from rag.cli import existing_store, plural, quiet_broken_pipe
from rag.cluster import on_cluster
from rag.feeds import interval, poll, rounds, subscribed, unsubscribe
from rag.ingestion import preview
from rag.libraries import libraries, removable, remove_library
from rag.library import FORMATS, INDEXED, LABELS, MAX_BYTES
from rag.settings import CHUNKING, LIBRARY, STORE, add_flags, load_settings
from rag.watch import FolderWatch, first_sync, watched_folders

COMMANDS = (
    "list",
    "remove",
    "check",
    "rechunk",
    "export",
    "import",
    "libraries",
    "remove-library",
    "feed",
    "feeds",
    "watch",
)
STATUSES = ("added", "replaced", "unchanged", "duplicate", "failed")
EMBEDDING = (None, "import", "rechunk")  # the commands that embed many passages, and so take --ray


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    parser = _parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_intermixed_args(argv)  # flags before or after the URLs and paths
    if args.command is None and not args.inputs and not args.sample:
        parser.error("give PATH, URL or - to ingest, or --sample")
    try:
        with ExitStack() as stack:
            return _run(args, stack)
    except DossierError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args, stack: ExitStack) -> int:
    settings = load_settings(args, names=LIBRARY)
    if getattr(args, "sample", False):
        from rag.sample import SAMPLE

        args.inputs.append(str(SAMPLE))
    if args.command == "watch":
        return watch(args, settings)
    if getattr(args, "dry_run", False):
        return dry_run(args, settings.allow_private)
    # `feed URL` subscribes (not `feed --remove URL`)
    makes = args.command in (None, "import") or bool(getattr(args, "urls", None) and not args.remove)
    if not makes:
        existing_store(settings)  # only an ingest, an import or `feed URL` makes a new store
    # Loads the model (not needed for a dry run); only those make a new library.
    embedder = None
    if settings.ray and args.command in EMBEDDING:
        told = functools.partial(print, file=sys.stderr)
        embedder = stack.enter_context(on_cluster(settings.ray, settings.encoder, settings.cache, told))
    library = Library(settings=settings, create=makes, embedder=embedder)
    if args.command in ("libraries", "remove-library"):
        return manage_libraries(library, args)
    if args.command == "list":
        return list_articles(library)
    if args.command in ("feed", "feeds"):
        return feeds(library, args)
    if args.command == "remove":
        for ref in args.refs:
            for record in library.remove(ref):
                print(f"removed   {record.title or record.source} ({record.id}, {record.chunks} chunks)")
        return 0
    if args.command == "check":
        return check(library, args)
    if args.command == "rechunk":
        return rechunk(library, args.yes)
    if args.command == "export":
        print(f"exported {plural(export_library(library, args.file), 'article')} to {args.file}")
        return 0
    if args.command == "import":
        return report(import_library(library, args.file), f"{args.file} holds no article records")
    return ingest(library, args)


def manage_libraries(library: Library, args) -> int:
    if args.command == "libraries":
        for name, (articles, chunks) in libraries(library).items():
            print(f"{name:<20} {plural(articles, 'article')}, {plural(chunks, 'passage')}")
        return 0
    if not args.yes:
        articles, chunks = removable(library, args.name).counts()
        print(f"this deletes library {args.name} ({plural(articles, 'article')}, {plural(chunks, 'passage')}) "
              "with its feedback; run again with --yes to do it")  # fmt: skip
        return 1
    articles, chunks = remove_library(library, args.name)
    print(f"removed library {args.name} ({plural(articles, 'article')}, {plural(chunks, 'passage')})")
    return 0


def feeds(library: Library, args) -> int:
    """`feeds` lists the subscriptions; `feed` polls (once, or each --every until Ctrl-C); 1 when anything failed."""
    if args.command == "feeds":
        listed = subscribed(library)
        if not listed:
            print("no feeds subscribed; add one with: python -m ingest feed URL")
        for f in listed:
            print(f"{f.title or '(not read yet)'}  {f.url}\n  last poll {f.polled_at or 'never'}, "
                  f"{plural(f.items, 'item')}, {plural(f.failures, 'failure')} in a row"
                  + (f"; last error: {f.last_error}" if f.last_error else ""))  # fmt: skip
        return 0
    if args.remove:
        for url in args.urls:
            unsubscribe(library, url)
            print(f"unsubscribed {url}")
        return 0
    every = interval(args.every) if args.every else None
    if not args.urls and not subscribed(library):
        raise DossierError("no feeds subscribed; give a feed's address: python -m ingest feed URL")
    stop = stop_on_ctrl_c("item")
    failed = False
    for _ in rounds(every, stop):
        tally = Counter()
        for result in poll(library, args.urls, stop, int(args.max_mb * 2**20)):
            tally[result.status] += 1
            print(result.line, flush=True)
        polled = len(args.urls or subscribed(library))
        print(f"{time.strftime('%H:%M:%S')} polled {plural(polled, 'feed')}: "
              + (", ".join(f"{n} {status}" for status, n in tally.items()) or "nothing new"), flush=True)  # fmt: skip
        failed = failed or bool(tally["failed"])
    return int(failed)


def stop_on_ctrl_c(unit: str) -> threading.Event:
    """An event the first Ctrl-C sets, so that the work stops after the current `unit`; a second stops at once."""
    stop = threading.Event()

    def on_ctrl_c(*_):
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print(f"stopping after this {unit} (Ctrl-C again to stop now)", file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, on_ctrl_c)
    return stop


def watch(args, settings) -> int:
    """Mirror folders into the library until Ctrl-C: a full sync, then each change as it settles."""
    if args.dry_run:
        plan = first_sync(settings, args.folders, args.include, args.exclude)
        print("\n".join([step.line for step in plan.steps] + [plan.summary]))
        return 0
    watched_folders(args.folders)  # before the library is opened: a mistyped folder makes no store
    stop = stop_on_ctrl_c("article")
    with FolderWatch(Library(settings=settings), args.folders, args.include, args.exclude) as watcher:
        for result in watcher.sync(stop):
            print(result.line, flush=True)
        if not stop.is_set():
            print(f"watching {', '.join(args.folders)} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        for result in watcher.changes(stop):
            print(f"{time.strftime('%H:%M:%S')} {result.line}", flush=True)
    return 0


def check(library: Library, args) -> int:
    problems = library.check()
    if problems:
        print("\n".join(problems))
    lost = []
    if problems and args.repair:
        # A collection Chroma refuses is rebuilt first, saying its estimate and progress; then the ordinary repair.
        after = library.repair(on_progress=lambda line: print(line, flush=True))
        lost = [line for line in after if line.startswith("lost ")]
        problems = [line for line in after if not line.startswith("lost ")]
        print("\n".join([*lost, "repaired; " + ("\n".join(problems) or "nothing left to fix")]))
    if not problems:
        print(f"{library.store.handle.site.name}: consistent ({library.counts()[0]} articles)")
    return 1 if problems or lost else 0


def rechunk(library: Library, yes: bool) -> int:
    cost = library.rechunk_cost()
    if cost is None:
        print(f"{library.path}: already chunked with {library.chunking}; nothing to do")
        return 0
    if not yes:
        print(f"{cost}\nrun again with --yes to re-chunk")
        return 1
    started = time.monotonic()
    print(f"re-chunked {plural(library.rechunk(), 'article')} in {time.monotonic() - started:.1f}s")
    return 0


def _parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if command:
        parser.add_argument("command", choices=COMMANDS)
    if command == "remove":
        parser.add_argument("refs", nargs="+", metavar="ID|PATH|URL|DUMP.jsonl")
    if command == "check":
        parser.add_argument(
            "--repair",
            action="store_true",
            help="rebuild a collection Chroma refuses from the article records, remove articles whose chunks are "
            "incomplete (ingest them again) and rebuild the BM25 index",
        )
    if command in EMBEDDING:
        add_flags(parser, ("ray",))
    if command in ("rechunk", "remove-library"):
        parser.add_argument("--yes", action="store_true", help="do it (without: say what it would cost)")
    if command == "remove-library":
        parser.add_argument("name", metavar="NAME", help="the library to delete")
    if command in ("export", "import"):
        parser.add_argument("file", metavar="FILE.jsonl[.gz]", help="gzipped when the name ends in .gz")
    if command == "feed":
        parser.add_argument("urls", nargs="*", metavar="URL", help="RSS or Atom feeds (none: every subscribed feed)")
        parser.add_argument("--every", metavar="15m", help="poll again at this interval (s, m or h) until Ctrl-C")
        parser.add_argument("--remove", action="store_true", help="unsubscribe from the URLs given")
        parser.add_argument("--max-mb", type=float, default=MAX_BYTES / 2**20, help="refuse larger feeds and pages")
        add_flags(parser, ("allow_private",))
    if command == "watch":
        parser.add_argument("folders", nargs="+", metavar="DIR", help="folders to mirror (recursive)")
        add = parser.add_argument
        add("--include", action="append", default=[], metavar="GLOB", help="only files matching this glob")
        add("--exclude", action="append", default=[], metavar="GLOB", help="skip files matching this glob")
        add("--dry-run", action="store_true", help="print what the first sync would do; change nothing")
    if command is None:
        parser.set_defaults(command=None)
        parser.add_argument(
            "inputs", nargs="*", metavar="PATH|URL|-", help="files, folders (recursive), http(s) URLs, or - for stdin"
        )
        parser.add_argument("--sample", action="store_true", help="add the small sample library shipped with Dossier")
        add = parser.add_argument
        add("--include", action="append", default=[], metavar="GLOB", help="only files in folders matching this glob")
        add("--exclude", action="append", default=[], metavar="GLOB", help="skip files in folders matching this glob")
        add("--keep", action="append", default=[], choices=[x for x in LABELS if x not in INDEXED], help="also index")
        add("--max-mb", type=float, default=MAX_BYTES / 2**20, help="refuse larger inputs (default %(default)s)")
        add("--dry-run", action="store_true", help="show what would be indexed; change nothing")
        add("--show", action="store_true", help="with --dry-run, print every region with its label")
        add_flags(parser, ("allow_private",))
    add_flags(parser, STORE + CHUNKING)
    return parser


def ingest(library: Library, args) -> int:
    from rag.sample import SAMPLE_QUESTIONS

    results = library.iter_ingest(
        args.inputs,
        args.include,
        args.exclude,
        keep=tuple(args.keep),
        max_bytes=int(args.max_mb * 2**20),
        on_wait=lambda m: print(m, file=sys.stderr),
    )
    supported = f"no supported files under {', '.join(args.inputs)}; supported: {', '.join(sorted(FORMATS))}"
    failed = report(results, supported)
    if args.sample:
        where = "" if args.store is None else f" --store {args.store}"
        print("ask it, e.g.:\n" + "\n".join(f'  python -m rag ask "{q}"{where}' for q in SAMPLE_QUESTIONS))
    return failed


def report(results, empty: str) -> int:
    """Print each result as it comes, with the rate, then the tally; 1 when any failed. `empty`: the error
    when there were none."""
    from tqdm import tqdm

    tally, chunks, failures, started = Counter(), 0, [], time.monotonic()
    bar = tqdm(unit="input", file=sys.stderr, disable=None, leave=False)
    last_input = None
    for r in results:
        tally[r.status] += 1
        chunks += r.chunks if r.status in ("added", "replaced") else 0
        if r.status == "failed":
            failures.append(r.error)
        bar.write(r.line, file=sys.stdout)
        elapsed = max(time.monotonic() - started, 1e-9)
        bar.set_postfix_str(f"{sum(tally.values()) / elapsed:.1f} articles/s, {chunks / elapsed:.0f} chunks/s")
        if r.source != last_input:
            bar.update(1)
            last_input = r.source
    bar.close()
    total = sum(tally[s] for s in STATUSES)
    elapsed, stored = time.monotonic() - started, tally["added"] + tally["replaced"]
    if not total:
        raise DossierError(empty)
    print(
        f"{plural(total, 'article')}: "
        + ", ".join(f"{tally[s]} {s}" for s in STATUSES)
        + (f", {plural(tally['skipped'], 'file')} skipped" if tally["skipped"] else "")
        + f"; {plural(chunks, 'chunk')} embedded in {elapsed:.1f}s"
        + (f" ({stored / elapsed:.2f} articles/s, {chunks / elapsed:.0f} chunks/s)" if stored else "")
    )
    if failures and total > 20:
        print("failed:\n" + "\n".join(f"  {f}" for f in failures))
    return 1 if tally["failed"] else 0


def list_articles(library: Library) -> int:
    records = library.articles()
    rows = [
        ((r.published_at or "")[:10], f"{r.chunks}", r.title or "(untitled)", r.outlet or short_source(r.source), r.id)
        for r in records
    ]
    header = ("date", "passages", "title", "outlet", "id")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    widths[2] = min(widths[2], 60)
    for row in [header, *rows]:
        title = row[2] if len(row[2]) <= widths[2] else row[2][: widths[2] - 1] + "…"
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {title:<{widths[2]}}  {row[3]:<{widths[3]}}  {row[4]}")
    articles, chunks = library.counts()
    print(f"{plural(articles, 'article')}, {plural(chunks, 'passage')}")
    return 0


def short_source(source: str) -> str:
    """Where an article without an outlet came from, briefly: a URL's host, a file's name."""
    if source.startswith(("http://", "https://")):
        return urlsplit(source).hostname or source
    return source.rsplit("/", 1)[-1]


def dry_run(args, allow_private: bool) -> int:
    """What ingest would index, without a model or a store."""
    failed = 0
    indexed = INDEXED + tuple(args.keep)
    for a in preview(args.inputs, args.include, args.exclude, int(args.max_mb * 2**20), allow_private):
        if isinstance(a, str):
            print(f"failed    {a}")
            failed += 1
            continue
        print(f"article   {a.source}\n  {'id':<12} {a.id}\n  {'title':<12} {a.title}")
        for key, value in a.metadata.items():
            print(f"  {key:<12} {value if len(str(value)) < 100 else str(value)[:97] + '…'}")
        for r in a.regions:
            text = a.text[r.start : r.end]
            verdict = "indexed" if r.label in indexed else "dropped"
            page = f" p.{r.page}" if r.page else ""
            print(f"  [{r.label}{page}: {verdict}, {len(text)} chars]")
            if args.show:
                print("    " + text.replace("\n", "\n    "))
    return 1 if failed else 0


if __name__ == "__main__":
    with quiet_broken_pipe():
        sys.exit(main())
