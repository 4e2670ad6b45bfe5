"""The chat page through Streamlit's AppTest, with the real model and store."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.load import article_id
from rag import Assistant
from rag.answer import Answer, Citation, Sentence

pytestmark = [pytest.mark.slow, pytest.mark.model]
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def plain(markdown: str) -> str:
    """Text the page shows for Markdown that escapes everything (app.escape)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def start(monkeypatch, store):
    monkeypatch.setenv("DOSSIER_STORE", str(store))
    monkeypatch.delenv("DOSSIER_ALLOW_PRIVATE", raising=False)
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
    assert "176 glaciers" in at.chat_message[1].html[0].value
    assert "**3** articles" in at.sidebar.markdown[0].value


def ingested(tmp_path, minilm, library):
    Assistant(tmp_path / "store", embedder=minilm).ingest([library])
    return tmp_path / "store"


def sidebar_button(at, label):
    return next(b for b in at.sidebar.button if b.label == label)


def test_ask_shows_a_cited_answer_with_its_sources_and_keeps_the_conversation(monkeypatch, tmp_path, minilm, library):
    at = start(monkeypatch, ingested(tmp_path, minilm, library))
    assert "**3** articles" in at.sidebar.markdown[0].value
    at.chat_input[0].set_value("How many glaciers did the researchers measure?").run()
    assert not at.exception and not at.error
    user, assistant = at.chat_message
    assert user.name == "user" and assistant.name == "assistant"
    answer, cards = (h.value for h in assistant.html)
    assert "176 glaciers" in answer and 'href="#a' in answer and "-source-1" in answer
    assert '<strong>[1]</strong> Alpine Glaciers Lost a Tenth of Their Ice in Two Years' in cards
    assert "<mark>The team measured 176 glaciers" in cards

    at.chat_input[0].set_value("What price did arabica coffee futures reach?").run()
    assert len(at.chat_message) == 4 and "3.20 dollars" in at.chat_message[3].html[0].value
    # The coffee article came from a URL: its card links to the sentence on the original page.
    assert 'href="https://marketdaily.example/coffee-record#:~:text=' in at.chat_message[3].html[1].value
    at.chat_input[0].set_value("Who is passing it on?").run()  # a follow-up leans on the conversation
    assert not at.error and "Coffee Prices Hit a Record" in at.chat_message[5].html[1].value

    sidebar_button(at, "New chat").click().run()
    assert len(at.chat_message) == 0 and at.session_state["messages"] == []


def test_timings_feedback_and_export(monkeypatch, tmp_path, minilm, library):
    from rag.export import to_markdown
    from rag.feedback import FeedbackLog

    store = ingested(tmp_path, minilm, library)
    at = start(monkeypatch, store)
    assert not at.sidebar.get("download_button")
    at.chat_input[0].set_value("How many glaciers did the researchers measure?").run()
    assert not [c for c in at.chat_message[1].caption if "retrieve" in c.value]
    at.sidebar.toggle[0].set_value(True).run()
    assert re.fullmatch(r"retrieve \d+ ms · answer \d+ ms", at.chat_message[1].caption[-1].value)

    at.chat_message[1].get("feedback")[0].set_value(0).run()
    [row] = FeedbackLog(store / "dossier-feedback.sqlite3").all()
    assert (row["rating"], row["question"]) == (0, "How many glaciers did the researchers measure?")
    assert "176 glaciers" in row["answer"] and row["citations"][0]["title"].startswith("Alpine Glaciers")
    assert row["trace"]["passages"] and set(row["trace"]["seconds"]) == {"retrieve", "answer"}
    at.chat_message[1].get("feedback")[0].set_value(1).run()
    assert [r["rating"] for r in FeedbackLog(store / "dossier-feedback.sqlite3").all()] == [1]

    assert [b.label for b in at.sidebar.get("download_button")] == ["⬇ Markdown", "⬇ JSON"]
    exported = to_markdown(at.session_state["messages"])
    assert "**Question:** How many glaciers" in exported and "## References" in exported
    assert "1. “Alpine Glaciers Lost a Tenth of Their Ice in Two Years”" in exported


