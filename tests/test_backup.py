"""A library exported to JSON Lines and imported elsewhere: into a new folder, into a real `chroma run` server,
gzipped, again (nothing re-embedded), and through the CLI; damaged lines and files are one-line errors."""

import gzip
import json
import subprocess
import sys

import pytest

from rag import Assistant, DossierError, Library, Settings
from rag.backup import export_library, import_library
from tests.conftest import LIBRARY
from tests.test_cli import ROOT, env

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def source(tmp_path_factory, minilm):
    library = Library(tmp_path_factory.mktemp("source") / "store", embedder=minilm)
    assert {r.status for r in library.ingest([LIBRARY])} == {"added"}
    return library


def held(library: Library) -> dict[str, tuple]:
    return {r.id: (r.content_hash, r.title, r.source, r.chunks) for r in library.articles()}


@pytest.mark.parametrize("name", ["library.jsonl", "library.jsonl.gz"])
def test_an_export_imported_into_a_new_folder_holds_every_article_and_answers(source, tmp_path, minilm, name):
    written = export_library(source, tmp_path / name)
    assert written == len(source.articles()) and not (tmp_path / f"{name}.partial").exists()
    if name.endswith(".gz"):
        with gzip.open(tmp_path / name, "rt") as lines:
            assert lines.readline().startswith('{"dossier_export": 1')
    target = Library(tmp_path / "store", embedder=minilm)
    assert {r.status for r in import_library(target, tmp_path / name)} == {"added"}
    assert held(target) == held(source)
    assert target.check() == []
    answer = Assistant(target).ask("How many glaciers did the researchers measure?")
    assert not answer.abstained and "176" in answer.text
    # Again: every article is there unchanged, and nothing is embedded.
    target.embedder = None  # an embedding would fail
    assert {r.status for r in import_library(target, tmp_path / name)} == {"unchanged"}


def test_an_export_moves_a_library_into_a_chroma_server(source, tmp_path, minilm, chroma_server):
    chroma_server.wipe()
    export_library(source, tmp_path / "library.jsonl")
    settings = Settings(store=str(tmp_path / "local"), chroma_url=chroma_server.url)
    served = Library(settings=settings, embedder=minilm)
    assert {r.status for r in import_library(served, tmp_path / "library.jsonl")} == {"added"}
    assert held(served) == held(source) and served.check() == []
    export_library(served, tmp_path / "back.jsonl")  # and back out of the server, record for record
    lines = lambda name: sorted((tmp_path / name).read_text().splitlines())  # noqa: E731
    assert lines("back.jsonl") == lines("library.jsonl")


def test_a_damaged_line_is_one_failed_result_and_the_rest_are_imported(source, tmp_path, minilm):
    export_library(source, tmp_path / "library.jsonl")
    lines = (tmp_path / "library.jsonl").read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["article"]["text"]
    damaged = [lines[0], json.dumps(broken), "{not json", *lines[2:]]
    (tmp_path / "damaged.jsonl").write_text("\n".join(damaged) + "\n")
    results = list(import_library(Library(tmp_path / "store", embedder=minilm), tmp_path / "damaged.jsonl"))
    failed = [r.error for r in results if r.status == "failed"]
    assert [e.split(" is not")[0] for e in failed] == [f"{tmp_path / 'damaged.jsonl'}: line {n}" for n in (2, 3)]
    assert sum(r.status == "added" for r in results) == len(lines) - 1


def test_a_file_that_is_no_export_or_cannot_be_written_is_a_clear_error(source, tmp_path, minilm):
    (tmp_path / "notes.txt.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DossierError, match=r"notes\.txt\.gz: cannot read it as a Dossier export"):
        list(import_library(Library(tmp_path / "store", embedder=minilm), tmp_path / "notes.txt.gz"))
    export_library(source, tmp_path / "cut.jsonl.gz")
    whole = (tmp_path / "cut.jsonl.gz").read_bytes()
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])  # a copy cut short
    with pytest.raises(DossierError, match=r"cut\.jsonl\.gz: cannot read it as a Dossier export after line \d+"):
        list(import_library(Library(tmp_path / "cut", embedder=minilm), tmp_path / "cut.jsonl.gz"))
    with pytest.raises(DossierError, match=r"cannot write the export .*; give a writable file"):
        export_library(source, tmp_path / "missing" / "library.jsonl")


def test_the_cli_exports_and_imports(source, tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "ingest", *args], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300
        )

    out = run("export", str(tmp_path / "lib.jsonl.gz"), "--store", str(source.path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"exported {len(source.articles())} articles to {tmp_path / 'lib.jsonl.gz'}"
    out = run("import", str(tmp_path / "lib.jsonl.gz"), "--store", str(tmp_path / "moved"))
    assert out.returncode == 0, out.stderr
    assert f"{len(source.articles())} articles: {len(source.articles())} added" in out.stdout
    missing = run("import", str(tmp_path / "nothing.jsonl"), "--store", str(tmp_path / "moved"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and len(missing.stderr.splitlines()) == 1
