"""The two command-line tools, run as a user runs them."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.model]
ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DOSSIER_STORE", None)
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    from tests.conftest import LIBRARY

    root = tmp_path_factory.mktemp("cli")
    bad = root / "bad"
    bad.mkdir()
    (bad / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (bad / "empty.md").write_text("  \n\n")
    (bad / "gone.html").symlink_to(root / "does-not-exist.html")
    store = root / "store"
    result = run("ingest", str(LIBRARY), str(bad), "--store", str(store))
    return store, result


def test_ingest_reports_each_file_and_fails_without_stopping_the_batch(ingested):
    store, result = ingested
    assert result.returncode == 1, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "6 files: 3 added, 0 unchanged, 0 replaced, 3 failed"
    assert sum(line.startswith("added ") for line in lines) == 3
    failed = {re.search(r"/bad/(\S+):", line).group(1): line for line in lines if line.startswith("failed")}
    assert set(failed) == {"image.txt", "empty.md", "gone.html"}
    assert "binary" in failed["image.txt"] and "no article text" in failed["empty.md"] and "no such file" in failed["gone.html"]
    assert "Traceback" not in result.stderr


def test_ingest_again_changes_nothing(ingested):
    from tests.conftest import LIBRARY

    store, _ = ingested
    again = run("ingest", str(LIBRARY), "--store", str(store))
    assert again.returncode == 0
    assert again.stdout.strip().splitlines()[-1] == "3 files: 0 added, 3 unchanged, 0 replaced, 0 failed"


def test_ask_json_has_the_documented_shape(ingested):
    store, _ = ingested
    result = run("rag", "ask", "What price did arabica coffee futures reach?", "--store", str(store), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"answer", "abstained", "citations"} and answer["abstained"] is False
    fields = {"n": int, "article_id": str, "title": str, "source": str, "text": str, "start": int, "end": int, "score": float}
    for c in answer["citations"]:
        assert {k: type(v) for k, v in c.items()} == fields
        assert c["end"] - c["start"] == len(c["text"])
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])} == {c["n"] for c in answer["citations"]}
    assert any("3.20 dollars" in c["text"] for c in answer["citations"])


def test_ask_prints_the_answer_and_its_sources_and_abstains_off_topic(ingested):
    store, _ = ingested
    result = run("rag", "ask", "How many glaciers were measured?", "--store", str(store))
    assert result.returncode == 0 and "176 glaciers" in result.stdout and "\n[1] " in result.stdout
    off = run("rag", "ask", "Who won the 1998 football World Cup?", "--store", str(store), "--json")
    assert json.loads(off.stdout)["abstained"] is True


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    empty = run("rag", "ask", "Anything?", "--store", str(tmp_path / "new"))
    assert empty.returncode == 2
    assert empty.stderr.strip().startswith("error: store") and "python -m ingest" in empty.stderr
    assert "Traceback" not in empty.stderr
    blocked = tmp_path / "file"
    blocked.write_text("x")
    bad_store = run("ingest", str(ROOT / "tests" / "fixtures"), "--store", str(blocked))
    assert bad_store.returncode == 2 and "cannot open it" in bad_store.stderr and "Traceback" not in bad_store.stderr
