"""A scripted OpenAI-compatible chat server for tests: whatever it is asked, it streams back the answer
it was given, a few characters per chat.completion.chunk event, as a real server streams tokens.

In the answer, {words} becomes the number of the source in the prompt whose text holds those words,
so a script cites the passage it means (or, on purpose, the wrong one) whatever order retrieval put
the passages in."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# rag.prompt.passage_block: "[n] title — outlet — date" on one line, the passage on the next.
_SOURCE = re.compile(r"^\[(\d+)\] [^\n]*\n([^\n]*)", re.MULTILINE)
PIECE = 3  # characters per streamed chunk: markers arrive cut in pieces


class ScriptedLLM:
    def __init__(self):
        self.answer = ""
        self.sources: dict[int, str] = {}  # the numbered passages of the last prompt
        self.prompt = ""  # the last prompt's user message
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def number(self, words: str) -> int:
        """The source number of the passage holding `words` in the last prompt."""
        found = [n for n, text in self.sources.items() if words in text]
        if len(found) != 1:
            raise LookupError(f"{len(found)} sources hold {words!r}: {self.sources}")
        return found[0]

    def reply(self, body: dict) -> str:
        self.prompt = body["messages"][-1]["content"]
        self.sources = {int(n): text for n, text in _SOURCE.findall(self.prompt)}
        return re.sub(r"\{([^{}]+)\}", lambda m: str(self.number(m.group(1))), self.answer)

    def close(self):
        self._server.shutdown()
        self._server.server_close()


def _chunk(delta: dict, finish: str | None = None) -> bytes:
    event = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(event)}\n\n".encode()


def _handler(llm: ScriptedLLM):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/v1/chat/completions" or not body.get("stream"):
                self.send_error(400, "only streamed chat completions are scripted")
                return
            try:
                text = llm.reply(body)
            except LookupError as e:
                self.send_error(500, str(e).replace("\n", " ")[:300])
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(_chunk({"role": "assistant", "content": ""}))
            for at in range(0, len(text), PIECE):
                self.wfile.write(_chunk({"content": text[at : at + PIECE]}))
                self.wfile.flush()
            self.wfile.write(_chunk({}, "stop") + b"data: [DONE]\n\n")

        def log_message(self, *args):  # quiet: pytest shows failures, not every request
            pass

    return Handler