def test_filters_show_as_chips_and_limit_the_next_answer(monkeypatch, tmp_path, minilm, library):
    at = start(monkeypatch, ingested(tmp_path, minilm, library))
    question = "What price did arabica coffee futures reach?"
    assert "Council Approves the Harbor Bridge" in at.sidebar.multiselect[0].options
    at.sidebar.multiselect[0].set_value([article_id(str(library / "harbor-bridge.md"))]).run()
    at.chat_input[0].set_value(question).run()
    assert not at.exception and not at.error
    assert any("article: Council Approves the Harbor Bridge" in h.value for h in at.html)
    answer = at.chat_message[1].html[0].value
    assert "don&#x27;t cover this question" in answer
    assert "Closest in the library" in at.chat_message[1].html[1].value and "Harbor Bridge" in at.chat_message[1].html[1].value

    sidebar_button(at, "Clear filters").click().run()
    assert not any('class="dossier-chip"' in h.value for h in at.html)
    at.sidebar.text_input(key="f_author").set_value("Ortega").run()
    assert any("author: Ortega" in h.value for h in at.html)
    at.chat_input[0].set_value(question).run()
    assert "3.20 dollars" in at.chat_message[3].html[0].value


def test_upload_reports_each_file_and_the_library_view_removes_articles(monkeypatch, tmp_path, minilm, library):
    at = start(monkeypatch, ingested(tmp_path, minilm, library))
    owls = b"# Owls at Night\n\nBarn owls hunt voles and mice across the meadows at night, listening for their steps in the grass."
    retold = b"# Council Approves the Harbor Bridge\n\nAnother outlet's report: the council backed the bridge after a long debate on its cost and design."
    at.sidebar.file_uploader[0].set_value([("../../owls.md", owls, "text/markdown"), ("empty.md", b"  \n", "text/markdown"),
                                           ("retold.md", retold, "text/markdown")])
    sidebar_button(at, "Add to library").click().run()
    assert not at.exception
    assert any("added: Owls at Night (1 passages)" in m.value for m in at.sidebar.markdown)
    assert any("added: Council Approves the Harbor Bridge (1 passages)" in m.value for m in at.sidebar.markdown)
    assert [plain(e.value) for e in at.sidebar.error] == ["empty.md: no article text found after cleaning; check that the file is not empty"]
    assert at.sidebar.error[0].value.startswith("empty\\.md")  # file names are shown as text, not Markdown
    assert "**5** articles" in at.sidebar.markdown[0].value
    at.sidebar.text_input[0].set_value("http://127.0.0.1:9/story")
    sidebar_button(at, "Add to library").click().run()
    assert not at.exception and "http://127.0.0.1:9/story: resolves to 127.0.0.1, a private or local address" in plain(at.sidebar.error[0].value)
    monkeypatch.setenv("DOSSIER_ALLOW_PRIVATE", "1")  # the page follows the environment's settings
    at.sidebar.text_input[0].set_value("http://127.0.0.1:9/story")
    sidebar_button(at, "Add to library").click().run()
    assert not at.exception and "http://127.0.0.1:9/story: cannot fetch it" in plain(at.sidebar.error[0].value)
    assert "**5** articles" in at.sidebar.markdown[0].value

    at.sidebar.radio[0].set_value("Library").run()
    assert "5 of 5 articles" in at.caption[0].value
    at.text_input(key="library_search").set_value("harbor").run()
    assert "2 of 5 articles" in at.caption[0].value
    labels = at.selectbox(key="library_article").options
    assert len(set(labels)) == 2 and all(label.startswith("Council Approves the Harbor Bridge") for label in labels)
    at.selectbox(key="library_article").set_value(article_id(str(library / "harbor-bridge.md"))).run()
    assert [t.label for t in at.tabs] == ["Indexed (1 region)", "Dropped (2 regions)"]
    assert [m.value.split("  ")[0] for m in at.tabs[1].markdown] == ["**title**", "**byline**"]
    assert "cable\\-stayed crossing" in " ".join(m.value for m in at.tabs[0].markdown)
    next(b for b in at.button if b.label == "Remove from library").click().run()
    assert not at.exception and "**4** articles" in at.sidebar.markdown[0].value
    assert "1 of 4 articles" in at.caption[0].value


