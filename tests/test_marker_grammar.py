"""The [n] markers of a finished answer, read and rewritten in one place (rag.markers) for the page, the
exports, the prompt's history and the evaluation."""

import time

from dossier_core.text import MONTH_PATTERN, NUMBER_WORDS, singular
from ingest.metadata import find_date
from rag.markers import MARKER, cited, renumber, unmarked

ANSWER = "The ferry sails at 07:15 [2].\nTickets cost 4 euros [1][3], says the port [12]. Section [a] is not one."


def test_cited_reads_the_numbers_in_order():
    assert cited(ANSWER) == (2, 1, 3, 12)
    assert cited("No markers (1) here, nor [x] or [ 2 ].") == ()


def test_renumber_rewrites_each_marker_and_drops_the_ones_mapped_to_none_with_their_space():
    assert renumber(ANSWER, lambda n: {1: 5, 2: 4, 3: 6}.get(n)) == (
        "The ferry sails at 07:15 [4].\nTickets cost 4 euros [5][6], says the port. Section [a] is not one."
    )
    assert unmarked(ANSWER) == "The ferry sails at 07:15.\nTickets cost 4 euros, says the port. Section [a] is not one."


def test_a_marker_takes_the_space_before_it_and_long_runs_of_space_stay_linear():
    assert [(m["space"], m["n"]) for m in MARKER.finditer("a  [1]\n[2]")] == [("  ", "1"), ("\n", "2")]
    spaces = "word" + " " * 200_000 + "end"
    started = time.perf_counter()
    assert unmarked(spaces) == spaces
    assert time.perf_counter() - started < 1


def test_shared_calendar_and_number_words():
    # Longest first, so "Sept." is read whole and not as "Sep" followed by "t".
    alternatives = MONTH_PATTERN.split("|")
    assert alternatives.index("september") < alternatives.index("sept") < alternatives.index("sep")
    assert len(alternatives) == 12 + 12  # every month's name and abbreviation once ("may" is both)
    assert find_date("Filed Sept. 4, 2023 by the harbour master") == "2023-09-04"
    assert {"twelve", "hundred", "dozen"} <= NUMBER_WORDS and "third" not in NUMBER_WORDS
    assert [singular(w) for w in ("bridges", "glass", "bus", "tides")] == ["bridge", "glass", "bus", "tide"]
