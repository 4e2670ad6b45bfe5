"""'How has X changed?' on a real store with the bundled MiniLM: a dated list, oldest first, one cited line
per article, earlier figures marked superseded; through the Python API, the CLI and a model's prompt."""

import json
import re
import subprocess
import sys

import pytest

from rag import Assistant, Settings
from rag.prompt import ASK_TIMELINE
from tests.conftest import dated_store
from tests.scripted_llm import ScriptedLLM
from tests.test_cli import ROOT, env

pytestmark = pytest.mark.model

# Reports of one market's pitch fee over the years by different outlets, an undated guide, and another market.
ARTICLES = {
    "fee-2019.md": ("2019-03-04", "Kelby Council", "Kelby market pitch fee set",
                    "The pitch fee at Kelby street market will be £18 a day from April, Kelby Council announced."),
    "fee-2022.md": ("2022-06-09", "Kelby Courier", "Market traders face higher fees",
                    "Traders at Kelby street market now pay a pitch fee of £24 a day after the council's review."),
    "fee-2025.md": ("2025-01-21", "Wold Radio", "Kelby market fee rises again",
                    "The pitch fee at Kelby street market goes up to £27 a day next month."),
    "guide.md": (None, "Kelby Traders Guild", "Trading at Kelby market",
                 "The pitch fee at Kelby street market is paid to the market office each morning."),
    "other.md": ("2024-05-02", "Wold Radio", "Norcott market fee frozen",
                 "The pitch fee at Norcott street market stays at £15 a day this year."),
}  # fmt: skip
AS_OF = "2026-02-01"
QUESTION = "How has the pitch fee at Kelby street market changed?"


@pytest.fixture(scope="module")
def store(tmp_path_factory, minilm):
    articles = {
        name: ({"title": title, "source": outlet, "date": day}, f"{body} Stalls open at seven.")
        for name, (day, outlet, title, body) in ARTICLES.items()
    }
    return dated_store(tmp_path_factory.mktemp("timeline"), articles, minilm)


@pytest.fixture(scope="module")
def assistant(store, minilm):
    return Assistant(store, Settings(as_of=AS_OF), minilm)


def test_a_dated_list_oldest_first_each_earlier_fee_superseded(assistant):
    answer = assistant.ask(QUESTION)
    lines = answer.text.splitlines()
    assert lines[0] == "What the articles reported, oldest first:"
    assert [c.title for c in answer.citations] == [
        "Kelby market pitch fee set", "Market traders face higher fees", "Kelby market fee rises again",
        "Trading at Kelby market",
    ]  # fmt: skip
    assert lines[1].startswith("- 4 Mar 2019, Kelby Council: The pitch fee at Kelby street market will be £18")
    assert lines[1].endswith("[1] (superseded by £24 [2])") and lines[2].endswith("[2] (superseded by £27 [3])")
    assert lines[3].startswith("- 21 Jan 2025, Wold Radio:") and lines[3].endswith("[3]")
    assert lines[4].startswith("- Undated, Kelby Traders Guild:")
    assert "Norcott" not in answer.text and not answer.conflicts
    assert answer.trace["timeline"]["articles"] == [c.article_id for c in answer.citations]


def test_since_a_date_the_list_starts_there(assistant):
    answer = assistant.ask("What has happened with the pitch fee at Kelby street market since 2021?")
    assert answer.trace["dates"]["since"] == "2021-01-01"
    assert [c.title for c in answer.citations] == ["Market traders face higher fees", "Kelby market fee rises again"]
    assert answer.text.splitlines()[1].endswith("(superseded by £27 [2])")


def test_a_question_that_asks_no_change_gets_an_ordinary_answer(assistant):
    answer = assistant.ask("How much is the pitch fee at Norcott street market?")
    assert "oldest first" not in answer.text and "£15" in answer.text and "timeline" not in answer.trace


def test_the_cli_prints_the_list(store):
    out = subprocess.run(
        [sys.executable, "-m", "rag", "ask", QUESTION, "--json", "--store", str(store), "--as-of", AS_OF],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["answer"].startswith("What the articles reported, oldest first:\n- 4 Mar 2019, Kelby Council:")
    assert [c["published_at"][:4] for c in answer["citations"][:3]] == ["2019", "2022", "2025"]


def test_a_model_is_asked_for_the_list_and_shown_the_articles_oldest_first(store, minilm):
    llm = ScriptedLLM()
    llm.answer = (
        "The pitch fee at Kelby street market was £18 a day [{£18}]. The pitch fee goes up to £27 a day [{£27}]."
    )
    try:
        settings = Settings(backend="openai", model="scripted", base_url=llm.url, as_of=AS_OF)
        answer = Assistant(store, settings, minilm).ask(QUESTION)
    finally:
        llm.close()
    assert ASK_TIMELINE in llm.prompt
    # Only the market's articles, oldest first (the undated guide last), not the other market's.
    shown = [re.search(r"£\d+|office", text).group() for _, text in sorted(llm.sources.items())]
    assert shown == ["£18", "£24", "£27", "office"]
    assert [c.title for c in answer.citations] == ["Kelby market pitch fee set", "Kelby market fee rises again"]
    assert all(s.supported for s in answer.sentences)


def test_a_model_asked_what_happened_since_a_date_is_asked_for_the_list_too(store, minilm):
    llm = ScriptedLLM()
    llm.answer = "The pitch fee at Kelby street market goes up to £27 a day [{£27}]."
    try:
        settings = Settings(backend="openai", model="scripted", base_url=llm.url, as_of=AS_OF)
        Assistant(store, settings, minilm).ask(
            "What has happened with the pitch fee at Kelby street market since 2021?"
        )
    finally:
        llm.close()
    assert ASK_TIMELINE in llm.prompt and "£18" not in llm.prompt and "£24" in llm.prompt
