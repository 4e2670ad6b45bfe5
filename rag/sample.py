"""The sample library shipped with Dossier: five short articles written for the project (their sources:
sample_library/SOURCES.md), in the shapes ingest reads — a web page inside its site's clutter, Markdown with
front matter, a plain-text report, a JSONL dump of two wire items — so that a newcomer can ask a question a
minute after opening the chat page, and see the cleaner drop a page's comments and teasers."""

from pathlib import Path

from rag.ingestion import IngestResult
from rag.library import Library

# A folder of articles only, so that `python -m ingest FOLDER` takes all of it; package data in pyproject.toml.
SAMPLE = Path(__file__).with_name("sample_library") / "articles"
# Questions the sample answers, offered to a newcomer; tests/test_sample.py checks each one's answer.
SAMPLE_QUESTIONS = (
    "How many turbines are in the Wren Point array?",
    "How much will the turbines add to household power bills?",
    "How many Sandwich tern pairs did the survey count?",
)


def load_sample(library: Library) -> list[IngestResult]:
    """Add the sample articles to `library`; loading them again changes nothing (each comes back unchanged)."""
    return library.ingest([SAMPLE])
