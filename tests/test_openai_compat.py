"""Answers in OpenAI's chat-completion shapes, on hand-built Answers; the openai package's own types read them."""

from dataclasses import replace
from urllib.parse import quote

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from rag import Answer, Citation, DossierError
from rag.answer import Sentence
from rag.server import openai_compat as oai

BASE = "http://127.0.0.1:8000/"
BRIDGE = Citation(
    1, "bridge", "Harbor Bridge", "/docs/bridge.md", "The bridge will cost 48 million dollars.", 120, 160, 0.8,
    author="Dana Whitfield", published_at="2025-03-04", highlights=((0, 40),),
)  # fmt: skip
GLACIER = Citation(
    2, "news/glacier 7", "Glaciers", "https://news.example/glaciers?id=7", "Glaciers lost a tenth of their ice.", 0, 35,
    0.6, url="https://news.example/glaciers",
)  # fmt: skip
TEXT = "The bridge will cost 48 million dollars [1]. Glaciers lost a tenth of their ice [2] and the bridge is late [1]."
ANSWER = Answer(
    TEXT,
    (BRIDGE, GLACIER),
    False,
    (
        Sentence("The bridge will cost 48 million dollars [1].", (1,), True, "quoted"),
        Sentence("Glaciers lost a tenth of their ice [2] and the bridge is late [1].", (2, 1), False, "not said"),
    ),
)
# A web article's own address, with a text fragment that takes a browser to the passage.
GLACIER_URL = "https://news.example/glaciers#:~:text=Glaciers%20lost%20a%20tenth%20of%20their%20ice."
ABSTAINED = Answer("The articles in the library don't cover this question.", (), True)


def test_a_completion_carries_annotations_citations_and_the_whole_answer():
    body = oai.completion(ANSWER, BASE, "chatcmpl-1", 7)
    parsed = ChatCompletion.model_validate(body)  # as the openai client reads the response
    message = parsed.choices[0].message
    assert message.content == TEXT and parsed.choices[0].finish_reason == "stop" and parsed.model == "dossier"
    spans = [(a.url_citation.start_index, a.url_citation.end_index, a.url_citation.url) for a in message.annotations]
    first, second = TEXT.index("The bridge"), TEXT.index("Glaciers")
    bridge_url = "http://127.0.0.1:8000/v1/articles/bridge#chars=120-160"
    assert spans == [
        (first, second - 1, bridge_url),
        (second, len(TEXT), GLACIER_URL),  # the article's own address
        (second, len(TEXT), bridge_url),  # a sentence citing two passages is annotated for each
    ]
    assert TEXT[first : second - 1] == ANSWER.sentences[0].text
    assert [a.url_citation.title for a in message.annotations] == ["Harbor Bridge", "Glaciers", "Harbor Bridge"]
    assert parsed.model_extra["citations"] == [bridge_url, GLACIER_URL]
    assert parsed.model_extra["dossier"] == ANSWER.to_dict()


def test_an_article_without_a_web_address_links_to_this_server():
    on_disk = Citation(3, "news/glacier 7", None, "/docs/g.txt", "Ice.", 5, 9, 0.5)
    assert oai.citation_url(on_disk, "http://h:1/") == "http://h:1/v1/articles/news%2Fglacier%207#chars=5-9"
    from_web = Citation(3, "g", None, "https://site.example/a", "Ice.", 5, 9, 0.5)
    assert oai.citation_url(from_web, "http://h:1") == "https://site.example/a#:~:text=Ice."


def test_an_abstention_has_no_citations():
    body = oai.completion(ABSTAINED, BASE, "chatcmpl-2", 7)
    assert body["choices"][0]["message"]["annotations"] == [] and body["citations"] == []
    assert body["dossier"]["abstained"] is True


def test_a_strict_answer_whose_sentences_were_joined_is_still_annotated():
    kept = Sentence("Glaciers lost a tenth of their ice [1].", (1,), True, "quoted")
    answer = Answer(kept.text, (replace(GLACIER, n=1),), False, (kept,), dropped=1)
    (annotation,) = oai.annotations(answer, BASE)
    assert (annotation["url_citation"]["start_index"], annotation["url_citation"]["end_index"]) == (0, len(kept.text))


def stream(pieces):
    chunks = list(oai.chunks(pieces, BASE, "chatcmpl-3", 9))
    for c in chunks:
        ChatCompletionChunk.model_validate(c)  # every chunk is one the openai client reads
    return chunks


