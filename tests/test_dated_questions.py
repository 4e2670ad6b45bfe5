"""Dates named in a question narrow what it is answered from, on a real store with the bundled MiniLM:
"in 2023", "since March", "last year" against an `as_of` day, and what is said of articles without a date."""

import json
import subprocess
import sys

import pytest

from rag import Assistant, DossierError, Filters, Library, Settings
from tests.conftest import dated_store
from tests.test_cli import ROOT, env

pytestmark = pytest.mark.model

# Three reports of one ferry's fare at different times, and one that carries no date.
ARTICLES = {
    "fare-2023.md": ("2023-04-18", "Holm Ferry Fare Rises", "The Holm Island ferry fare rose to 12 euros in April."),
    "fare-2025.md": ("2025-02-10", "Holm Ferry Fare Rises Again", "The Holm Island ferry fare rose to 14 euros."),
    "fare-2026.md": ("2026-03-20", "Holm Ferry Adds a Night Boat", "The Holm Island ferry fare stays at 14 euros."),
    "fare-undated.md": (None, "Holm Ferry Timetable", "The Holm Island ferry fare is paid on board in cash."),
}
AS_OF = "2026-05-14"


@pytest.fixture(scope="module")
def store(tmp_path_factory, minilm):
    articles = {
        name: ({"title": title, "date": day}, f"{body} Ferries leave the harbour at dawn.")
        for name, (day, title, body) in ARTICLES.items()
    }
    return dated_store(tmp_path_factory.mktemp("dated"), articles, minilm)


@pytest.fixture(scope="module")
def assistant(store, minilm):
    return Assistant(store, Settings(as_of=AS_OF, top_k=4), minilm)


def titles(answer) -> set[str]:
    return {p["title"] for p in answer.trace["passages"]}


def test_a_year_in_the_question_is_a_date_filter_and_leaves_its_words(assistant):
    answer = assistant.ask("What was the Holm Island ferry fare in 2023?")
    assert titles(answer) == {"Holm Ferry Fare Rises"}
    dates = answer.trace["dates"]
    assert (dates["since"], dates["until"], dates["phrases"], dates["label"]) == (
        "2023-01-01", "2023-12-31", ["in 2023"], "1 Jan – 31 Dec 2023",
    )  # fmt: skip
    assert "2023" not in answer.trace["query"] and answer.trace["undated_left_out"] == 1
    unread = assistant.ask("What was the Holm Island ferry fare in 2023?", dates=False)  # the chip removed
    assert unread.trace["dates"] is None and len(titles(unread)) > 1


def test_relative_dates_count_from_as_of(assistant, store, minilm):
    since_march = assistant.ask("What has the Holm Island ferry fare been since March?")
    assert titles(since_march) == {"Holm Ferry Adds a Night Boat"}  # since 1 Mar 2026
    last_year = assistant.ask("What did the Holm Island ferry fare rise to last year?")
    assert titles(last_year) == {"Holm Ferry Fare Rises Again"}  # 2025
    a_year_later = Assistant(store, Settings(as_of="2027-05-14", top_k=4), minilm)
    assert titles(a_year_later.ask("What did the Holm Island ferry fare rise to last year?")) == {
        "Holm Ferry Adds a Night Boat"
    }


def test_dates_narrow_the_filters_given_and_undated_articles_join_when_asked(assistant):
    both = assistant.ask("How much is the Holm Island ferry fare in 2025?", filters=Filters(since="2025-02-01"))
    assert titles(both) == {"Holm Ferry Fare Rises Again"}
    assert both.trace["filters"].startswith("since='2025-02-01', until='2025-12-31'")
    with_undated = assistant.ask("How is the Holm Island ferry fare paid in 2025?", filters=Filters(undated=True))
    assert "Holm Ferry Timetable" in titles(with_undated) and with_undated.trace["undated_left_out"] == 0


def test_a_date_nothing_matches_says_what_it_left_out(assistant):
    with pytest.raises(DossierError, match=r"until='2019-12-31'; 1 undated left out: .*with --include-undated"):
        assistant.ask("What was the Holm Island ferry fare in 2019?")


def test_a_question_without_dates_is_not_filtered(assistant):
    answer = assistant.ask("What is the Holm Island ferry fare?")
    assert answer.trace["dates"] is None and answer.trace["undated_left_out"] == 0 and len(titles(answer)) > 1


def test_the_cli_reads_as_of_and_include_undated(store):
    out = subprocess.run(
        [sys.executable, "-m", "rag", "ask", "How is the Holm Island ferry fare paid in 2025?", "--json",
         "--store", str(store), "--as-of", AS_OF, "--include-undated"],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    trace = json.loads(out.stdout)["trace"]
    assert trace["dates"]["since"] == "2025-01-01" and "undated=True" in trace["filters"]
    bad = subprocess.run(
        [sys.executable, "-m", "rag", "ask", "Fare?", "--store", str(store), "--as-of", "14 May"],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert bad.returncode == 2 and "as_of='14 May' is not a date; write it as YYYY-MM-DD" in bad.stderr


def test_in_a_library_without_dates_a_year_is_part_of_the_topic(tmp_path, minilm):
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "treaty.md").write_text(
        "# The Harbour Treaty\n\nThe Harbour Treaty was signed in 1997 by the two port towns.\n"
    )
    library = Library(tmp_path / "store", embedder=minilm)
    library.ingest([tmp_path / "articles"])
    answer = Assistant(library).ask("What was signed in 1997 by the two port towns?")
    assert "Harbour Treaty" in answer.text and answer.trace["dates"]["applied"] is False
    assert "1997" in answer.trace["query"]


def test_a_latest_question_is_answered_from_the_newest_relevant_article_and_says_its_day(assistant):
    answer = assistant.ask("What is the latest on the Holm Island ferry fare?")
    assert answer.text.startswith("As of 20 Mar 2026: The Holm Island ferry fare stays at 14 euros")
    assert {c.title for c in answer.citations} == {"Holm Ferry Adds a Night Boat"}
    assert all(s.supported for s in answer.sentences) and answer.trace["recency"]["newest"] == "2026-03-20"
    plain = assistant.ask("What did the Holm Island ferry fare rise to?")  # no recency: the best match
    assert "As of" not in plain.text and "recency" not in plain.trace
