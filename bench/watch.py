"""Folder watch on a 1 000-article library: how long after a file is saved (new, or changed) it is searchable,
and how long after it is deleted it is gone, each less the time spent embedding it (issue 18's target: 5 s).

    python bench/watch.py [--trials 10] [--report bench/watch.md]

The library is 1 000 text files of about 1 000 characters cut from the State of the Union addresses
(../shared/corpora/sotu; invented sentences when it is absent) in data/bench/watch/ (git-ignored), mirrored by
the watch's own first sync on a fresh store. The watch runs in a thread of this process, as `python -m ingest
watch` runs it, with the default settle time. "Searchable" is the moment the watch's result for the file
comes (its article is then wholly stored: chunks, BM25 rows, record), polled every 10 ms; each trial then
checks that a search finds it (deleted: does not). The embedding time is measured around the embedder's calls.
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import threading
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from report import emit  # bench/ is on the path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag import Assistant, Library  # noqa: E402
from rag.watch import SETTLE, FolderWatch  # noqa: E402
from vectorstore.embedder import Embedder, MiniLMEmbedder  # noqa: E402

SOTU = ROOT.parent / "shared" / "corpora" / "sotu" / "sotu.jsonl"
WORK = ROOT / "data" / "bench" / "watch"
ARTICLES = 1000
PIECE = 1000  # characters an article holds, about


class Timed(Embedder):
    """The bundled model, adding up the time it spends embedding."""

    def __init__(self, inner: Embedder):
        self.inner, self.name, self.dim, self.max_tokens = inner, inner.name, inner.dim, inner.max_tokens
        self.spent = 0.0

    def embed_batch(self, texts):
        return self._timed(self.inner.embed_batch, texts)

    def embed_bulk(self, texts):
        return self._timed(self.inner.embed_bulk, texts)

    def _timed(self, embed, texts):
        started = time.perf_counter()
        try:
            return embed(texts)
        finally:
            self.spent += time.perf_counter() - started

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)


def pieces() -> list[str]:
    """ARTICLES texts of about PIECE characters, cut at sentence ends."""
    if not SOTU.exists():
        rng = random.Random(18)
        words = "harbour council ferry budget school river tram orchard clinic bridge vote tariff".split()
        return [" ".join(rng.choice(words) for _ in range(160)) + "." for _ in range(ARTICLES)]
    out = []
    for line in SOTU.read_text().splitlines():
        piece = ""
        for sentence in json.loads(line)["body"].replace("\n", " ").split(". "):
            piece += sentence + ". "
            if len(piece) >= PIECE:
                out.append(piece.strip())
                piece = ""
    return random.Random(18).sample(out, ARTICLES)


class Watching:
    """A watch over `docs`, following changes in a thread as `python -m ingest watch` does in its main one, and
    noting the results by source as they come (an article is searchable once its result has come)."""

    def __init__(self, library: Library, docs: Path):
        self.stop, self.came = threading.Event(), defaultdict(list)
        self.watch = FolderWatch(library, [docs])
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        for r in self.watch.changes(self.stop):
            self.came[r.source].append(r.status)

    def __enter__(self):
        self.watch.__enter__()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.watch.__exit__(*exc)


def until(condition, timeout: float = 60.0) -> float:
    """The moment `condition()` first holds (polled every 10 ms)."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit("the watch did not apply a change within a minute")
        time.sleep(0.01)
    return time.perf_counter()


def trial(watching: Watching, embedder: Timed, path: Path, text: str | None, query: str) -> tuple[float, float]:
    """Save `text` to `path` (None: delete it); (seconds until the watch has stored that, of them embedding)."""
    source, spent = str(path), embedder.spent
    seen = len(watching.came[source])
    started = time.perf_counter()
    if text is None:
        path.unlink()
    else:
        path.write_text(text)
    done = until(lambda: len(watching.came[source]) > seen)
    embedded = embedder.spent - spent  # before the search below embeds its query
    expected = "removed" if text is None else ("added", "replaced")
    if watching.came[source][-1] not in expected:
        raise SystemExit(f"{path.name}: {watching.came[source][-1]}, not {expected}")
    hits = [h.source for h in Assistant(watching.watch.library).retrieve(query, k=5)]
    if (text is None) == (source in hits):
        raise SystemExit(f"{path.name}: a search {'still finds' if text is None else 'does not find'} it")
    return done - started, embedded


def row(name: str, runs: list[tuple[float, float]]) -> str:
    total = [t for t, _ in runs]
    less = [t - e for t, e in runs]
    cell = lambda xs: f"{statistics.median(xs):.2f} / {max(xs):.2f}"  # noqa: E731
    return f"| {name} | {len(runs)} | {cell(total)} | {cell([e for _, e in runs])} | {cell(less)} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    docs = WORK / "docs"
    docs.mkdir(parents=True)
    for n, text in enumerate(pieces()):
        (docs / f"article-{n:04}.txt").write_text(text + "\n")
    embedder = Timed(MiniLMEmbedder())
    library = Library(WORK / "store", embedder=embedder)
    started = time.perf_counter()
    with FolderWatch(library, [docs]) as watch:
        synced = sum(1 for _ in watch.sync())
    first_sync, first_embed = time.perf_counter() - started, embedder.spent
    started = time.perf_counter()
    with FolderWatch(library, [docs]) as watch:
        assert not list(watch.sync())
    resync = time.perf_counter() - started
    articles, chunks = library.counts()
    new, changed, deleted = [], [], []
    with Watching(library, docs) as watching:
        for n in range(args.trials):
            word = f"quokkazephyr{n}"
            text = f"The {word} committee met on the pier to count the ferries and the harbour cranes, trial {n}."
            new.append(trial(watching, embedder, docs / f"new-{n}.txt", text, f"{word} committee"))
            target = docs / f"article-{n * 97:04}.txt"
            text = f"{target.read_text()} The {word} vote passed."
            changed.append(trial(watching, embedder, target, text, f"the {word} vote passed"))
            deleted.append(trial(watching, embedder, docs / f"new-{n}.txt", None, f"{word} committee"))
    assert library.check() == []
    lines = [
        "# Folder watch: time to searchable (issue 18)",
        "",
        f"{date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"`python bench/watch.py --trials {args.trials}`. A library of {articles} articles ({chunks} passages) "
        f"mirrored from {ARTICLES} text files of about {PIECE} characters "
        f"({'State of the Union addresses' if SOTU.exists() else 'invented sentences'}); the watch settles each "
        f"path for {SETTLE} s after its last event. Times from the save (or delete) until the library holds the "
        "change, which a search then finds (or no longer finds); the target is 5 s less the embedding.",
        "",
        "| change | trials | seconds, median / max | embedding | less embedding |",
        "|---|---|---|---|---|",
        row("new file saved", new),
        row("file changed and saved", changed),
        row("file deleted", deleted),
        "",
        f"The first sync (the {synced} articles ingested by the watch) took {first_sync:.1f} s, "
        f"{first_embed:.1f} s of it embedding; a restart with nothing changed synced in {resync:.2f} s "
        "(reading and hashing every file, reading every record).",
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    main()
