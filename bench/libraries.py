"""A second library holding the same articles as the first: what it costs. 1 000 articles (the State of the Union
addresses cut into ~3 000-character pieces at sentence ends) go into `main`, then the same file into a second
library of the same store, with the bundled model counting every text it is asked to embed; the same file into a
fresh store's library is the cost of embedding them again, measured alternating with the second library.

    python bench/libraries.py [--articles 1000] [--rounds 2] [--report bench/libraries.md]
"""

import argparse
import json
import platform
import re
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from report import emit  # bench/ is on the path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
SOTU = ROOT.parent / "shared" / "corpora" / "sotu" / "sotu.jsonl"
PIECE = 3000  # characters an article holds, about


class Counting:
    """The bundled model, counting the texts it embeds."""

    def __init__(self, embedder):
        self._embedder, self.embedded = embedder, 0

    def embed_bulk(self, texts):
        self.embedded += len(texts)
        return self._embedder.embed_bulk(texts)

    def __getattr__(self, name):
        return getattr(self._embedder, name)


def articles(count: int, path: Path) -> None:
    """`count` articles of about PIECE characters each, cut from the addresses at sentence ends, as JSON Lines."""
    written = 0
    with path.open("w") as out:
        for line in SOTU.open():
            address = json.loads(line)
            sentences, piece, part = re.split(r"(?<=[.!?])\s+", address["body"]), [], 0
            for sentence in sentences:
                piece.append(sentence)
                if sum(map(len, piece)) >= PIECE:
                    part += 1
                    item = {**address, "id": f"{address['id']}-{part}", "title": f"{address['title']}, part {part}"}
                    out.write(json.dumps({**item, "body": " ".join(piece)}) + "\n")
                    piece, written = [], written + 1
                    if written == count:
                        return


def timed(library, path: Path) -> tuple[float, dict]:
    began = time.perf_counter()
    results = library.ingest([path])
    statuses = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return time.perf_counter() - began, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()

    from rag import Library, Settings
    from rag.libraries import sibling
    from vectorstore.embedder import MiniLMEmbedder

    embedder = Counting(MiniLMEmbedder())
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        corpus = work / "articles.jsonl"
        articles(args.articles, corpus)
        main_library = Library(settings=Settings(store=str(work / "store")), embedder=embedder)
        first, statuses = timed(main_library, corpus)
        texts = embedder.embedded
        chunks = main_library.counts()[1]
        second, fresh, reembedded = [], [], []
        for round_ in range(args.rounds):  # alternating: a second library of the store, then a fresh store
            before = embedder.embedded
            second.append(timed(sibling(main_library, f"copy{round_}", create=True), corpus)[0])
            reembedded.append(embedder.embedded - before)
            other = Library(settings=Settings(store=str(work / f"fresh{round_}")), embedder=embedder)
            fresh.append(timed(other, corpus)[0])
    lines = [
        "# A second library of the same articles",
        "",
        f"Measured {date.today()} on {platform.machine()}, {platform.python_version()}; "
        f"`python bench/libraries.py --articles {args.articles} --rounds {args.rounds}`.",
        "",
        f"- articles: {args.articles} ({statuses}), {chunks} passages; {texts} texts embedded for `main`",
        f"- first library (`main`): {first:.1f} s",
        f"- texts embedded for each second library: {reembedded} (target: none)",
        f"- second library of the same store: {', '.join(f'{s:.1f}' for s in second)} s",
        f"- the same file into a fresh store (embedding again): {', '.join(f'{s:.1f}' for s in fresh)} s",
        f"- ratio second library / fresh store: {statistics.median(second) / statistics.median(fresh):.2f}",
    ]
    emit(lines, args.report)


if __name__ == "__main__":
    main()
