"""Dates in answers: the newest relevant article answers a "latest" question (RECENT_MARGIN), an answer says
which day it speaks for ("As of …"), and an answer citing articles of different dates names them — quoted
sentences carry their article's day, a model's answer that names none gains a line of them. Pure functions on
small invented hits first, then the real Assistant with the bundled MiniLM (extractive, and a scripted model)."""

import pytest

from rag import Assistant, Settings
from rag.answer import Answer, Citation
from rag.dated import dated_quotes, dates_note, without_days
from rag.recency import RECENT_MARGIN, as_of, day_label, newest_relevant, with_as_of
from tests.conftest import dated_store
from tests.scripted_llm import ScriptedLLM
from vectorstore.records import Hit


def hit(article: str, score: float, published_at: str | None, text: str = "The quay was rebuilt.") -> Hit:
    return Hit(f"{article}#0", article, text, 0, len(text), score, article.title(), f"/news/{article}.md",
               published_at=published_at)  # fmt: skip


def cite(n: int, published_at: str | None, highlights=((0, 10),)) -> Citation:
    return Citation(n, f"art-{n}", f"Title {n}", f"/news/{n}.md", "x" * 40, 0, 40, 0.8,
                    published_at=published_at, highlights=highlights)  # fmt: skip


# -- choosing the newest relevant article


def test_a_newer_article_on_the_same_thing_answers_though_an_older_one_matches_the_words_better():
    # As measured (rag.recency): the newer report of the same thing within the margin, the newer one on another
    # thing beyond it. A margin of 0.1 would keep the older report; one of 0.2 would let the other thing answer.
    older, newer, other = (
        hit("older", 0.80, "2021-03-01"),
        hit("newer", 0.66, "2025-06-02"),
        hit("other", 0.62, "2026-01-15"),
    )
    chosen, day = newest_relevant([older, newer, other], 0.80 - RECENT_MARGIN)
    assert (chosen, day) == ([newer], "2025-06-02")
    only_other = [older, hit("other", 0.62, "2026-01-15")]
    assert newest_relevant(only_other, 0.80 - RECENT_MARGIN) == ([older], "2021-03-01")


def test_every_passage_of_the_newest_article_comes_and_undated_hits_stay_as_they_were():
    first, second = hit("new", 0.7, "2025-02-01T09:30:00"), hit("new", 0.6, "2025-02-01T09:30:00")
    assert newest_relevant([hit("old", 0.75, "2020-01-01"), first, second], 0.55) == ([first, second], "2025-02-01")
    undated = [hit("a", 0.8, None), hit("b", 0.7, None)]
    assert newest_relevant(undated, 0.5) == (undated, None)
    # A dump may give a date as it found it: it cannot be compared, so it is not the newest.
    unread, year = hit("unread", 0.8, "March 3, 2027"), hit("year", 0.7, "2025")
    assert newest_relevant([unread, year, hit("month", 0.7, "2024-06")], 0.5) == ([year], "2025")


def test_an_answer_opens_with_its_day_and_the_model_s_leading_space_goes():
    assert as_of("2025-11-03") == "As of 3 Nov 2025: " and as_of("2025-06") == "As of Jun 2025: "
    assert [day_label(d) for d in ("2025-11-03T23:10:00+00:00", "2025", "March 3, 2024", "2025-13-01")] == [
        "3 Nov 2025", "2025", "March 3, 2024", "2025-13-01",
    ]  # fmt: skip
    assert list(with_as_of(iter(["\n", "  The", " fare"]), "2026-04-09")) == ["As of 9 Apr 2026: ", "The", " fare"]
    assert list(with_as_of(iter([" The", " fare"]), None)) == [" The", " fare"]


# -- naming the dates


