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
    dim = 1024  # wide enough that texts sharing no word rarely collide
    max_tokens = 254

    def embed_batch(self, texts):
        from dossier_core.text import content_words

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


def dated_store(root: Path, articles: dict[str, tuple[dict, str]], embedder) -> Path:
    """A store under `root` of Markdown articles: file name → (front matter, body); a None field is left out."""
    from rag import Library

    (root / "articles").mkdir()
    for name, (fields, body) in articles.items():
        head = "".join(f"{key}: {value}\n" for key, value in fields.items() if value)
        (root / "articles" / name).write_text(f"---\n{head}---\n\n{body}\n")
    results = Library(root / "store", embedder=embedder).ingest([root / "articles"])
    assert [r.status for r in results] == ["added"] * len(articles), [r.line for r in results]
    return root / "store"


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


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of these objects (numbered from 1; the first is the catalog) with a correct
    cross-reference table, so that pypdf reads exactly what a test declares."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(
        b"%010d 00000 n \n" % o for o in offsets
    )
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_stream(data: bytes, flate: bool = False) -> bytes:
    return b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), b" /Filter /FlateDecode" if flate else b"", data)


def pdf_page(parent: int, contents: int, font: int) -> bytes:
    return (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (parent, contents, font)
    )


PDF_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
PDF_TEXT = pdf_stream(b"BT /F1 12 Tf 72 720 Td (The harbour wall is 400 metres long and was built in 1898.) Tj ET")
# Catalog, page tree, page, its text, font: the smallest PDF with a text layer.
PDF_ONE_PAGE = pdf_file(
    [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        pdf_page(2, 4, 5),
        PDF_TEXT,
        PDF_FONT,
    ]
)


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
        self.proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
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
