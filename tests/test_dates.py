"""Dates in questions: every kind of phrase in rag.dates' table, read against a fixed today."""

import dataclasses
from datetime import date

import pytest

from rag import dates
from rag.dates import DateIntent, read_dates

MAY = date(2026, 5, 14)  # a Thursday; its week began on Monday 11 May
JANUARY = date(2026, 1, 20)  # a Tuesday, before any March of its year


def d(text: str | None) -> date | None:
    return text and date.fromisoformat(text)


# (question, since, until) for date filters read on MAY.
FILTERS_IN_MAY = [
    ("What has the port authority said since March?", "2026-03-01", None),
    ("Has the ferry timetable changed since March 2024?", "2024-03-01", None),
    ("How has the coastal rail plan moved since 2019?", "2019-01-01", None),
    ("Which shops opened since 2024-03-01?", "2024-03-01", None),
    ("What changed in the tram network from 2021 onwards?", "2021-01-01", None),
    ("What has the union said since the strike in November 2025?", "2025-11-01", None),
    ("Which fishing quotas were set in 2019?", "2019-01-01", "2019-12-31"),
    ("Who chaired the harbour board in March 2024?", "2024-03-01", "2024-03-31"),
    ("What did the teachers demand in March?", "2026-03-01", "2026-03-31"),
    ("What was agreed in April?", "2026-04-01", "2026-04-30"),
    ("What happened to grain prices during 2021?", "2021-01-01", "2021-12-31"),
    ("Were there floods throughout 2022?", "2022-01-01", "2022-12-31"),
    ("Any reports from 2018 about the dam?", "2018-01-01", "2018-12-31"),
    ("What happened in February 2024?", "2024-02-01", "2024-02-29"),
    ("What happened in February 2025?", "2025-02-01", "2025-02-28"),
    ("How did the tram budget move between 2019 and 2021?", "2019-01-01", "2021-12-31"),
    ("How did the tram budget move between 2021 and 2019?", "2019-01-01", "2021-12-31"),
    ("Were wages cut in 2017–2018?", "2017-01-01", "2018-12-31"),
    ("Who won the cup in 2019 and 2020?", "2019-01-01", "2020-12-31"),
    ("What was said about the drought from March to May 2024?", "2024-03-01", "2024-05-31"),
    ("What was said between November and February 2024?", "2023-11-01", "2024-02-29"),
    ("What was said from 3 March to 5 May 2024?", "2024-03-03", "2024-05-05"),
    ("What changed from 2019 to now?", "2019-01-01", None),
    ("What did the council plan before 2020?", None, "2019-12-31"),
    ("What did polls show before the referendum in October 2025?", None, "2025-09-30"),
    ("What was known before yesterday?", None, "2026-05-12"),
    ("What did the mine operator announce after June 2023?", "2023-07-01", None),
    ("What happened after the vote on 2 March 2026?", "2026-03-03", None),
    ("Which firms traded until 2015?", None, "2015-12-31"),
    ("What did the ministry publish last week?", "2026-05-04", "2026-05-10"),
    ("Any rulings this week?", "2026-05-11", None),
    ("What did the regulator fine last month?", "2026-04-01", "2026-04-30"),
    ("How many flights were cancelled this month?", "2026-05-01", None),
    ("What did the orchestra premiere last year?", "2025-01-01", "2025-12-31"),
    ("How many ships docked this year?", "2026-01-01", None),
    ("Any news from last week about the dam?", "2026-05-04", "2026-05-10"),
    ("How bad were the storms of last week?", "2026-05-04", "2026-05-10"),
    ("What did the mayor say yesterday?", "2026-05-13", "2026-05-13"),
    ("What did the court decide today?", "2026-05-14", "2026-05-14"),
    ("Today, what did the court decide?", "2026-05-14", "2026-05-14"),
    ("What was said last Friday?", "2026-05-08", "2026-05-08"),
    ("What was said last Thursday?", "2026-05-07", "2026-05-07"),
    ("What did the envoy say on Monday?", "2026-05-11", "2026-05-11"),
    ("What happened last March?", "2026-03-01", "2026-03-31"),
    ("What happened in the past 3 days?", "2026-05-11", None),
    ("What changed over the last two weeks?", "2026-04-30", None),
    ("What has been reported over the past few weeks?", "2026-04-23", None),
    ("What did critics write in the last year?", "2025-05-14", None),
    ("What broke in the past 24 hours?", "2026-05-13", None),
    ("How has the city grown over the past decade?", "2016-05-14", None),
    ("What was decided on 3 November 2025?", "2025-11-03", "2025-11-03"),
    ("What did the senator say on Nov. 3?", "2025-11-03", "2025-11-03"),
    ("What did the senator say on November 3rd, 2025?", "2025-11-03", "2025-11-03"),
    ("What was filed on Feb. 29?", "2024-02-29", "2024-02-29"),
    ("What did the board vote on 2025-11-03?", "2025-11-03", "2025-11-03"),
    ("What was built in late 2023?", "2023-09-01", "2023-12-31"),
    ("What has happened since mid-April?", "2026-04-11", None),
]

