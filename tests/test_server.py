"""`python -m rag serve` as clients use it: a real server process on a free port over a real store, called with
the official openai client, LangChain's ChatOpenAI and plain HTTP."""

import http.client
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import openai
import pytest
from openai import OpenAI

from rag import Library
from rag.settings import load_settings
from tests.conftest import LIBRARY, free_port
from tests.test_cli import ROOT, env, run

pytestmark = [pytest.mark.slow, pytest.mark.model]
QUESTION = "How much will the Harbor Bridge cost?"
FULL, READER = "full-key-0123", "reader-key-4567"
SERVER_VARIABLES = ("DOSSIER_API_KEYS", "DOSSIER_HOST", "DOSSIER_PORT", "DOSSIER_BACKEND", "DOSSIER_BASE_URL")


class Server:
    """A `python -m rag serve` process; its output goes to a file (a pipe nobody reads would fill and block it)."""

    def __init__(self, store, *flags, **environ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 — open while the server runs; stop() closes it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag", "serve", "--store", str(store), "--port", str(self.port), *flags],
            cwd=ROOT,
            env={**{k: v for k, v in env().items() if k not in SERVER_VARIABLES}, **environ},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited:\n{self.output()}"
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"serve did not answer within 120 s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def client(self, key="unused") -> OpenAI:
        return OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=60)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory, minilm):
    path = tmp_path_factory.mktemp("served") / "store"
    results = Library(path, embedder=minilm).ingest([LIBRARY])
    assert [r.status for r in results] == ["added"] * 3
    return path


@pytest.fixture(scope="module")
def server(store):
    s = Server(store)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def keyed(store):
    s = Server(store, DOSSIER_API_KEYS=f"{FULL}, {READER}:read")
    yield s
    s.stop()


def ask(server, question=QUESTION, **extra):
    return server.client().chat.completions.create(
        model="dossier", messages=[{"role": "user", "content": question}], **extra
    )


def test_the_openai_client_gets_a_cited_answer_with_annotations_and_the_whole_answer(server):
    reply = ask(server)
    text = reply.choices[0].message.content
    assert "48 million dollars" in text and re.search(r"\[1\]", text)
    dossier = reply.model_extra["dossier"]
    assert dossier["answer"] == text and not dossier["abstained"] and dossier["sentences"]
    urls = reply.model_extra["citations"]
    assert len(urls) == len(dossier["citations"]) >= 1
    annotations = reply.choices[0].message.annotations
    assert annotations and {a.url_citation.url for a in annotations} == set(urls)
    for a in annotations:
        cited = text[a.url_citation.start_index : a.url_citation.end_index]
        assert cited in [s["text"] for s in dossier["sentences"]]  # the span is the sentence that cites it
        n = urls.index(a.url_citation.url) + 1
        assert f"[{n}]" in cited and a.url_citation.title == dossier["citations"][n - 1]["title"]


def test_a_citation_url_leads_to_the_passage_on_this_server(server):
    reply = ask(server)
    first = reply.model_extra["dossier"]["citations"][0]
    url = reply.model_extra["citations"][0]
    assert (
        url == f"http://127.0.0.1:{server.port}/v1/articles/{first['article_id']}#chars={first['start']}-{first['end']}"
    )
    article = httpx.get(url.split("#")[0]).json()
    assert article["text"][first["start"] : first["end"]] == first["text"]