def test_quotes_from_articles_of_different_days_each_carry_their_day():
    passages = [hit("a", 0.8, "2023-09-30"), hit("b", 0.7, "2025-11-04"), hit("c", 0.6, None)]
    pieces = ["Rent was £910. [1]", " Rent is £985. [2]", " Rents vary. [3]"]
    assert dated_quotes(pieces, passages) == [
        "30 Sep 2023: Rent was £910. [1]", " 4 Nov 2025: Rent is £985. [2]", " Rents vary. [3]",
    ]  # fmt: skip
    same_day = [hit("a", 0.8, "2025-11-04"), hit("b", 0.7, "2025-11-04T18:00:00"), hit("c", 0.6, None)]
    assert dated_quotes(pieces, same_day) == pieces
    assert dated_quotes(pieces[:1] + pieces[2:], passages) == pieces[:1] + pieces[2:]  # one dated article cited
    unread = [hit("a", 0.8, "2023-09-30"), hit("b", 0.7, "Nov 4, 2025"), hit("c", 0.6, "2025-11")]
    assert dated_quotes(pieces, unread) == ["30 Sep 2023: Rent was £910. [1]", pieces[1], " Nov 2025: Rents vary. [3]"]
    run = ["Rent was £910. [1]", " Deposits were £1,000. [1]", " Rent is £985. [2]"]
    assert dated_quotes(run, passages) == [
        "30 Sep 2023: Rent was £910. [1]", " Deposits were £1,000. [1]", " 4 Nov 2025: Rent is £985. [2]",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "claim, checked",
    [
        ("As of 4 Nov 2025: The fare is £6.", "The fare is £6."),
        ("30 Sep 2023: Rent was £910.", "Rent was £910."),
        ("On 4 November 2025, the council said rents rose.", "the council said rents rose."),
        ("Rents rose, the council said on November 4, 2025.", "Rents rose, the council said ."),
        ("Rent was £910 (2023-09-30).", "Rent was £910 ."),
        # Days that are not a source's are claims like any other, checked against the passage.
        ("The bridge opens on 4 May 2026.", "The bridge opens on 4 May 2026."),
        ("As of 5 Nov 2025: The fare is £6.", "As of 5 Nov 2025: The fare is £6."),
        ("Rents rose in November 2025.", "Rents rose in November 2025."),
    ],
)
def test_the_check_leaves_out_only_the_days_of_the_sources(claim, checked):
    assert without_days(claim, ["2025-11-04", "2023-09-30T08:00:00", None]) == checked
    assert without_days(claim, [None, "4 November 2025"]) == claim  # no date that can be read


def test_a_source_dated_to_the_month_is_left_out_only_as_a_month():
    assert without_days("As of Jun 2025: The fare is 14 euros.", ["2025-06"]) == "The fare is 14 euros."
    # A library dated by years (addresses, reports) has its quotes opened with the year.
    assert without_days("1854: The nation is at peace.", ["1851", "1854"]) == "The nation is at peace."
    assert without_days("1999: The nation is at peace.", ["1851", "1854"]) == "1999: The nation is at peace."
    # Another article's day in a sentence is a claim like any other: only the cited articles' own are left out.
    both = ["2025-11-04", "2023-09-30"]
    assert without_days("The bridge opened on 4 Nov 2025.", ["2023-09-30"], both) == "The bridge opened on 4 Nov 2025."
    assert without_days("The bridge opened on 4 Nov 2025.", ["2025-11-04"], both) == "The bridge opened ."
    assert without_days("On 4 June 2025 the fare rose.", ["2025-06"]) == "On 4 June 2025 the fare rose."


def answer(text: str, *citations: Citation) -> Answer:
    return Answer(text, citations, False)


def test_a_model_answer_naming_none_of_its_sources_days_gains_them():
    two = (cite(1, "2025-11-04"), cite(2, "2023-09-30"))
    assert dates_note(answer("Rent is £985 [1]. It was £910 [2].", *two)) == (
        "\n\nThe sources differ in date: [1] 4 Nov 2025; [2] 30 Sep 2023."
    )
    for named in ("On 2025-11-04 rent was £985 [1].", "Rent was £910 on 30th of September [2].", "In Nov. 2025 [1]."):
        assert dates_note(answer(named, *two)) == "", named
    assert dates_note(answer("Rent was £910 in September 2024 [2].", *two)) != ""  # not a source's day
    assert dates_note(answer("Rent is £985 [1][2].", cite(1, "2025-11-04"), cite(2, "2025-11-04"))) == ""
    # A cited passage that supports no sentence (no highlights) is not where the answer comes from.
    assert dates_note(answer("Rent is £985 [1][2].", cite(1, "2025-11-04"), cite(2, "2023-09-30", ()))) == ""
    assert dates_note(answer("Rent is £985 [1][2].", cite(1, "2025-11-04"), cite(2, None))) == ""


# -- through the Assistant, with the bundled MiniLM

