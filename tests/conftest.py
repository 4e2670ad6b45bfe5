import hashlib
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from vectorstore.embedder import Embedder

FIXTURES = Path(__file__).parent / "fixtures"
LIBRARY = FIXTURES / "library"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


class FakeEmbedder(Embedder):
    """Deterministic bag-of-words hashing: texts sharing words have similar vectors."""

    name = "fake-bow"
    dim = 256
    max_tokens = 254

    def embed_batch(self, texts):
        from ingest.text import content_words

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in content_words(text):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture(scope="session")
def minilm():
    from vectorstore.embedder import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture
def library(tmp_path):
    """A writable copy of the fixture articles."""
    return Path(shutil.copytree(LIBRARY, tmp_path / "library"))


def parse(name, data: bytes | None = None, source: str | None = None):
    """The one article in a file (or in `data`, named `name`), as ingest reads it."""
    from ingest.load import Document, parse_articles, read_file

    if data is None:
        doc = read_file(Path(name))
    else:
        from ingest.extract import FORMATS

        doc = Document(source or f"/docs/{Path(name).name}", name, data, FORMATS[Path(name).suffix.lower()])
    articles, problems = parse_articles(doc)
    assert len(articles) == 1 and not problems
    return articles[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """A real `chroma run` on 127.0.0.1: start, stop (kill -9) and start again on the same data."""

    def __init__(self, path: Path):
        self.path, self.port, self.proc = path, free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        import subprocess
        import sys
        import time
        import urllib.request

        chroma = Path(sys.executable).parent / "chroma"
        self.proc = subprocess.Popen([str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1)
                return self
            except OSError:
                assert self.proc.poll() is None, "chroma run exited"
                time.sleep(0.2)
        raise AssertionError("chroma run did not start within 60 s")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def wipe(self):
        import chromadb

        client = chromadb.HttpClient(host="127.0.0.1", port=self.port)
        for collection in client.list_collections():
            client.delete_collection(collection.name)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma")).start()
    yield server
    server.kill()


@pytest.fixture(params=["embedded", "server"])
def chroma_url(request):
    """None (the embedded store) or the URL of a real, emptied Chroma server: store tests run against both."""
    if request.param == "embedded":
        yield None
        return
    server = request.getfixturevalue("chroma_server")
    server.wipe()
    yield server.url