def test_a_streamed_answer_is_the_same_answer_with_each_source_sent_once_before_done(server):
    whole = ask(server)
    chunks = list(ask(server, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    sources = [i for i, c in enumerate(chunks) if "dossier_source" in (c.model_extra or {})]
    numbers = [chunks[i].model_extra["dossier_source"]["n"] for i in sources]
    assert numbers == [c["n"] for c in whole.model_extra["dossier"]["citations"]]  # each once, in order
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop" and max(sources) < len(chunks) - 1
    assert final.model_extra["dossier"]["answer"] == text
    assert final.model_extra["citations"] == whole.model_extra["citations"]
    streamed = final.choices[0].delta.model_extra["annotations"]
    assert streamed == [a.model_dump() for a in whole.choices[0].message.annotations]
    # On the wire: server-sent events, the sources before the final chunk, then [DONE].
    body = {"model": "dossier", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)
    assert '"finish_reason": "stop"' in events[-2]
    # Each source comes before the first text that holds its marker.
    text = ""
    for event in events[:-2]:
        if '"dossier_source"' in event:
            told = json.loads(event[6:])["dossier_source"]["n"]
            assert f"[{told}]" not in text
        text += json.loads(event[6:])["choices"][0]["delta"].get("content") or ""
    assert "[1]" in text


def test_follow_ups_read_the_conversation(server):
    first = ask(server, "Who approved the Harbor Bridge?").choices[0].message.content
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},  # as chat apps send one; not a turn
        {"role": "user", "content": "Who approved the Harbor Bridge?"},
        {"role": "assistant", "content": first},
        {"role": "user", "content": "How much will it cost?"},
    ]
    reply = server.client().chat.completions.create(model="dossier", messages=messages)
    assert "48 million" in reply.choices[0].message.content
    assert "Harbor Bridge" in reply.model_extra["dossier"]["trace"]["query"]


def test_dossier_options_filter_limit_and_check_the_answer(server):
    only_glaciers = ask(server, extra_body={"dossier": {"filters": {"source": "glacier-study"}, "k": 1}})
    dossier = only_glaciers.model_extra["dossier"]
    assert all("glacier-study" in p["source"] for p in dossier["trace"]["passages"])
    assert len(dossier["trace"]["passages"]) == 1 and "48 million" not in dossier["answer"]
    strict = ask(server, extra_body={"dossier": {"strict": True}}).model_extra["dossier"]
    assert "48 million" in strict["answer"] and strict["unsupported"] == []


def test_langchain_chat_openai_talks_to_it(server):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(base_url=f"{server.url}/v1", api_key="unused", model="dossier", max_retries=0)
    answer = chat.invoke(QUESTION)
    assert "48 million dollars" in answer.content and "[1]" in answer.content
    assert "".join(piece.content for piece in chat.stream(QUESTION)) == answer.content


def test_without_keys_the_server_is_open_on_loopback_and_says_so(server):
    assert "listening on loopback only" in server.output()
    assert httpx.get(f"{server.url}/v1/models").json()["data"][0]["id"] == "dossier"


def error_of(response, status):
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    return response.json()["error"]


