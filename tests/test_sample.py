"""The sample library shipped in rag/sample_library: what it holds, that it loads, and that it answers."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rag import Library, Settings
from rag.sample import SAMPLE, SAMPLE_QUESTIONS, load_sample

ROOT = Path(__file__).resolve().parents[1]
# The fact each offered question must be answered with.
ANSWERS = {
    "How many turbines are in the Wren Point array?": "Twelve tidal turbines",
    "How much will the turbines add to household power bills?": "about 9 pounds a year",
    "How many Sandwich tern pairs did the survey count?": "1,180 breeding pairs",
}


def test_the_sample_is_one_article_file_of_each_shape_with_its_sources_beside_them():
    assert sorted(p.suffix for p in SAMPLE.iterdir()) == [".html", ".jsonl", ".md", ".txt"]
    sources = (SAMPLE.parent / "SOURCES.md").read_text(encoding="utf-8")
    assert "written for Dossier" in sources and "free to use" in sources
    assert all(f"articles/{p.name}" in sources for p in SAMPLE.iterdir())


def test_loading_the_sample_stores_five_articles_that_citations_can_name_and_again_changes_nothing(
    tmp_path, fake_embedder
):
    library = Library(tmp_path / "store", Settings(), embedder=fake_embedder)
    results = load_sample(library)
    assert [r.status for r in results] == ["added"] * 5
    records = library.articles()
    assert [r.published_at[:10] for r in records] == [
        "2025-06-10",
        "2025-06-02",
        "2025-05-19",
        "2025-05-06",
        "2025-04-22",
    ]
    assert {r.outlet for r in records} == {"Coastline Wire", "Wren Estuary Trust", "Grid Notes", "The Saltmere Courier"}
    assert all(r.title and r.author and r.chunks for r in records)
    assert [r.status for r in load_sample(library)] == ["unchanged"] * 5
    assert library.counts()[0] == 5


def test_the_news_page_keeps_its_clutter_out_of_the_index(tmp_path, fake_embedder):
    library = Library(tmp_path / "store", Settings(), embedder=fake_embedder)
    load_sample(library)
    page = next(r for r in library.articles() if r.source.endswith("wren-point-turbines.html"))
    regions = library.regions(page.id)
    dropped = {label for label, _, indexed in regions if not indexed}
    assert {"comments", "related", "chrome"} <= dropped
    indexed = " ".join(text for _, text, indexed in regions if indexed)
    assert "Kelpie Energy" in indexed and "Forty turbines would have been better" not in indexed


@pytest.mark.model
def test_each_offered_question_gets_a_cited_answer_from_the_sample(tmp_path, minilm):
    from rag import Assistant

    assert set(SAMPLE_QUESTIONS) == set(ANSWERS)
    assistant = Assistant(tmp_path / "store", embedder=minilm)
    load_sample(assistant.library)
    for question in SAMPLE_QUESTIONS:
        answer = assistant.ask(question)
        assert not answer.abstained and ANSWERS[question] in answer.text, question
        assert answer.citations and all(c.outlet and c.published_at for c in answer.citations)


@pytest.mark.slow
def test_a_wheel_of_dossier_carries_the_sample(tmp_path):
    """`pip install .` (not editable) installs what the wheel holds: the sample must be package data."""
    project = tmp_path / "project"  # a copy: setuptools writes its build folders inside the project
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project)
    for package in ("dossier_core", "ingest", "vectorstore", "rag"):
        shutil.copytree(ROOT / package, project / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", tmp_path, project],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("dossier-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"rag/sample_library/articles/{p.name}" for p in SAMPLE.iterdir()} | {"rag/sample_library/SOURCES.md"}
    assert shipped <= names and "rag/sample.py" in names
