"""Citation markers, sentence splitting and the support check (fake embedder; real model in test_llm)."""

import pytest

from rag.citations import MarkerStream, Numbering, Verifier, abstains, finish, split_sentences
from vectorstore.store import Hit


def hit(n, text):
    return Hit(f"c{n}", f"art-{n}", text, 0, len(text), 0.8, f"Title {n}", f"/src/{n}", {})


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
    quoted, paraphrase, wrong_number, wrong_word, unrelated, short = verifier.check([
        ("The shipments began in 2023 by rail.", passage),
        ("Artillery shipments began in 2023 by rail.", passage),
        ("The shipments began in 2019 by rail.", passage),
        ("North Korea has sent five million artillery shells.", passage),
        ("Coffee prices reached a record in Brazil.", passage),
        ("Korea.", passage),
    ])
    assert quoted.supported and quoted.reason == "quoted from the passage"
    assert paraphrase.supported, paraphrase
    assert not wrong_number.supported and "2019" in wrong_number.reason
    assert not wrong_word.supported and "five" in wrong_word.reason
    assert not unrelated.supported and "does not say this" in unrelated.reason
    assert short.reason != "quoted from the passage"  # a word or two is no quote


def test_finish_flags_unsupported_sentences_and_strict_drops_them(fake_embedder):
    passages = [hit(1, "The harbour bridge opens in 2027."), hit(2, "Coffee prices hit a record of 3.20 dollars a pound in May.")]
    out, numbering = stream(["Coffee hit a record of 4.50 dollars a pound [2]. ", "The bridge opens in 2027 [1]. Aliens built it [1]."], 2)
    answer = finish("".join(out), numbering, passages, Verifier(fake_embedder))
    assert answer.text == "Coffee hit a record of 4.50 dollars a pound [1]. The bridge opens in 2027 [2]. Aliens built it [2]."
    assert [c.article_id for c in answer.citations] == ["art-2", "art-1"]
    assert [s.supported for s in answer.sentences] == [False, True, False]
    assert "4.50" in answer.sentences[0].reason
    assert answer.unsupported == [0, 2] and answer.to_dict()["unsupported"] == [0, 2]

    strict = finish("".join(out), numbering, passages, Verifier(fake_embedder), strict=True)
    assert strict.text == "The bridge opens in 2027 [1]."
    assert [c.article_id for c in strict.citations] == ["art-1"] and strict.unsupported == []


def test_an_uncited_sentence_gets_the_passage_that_supports_it_and_numbers_follow_first_use(fake_embedder):
    passages = [hit(1, "The harbour bridge opens in 2027."), hit(2, "Coffee prices hit a record of 3.20 dollars a pound in May.")]
    text = "Coffee prices hit a record of 3.20 dollars a pound.\n\nThe harbour bridge opens in 2027 [1]. Nobody knows why."
    numbering = Numbering(2)
    answer = finish(numbering.rewrite(text), numbering, passages, Verifier(fake_embedder))
    assert answer.text == "Coffee prices hit a record of 3.20 dollars a pound. [1]\n\nThe harbour bridge opens in 2027 [2]. Nobody knows why."
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
