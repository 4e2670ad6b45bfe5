"""Dossier's answers in the shapes of OpenAI's chat-completions API (pure: data in, dicts out).

Citations travel three ways, so that every kind of client finds them:
- `choices[0].message.annotations` (streaming: the final chunk's `delta.annotations`), OpenAI's own shape:
  one `url_citation` per sentence and passage it cites, its indexes the sentence's span in the answer text;
- a top-level `citations` list of URLs, in citation order ([1] first: the Perplexity convention);
- a top-level `dossier`: the whole `Answer` as `python -m rag ask --json` prints it.
A streamed answer also sends each cited passage once, in its own chunk before the text whose marker first
numbers it: an empty `delta` beside a top-level `dossier_source` (the citation and its URL) and the same
passage as an `event` in the shape Open WebUI shows as a source card; clients that know neither pass over them.
"""

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from urllib.parse import quote

from dossier_core.errors import InputError
from ingest.load import is_url
from rag.answer import Answer, Citation
from rag.assistant import MAX_QUESTION

MODEL = "dossier"
OWNER = "dossier"
# The turns a question is answered with; OpenAI's other roles (system, developer, tool) say nothing Dossier uses.
TURNS = ("user", "assistant")
FRAGMENT_WORDS = 4  # words at each end of a passage that a text fragment names
FRAGMENT_CHARACTERS = 60  # at most, each end


def message_text(content: str | list | None, where: str) -> str:
    """A message's text: a string, or OpenAI's list of content parts of which only text ones can be read."""
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise InputError(f"{where}: a {kind!r} content part; Dossier reads text parts only")
        texts.append(part["text"])
    return "\n".join(texts)


def conversation(messages: list[dict]) -> tuple[str, list[dict]]:
    """The question — the last message, which must be the user's — and the user and assistant turns
    before it as the history, as the chat page passes them (answers keep their [n] markers)."""
    if not messages or messages[-1].get("role") != "user":
        raise InputError("messages: the last message must be the user's question (role 'user')")
    history = [
        {"role": m["role"], "content": message_text(m.get("content"), f"messages[{i}].content")}
        for i, m in enumerate(messages[:-1])
        if m.get("role") in TURNS
    ]
    question = message_text(messages[-1].get("content"), f"messages[{len(messages) - 1}].content")
    # Checked here as well as by the Assistant, so that a client's mistake is a 400, not a failure.
    if not question.strip():
        raise InputError("messages: the last user message is empty; send a question")
    if len(" ".join(question.split())) > MAX_QUESTION:
        raise InputError(f"messages: the question is over {MAX_QUESTION} characters; ask a shorter one")
    return question, [turn for turn in history if turn["content"].strip()]


def citation_url(citation: Citation, base_url: str) -> str:
    """Where a reader checks the passage. A web article: its own address, with a text fragment that makes a
    browser scroll to the passage and mark it (two passages of one page get two addresses, which clients
    that key sources by address need). Else its stable address on this server, with the passage's
    characters in the fragment (GET /v1/articles/{id} returns the text they index)."""
    for url in (citation.url, citation.source):
        if is_url(url):
            fragment = _text_fragment(citation.text)
            return f"{url.partition('#')[0]}#:~:text={fragment}" if fragment else url
    article = f"{base_url.rstrip('/')}/v1/articles/{quote(citation.article_id, safe='')}"
    return f"{article}#chars={citation.start}-{citation.end}"


def _text_fragment(passage: str) -> str:
    """A text directive for the passage: the whole of a short one, else its first and last few words (within
    FRAGMENT_CHARACTERS each, not overlapping). Commas, hyphens and ampersands mean something in a directive,
    so every such character is escaped."""
    words = passage.split()
    whole = " ".join(words)
    if len(words) <= 2 * FRAGMENT_WORDS and len(whole) <= FRAGMENT_CHARACTERS:
        terms = [whole]
    else:
        first = _fitting(words)
        last = _fitting(words[first:][::-1])
        terms = [" ".join(words[:first]) or words[0][:FRAGMENT_CHARACTERS], " ".join(words[len(words) - last :])]
    return ",".join(quote(term, safe="").replace("-", "%2D") for term in terms if term)


def _fitting(words: list[str]) -> int:
    """How many of the first words a directive's term takes: FRAGMENT_WORDS at most, within FRAGMENT_CHARACTERS."""
    count, length = 0, -1
    while count < min(FRAGMENT_WORDS, len(words)) and length + 1 + len(words[count]) <= FRAGMENT_CHARACTERS:
        length += 1 + len(words[count])
        count += 1
    return count