def test_keys_are_needed_everywhere_but_health_and_a_read_key_cannot_write(keyed):
    output = keyed.output()
    assert "2 API keys, 1 of them read-only" in output and FULL not in output and READER not in output
    url = keyed.url
    assert httpx.get(f"{url}/health").status_code == 200
    schema = httpx.get(f"{url}/openapi.json").json()  # the API docs hold no library data and stay open
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for headers in ({}, {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {FULL}"}):
        error = error_of(httpx.get(f"{url}/v1/models", headers=headers), 401)
        assert error["type"] == "authentication_error"
        assert "send the header Authorization: Bearer KEY" in error["message"] or "not one of" in error["message"]
    with pytest.raises(openai.AuthenticationError):
        keyed.client("wrong-key").models.list()
    assert (
        "48 million"
        in keyed.client(READER)
        .chat.completions.create(model="dossier", messages=[{"role": "user", "content": QUESTION}])
        .choices[0]
        .message.content
    )
    reader = {"Authorization": f"Bearer {READER}"}
    assert httpx.post(f"{url}/v1/search", json={"query": "glacier"}, headers=reader).status_code == 200
    error = error_of(httpx.delete(f"{url}/v1/articles/no-such-article", headers=reader), 403)
    assert error["type"] == "permission_error"
    error_of(httpx.post(f"{url}/v1/articles", json={"url": "https://example.com/a"}, headers=reader), 403)
    full = {"Authorization": f"Bearer {FULL}"}
    assert error_of(httpx.delete(f"{url}/v1/articles/no-such-article", headers=full), 404)["type"] == "not_found_error"


def test_bad_requests_get_a_json_error_naming_the_problem(server):
    url = f"{server.url}/v1/chat/completions"
    broken = '{"model": "dossier", "messages": [{"role": "user", "content": "Hi"},]}'
    error = error_of(httpx.post(url, content=broken, headers={"Content-Type": "application/json"}), 400)
    assert error["message"] == f"malformed JSON at character {broken.index(']}')}: Expecting value"
    error = error_of(httpx.post(url, json={"model": "dossier"}), 400)
    assert (error["message"], error["param"]) == ("messages: Field required", "messages")
    bad_role = {"model": "dossier", "messages": [{"role": "robot", "content": "Hi"}]}
    assert error_of(httpx.post(url, json=bad_role), 400)["message"].startswith("messages[0].role: Input should be")
    typo = {"messages": [{"role": "user", "content": QUESTION}], "dossier": {"filter": {}}}
    assert error_of(httpx.post(url, json=typo), 400)["param"] == "dossier.filter"
    day = {"messages": [{"role": "user", "content": QUESTION}], "dossier": {"filters": {"since": "last week"}}}
    assert "is not a date" in error_of(httpx.post(url, json=day), 400)["message"]
    answered = {"messages": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "It costs…"}]}
    assert error_of(httpx.post(url, json=answered), 400)["message"].startswith("messages: the last message must be")
    nobody = {"messages": [{"role": "user", "content": QUESTION}], "dossier": {"filters": {"author": "Nobody Atall"}}}
    assert error_of(httpx.post(url, json=nobody), 404)["message"].startswith("no article matches the filters")
    searched = httpx.post(f"{server.url}/v1/search", json={"query": "bridge", "filters": {"author": "Nobody Atall"}})
    assert error_of(searched, 404)["message"].startswith("no article matches the filters")
    with pytest.raises(openai.NotFoundError, match="model 'gpt-4o' is not served here"):
        server.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    assert error_of(httpx.get(f"{server.url}/v1/nothing"), 404)["message"] == "no route GET /v1/nothing; see /docs"
    assert "/v1/chat/completions" in httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_a_body_over_the_upload_limit_is_refused(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 60000000\r\n\r\n{"
        )
        reply = http.client.HTTPResponse(s)
        reply.begin()
        error = json.loads(reply.read())["error"]
    assert reply.status == 413 and error["type"] == "request_too_large" and "upload limit" in error["message"]

    def chunked():  # no Content-Length: counted as it arrives
        yield b'{"messages": "'
        yield from (b"x" * 2**20 for _ in range(51))
        yield b'"}'

    response = httpx.post(
        f"{server.url}/v1/chat/completions", content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert "upload limit of 50 MiB" in error_of(response, 413)["message"]


class SlowLLM:
    """An OpenAI-compatible model server that streams its answer a word every `pause` seconds, or fails:
    at once (`fail = "now"`, a 500) or after a few words (`fail = "midway"`, an error event). `cut` counts the
    answers it stopped writing because Dossier closed the stream."""

    ANSWER = "The city's engineers put the cost of the Harbor Bridge at 48 million dollars [1]."

    def __init__(self, pause: float = 0.2):
        self.pause, self.fail, self.cut = pause, None, 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handler(self):
        llm = self

        def event(data: dict) -> bytes:
            return f"data: {json.dumps(data)}\n\n".encode()

        def chunk(delta: dict, finish=None) -> bytes:
            return event({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "slow",
                          "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                if llm.fail == "now":
                    self.send_error(500, "the model crashed")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for n, word in enumerate(re.findall(r"\S+\s*", llm.ANSWER)):
                    if llm.fail == "midway" and n == 3:
                        self.wfile.write(event({"error": {"message": "the model ran out of memory"}}))
                        return
                    time.sleep(llm.pause)
                    try:
                        self.wfile.write(chunk({"content": word}))
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        llm.cut += 1
                        return
                self.wfile.write(chunk({}, "stop") + b"data: [DONE]\n\n")

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def slow(store):
    llm = SlowLLM()
    s = Server(store, "--backend", "openai", "--model", "slow", "--base-url", llm.url)
    yield s, llm
    s.stop()
    llm.close()


def test_a_slow_answer_blocks_neither_searches_nor_health(slow):
    server, llm = slow
    stream = iter(ask(server, stream=True))
    next(c for c in stream if c.choices and c.choices[0].delta.content)  # the model has begun writing

    def call(n: int) -> tuple[int, float]:
        if n % 2:
            response = httpx.post(f"{server.url}/v1/search", json={"query": "glacier ice", "k": 3}, timeout=30)
        else:
            response = httpx.get(f"{server.url}/health", timeout=30)
        return response.status_code, time.monotonic()

    with ThreadPoolExecutor(40) as pool:
        calls = list(pool.map(call, range(40)))
    rest = list(stream)
    answered = time.monotonic()
    assert [status for status, _ in calls] == [200] * 40
    # Every call finished while the model was still writing: at least its last words came after.
    words_left = sum(bool(c.choices and c.choices[0].delta.content) for c in rest)
    assert words_left >= 3 and max(done for _, done in calls) < answered - 2 * llm.pause
    assert "the cost of the Harbor Bridge at 48 million dollars" in rest[-1].model_extra["dossier"]["answer"]


def test_a_client_that_goes_away_stops_the_model_writing(slow):
    server, llm = slow
    body = {"model": "dossier", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=60) as response:
        next(line for line in response.iter_lines() if '"content": "The' in line)  # the model has begun
    deadline = time.monotonic() + 10
    while not llm.cut and time.monotonic() < deadline:
        time.sleep(0.1)
    assert llm.cut == 1


def test_a_failing_model_is_a_503_or_a_500_with_one_line_never_a_traceback(slow):
    server, llm = slow
    try:
        llm.fail = "now"
        for stream in (False, True):  # a failure before the first word gets its own status, streamed or not
            with pytest.raises(openai.InternalServerError) as failed:
                ask(server, stream=stream)
            assert failed.value.status_code == 503
            assert failed.value.body["message"].startswith(f"openai backend: {llm.url} answered 500")
        llm.fail = "midway"  # the model's stream breaks off with an error event
        with pytest.raises(openai.InternalServerError) as failed:
            ask(server)
        assert failed.value.status_code == 503
        assert failed.value.body["message"] == (
            f"openai backend: {llm.url} failed while writing the answer: the model ran out of memory; "
            "try again, or check the server's log"
        )
        with pytest.raises(openai.APIError, match="failed while writing the answer: the model ran out of memory"):
            list(ask(server, stream=True))  # once the stream has begun: an error event
    finally:
        llm.fail = None
    assert "Traceback" not in server.output()  # every failure here was one the server knows how to say


def test_serve_refuses_an_open_network_address_without_keys_and_a_malformed_key(store):
    result = run("rag", "serve", "--store", store, "--host", "0.0.0.0")
    assert result.returncode == 2 and "--host 0.0.0.0 without an API key" in result.stderr
    result = run("rag", "serve", "--store", store, "--api-key", "secret-value:admin")
    assert result.returncode == 2 and "unknown scope ':admin'" in result.stderr and "secret-value" not in result.stderr


def test_keys_come_from_flags_or_the_environment():
    from rag.__main__ import parser

    args = parser().parse_args(["serve", "--api-key", "a", "--api-key", "b:read", "--port", "9000"])
    settings = load_settings(args, {"DOSSIER_API_KEYS": "ignored"})
    assert (settings.api_keys, settings.port, settings.host) == (("a", "b:read"), 9000, "127.0.0.1")
    settings = load_settings(parser().parse_args(["serve"]), {"DOSSIER_API_KEYS": " a, b:read ,"})
    assert settings.api_keys == ("a", "b:read") and "b:read" not in repr(settings)
