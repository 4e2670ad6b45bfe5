"""Filters take dates as Python gives them, not only as text."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from dossier_core.errors import DossierError
from rag.filters import Filters, Scope, scope
from vectorstore.records import ArticleRecord

ARTICLE = ArticleRecord("tide", "Tides", "/notes/tide.md", "hash-tide", 2, published_at="2024-03-09T22:30:00+00:00")


def test_since_and_until_take_a_date_a_datetime_or_iso_text_alike():
    as_text = Filters(since="2024-03-01", until="2024-03-09")
    assert Filters(since=date(2024, 3, 1), until=date(2024, 3, 9)) == as_text
    assert Filters(since=datetime(2024, 3, 1, 23, 59), until=datetime(2024, 3, 9, tzinfo=UTC)) == as_text
    assert as_text.matches(ARTICLE)
    assert not Filters(since=date(2024, 3, 10)).matches(ARTICLE)
    assert not Filters(until=date(2024, 3, 8)).matches(ARTICLE)
    # A datetime means its own calendar day, in the zone it was given in.
    eastern = datetime(2024, 3, 10, 1, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert Filters(until=eastern).until == "2024-03-10"
    assert str(Filters(since=date(2024, 3, 1))) == "since='2024-03-01'"


@pytest.mark.parametrize("value", ["2024-3-1", "2024-02-30", "last week", 20240301])
def test_a_value_that_is_no_date_is_refused_with_the_form_to_use(value):
    with pytest.raises(DossierError, match=r"since=.* is not a date; write it as YYYY-MM-DD"):
        Filters(since=value)


def test_dates_narrow_filters_to_the_days_both_allow_and_undated_articles_pass_only_when_asked():
    given = Filters(source="Ledger", since="2024-01-15")
    narrowed = given.within(date(2024, 1, 1), date(2024, 12, 31))
    assert (narrowed.source, narrowed.since, narrowed.until) == ("Ledger", "2024-01-15", "2024-12-31")
    assert Filters().within(None, date(2020, 6, 30)) == Filters(until="2020-06-30")
    undated = ArticleRecord("memo", "Memo", "/notes/memo.md", "hash-memo", 1)
    assert not Filters(since="2024-01-01").matches(undated)
    assert Filters(since="2024-01-01", undated=True).matches(undated)
    assert Filters(undated=True).matches(undated) and not Filters(undated=True)  # alone it filters nothing


def test_a_scope_is_read_from_the_records_once_and_dates_apply_only_where_articles_have_them():
    dated = ArticleRecord("fare", "Fare", "/n/fare.md", "h1", 1, published_at="2023-04-18")
    later = ArticleRecord("boat", "Boat", "/n/boat.md", "h2", 1, published_at="2026-03-20")
    undated = ArticleRecord("memo", "Memo", "/n/memo.md", "h3", 1)
    in_2023 = scope([dated, later, undated], None, date(2023, 1, 1), date(2023, 12, 31))
    assert (in_2023.articles, in_2023.left_out, in_2023.dated) == (["fare"], 1, True)
    assert in_2023.filters == Filters(since="2023-01-01", until="2023-12-31")
    encyclopedia = scope([undated], None, date(1997, 1, 1), date(1997, 12, 31))
    assert encyclopedia == Scope(None, None)  # "in 1997" stays the topic
    assert scope([dated, later], Filters(source="/n/"), None, None).articles is None  # every article: no id list
    with pytest.raises(DossierError, match=r"no article matches .*; 1 undated left out: .*--include-undated"):
        scope([dated, undated], None, date(2019, 1, 1), date(2019, 12, 31))