# (question, since, until) read on JANUARY: months without a year roll back to last year.
FILTERS_IN_JANUARY = [
    ("What has the port authority said since March?", "2025-03-01", None),
    ("What did the teachers demand in March?", "2025-03-01", "2025-03-31"),
    ("What was agreed in January?", "2026-01-01", "2026-01-31"),
    ("What did the senator say on Jan. 25?", "2025-01-25", "2025-01-25"),
    ("What was said from November to February?", "2024-11-01", "2025-02-28"),
    ("What did the regulator fine last month?", "2025-12-01", "2025-12-31"),
    ("What did the ministry publish last week?", "2026-01-12", "2026-01-18"),
    ("How many ships docked this year?", "2026-01-01", None),
    ("What did critics write in the last month?", "2025-12-20", None),
    ("What happened last March?", "2025-03-01", "2025-03-31"),
]

RECENCY = [
    "What is the latest on the bridge?",
    "What is the most recent figure?",
    "Which is the newest model?",
    "Who currently runs the agency?",
    "Who is the current chair of the board?",
    "Where does the inquiry stand now?",
    "Is the minister still in office?",
    "Is there still water in the reservoir?",
    "How many cases so far?",
    "How many cases as of today?",
    "How many cases to date?",
    "What has the council done recently?",
    "Why have prices risen lately?",
]

# Not date filters and not a recency wish: names, verbs, modifiers, counts, hyphenated and possessive words.
NEGATIVES = [
    "Who led the march on Washington?",
    "What did May say about the treaty?",
    "What did a 2019 audit find?",
    "Why did the 2024 election turn out that way?",
    "What was in the 2019 report?",
    "How did the now-famous photo spread?",
    "Will they present the still images?",
    "How were funds spent in 2,019 cases?",
    "Were deaths recorded in 2019 cases?",
    "Were votes recounted in May elections?",
    "Question 2019?",
    "What did USA Today report about it?",
    "What did the minister say after Jan resigned?",
    "What was cut in last year's budget?",
    "What happened in the last year of her term?",
    "Which quotes came from May?",
    "How strong is the current?",
    "Is the island so far away?",
    "What was filed on Feb. 30?",
    "How did 1500 traders react in 1500 trades?",
    "What was planned at the end of 2024?",  # "at" is no date word here
]


@pytest.mark.parametrize(("question", "since", "until"), FILTERS_IN_MAY)
def test_phrase_table_in_may(question, since, until):
    intent = read_dates(question, MAY)
    assert (intent.since, intent.until) == (d(since), d(until))
    assert not intent.recency


@pytest.mark.parametrize(("question", "since", "until"), FILTERS_IN_JANUARY)
def test_months_without_a_year_roll_back_in_january(question, since, until):
    intent = read_dates(question, JANUARY)
    assert (intent.since, intent.until) == (d(since), d(until))


@pytest.mark.parametrize("question", RECENCY)
def test_recency_words_ask_for_the_latest_without_a_filter(question):
    intent = read_dates(question, MAY)
    assert intent.recency and (intent.since, intent.until) == (None, None)
    assert intent.question == question  # not a filter: retrieval still sees it