def test_a_stream_sends_text_then_each_source_once_then_the_final_chunk():
    pieces = ["The bridge will cost 48 million dollars", " [1]. Glaciers lost a tenth of their ice [2]"]
    pieces.append(TEXT[len("".join(pieces)) :])
    chunks = stream([*pieces, ANSWER])
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == TEXT
    sources = [c["dossier_source"] for c in chunks if "dossier_source" in c]
    assert [s["n"] for s in sources] == [1, 2] and sources[1]["url"] == GLACIER_URL
    assert sources[0] == {**ANSWER.to_dict()["citations"][0], "url": oai.citation_url(BRIDGE, BASE)}
    assert all(c["choices"][0]["delta"] == {} for c in chunks if "dossier_source" in c)
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop" and "dossier_source" not in final
    assert final["choices"][0]["delta"]["annotations"] == oai.annotations(ANSWER, BASE)
    assert final["citations"] == oai.citation_urls(ANSWER, BASE) and final["dossier"] == ANSWER.to_dict()
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_two_passages_of_one_web_page_get_two_addresses_that_name_their_text():
    page = "https://paper.example/story?id=4#comments"
    opening = replace(GLACIER, url=page, text="Snow fell early, and the pass closed at dawn on the first day of May.")
    closing = replace(opening, n=3, text="Crews re-opened it - a week later & at a cost.")
    first, second = oai.citation_url(opening, BASE), oai.citation_url(closing, BASE)
    assert first == "https://paper.example/story?id=4#:~:text=Snow%20fell%20early%2C%20and,first%20day%20of%20May."
    assert second == "https://paper.example/story?id=4#:~:text=Crews%20re%2Dopened%20it%20%2D,%26%20at%20a%20cost."
    unspaced = replace(opening, text="冰川" * 400)  # one "word" of 800 characters: its start, not all of it
    assert oai.citation_url(unspaced, BASE) == f"https://paper.example/story?id=4#:~:text={quote('冰川' * 30)}"
    assert oai.citation_url(replace(opening, text=" "), BASE) == page  # nothing to point at: the page itself
    card = oai.open_webui_source(opening, BASE)
    assert card["data"]["source"]["url"] == first and card["data"]["document"] == [opening.text]
    assert card["data"]["metadata"] == [{"source": first, "name": "Glaciers", "url": first, "external": True}]


def test_sources_streamed_with_the_text_are_not_sent_again_and_one_only_the_check_cites_is():
    streamed = replace(BRIDGE, highlights=())  # as Assistant.stream tells it: before its highlights are known
    pieces = [
        streamed,
        "The bridge will cost 48 million dollars [1].",
        TEXT[len("The bridge will cost 48 million dollars [1].") :],
    ]
    chunks = stream([*pieces, ANSWER])
    told = [(i, c["dossier_source"]) for i, c in enumerate(chunks) if "dossier_source" in c]
    assert [s["n"] for _, s in told] == [1, 2] and told[0][0] == 1 and not told[0][1]["highlights"]
    assert told[1][0] == len(chunks) - 2  # the passage only the final answer cites: just before the final chunk


def test_text_that_comes_only_with_the_answer_is_sent_after_its_sources():
    chunks = stream(["The bridge will cost"] + [ANSWER])  # e.g. a cut-off piece the final text completes
    contents = [c["choices"][0]["delta"].get("content") for c in chunks]
    assert "".join(filter(None, contents)) == TEXT
    assert contents.index(TEXT[len("The bridge will cost") :]) > max(
        i for i, c in enumerate(chunks) if "dossier_source" in c
    )


def test_an_abstention_streams_its_text_and_no_sources():
    chunks = stream([ABSTAINED.text, ABSTAINED])
    assert not any("dossier_source" in c for c in chunks) and chunks[-1]["citations"] == []


def test_the_conversation_is_the_last_user_message_and_the_turns_before_it():
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Who approved the"}, {"type": "text", "text": "bridge?"}],
        },
        {"role": "assistant", "content": "The council [1]."},
        {"role": "tool", "content": "ignored"},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "How much will it cost?"},
    ]
    question, history = oai.conversation(messages)
    assert question == "How much will it cost?"
    assert history == [
        {"role": "user", "content": "Who approved the\nbridge?"},
        {"role": "assistant", "content": "The council [1]."},
    ]


@pytest.mark.parametrize(
    "messages, message",
    [
        (
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
            "last message must be the user",
        ),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], "'image_url' content part"),
        ([], "last message must be the user"),
        ([{"role": "user", "content": " \n "}], "the last user message is empty"),
        ([{"role": "user", "content": "Why? " * 500}], "the question is over 2000 characters"),
    ],
)
def test_a_conversation_dossier_cannot_read_is_refused(messages, message):
    with pytest.raises(DossierError, match=message):
        oai.conversation(messages)


def test_models_and_errors_have_openai_shapes():
    assert oai.models(5) == {
        "object": "list",
        "data": [{"id": "dossier", "object": "model", "created": 5, "owned_by": "dossier"}],
    }
    assert oai.error("no", "invalid_request_error", "messages") == {
        "error": {"message": "no", "type": "invalid_request_error", "param": "messages", "code": None}
    }
