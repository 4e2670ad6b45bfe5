"""Citation markers in every style, binding them to sentences, the support check and re-citing
(fake embedder; the real model in test_llm_styles and test_llm)."""

import re
from itertools import pairwise

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rag.backends.extractive import ExtractiveBackend
from rag.citations import Verifier, abstains, finish
from rag.markers import MarkerStream, Numbering, split_sentences, strip_markers
from rag.settings import Settings
from tests.conftest import FakeEmbedder
from vectorstore.records import Hit


def hit(n, text):
    return Hit(f"c{n}", f"art-{n}", text, 0, len(text), 0.8, f"Title {n}", f"/src/{n}")


def stream(pieces, passages):
    numbering = Numbering(passages)
    markers = MarkerStream(numbering)
    out = [markers.feed(p) for p in pieces] + [markers.flush()]
    return out, numbering


def test_markers_are_renumbered_by_first_use_even_when_split_across_pieces():
    out, numbering = stream(["The toll is ", "4 dollars [", "3", "]. It opens", " in May [1", ", 3]."], passages=3)
    assert "".join(out) == "The toll is 4 dollars [1]. It opens in May [2][1]."
    assert numbering.numbers == {3: 1, 1: 2} and numbering.removed == []
    assert out[:2] == ["The toll is", " 4 dollars"]  # only what may be half a marker waits


def test_markers_pointing_at_no_passage_are_removed_and_reported():
    out, numbering = stream(["Fact one [2]. Fact two [7]. Fact three [0][2]."], passages=2)
    assert "".join(out) == "Fact one [1]. Fact two. Fact three [1]."
    assert numbering.removed == [7, 0]


def test_text_that_only_looks_like_a_marker_passes_through():
    out, _ = stream(["Arrays like x[i] and [sic] stay, as does a lone [", " bracket"], passages=2)
    assert "".join(out) == "Arrays like x[i] and [sic] stay, as does a lone [ bracket"


def test_markers_after_the_full_stop_belong_to_that_sentence():
    text = "The pact was signed in June. [1] Troops were sent [2][1]. No source here."
    assert [(text[s:e], cited) for s, e, cited in split_sentences(text)] == [
        ("The pact was signed in June. [1]", (1,)),
        ("Troops were sent [2][1].", (2, 1)),
        ("No source here.", ()),
    ]


def test_support_quotes_paraphrases_numbers_and_unrelated_claims(fake_embedder):
    passage = "North Korea has sent four million artillery shells. The shipments began in 2023 by rail."
    verifier = Verifier(fake_embedder)
    quoted, paraphrase, wrong_number, wrong_word, unrelated, short = verifier.check(
        [
            ("The shipments began in 2023 by rail.", passage),
            ("Artillery shipments began in 2023 by rail.", passage),
            ("The shipments began in 2019 by rail.", passage),
            ("North Korea has sent five million artillery shells.", passage),
            ("Coffee prices reached a record in Brazil.", passage),
            ("Korea.", passage),
        ]
    )
    assert quoted.supported and quoted.reason == "quoted from the passage"
    assert paraphrase.supported, paraphrase
    assert not wrong_number.supported and "2019" in wrong_number.reason
    assert not wrong_word.supported and "five" in wrong_word.reason
    assert not unrelated.supported and "does not say this" in unrelated.reason
    assert short.reason != "quoted from the passage"  # a word or two is no quote


def test_finish_flags_unsupported_sentences_and_strict_drops_them(fake_embedder):
    passages = [
        hit(1, "The harbour bridge opens in 2027."),
        hit(2, "Coffee prices hit a record of 3.20 dollars a pound in May."),
    ]
    out, numbering = stream(
        ["Coffee hit a record of 4.50 dollars a pound [2]. ", "The bridge opens in 2027 [1]. Aliens built it [1]."], 2
    )
    answer = finish("".join(out), numbering, passages, Verifier(fake_embedder))
    assert (
        answer.text
        == "Coffee hit a record of 4.50 dollars a pound [1]. The bridge opens in 2027 [2]. Aliens built it [2]."
    )
    assert [c.article_id for c in answer.citations] == ["art-2", "art-1"]
    assert [s.supported for s in answer.sentences] == [False, True, False]
    assert "4.50" in answer.sentences[0].reason
    assert answer.unsupported == [0, 2] and answer.to_dict()["unsupported"] == [0, 2]

    strict = finish("".join(out), numbering, passages, Verifier(fake_embedder), strict=True)
    assert strict.text == "The bridge opens in 2027 [1]."
    assert [c.article_id for c in strict.citations] == ["art-1"] and strict.unsupported == []