@pytest.mark.parametrize("question", NEGATIVES)
def test_names_modifiers_and_counts_are_not_dates(question):
    assert read_dates(question, MAY) == DateIntent(question)


def test_every_row_of_the_table_is_exercised():
    phrases = [
        phrase
        for question in [q for q, *_ in FILTERS_IN_MAY + FILTERS_IN_JANUARY] + RECENCY
        for phrase in read_dates(question, MAY).phrases
    ]
    unread = [
        row for (pattern, _), row in zip(dates.compiled(), dates.PHRASES) if not any(map(pattern.fullmatch, phrases))
    ]
    assert not unread


def test_date_with_a_year_and_as_of_reads_as_the_state_then():
    intent = read_dates("Who owned the mill as of March 2024?", MAY)
    assert (intent.since, intent.until, intent.recency) == (None, d("2024-03-31"), True)
    assert intent.question == "Who owned the mill?"


def test_phrases_are_kept_as_written_in_order():
    intent = read_dates("What is the LATEST on the dam  SINCE  March 2024?", MAY)
    assert intent.phrases == ("LATEST", "SINCE  March 2024")
    assert (intent.since, intent.recency) == (d("2024-03-01"), True)


def test_several_phrases_narrow_the_range():
    intent = read_dates("What changed since March 2024 but before June 2024?", MAY)
    assert (intent.since, intent.until) == (d("2024-03-01"), d("2024-05-31"))


def test_a_phrase_contradicting_an_earlier_one_is_dropped_and_left_in_the_question():
    intent = read_dates("What happened in 2019 since 2021?", MAY)
    assert (intent.since, intent.until) == (d("2019-01-01"), d("2019-12-31"))
    assert intent.phrases == ("in 2019",)
    assert intent.question == "What happened since 2021?"


@pytest.mark.parametrize(
    ("question", "cleaned"),
    [
        ("What did the council decide in 2019?", "What did the council decide?"),
        ("In March 2024, who chaired the board?", "Who chaired the board?"),
        ("What did polls show before the referendum in October 2025?", "What did polls show before the referendum?"),
        ("Any news from last week about the dam?", "Any news about the dam?"),
        ("what changed between 2019 and 2021 in Oslo?", "what changed in Oslo?"),
        ("What did the mayor say yesterday, and why?", "What did the mayor say, and why?"),
        ("What is the latest on the dam since March?", "What is the latest on the dam?"),
        ("Last week?", "Last week?"),  # nothing but the date: retrieval keeps the words it has
        ("Who runs   the dam?", "Who runs   the dam?"),
    ],
)
def test_the_question_loses_only_its_filter_phrases(question, cleaned):
    assert read_dates(question, MAY).question == cleaned


@pytest.mark.parametrize(
    ("intent", "label"),
    [
        (DateIntent("q", since=d("2026-03-01")), "since 1 Mar 2026"),
        (DateIntent("q", until=d("2024-10-31")), "until 31 Oct 2024"),
        (DateIntent("q", since=d("2024-03-01"), until=d("2024-03-31")), "1–31 Mar 2024"),
        (DateIntent("q", since=d("2024-03-01"), until=d("2024-05-31")), "1 Mar – 31 May 2024"),
        (DateIntent("q", since=d("2024-11-01"), until=d("2025-02-28")), "1 Nov 2024 – 28 Feb 2025"),
        (DateIntent("q", since=d("2025-11-03"), until=d("2025-11-03")), "3 Nov 2025"),
        (DateIntent("q", recency=True), "latest first"),
        (DateIntent("q", until=d("2024-03-31"), recency=True), "until 31 Mar 2024, latest first"),
        (DateIntent("q"), ""),
    ],
)
def test_describe_gives_the_chip_label(intent, label):
    assert intent.describe() == label


def test_describe_of_a_read_question():
    assert read_dates("What happened in February 2024?", MAY).describe() == "1–29 Feb 2024"


def test_the_intent_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        read_dates("since 2019", MAY).since = None
