"""Every citation style a model writes, end to end: Dossier's openai backend against a scripted
OpenAI-compatible server (tests/scripted_llm.py) that streams fixed answers, over a real store of
tests/fixtures/library with the bundled MiniLM. {words} in an answer is the source number of the
passage holding those words, so each answer cites the passages it means whatever order they come in."""

import re
import shutil

import pytest

from rag import Assistant, Settings
from tests.conftest import LIBRARY
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.model

GLACIERS = "The team measured 176 glaciers using drones, ground-penetrating radar and stakes"
COFFEE = "Arabica coffee futures rose to 3.20 dollars a pound on Monday"
VOTE = "The Lakeport city council voted 7 to 2 on Tuesday night"
COST = "The city's engineers put the cost at 48 million dollars"
ICE_AND_COFFEE = "How many glaciers did the team measure, and what price did arabica coffee futures reach?"
BRIDGE = "How did the Lakeport council vote on the Harbor Bridge, and what will it cost?"


@pytest.fixture(scope="module")
def llm():
    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, minilm, llm):
    root = tmp_path_factory.mktemp("styles")
    library = shutil.copytree(LIBRARY, root / "library")
    assert {r.status for r in Assistant(root / "store", embedder=minilm).library.ingest([library])} == {"added"}
    return scripted(root / "store", llm, minilm)


def scripted(store, llm, minilm, **settings):
    # top_k 6: every chunk of the three articles is in the prompt.
    settings = Settings(backend="openai", model="scripted", base_url=llm.url, top_k=6, **settings)
    return Assistant(store, settings, embedder=minilm)


def ask(assistant, llm, answer, question):
    llm.answer, llm.sources = answer, {}
    *pieces, final = assistant.stream(question)
    assert not final.abstained and len(llm.sources) == 6
    assert len(pieces) > 5  # streamed in pieces, not in one block
    return "".join(pieces), final


def cited(final, llm, words):
    """The source numbers (as in the prompt) that the sentence holding `words` cites, and the sentence."""
    (sentence,) = [s for s in final.sentences if words in s.text]
    in_prompt = {" ".join(text.split()): n for n, text in llm.sources.items()}  # rag.prompt puts each on one line
    return {in_prompt[" ".join(final.citations[n - 1].text.split())] for n in sentence.citations}, sentence


def assert_canonical(text):
    """Only [n] markers, numbered 1, 2, … by first use."""
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", text)]
    assert list(dict.fromkeys(numbers)) == list(range(1, len(set(numbers)) + 1)), text
    assert not re.search(r"【|\^|\[[^\d\]]|\[\d+[^\d\]]|\((?i:source)", re.sub(r"\[\d+\]", "", text)), text


STYLES = [
    ("after the full stop", f"{GLACIERS}. [{{176 glaciers}}] {COFFEE}. [{{3.20 dollars}}]"),
    (
        "chained and listed",
        f"{GLACIERS} [{{176 glaciers}}][{{3.20 dollars}}]. {COFFEE} [{{3.20 dollars}}, {{176 glaciers}}].",
    ),
    ("semicolons", f"{GLACIERS} [{{176 glaciers}}; {{3.20 dollars}}]. {COFFEE} [{{3.20 dollars}}]."),
    ("full-width brackets glued to the full stop", f"{GLACIERS}.【{{176 glaciers}}】{COFFEE}.【{{3.20 dollars}}】"),
    ("parentheses", f"{GLACIERS} ({{176 glaciers}}). {COFFEE}. ({{3.20 dollars}})"),
    ("source labels", f"{GLACIERS} [Source {{176 glaciers}}]. {COFFEE} (source {{3.20 dollars}})."),
    ("carets", f"{GLACIERS}.^{{176 glaciers}} {COFFEE}^[{{3.20 dollars}}]."),
    ("markers on the next line", f"{GLACIERS}.\n[{{176 glaciers}}]\n{COFFEE}.\n[{{3.20 dollars}}]"),
    ("markers first", f"[{{176 glaciers}}] {GLACIERS}.\n[{{3.20 dollars}}] {COFFEE}."),
]


@pytest.mark.parametrize("style, answer", STYLES, ids=[s for s, _ in STYLES])
def test_every_marker_style_binds_to_its_sentence_and_streams_canonical(assistant, llm, style, answer):
    streamed, final = ask(assistant, llm, answer, ICE_AND_COFFEE)
    assert final.text == streamed  # nothing to change: what streamed was already canonical and right
    assert_canonical(final.text)
    glaciers, sentence = cited(final, llm, GLACIERS)
    assert llm.number("176 glaciers") in glaciers and sentence.supported and not sentence.recited
    coffee, sentence = cited(final, llm, COFFEE)
    assert llm.number("3.20 dollars") in coffee and sentence.supported and not sentence.recited
    assert final.removed_markers == ()