def test_an_uncited_sentence_gets_the_passage_that_supports_it_and_numbers_follow_first_use(fake_embedder):
    passages = [
        hit(1, "The harbour bridge opens in 2027."),
        hit(2, "Coffee prices hit a record of 3.20 dollars a pound in May."),
    ]
    text = (
        "Coffee prices hit a record of 3.20 dollars a pound.\n\nThe harbour bridge opens in 2027 [1]. Nobody knows why."
    )
    numbering = Numbering(2)
    answer = finish(numbering.rewrite(text), numbering, passages, Verifier(fake_embedder))
    assert (
        answer.text
        == "Coffee prices hit a record of 3.20 dollars a pound. [1]\n\nThe harbour bridge opens in 2027 [2]. "
        "Nobody knows why."
    )
    assert [c.article_id for c in answer.citations] == ["art-2", "art-1"]
    assert [(s.citations, s.supported) for s in answer.sentences] == [((1,), True), ((2,), True), ((), False)]
    assert "gave no citation" in answer.sentences[0].reason and "none supports it" in answer.sentences[2].reason


def test_an_answer_saying_the_passages_do_not_answer_abstains(fake_embedder):
    out, numbering = stream(["The passages do not say who built the bridge."], 2)
    answer = finish("".join(out), numbering, [hit(1, "a"), hit(2, "b")], Verifier(fake_embedder))
    assert answer.abstained and answer.citations == ()
    assert abstains("The articles don't mention it.") and abstains("There is no information about that.")
    assert not abstains("The bridge opens in 2027.")


@pytest.mark.parametrize("text", ["", "[", "[1", "]]]", "[99999999999]", "\x00[1]\n\n[2]"])
def test_odd_answers_never_break_the_parser(text, fake_embedder):
    out, numbering = stream([text], 1)
    answer = finish("".join(out), numbering, [hit(1, "Some passage.")], Verifier(fake_embedder))
    assert all(n == 1 for s in answer.sentences for n in s.citations)
    assert answer.text and (answer.abstained or answer.sentences)


# -- marker styles


@pytest.mark.parametrize(
    "written, canonical",
    [
        ("Fees rose [2]. Fees fell [1][3].", "Fees rose [1]. Fees fell [2][3]."),
        ("Fees rose [2, 3]. Fees fell [3; 1].", "Fees rose [1][2]. Fees fell [2][3]."),
        ("Fees rose [1-3]. Fees fell [3–2].", "Fees rose [1][2][3]. Fees fell [3][2]."),
        ("Fees rose【2】. Fees fell.【1, 3】Then rose.", "Fees rose[1]. Fees fell.[2][3] Then rose."),
        ("Fees rose (2). Fees fell (1, 3).", "Fees rose [1]. Fees fell [2][3]."),
        ("Fees rose. (2) Fees fell (3)\nNo more.", "Fees rose. [1] Fees fell [2]\nNo more."),
        (
            "Fees rose [Source 2]. Fees fell [sources 1 and 3]. Fees held (Source 2).",
            "Fees rose [1]. Fees fell [2][3]. Fees held [1].",
        ),
        (
            "Fees rose.^2 Fees fell^1. Fees held^[3]. Fees went[^2].",
            "Fees rose.[1] Fees fell[2]. Fees held[3]. Fees went[1].",
        ),
        ("Fees rose.\n[2]\nFees fell.\n[1]", "Fees rose.\n[1]\nFees fell.\n[2]"),
        ('She said "fees rose." [2] He said “fees fell.”(1)', 'She said "fees rose." [1] He said “fees fell.”[2]'),
        ("[2] Fees rose.\n[1] Fees fell.", "[1] Fees rose.\n[2] Fees fell."),
    ],
)
def test_every_marker_style_becomes_canonical_even_cut_in_two_character_pieces(written, canonical):
    pieces = [written[i : i + 2] for i in range(0, len(written), 2)]
    assert "".join(stream(pieces, passages=3)[0]) == canonical
    assert "".join(stream([written], passages=3)[0]) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "(1) Fees rose.\n(2) Fees fell.",  # items at a line's start
        "Two changes: (1) fees rose and (2) rents fell.",  # items inside a sentence
        "Fees rose (4).",  # more than the passages shown: a figure, not a citation
        "The yard is 40 m^2 and 10^3 times larger; x^2 grows.",  # powers
        "Clause 4(2) applies; f(1) is small.",
    ],
)
def test_numbers_in_brackets_or_after_a_caret_cite_only_where_they_read_as_citations(text):
    out, numbering = stream([text[i : i + 3] for i in range(0, len(text), 3)], passages=3)
    assert "".join(out) == text and numbering.numbers == {} and numbering.removed == []