ARTICLES = {
    "opening.md": ("2024-05-02", "Wendle Library Opens",
                   "The new Wendle library opened on Saturday with 40,000 books on its shelves. "
                   "Readers queued along the canal before the doors opened."),
    "cost.md": ("2024-06-10", "Wendle Library Bill Published",
                "Building the Wendle library cost 3 million euros, the town council said. "
                "The council paid half and a heritage trust paid the rest."),
    "hours-2024.md": ("2024-09-01", "Wendle Library Sets Its Hours",
                      "The Wendle library is open 30 hours a week, with late evenings on Thursdays."),
    "hours-2025.md": ("2025-10-20", "Wendle Library Opens Longer",
                      "The Wendle library is now open 45 hours a week after the town hired two more librarians."),
}  # fmt: skip
OPENED_AND_COST = "When did the Wendle library open and what did it cost to build?"
HOURS_NOW = "How many hours a week is the Wendle library open now?"


@pytest.fixture(scope="module")
def store(tmp_path_factory, minilm):
    articles = {name: ({"title": title, "date": day}, body) for name, (day, title, body) in ARTICLES.items()}
    return dated_store(tmp_path_factory.mktemp("recency"), articles, minilm)


def streamed(assistant: Assistant, question: str, **kw) -> tuple[str, Answer]:
    *pieces, final = assistant.stream(question, **kw)
    return "".join(pieces), final


@pytest.mark.model
def test_an_extractive_answer_citing_two_days_names_both_and_a_latest_one_opens_with_its_day(store, minilm):
    assistant = Assistant(store, Settings(as_of="2026-01-10", top_k=4), minilm)
    text, final = streamed(assistant, OPENED_AND_COST)
    assert (
        text
        == final.text
        == (
            "2 May 2024: The new Wendle library opened on Saturday with 40,000 books on its shelves. [1] "
            "10 Jun 2024: Building the Wendle library cost 3 million euros, the town council said. [2]"
        )
    )
    assert [c.published_at for c in final.citations] == ["2024-05-02", "2024-06-10"]
    assert all(s.supported and s.reason == "quoted from the passage" for s in final.sentences)
    text, latest = streamed(assistant, HOURS_NOW)
    assert text == latest.text == "As of 20 Oct 2025: " + ARTICLES["hours-2025.md"][2] + " [1]"
    assert latest.sentences[0].supported


@pytest.fixture(scope="module")
def llm():
    server = ScriptedLLM()
    yield server
    server.close()


def scripted(store, llm, minilm, **settings) -> Assistant:
    settings = Settings(backend="openai", model="scripted", base_url=llm.url, top_k=4, as_of="2026-01-10", **settings)
    return Assistant(store, settings, minilm)


@pytest.mark.model
def test_a_model_answer_that_names_no_dates_gains_them_once_and_keeps_its_stream(store, minilm, llm):
    assistant = scripted(store, llm, minilm)
    llm.answer = (
        "The new Wendle library opened on Saturday with 40,000 books [{40,000 books}]. "
        "Building it cost 3 million euros, the town council said [{3 million euros}]."
    )
    text, final = streamed(assistant, OPENED_AND_COST)
    assert "have different dates, say each one's date" in llm.prompt  # the model is asked first
    assert (
        text
        == final.text
        == llm.answer.replace("{40,000 books}", "1").replace("{3 million euros}", "2")
        + ("\n\nThe sources differ in date: [1] 2 May 2024; [2] 10 Jun 2024.")
    )
    assert len(final.sentences) == 2 and all(s.supported for s in final.sentences)
    assert scripted(store, llm, minilm, strict=True).ask(OPENED_AND_COST).text == final.text
    # Named by the model, in its own words, the days are not added again and do not fail the check.
    llm.answer = (
        "On 2 May 2024, the new Wendle library opened with 40,000 books [{40,000 books}]. "
        "Building it cost 3 million euros, the town council said on June 10, 2024 [{3 million euros}]."
    )
    text, final = streamed(assistant, OPENED_AND_COST)
    assert text == final.text and "differ in date" not in final.text and final.text.count("2024") == 2
    assert len(final.sentences) == 2 and all(s.supported for s in final.sentences), final.sentences


@pytest.mark.model
def test_a_model_answer_to_a_latest_question_says_which_day_it_speaks_for(store, minilm, llm):
    llm.answer = "\n The library is now open 45 hours a week [{45 hours}]."
    text, final = streamed(scripted(store, llm, minilm), HOURS_NOW)
    assert text == final.text == "As of 20 Oct 2025: The library is now open 45 hours a week [1]."
    assert final.sentences[0].supported and [c.published_at for c in final.citations] == ["2025-10-20"]