def test_a_range_cites_every_passage_in_it(assistant, llm):
    streamed, final = ask(assistant, llm, f"{GLACIERS} [1-6].", ICE_AND_COFFEE)
    assert final.text == streamed == f"{GLACIERS} [1][2][3][4][5][6]."
    assert cited(final, llm, GLACIERS)[0] == set(range(1, 7))


def test_a_quote_keeps_its_marker_and_enumerations_stay_text(assistant, llm):
    answer = (
        f'Mayor Tom Hale replied that "the contract caps the builder\'s charges." [{{48 million}}] '
        f"{VOTE}; two members voted (1) no and (2) against."
    )
    _, final = ask(assistant, llm, answer, BRIDGE)
    assert "voted (1) no and (2) against." in final.text
    assert cited(final, llm, "Mayor Tom Hale")[0] == {llm.number("48 million")}
    assert_canonical(final.text)


def test_sentences_citing_the_wrong_passage_are_recited_and_say_so(assistant, llm):
    swapped = f"{GLACIERS} [{{3.20 dollars}}]. {COFFEE} [{{176 glaciers}}]."
    streamed, final = ask(assistant, llm, swapped, ICE_AND_COFFEE)
    assert final.text == streamed  # the two swap: each number now names the other passage
    glaciers, first = cited(final, llm, GLACIERS)
    coffee, second = cited(final, llm, COFFEE)
    assert glaciers == {llm.number("176 glaciers")} and coffee == {llm.number("3.20 dollars")}
    assert (first.supported, first.recited, first.reason) == (True, True, "cited [2], but [1] supports it")
    assert (second.supported, second.recited, second.reason) == (True, True, "cited [1], but [2] supports it")


def test_an_uncited_sentence_gets_the_passage_that_supports_it_wherever_it_is_in_the_prompt(assistant, llm):
    _, final = ask(assistant, llm, f"{COST}. {VOTE} [{{7 to 2}}].", BRIDGE)
    assert final.text == f"{COST}. [1] {VOTE} [2]."
    cost, sentence = cited(final, llm, COST)
    assert cost == {llm.number("48 million")} and sentence.supported and not sentence.recited
    assert "gave no citation" in sentence.reason


def test_a_sentence_with_one_fact_from_each_of_two_passages_cites_both(assistant, llm):
    both = (
        "The Lakeport city council voted 7 to 2 to approve the Harbor Bridge, "
        "and the city's engineers put the cost at 48 million dollars"
    )
    _, final = ask(assistant, llm, f"{both} [{{7 to 2}}].", BRIDGE)
    numbers, sentence = cited(final, llm, both)
    assert numbers == {llm.number("7 to 2"), llm.number("48 million")}
    assert sentence.supported and sentence.recited and "together support it" in sentence.reason
    assert_canonical(final.text)


def test_strict_keeps_recited_sentences_and_drops_the_rest(assistant, llm, minilm):
    strict = scripted(assistant.library.path, llm, minilm, strict=True)
    llm.answer = f"{GLACIERS} [{{3.20 dollars}}]. The glaciers will grow back by 2031 [{{176 glaciers}}]."
    answer = strict.ask(ICE_AND_COFFEE)
    assert answer.text == f"{GLACIERS} [1]." and [s.recited for s in answer.sentences] == [True]
    # The same for one question asked strictly of an assistant that is not; and the other way round.
    assert assistant.ask(ICE_AND_COFFEE, strict=True).text == answer.text
    assert len(strict.ask(ICE_AND_COFFEE, strict=False).sentences) == 2
    # Streamed, its sources are those of the checked text, numbered as it is: the dropped sentence's is not sent.
    llm.answer = f"The glaciers will grow back by 2031 [{{176 glaciers}}]. {COFFEE} [{{3.20 dollars}}]."
    *told, text, final = strict.stream(ICE_AND_COFFEE, sources=True)
    assert text == final.text == f"{COFFEE} [1]." and told == list(final.citations)


def test_each_source_streams_once_before_the_text_whose_marker_first_numbers_it(assistant, llm):
    llm.answer = f"{VOTE} (Source {{7 to 2}}). {COST} [{{48 million}}]. The council approved it [{{7 to 2}}]."
    pieces = list(assistant.stream(BRIDGE, sources=True))
    *pieces, final = pieces
    text, told = "", {}
    for piece in pieces:
        if isinstance(piece, str):
            text += piece
            assert set(map(int, re.findall(r"\[(\d+)\]", text))) <= set(told)  # no marker before its source
        else:
            assert piece.n not in told and piece.highlights == ()
            told[piece.n] = piece
    assert text == final.text and sorted(told) == [1, 2]
    for n, citation in told.items():  # the final answer cites the same passages under the same numbers
        kept = final.citations[n - 1]
        assert (citation.article_id, citation.start, citation.text) == (kept.article_id, kept.start, kept.text)
    assert {c.n for c in final.citations} == {1, 2} and all(c.highlights for c in final.citations)
    assert not any(isinstance(p, type(final.citations[0])) for p in assistant.stream(BRIDGE))  # only when asked
