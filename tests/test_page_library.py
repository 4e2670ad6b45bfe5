"""The Library view's backup and import through Streamlit's AppTest, with the real model and store."""

import gzip
import json
from datetime import date

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from rag import Library, Settings
from rag.backup import export_bytes, export_library
from tests.test_app import ingested, listed, plain, start

pytestmark = [pytest.mark.slow, pytest.mark.model]


def downloads(monkeypatch) -> dict[str, tuple[bytes, str]]:
    """File id → (bytes, file name) of every file the page hands a download button. AppTest keeps them in a
    storage that is gone when the run ends, so they are copied as they are stored."""
    files = {}
    store = MemoryMediaFileStorage.load_and_get_id

    def keep(self, data, mimetype, kind, filename=None):
        file_id = store(self, data, mimetype, kind, filename)
        files[file_id] = (data, filename)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def library_view(at):
    at.sidebar.radio[0].set_value("Library").run()
    assert not at.exception
    return at


def records(lines: bytes) -> list[dict]:
    return sorted((json.loads(line) for line in lines.splitlines()), key=lambda r: r["article"]["id"])


def upload(at, name: str, data: bytes):
    at.file_uploader(key="backup_file").set_value((name, data, "application/octet-stream"))
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    return at


def test_prepare_backup_offers_every_article_record_as_a_gzipped_download(monkeypatch, tmp_path, minilm, library):
    store, desk = tmp_path / "store", Settings(library="harbor-desk")
    Library(store, settings=desk, embedder=minilm).ingest([library])
    (tmp_path / "kites.md").write_text("# Kite Festival\n\nForty kites flew over the dunes on Sunday afternoon.\n")
    Library(store, embedder=minilm).ingest([tmp_path / "kites.md"])  # in main: not in harbor-desk's backup
    files = downloads(monkeypatch)
    monkeypatch.setenv("DOSSIER_LIBRARY", "harbor-desk")
    at = library_view(start(monkeypatch, store))
    assert not at.download_button and not files  # nothing is written until asked for
    at.button(key="backup_prepare").click().run()
    assert not at.exception and not at.error
    [button] = at.download_button
    name = f"dossier-harbor-desk-{date.today().isoformat()}.jsonl.gz"
    assert button.label == f"⬇ {name}"
    data, file_name = files[button.proto.url.rsplit("/", 1)[1].split(".")[0]]
    assert file_name == name
    # The same records the command line's export writes: every article, with its text.
    export_library(Library(store, settings=desk, embedder=minilm), tmp_path / "cli.jsonl")
    downloaded = records(gzip.decompress(data))
    assert downloaded == records((tmp_path / "cli.jsonl").read_bytes()) and len(downloaded) == 3
    assert any("The team measured 176 glaciers" in r["article"]["text"] for r in downloaded)
    assert not any("kites" in r["article"]["text"] for r in downloaded)
    at.run()  # the next run shows the button again, not the download
    assert not at.download_button and at.button(key="backup_prepare")


def test_an_empty_library_offers_import_but_no_backup(monkeypatch, tmp_path):
    at = library_view(start(monkeypatch, tmp_path / "store"))
    assert at.button(key="backup_prepare").disabled
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception and [w.value for w in at.warning] == ["Choose a backup file first."]


def test_a_backup_imported_into_an_empty_store_fills_the_library_and_answers(monkeypatch, tmp_path, minilm, library):
    backup = export_bytes(Library(ingested(tmp_path, minilm, library), embedder=minilm))
    at = library_view(start(monkeypatch, tmp_path / "moved"))
    assert "**0** articles" in at.sidebar.markdown[0].value
    upload(at, "backup.jsonl.gz", backup)
    assert not at.error
    assert [i.value for i in at.info] == ["Imported backup\\.jsonl\\.gz: 3 added"]
    assert "**3** articles" in at.sidebar.markdown[0].value and "3 of 3 articles" in listed(at)
    assert "Alpine Glaciers Lost a Tenth of Their Ice in Two Years" in set(at.dataframe[0].value["Title"])
    at.run()  # the tally is said once
    assert not at.info

    export_library(Library(tmp_path / "moved", embedder=minilm), tmp_path / "again.jsonl")
    upload(at, "again.jsonl", (tmp_path / "again.jsonl").read_bytes())  # a plain export, already held
    assert not at.error and [plain(i.value) for i in at.info] == ["Imported again.jsonl: 3 unchanged"]
    at.sidebar.radio[0].set_value("Chat").run()
    at.chat_input[0].set_value("How many glaciers did the researchers measure?").run()
    assert not at.exception and not at.error
    assert "176 glaciers" in at.chat_message[1].html[0].value


def test_damaged_backups_are_one_line_errors_that_name_the_file(monkeypatch, tmp_path, minilm, library):
    backup = export_bytes(Library(ingested(tmp_path, minilm, library), embedder=minilm))
    at = library_view(start(monkeypatch, tmp_path / "moved"))

    upload(at, "cut_short.jsonl.gz", backup[: len(backup) // 2])
    [error] = at.error
    assert plain(error.value).startswith("cut_short.jsonl.gz: cannot read it as a Dossier export")
    assert error.value.startswith("cut\\_short\\.jsonl\\.gz")  # the name is shown as written, not as Markdown
    assert "\n" not in error.value and "Traceback" not in error.value
    assert "**0** articles" in at.sidebar.markdown[0].value

    lines = gzip.decompress(backup).splitlines(keepends=True)
    damaged = lines[0] + b'{"dossier_export": 1, "article": {"id": "x"}}\n' + b"not json at all\n" + lines[1]
    upload(at, "damaged.jsonl", damaged)
    assert not at.exception
    assert [plain(i.value) for i in at.info] == ["Imported damaged.jsonl: 2 added, 2 failed"]
    errors = [plain(e.value) for e in at.error]
    assert len(errors) == 2 and all("\n" not in e for e in errors)
    assert errors[0].startswith("damaged.jsonl: line 2 is not an article record")
    assert errors[1].startswith("damaged.jsonl: line 3 is not an article record")
    assert "**2** articles" in at.sidebar.markdown[0].value

    upload(at, "notes.jsonl", b"")
    assert [plain(e.value) for e in at.error] == ["notes.jsonl holds no article records"] and not at.info
