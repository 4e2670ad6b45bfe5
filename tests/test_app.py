"""The chat page through Streamlit's AppTest, with the real model and store."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rag import Assistant

pytestmark = [pytest.mark.slow, pytest.mark.model]
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def start(monkeypatch, store):
    monkeypatch.setenv("DOSSIER_STORE", str(store))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    return at


def test_empty_library_says_how_to_add_articles_and_errors_are_shown(monkeypatch, tmp_path):
    at = start(monkeypatch, tmp_path / "store")
    assert "library is empty" in at.info[0].value and "python -m ingest" in at.info[0].value
    assert "**0** articles" in at.sidebar.markdown[0].value
    at.chat_input[0].set_value("Anything in here?").run()
    assert not at.exception
    assert "has no articles yet" in at.error[0].value


def test_articles_ingested_by_another_process_are_found_without_a_restart(monkeypatch, tmp_path, library):
    import os
    import subprocess
    import sys

    at = start(monkeypatch, tmp_path / "store")
    assert "**0** articles" in at.sidebar.markdown[0].value
    root = Path(APP).parent
    subprocess.run([sys.executable, "-m", "ingest", str(library), "--store", str(tmp_path / "store")], cwd=root, check=True,
                   env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, timeout=300)
    at.chat_input[0].set_value("How many glaciers did the researchers measure?").run()
    assert not at.exception and not at.error
    assert "176 glaciers" in at.chat_message[1].markdown[0].value
    assert "**3** articles" in at.sidebar.markdown[0].value


def test_ask_shows_a_cited_answer_with_its_passage_and_keeps_the_conversation(monkeypatch, tmp_path, minilm, library):
    Assistant(tmp_path / "store", embedder=minilm).ingest([library])
    at = start(monkeypatch, tmp_path / "store")
    assert "**3** articles" in at.sidebar.markdown[0].value
    at.chat_input[0].set_value("How many glaciers did the researchers measure?").run()
    assert not at.exception and not at.error
    user, assistant = at.chat_message
    assert user.name == "user" and assistant.name == "assistant"
    answer = assistant.markdown[0].value
    assert "176 glaciers" in answer and "\\[1\\]" in answer
    assert "**[1] " in assistant.markdown[1].value
    assert "176 glaciers" in assistant.caption[0].value

    at.chat_input[0].set_value("What price did arabica coffee futures reach?").run()
    assert len(at.chat_message) == 4 and "3\\.20 dollars" in at.chat_message[3].markdown[0].value
    next(b for b in at.sidebar.button if b.label == "New chat").click().run()
    assert len(at.chat_message) == 0


def test_the_backend_selector_names_a_missing_setting_and_keeps_the_page_up(monkeypatch, tmp_path, library):
    at = start(monkeypatch, tmp_path / "store")
    at.sidebar.selectbox[0].set_value("openai").run()
    assert not at.exception
    assert "openai backend: no model set; pass --model" in at.error[0].value
    at.sidebar.selectbox[0].set_value("extractive").run()
    assert not at.exception and not at.error
