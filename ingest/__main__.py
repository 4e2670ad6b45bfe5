"""python -m ingest: add articles to the library, list them, remove them, check the store.

    python -m ingest PATH|URL|- ... [--store DIR] [--include GLOB] [--exclude GLOB] [--keep comments] [--allow-private] [--dry-run [--show]]
    python -m ingest list [--store DIR]
    python -m ingest remove ID|PATH|URL ... [--store DIR]
    python -m ingest check [--repair] [--store DIR]
"""

import argparse
import logging
import sys
import time
from collections import Counter

from ingest.chunk import INDEXED
from ingest.errors import DossierError
from ingest.extract import FORMATS
from ingest.load import MAX_BYTES, find_inputs, parse_articles, read_input
from ingest.regions import LABELS
from rag.settings import STORE_ENV, quiet_broken_pipe, settings_from_env, store_from_env
from vectorstore.embedder import RUNTIMES

COMMANDS = ("list", "remove", "check")
STATUSES = ("added", "replaced", "unchanged", "duplicate", "failed")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = _parser(argv[0] if argv and argv[0] in COMMANDS else None).parse_args(argv)
    try:
        settings = settings_from_env(encoder=args.encoder, chroma_url=args.chroma_url, allow_private=getattr(args, "allow_private", None))
        if getattr(args, "dry_run", False):
            return dry_run(args, settings.allow_private)
        from rag import Assistant  # loads the model: not needed for a dry run

        assistant = Assistant(args.store, settings)
        if args.command == "list":
            return list_articles(assistant)
        if args.command == "remove":
            for ref in args.refs:
                record = assistant.remove(ref)
                print(f"removed   {record.title or record.source} ({record.id}, {record.chunks} chunks)")
            return 0
        if args.command == "check":
            return check(assistant, args)
        return ingest(assistant, args)
    except DossierError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def check(assistant, args) -> int:
    problems = assistant.store.check()
    if problems:
        print("\n".join(problems))
    if problems and args.repair:
        with assistant.store.writing():
            assistant.store.repair()
        problems = assistant.store.check()
        print("repaired; " + ("\n".join(problems) or "nothing left to fix"))
    if not problems:
        print(f"store {args.store}: consistent ({assistant.counts()[0]} articles)")
    return 1 if problems else 0


def _parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    if command:
        parser.add_argument("command", choices=COMMANDS)
    if command == "remove":
        parser.add_argument("refs", nargs="+", metavar="ID|PATH|URL")
    if command == "check":
        parser.add_argument("--repair", action="store_true", help="remove articles whose chunks are incomplete (ingest them again) and rebuild the BM25 index")
    if command is None:
        parser.set_defaults(command=None)
        parser.add_argument("inputs", nargs="+", metavar="PATH|URL|-", help="files, folders (recursive), http(s) URLs, or - for stdin")
        parser.add_argument("--include", action="append", default=[], metavar="GLOB", help="only files in folders matching this glob")
        parser.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip files in folders matching this glob")
        parser.add_argument("--keep", action="append", default=[], choices=[l for l in LABELS if l not in INDEXED], help="also index this region")
        parser.add_argument("--max-mb", type=float, default=MAX_BYTES / 2**20, help="refuse inputs larger than this (default %(default)s)")
        parser.add_argument("--allow-private", action="store_true", default=None,  # None: $DOSSIER_ALLOW_PRIVATE decides
                            help="fetch URLs on loopback, private or link-local addresses (your own network)")
        parser.add_argument("--dry-run", action="store_true", help="show what would be indexed; change nothing")
        parser.add_argument("--show", action="store_true", help="with --dry-run, print every region with its label")
    parser.add_argument("--store", default=store_from_env(), help=f"store folder (default: ${STORE_ENV} or data/store)")
    parser.add_argument("--encoder", choices=RUNTIMES, help="MiniLM's runtime (default: $DOSSIER_ENCODER or auto: PyTorch for ingests)")
    parser.add_argument("--chroma-url", metavar="URL", help="a Chroma server holding the library, e.g. http://127.0.0.1:8000 (default: $DOSSIER_CHROMA_URL or none: the store folder)")
    return parser


def ingest(assistant, args) -> int:
    from tqdm import tqdm

    inputs = list(find_inputs(args.inputs, args.include, args.exclude))
    if not inputs:
        raise DossierError(f"no supported files under {', '.join(args.inputs)}; supported: {', '.join(sorted(FORMATS))}")
    tally, chunks, failures, started = Counter(), 0, [], time.monotonic()
    bar = tqdm(total=len(inputs), unit="input", file=sys.stderr, disable=None, leave=False)
    last_input = None
    results = assistant.iter_ingest(
        inputs, keep=tuple(args.keep), max_bytes=int(args.max_mb * 2**20), on_wait=lambda m: print(m, file=sys.stderr)
    )
    for r in results:
        tally[r.status] += 1
        chunks += r.chunks if r.status in ("added", "replaced") else 0
        if r.status == "failed":
            failures.append(r.error)
        detail = r.error if r.status == "failed" else f"{r.source} ({r.chunks} chunks)" + (f", {r.error}" if r.error else "")
        bar.write(f"{r.status:<9} {detail}", file=sys.stdout)
        elapsed = max(time.monotonic() - started, 1e-9)
        bar.set_postfix_str(f"{sum(tally.values()) / elapsed:.1f} articles/s, {chunks / elapsed:.0f} chunks/s")
        if r.source != last_input:
            bar.update(1)
            last_input = r.source
    bar.close()
    total = sum(tally.values())
    print(f"{total} articles: " + ", ".join(f"{tally[s]} {s}" for s in STATUSES)
          + f"; {chunks} chunks embedded in {time.monotonic() - started:.1f}s")
    if failures and total > 20:
        print("failed:\n" + "\n".join(f"  {f}" for f in failures))
    return 1 if tally["failed"] or not total else 0


def list_articles(assistant) -> int:
    records = assistant.articles()
    for r in records:
        print(f"{r.id}  {(r.published_at or '')[:10]:<10}  {r.chunks:>4} chunks  {r.title or '(untitled)'}  —  {r.source}")
    articles, chunks = assistant.counts()
    print(f"{articles} articles, {chunks} chunks")
    return 0


def dry_run(args, allow_private: bool) -> int:
    """What ingest would index, without a model or a store."""
    failed = 0
    for item in find_inputs(args.inputs, args.include, args.exclude):
        try:
            articles, problems = parse_articles(read_input(item, int(args.max_mb * 2**20), allow_private))
        except DossierError as e:
            print(f"failed    {e}")
            failed += 1
            continue
        for problem in problems:
            print(f"failed    {problem}")
        failed += len(problems)
        indexed = INDEXED + tuple(args.keep)
        for a in articles:
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
