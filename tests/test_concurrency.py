"""Eight threads asking through one Assistant while another process replaces the articles they read."""

import re
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from dossier_core.errors import DossierError
from rag import Assistant, Library
from rag.settings import Settings
from tests.test_cli import ROOT, env
from vectorstore.store import ChromaStore

pytestmark = [pytest.mark.slow, pytest.mark.model]
TOWNS = ["Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir"]


def write_editions(folder, edition: str) -> None:
    """Each article, in edition A or B: every paragraph says which, so a mixed answer shows."""
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    for town in TOWNS:
        paragraphs = [
            f"In edition {edition}, the {town} council reported that its {topic} budget rose after a long debate "
            f"about {topic} in {town}, and the mayor of {town} signed the {topic} plan."
            for topic in ("road", "school", "park", "water", "library")
        ]
        (folder / f"{town.lower()}.txt").write_text(f"{town} Council News\n\n" + "\n\n".join(paragraphs))


def test_readers_never_see_a_half_replaced_article(tmp_path, chroma_url, minilm):
    store, news = tmp_path / "s", tmp_path / "news"
    write_editions(news, "A")
    settings = Settings(chroma_url=chroma_url)
    Library(store, settings, embedder=minilm).ingest([news])
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
from rag import Library
from rag.settings import Settings
from tests.test_concurrency import write_editions
folder = {str(tmp_path / "w")!r} if {chroma_url!r} else {str(store)!r}
library = Library(folder, Settings(chroma_url={chroma_url!r}))
for round in range(4):
    write_editions({str(news)!r}, "BA"[round % 2])
    results = library.ingest([{str(news)!r}])
    assert all(r.status == "replaced" for r in results), results
""",
        ],
        cwd=ROOT,
        env=env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    assistant = Assistant(store, settings, embedder=minilm)
    errors, mixed, answered = [], [], defaultdict(int)

    def ask(town):
        while writer.poll() is None:
            try:
                hits = assistant.retrieve(f"What did the {town} council report about the budget?", k=10)
                answer = assistant.ask(f"What happened to the {town} school budget?")
            except DossierError as e:
                errors.append(str(e))
                continue
            for passages in (
                [(h.article_id, h.text) for h in hits],
                [(c.article_id, c.text) for c in answer.citations],
            ):
                editions = defaultdict(set)
                for article_id, text in passages:
                    editions[article_id].update(re.findall(r"edition ([AB])", text))
                mixed.extend(e for e in editions.values() if len(e) > 1)
            answered[town] += 1

    threads = [threading.Thread(target=ask, args=(TOWNS[i % len(TOWNS)],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert writer.wait() == 0, writer.stderr.read()
    assert not errors and not mixed
    assert sum(answered.values()) >= 8
    assert ChromaStore(store, {"embedder": minilm.name, "dimensions": minilm.dim}, chroma_url).consistency.check() == []