def test_the_backend_selector_names_a_missing_setting_and_keeps_the_page_up(monkeypatch, tmp_path, library):
    at = start(monkeypatch, tmp_path / "store")
    at.sidebar.selectbox[0].set_value("openai").run()
    assert not at.exception
    assert "openai backend: no model set; pass --model" in plain(at.error[0].value)
    at.sidebar.selectbox[0].set_value("extractive").run()
    assert not at.exception and not at.error


def shown(block) -> list[tuple[str, str]]:
    """What a chat message shows, in page order: (kind, text) of its banners, captions, headings and HTML."""
    kinds = ("warning", "caption", "subheader", "html")
    return [(node.type, node.value) for node in block if getattr(node, "type", None) in kinds]


def turn(n: int, answer: Answer) -> dict:
    answer_id = f"{n:08d}" + "f" * 24
    return {"role": "assistant", "content": answer.text, "answer": answer.to_dict(), "question": "?", "id": answer_id}


def test_flagged_answers_show_banners_above_and_the_passages_answer_beneath(monkeypatch, tmp_path):
    tide = Citation(1, "tide", "Tide <table>", "/docs/tide.md", "High tide on Friday is at 06:40.", 0, 32, 0.7)
    gulls = Citation(1, "gulls", "Gull count", "/docs/gulls.md", "Volunteers counted 310 gulls.", 0, 29, 0.6)
    extract = Answer("High tide on Friday is at 06:40 [1].", (tide,), False,
                     (Sentence("High tide on Friday is at 06:40 [1].", (1,), True, "quoted"),))
    off = Answer("Volunteers counted 310 gulls [1].", (gulls,), False,
                 (Sentence("Volunteers counted 310 gulls [1].", (1,), True, "quoted"),),
                 off_question=True, from_passages=extract)
    refused = Answer("The articles don't say.", (), False, refusal_contradicted=True, from_passages=extract)
    shaky = Answer("Gulls nest on roofs [1]. They eat chips [1]. There were 310 [1].", (gulls,), False,
                   (Sentence("Gulls nest on roofs [1].", (1,), False, "the passage does not say \"roofs\""),
                    Sentence("They eat chips [1].", (1,), False, "the passage does not say \"chips\""),
                    Sentence("There were 310 [1].", (1,), True, "moved from [2] to [1]", recited=True)),
                   repeated=True, dropped=1)
    monkeypatch.setenv("DOSSIER_STORE", str(tmp_path / "store"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["messages"] = [turn(1, off), turn(2, refused), turn(3, shaky)]
    at.run()
    assert not at.exception

    kinds = shown(at.chat_message[0])
    assert [k for k, _ in kinds] == ["warning", "html", "html", "subheader", "html", "html"]
    assert kinds[0][1] == "This answer does not seem to address the question; the passages' own sentences are below."
    assert "310 gulls" in kinds[1][1] and kinds[3][1] == "From the passages"
    # The passages' answer has its own cards: its [1] opens the tide card, not the gulls card of the model's answer.
    assert 'href="#a00000001p-source-1"' in kinds[4][1] and 'id="a00000001p-source-1"' in kinds[5][1]
    assert "Tide &lt;table&gt;" in kinds[5][1] and 'id="a00000001-source-1"' in kinds[2][1]

    kinds = shown(at.chat_message[1])
    assert kinds[0] == ("warning",
                        "The model said the articles don't say, but a passage appears to answer it — see below.")
    assert "06:40" in kinds[-2][1] and kinds[-3] == ("subheader", "From the passages")

    kinds = shown(at.chat_message[2])
    assert kinds[0] == ("warning", "2 of 3 sentences could not be verified against the passages they cite; "
                                   "point at one to see why.")
    assert kinds[1][0] == "html" and kinds[1][1].count("⚠") == 2 and kinds[1][1].count("↻") == 1
    assert [v for k, v in kinds if k == "caption"] == [
        "The model began repeating itself; the answer was cut at the first repeat.",
        "Strict mode dropped 1 unverified sentence(s).",
    ]
    assert not any("could not be verified" in v for k, v in kinds if k == "caption")