def test_a_marker_is_let_through_only_once_what_follows_it_shows_what_it_is():
    out, _ = stream(["Fees rose (", "2", ")", " and then", " fell (1", ")", "."], passages=2)
    assert out == ["Fees rose", "", "", " (2) and then", " fell", "", " [1].", ""]
    out, _ = stream(["Rents rose [Sou", "rce 2", "] in May", "."], passages=2)
    assert "".join(out) == "Rents rose [1] in May." and out[0] == "Rents rose"


STYLED = st.sampled_from(
    [
        "[1]",
        "[2, 3]",
        "[1-3]",
        "【2】",
        "(1)",
        "(2, 3)",
        "(9)",
        "[Source 2]",
        "(source 1)",
        "^1",
        "^[2]",
        "[^3]",
        "(",
        "^",
        "【",
        "[Sou",
        " ",
        "\n",
        ". ",
        "x",
        "Fees",
        ":",
        "”",
        "3",
        "-",
        ",",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(STYLED, max_size=25).map("".join), st.integers(0, 4), st.lists(st.integers(0, 1000), max_size=10))
@example("Fees (1", 2, [6])
@example("Fees^[2] x", 2, [5])  # "^[" is one opener: cut between them, "^" would be left behind
def test_streaming_any_style_in_any_pieces_gives_what_feeding_it_whole_gives(text, passages, cuts):
    bounds = [0, *sorted({c % (len(text) + 1) for c in cuts}), len(text)]
    whole, numbering = stream([text], passages)
    pieces, in_pieces = stream([text[a:b] for a, b in pairwise(bounds)], passages)
    assert "".join(pieces) == "".join(whole)
    assert (in_pieces.numbers, in_pieces.removed) == (numbering.numbers, numbering.removed)


@pytest.mark.parametrize(
    "written, plain",
    [
        ("Fees rose. (2) Rents fell (1, 3).", "Fees rose. Rents fell."),
        ("Fees^1 rose【3】and fell [Source 2]; see [^2] and ^[1].", "Fees rose and fell; see and."),
        ("(1) The clerk said [[9]3] nothing.", "The clerk said nothing."),  # what a removal joins goes too
        ("Two parts: (1) a bridge and (2) a ferry.", "Two parts: (1) a bridge and (2) a ferry."),  # items
        ("It is 40 m^2, 10^3 and Clause 4(2).", "It is 40 m^2, 10^3 and Clause 4(2)."),
    ],
)
def test_stripping_removes_every_style_the_grammar_reads_as_a_marker_and_nothing_else(written, plain):
    assert strip_markers(written) == plain


@pytest.mark.parametrize(
    "sentence",
    [
        "The ferry fare for the island route rose to 4 euros^1 last spring.",
        "The ferry fare for the island route rose to 4 euros at 6 a.m. (2) on Monday.",  # "(2)" after a full stop
        "The ferry fare for the island route rose to 4 euros【3】last spring.",
        "The ferry fare for the island route rose to 4 euros [Source 2] last spring.",
        "The ferry fare for the island route, set by section (2), rose to 4 euros last spring.",
    ],
)
def test_a_quoted_passage_cannot_smuggle_a_citation_into_an_extractive_answer(sentence):
    passages = [
        hit(1, f"Gulls nest on the pier. {sentence}"),
        hit(2, "Rents in the old port rose by 9 percent."),
        hit(3, "The harbour council voted 7 to 2 for a new pier."),
    ]
    question = "What did the ferry fare for the island route rise to?"
    pieces = ExtractiveBackend(FakeEmbedder(), Settings(max_sentences=2)).stream(question, passages, [])
    out, numbering = stream(pieces, len(passages))
    answer = finish("".join(out), numbering, passages, Verifier(FakeEmbedder()))
    assert "4 euros" in answer.text and "Gulls" not in answer.text
    assert numbering.numbers == {1: 1} and numbering.removed == []  # only the citation the backend wrote
    assert re.findall(r"\[\d+\]", answer.text) == ["[1]"] * len(answer.sentences)
    assert all(s.citations == (1,) and s.supported for s in answer.sentences)


@settings(max_examples=300, deadline=None)
@given(st.lists(STYLED, max_size=25).map("".join), st.sampled_from(["", "Fees rose. [1] "]))
def test_a_stripped_quote_holds_no_marker_whatever_the_answer_puts_around_it(quote, before):
    out, numbering = stream([f"{before}{strip_markers(quote)} [2]"], passages=3)
    assert numbering.removed == [] and sorted(numbering.numbers) == ([1, 2] if before else [2]), "".join(out)


# -- binding markers to sentences


@pytest.mark.parametrize(
    "text, sentences",
    [
        ("Rents rose in May. [1] They fell [2].", [("Rents rose in May. [1]", (1,)), ("They fell [2].", (2,))]),
        ("Rents rose in May.[1] They fell.[2]", [("Rents rose in May.[1]", (1,)), ("They fell.[2]", (2,))]),
        ("Rents rose in May.\n[1]\nThey fell.\n[2]", [("Rents rose in May.\n[1]", (1,)), ("They fell.\n[2]", (2,))]),
        ("Rents rose.\n[1] They fell.", [("Rents rose.\n[1]", (1,)), ("They fell.", ())]),
        ('He said: "Rents rose." [2] Then he left.', [('He said: "Rents rose." [2]', (2,)), ("Then he left.", ())]),
        ("At 9:40 a.m. [1] the office shut.", [("At 9:40 a.m. [1] the office shut.", (1,))]),
        (
            "[1] Rents rose.\n[2] They fell. Nobody knows why.",
            [("[1] Rents rose.", (1,)), ("[2] They fell.", (2,)), ("Nobody knows why.", ())],
        ),
        ("[1]\nRents rose. They fell [2].", [("[1]\nRents rose.", (1,)), ("They fell [2].", (2,))]),
    ],
)
def test_markers_bind_to_the_sentence_before_them_unless_the_answer_puts_them_first(text, sentences):
    assert [(text[s:e], cited) for s, e, cited in split_sentences(text)] == sentences


# -- re-citing

RENT = "Rents in the old port rose by 9 percent in 2024, the housing office reported."
VOTED = "The harbour council voted 7 to 2 for the ferry plan"
PRICED = "Engineers put the cost of the ferry plan at 48 million dollars"
FERRY = "The harbour council voted 7 to 2 for the ferry plan on Tuesday. Members argued for hours."
COST = "Engineers put the cost of the ferry plan at 48 million dollars. A grant pays half."


def finished(text, passages, strict=False):
    out, numbering = stream([text[i : i + 4] for i in range(0, len(text), 4)], len(passages))
    return finish("".join(out), numbering, passages, Verifier(FakeEmbedder()), strict)


def test_a_sentence_its_passage_does_not_support_is_recited_to_the_one_that_does():
    passages = [hit(1, RENT), hit(2, FERRY), hit(3, COST)]
    answer = finished(f"{VOTED} [1]. Rents in the old port rose by 9 percent [1].", passages)
    assert answer.text == f"{VOTED} [1]. Rents in the old port rose by 9 percent [2]."
    assert [c.article_id for c in answer.citations] == ["art-2", "art-1"]
    first, second = answer.sentences
    assert (first.citations, first.supported, first.recited) == ((1,), True, True)
    assert first.reason == "cited [2], but [1] supports it"  # the numbers the reader sees
    assert (second.citations, second.supported, second.recited) == ((2,), True, False)
    assert second.reason == "quoted from the passage"
    assert answer.citations[0].highlights == ((0, 63),)  # the supporting sentence of the new passage


def test_a_wrong_passage_no_other_sentence_cites_is_named_by_its_title():
    passages = [hit(1, RENT), hit(2, FERRY), hit(3, COST)]
    answer = finished(f"{PRICED} [1].", passages)
    assert answer.text == f"{PRICED} [1]."
    assert answer.citations[0].article_id == "art-3" and answer.sentences[0].recited
    assert answer.sentences[0].reason == "cited “Title 1”, but [1] supports it"


def test_uncited_sentences_are_matched_against_every_passage_and_strict_keeps_recited_ones():
    passages = [hit(1, RENT), hit(2, FERRY), hit(3, COST)]
    text = f"{PRICED}. The harbour council voted 7 to 2 [3]. Whales sang."
    answer = finished(text, passages)
    checked = f"{PRICED}. [1] The harbour council voted 7 to 2 [2]."
    assert answer.text == f"{checked} Whales sang."
    assert [c.article_id for c in answer.citations] == ["art-3", "art-2"]
    assert [(s.supported, s.recited) for s in answer.sentences] == [(True, False), (True, True), (False, False)]
    assert "gave no citation" in answer.sentences[0].reason and "none supports it" in answer.sentences[2].reason
    strict = finished(text, passages, strict=True)
    assert strict.text == checked


def test_strict_counts_the_sentences_it_drops_also_when_it_drops_them_all():
    passages = [hit(1, RENT), hit(2, FERRY), hit(3, COST)]
    text = f"{VOTED} [2]. Whales sang [1]. Gulls nested on the pier. Rents in the old port rose by 9 percent [1]."
    assert finished(text, passages).dropped == 0  # only strict mode drops
    kept = finished(text, passages, strict=True)
    assert (kept.dropped, len(kept.sentences), kept.to_dict()["dropped"]) == (2, 2, 2)
    none = finished("Whales sang [1]. Gulls nested on the pier.", passages, strict=True)
    assert none.text.startswith("None of the answer's sentences could be verified") and none.dropped == 2


TWO_FACTS = "The harbour council voted 7 to 2 for the ferry plan, which engineers put at 48 million dollars"


@pytest.mark.parametrize(
    "cited, text, recited, reason",
    [
        ("both", f"{TWO_FACTS} [2][3].", False, "[1] and [2] together support it"),
        ("one", f"{TWO_FACTS} [2].", True, "cited [1], but [1] and [2] together support it"),
        ("none", f"{TWO_FACTS}.", False, "the model gave no citation; [1] and [2] together support it"),
    ],
)
def test_a_sentence_stating_one_fact_from_each_of_two_passages_cites_both(cited, text, recited, reason):
    answer = finished(text, [hit(1, RENT), hit(2, FERRY), hit(3, COST)])
    (sentence,) = answer.sentences
    assert [c.article_id for c in answer.citations] == ["art-2", "art-3"]
    assert (sentence.citations, sentence.supported, sentence.recited) == ((1, 2), True, recited)
    assert sentence.reason == reason
    assert re.findall(r"\[\d+\]", answer.text) == ["[1]", "[2]"]
    assert all(c.highlights for c in answer.citations)


def test_two_passages_support_only_what_each_holds_a_part_of(fake_embedder):
    verifier = Verifier(fake_embedder)
    (joined, _), (one_says_all, _), (number_missing, _) = verifier.together(
        [
            (TWO_FACTS, [FERRY, COST]),
            ("The harbour council voted 7 to 2 for the ferry plan.", [FERRY, COST]),
            (f"{TWO_FACTS} in 1999.", [FERRY, COST]),
        ]
    )
    assert joined.supported
    assert not one_says_all.supported and "part" in one_says_all.reason
    assert not number_missing.supported and "1999" in number_missing.reason


def test_a_claim_reordering_one_sentences_words_is_supported_unless_it_negates_them(fake_embedder):
    passage = (
        "Crews cleared the harbour on Monday. One of the skippers has been named as Ilse Brandt, 52, "
        "a ferry captain from Port Elrick who had sailed the route for twenty years. The inquiry continues."
    )
    verifier = Verifier(fake_embedder)
    held, negated, added = verifier.check(
        [
            ("Ilse Brandt was a ferry captain from Port Elrick.", passage),
            ("Ilse Brandt was not a ferry captain from Port Elrick.", passage),
            ("Ilse Brandt was a ferry captain from Port Elrick and a harbour pilot.", passage),
        ]
    )
    assert held.supported and held.reason == "its words are the passage's"
    start, end = held.evidence
    assert passage[start:end].startswith("One of the skippers")
    assert not negated.supported or negated.reason != "its words are the passage's"
    assert added.reason != "its words are the passage's"  # "pilot" is not in that sentence


def test_years_and_large_numbers_in_parentheses_are_text_not_citations():
    quoted = "Cohn, Jr. (2002), and Herlihy (1997) agreed. The president (1869–1909) rowed. Area: 40 m^2, x^123."
    assert strip_markers(quoted) == quoted
    numbering = Numbering(3)
    stream = MarkerStream(numbering)
    assert stream.feed(quoted) + stream.flush() == quoted
    assert numbering.numbers == {} and numbering.removed == []