def sentence_spans(answer: Answer) -> list[tuple[int, int]]:
    """Where each of `answer.sentences` stands in `answer.text` (they appear in it verbatim, in order)."""
    spans, at = [], 0
    for sentence in answer.sentences:
        start = answer.text.find(sentence.text, at)
        if start < 0:  # not expected: a sentence is kept as written; its citations still reach `citations`
            spans.append((-1, -1))
            continue
        at = start + len(sentence.text)
        spans.append((start, at))
    return spans


def annotations(answer: Answer, base_url: str) -> list[dict]:
    """One url_citation per sentence and passage it cites, indexing the sentence (with its markers)."""
    by_number = {c.n: c for c in answer.citations}
    found = []
    for sentence, (start, end) in zip(answer.sentences, sentence_spans(answer)):
        for n in sentence.citations:
            citation = by_number.get(n)
            if citation is None or start < 0:
                continue
            found.append(
                {
                    "type": "url_citation",
                    "url_citation": {
                        "start_index": start,
                        "end_index": end,
                        "url": citation_url(citation, base_url),
                        "title": citation.title or citation.source,
                    },
                }
            )
    return found


def citation_urls(answer: Answer, base_url: str) -> list[str]:
    return [citation_url(c, base_url) for c in sorted(answer.citations, key=lambda c: c.n)]


def completion(answer: Answer, base_url: str, reply_id: str, created: int) -> dict:
    """A whole answer as a `chat.completion`."""
    return {
        "id": reply_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.text,
                    "refusal": None,
                    "annotations": annotations(answer, base_url),
                },
                "finish_reason": "stop",
            }
        ],
        "citations": citation_urls(answer, base_url),
        "dossier": answer.to_dict(),
    }


def chunk(reply_id: str, created: int, delta: dict, finish_reason: str | None = None, **extra) -> dict:
    """One `chat.completion.chunk`; `extra` adds top-level fields."""
    return {
        "id": reply_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        **extra,
    }


def source(citation: Citation, base_url: str) -> dict:
    """What a streamed `dossier_source` holds: the citation as `dossier.citations` has it, and its URL."""
    return {**asdict(citation), "url": citation_url(citation, base_url)}


def open_webui_source(citation: Citation, base_url: str) -> dict:
    """The same passage as the `event` Open WebUI passes to its page (a source card titled with the article,
    showing the passage). Its address is the annotations', so that Open WebUI merges the two into one card;
    `external` keeps the title, not the address, as the card's name."""
    url, title = citation_url(citation, base_url), citation.title or citation.source
    return {
        "type": "source",
        "data": {
            "source": {"id": url, "name": title, "url": url},
            "document": [citation.text],
            "metadata": [{"source": url, "name": title, "url": url, "external": True}],
        },
    }


def chunks(pieces: Iterable[str | Citation | Answer], base_url: str, reply_id: str, created: int) -> Iterator[dict]:
    """The chunks of a streamed answer, from `Assistant.stream(…, sources=True)`: a role chunk, the text as
    it comes, each cited passage once in its own chunk before the text whose marker first numbers it, then
    the final chunk with the annotations, `citations` and the whole `dossier` object. The final Answer's
    text differs from what streamed only where checking moved a model's citation (see rag.citations.finish):
    a passage it then cites is sent just before the final chunk, and the annotations, `citations` and
    `dossier` follow the final numbering, that of `dossier.answer`."""
    yield chunk(reply_id, created, {"role": "assistant", "content": ""})
    streamed, sent = "", set()
    for piece in pieces:
        if isinstance(piece, str):
            streamed += piece
            yield chunk(reply_id, created, {"content": piece})
            continue
        if isinstance(piece, Citation):
            sent.add(_passage(piece))
            yield _source_chunk(reply_id, created, piece, base_url)
            continue
        for citation in piece.citations:
            if _passage(citation) not in sent:
                sent.add(_passage(citation))
                yield _source_chunk(reply_id, created, citation, base_url)
        if piece.text.startswith(streamed) and len(piece.text) > len(streamed):
            yield chunk(reply_id, created, {"content": piece.text[len(streamed) :]})
        yield chunk(
            reply_id,
            created,
            {"annotations": annotations(piece, base_url)},
            "stop",
            citations=citation_urls(piece, base_url),
            dossier=piece.to_dict(),
        )
        return


def _source_chunk(reply_id: str, created: int, citation: Citation, base_url: str) -> dict:
    return chunk(
        reply_id,
        created,
        {},
        dossier_source=source(citation, base_url),
        event=open_webui_source(citation, base_url),
    )


def _passage(citation: Citation) -> tuple[str, int, int]:
    return citation.article_id, citation.start, citation.end


def models(created: int) -> dict:
    return {"object": "list", "data": [model(created)]}


def model(created: int) -> dict:
    return {"id": MODEL, "object": "model", "created": created, "owned_by": OWNER}


def error(message: str, kind: str, param: str | None = None, code: str | None = None) -> dict:
    """OpenAI's error body, which its clients raise with the message."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
