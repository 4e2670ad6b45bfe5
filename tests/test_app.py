"""The chat page through Streamlit's AppTest, with the real model and store."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.load import article_id
from rag import DossierError, Library, Settings
from rag.answer import Answer, Citation, Sentence
from rag.page_words import page_message
from rag.sample import SAMPLE_QUESTIONS

pytestmark = [pytest.mark.slow, pytest.mark.model]
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def plain(markdown: str) -> str:
    """Text the page shows for Markdown that escapes everything (rag.page_text.escape)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def start(monkeypatch, store):
    monkeypatch.setenv("DOSSIER_STORE", str(store))
    monkeypatch.delenv("DOSSIER_ALLOW_PRIVATE", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    return at


def test_empty_library_offers_the_sample_and_its_errors_name_no_terminal_command(monkeypatch, tmp_path):
    at = start(monkeypatch, tmp_path / "store")
    offer = at.info[0].value
    assert "library is empty" in offer and "sample library" in offer and "written for Dossier" in offer
    assert "python -m" not in offer
    assert [b.label for b in at.button if b.key == "load_sample"] == ["Load the sample library"]
    assert "**0** articles" in at.sidebar.markdown[0].value
    at.chat_input[0].set_value("Anything in here?").run()
    assert not at.exception
    error = plain(at.error[0].value)
    assert "has no articles yet; load the sample library or add articles in the sidebar" in error
    assert "python -m" not in error and "--store" not in error


def test_the_sample_library_loads_from_the_page_and_its_questions_get_cited_answers(monkeypatch, tmp_path):
    at = start(monkeypatch, tmp_path / "store")
    next(b for b in at.button if b.key == "load_sample").click().run()
    assert not at.exception and not at.error
    assert "**5** articles" in at.sidebar.markdown[0].value
    assert not at.info and not [b for b in at.button if b.key == "load_sample"]
    offered = [b for b in at.button if b.key and b.key.startswith("try-")]
    assert [b.label for b in offered] == list(SAMPLE_QUESTIONS)
    offered[0].click().run()  # a newcomer's first question is one click
    assert not at.exception and not at.error
    user, answer = at.chat_message
    assert plain(user.markdown[0].value) == SAMPLE_QUESTIONS[0]
    answer_html, cards = (h.value for h in answer.html)
    assert "Twelve tidal turbines" in answer_html and 'href="#a' in answer_html
    assert "Tidal Turbines Begin Feeding the Grid at Wren Point" in cards and "The Saltmere Courier" in cards
    assert not [b for b in at.button if b.key and b.key.startswith("try-")]  # offered only before the first question
    at.chat_input[0].set_value("How much will a return ferry ticket cost?").run()
    assert "14.80 pounds" in at.chat_message[3].html[0].value and "Coastline Wire" in at.chat_message[3].html[1].value


def test_articles_ingested_by_another_process_are_found_without_a_restart(monkeypatch, tmp_path, library):
    import os
    import subprocess
    import sys

    at = start(monkeypatch, tmp_path / "store")
    assert "**0** articles" in at.sidebar.markdown[0].value
    root = Path(APP).parent
    subprocess.run(
        [sys.executable, "-m", "ingest", str(library), "--store", str(tmp_path / "store")],
        cwd=root,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        timeout=300,
    )
    at.chat_input[0].set_value("How many glaciers did the researchers measure?").run()
    assert not at.exception and not at.error
    assert "176 glaciers" in at.chat_message[1].html[0].value
    assert "**3** articles" in at.sidebar.markdown[0].value


def ingested(tmp_path, minilm, library):
    Library(tmp_path / "store", embedder=minilm).ingest([library])
    return tmp_path / "store"


def sidebar_button(at, label):
    return next(b for b in at.sidebar.button if b.label == label)


def url_box(at):
    """The sidebar's box for an article's URL."""
    return next(t for t in at.sidebar.text_input if t.label.startswith("…or"))


def listed(at) -> str:
    """The Library view's line saying how many articles the search shows."""
    return next(c.value for c in at.caption if re.fullmatch(r"\d+ of \d+ articles", c.value))


def test_ask_shows_a_cited_answer_with_its_sources_and_keeps_the_conversation(monkeypatch, tmp_path, minilm, library):
    at = start(monkeypatch, ingested(tmp_path, minilm, library))
    assert "**3** articles" in at.sidebar.markdown[0].value
    at.chat_input[0].set_value("How many glaciers did the researchers measure?").run()
    assert not at.exception and not at.error
    user, assistant = at.chat_message
    assert user.name == "user" and assistant.name == "assistant"
    answer, cards = (h.value for h in assistant.html)
    assert "176 glaciers" in answer and 'href="#a' in answer and "-source-1" in answer
    assert "<strong>[1]</strong> Alpine Glaciers Lost a Tenth of Their Ice in Two Years" in cards
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
    assert (
        "Closest in the library" in at.chat_message[1].html[1].value
        and "Harbor Bridge" in at.chat_message[1].html[1].value
    )

    sidebar_button(at, "Clear filters").click().run()
    assert not any('class="dossier-chip"' in h.value for h in at.html)
    at.sidebar.text_input(key="f_author").set_value("Ortega").run()
    assert any("author: Ortega" in h.value for h in at.html)
    at.chat_input[0].set_value(question).run()
    assert "3.20 dollars" in at.chat_message[3].html[0].value


def test_upload_reports_each_file_and_the_library_view_removes_articles(monkeypatch, tmp_path, minilm, library):
    at = start(monkeypatch, ingested(tmp_path, minilm, library))
    owls = b"# Owls at Night\n\nBarn owls hunt voles and mice across the meadows at night, listening for their steps."
    retold = (
        b"# Council Approves the Harbor Bridge\n\n"
        b"Another outlet's report: the council backed the bridge after a long debate on its cost and design."
    )
    at.sidebar.file_uploader[0].set_value(
        [
            ("../../owls.md", owls, "text/markdown"),
            ("empty.md", b"  \n", "text/markdown"),
            ("retold.md", retold, "text/markdown"),
        ]
    )
    sidebar_button(at, "Add to library").click().run()
    assert not at.exception
    [status] = at.sidebar.status
    assert status.label == "2 article(s) stored, 1 failed"
    assert any("added: Owls at Night (1 passages)" in m.value for m in status.markdown)
    assert any("added: Council Approves the Harbor Bridge (1 passages)" in m.value for m in status.markdown)
    # Why a file failed stands outside the status box, which a user may fold away.
    assert not status.error
    assert [plain(e.value) for e in at.sidebar.error] == [
        "empty.md: no article text found after cleaning; check that the file is not empty"
    ]
    assert at.sidebar.error[0].value.startswith("empty\\.md")  # file names are shown as text, not Markdown
    assert "**5** articles" in at.sidebar.markdown[0].value
    url_box(at).set_value("http://127.0.0.1:9/story")
    sidebar_button(at, "Add to library").click().run()
    refused = plain(at.sidebar.error[0].value)
    assert not at.exception and "http://127.0.0.1:9/story: resolves to 127.0.0.1, a private or local address" in refused
    assert "--allow-private" not in refused  # a flag of the CLI, which a web user cannot pass
    monkeypatch.setenv("DOSSIER_ALLOW_PRIVATE", "1")  # the page follows the environment's settings
    url_box(at).set_value("http://127.0.0.1:9/story")
    sidebar_button(at, "Add to library").click().run()
    assert not at.exception and "http://127.0.0.1:9/story: cannot fetch it" in plain(at.sidebar.error[0].value)
    assert "**5** articles" in at.sidebar.markdown[0].value

    at.sidebar.radio[0].set_value("Library").run()
    assert "5 of 5 articles" in listed(at)
    [table] = at.dataframe
    rows = table.value
    assert list(rows.columns) == ["Title", "Outlet", "Date", "Passages", "Source"]
    coffee = rows[rows["Title"] == "Coffee Prices Hit a Record as Harvests Fail"].iloc[0]
    assert (coffee["Outlet"], coffee["Date"], coffee["Source"]) == (
        "marketdaily.example",
        "2024-11-12",
        "coffee-prices.html",
    )
    assert set(rows["Source"]) >= {"harbor-bridge.md", "owls.md", "retold.md"}
    # The columns' widths add up to less than the centred page (704 px): none hides behind a sideways scroll.
    config = json.loads(table.proto.columns)
    assert sum(config[column]["width"] for column in rows.columns) <= 700
    at.text_input(key="library_search").set_value("harbor").run()
    assert "2 of 5 articles" in listed(at)
    labels = at.selectbox(key="library_article").options
    assert len(set(labels)) == 2 and all(label.startswith("Council Approves the Harbor Bridge") for label in labels)
    at.selectbox(key="library_article").set_value(article_id(str(library / "harbor-bridge.md"))).run()
    assert [t.label for t in at.tabs] == ["Indexed (1 region)", "Dropped (2 regions)"]
    assert [m.value.split("  ")[0] for m in at.tabs[1].markdown] == ["**title**", "**byline**"]
    assert "cable\\-stayed crossing" in " ".join(m.value for m in at.tabs[0].markdown)
    at.button(key="remove").click().run()  # the first click only asks
    assert "**5** articles" in at.sidebar.markdown[0].value
    assert (
        plain(at.warning[0].value) == "Remove “Council Approves the Harbor Bridge” and its 3 passages from the library?"
    )
    at.button(key="remove_cancel").click().run()
    assert not at.warning and "**5** articles" in at.sidebar.markdown[0].value
    at.button(key="remove").click().run()
    at.button(key="remove_confirm").click().run()
    assert not at.exception and "**4** articles" in at.sidebar.markdown[0].value
    assert "1 of 4 articles" in listed(at) and not at.warning


def test_a_missing_model_is_named_by_its_field_on_the_page_and_the_page_stays_up(
    monkeypatch, tmp_path, minilm, library
):
    at = start(monkeypatch, ingested(tmp_path, minilm, library))
    at.sidebar.selectbox[0].set_value("openai").run()
    assert not at.exception and not at.error  # the backend is built when a question comes
    at.chat_input[0].set_value("How many glaciers did the researchers measure?").run()
    assert not at.exception
    assert plain(at.error[0].value).startswith(
        "openai backend: no model set; fill in Model, under Answer settings in the sidebar (e.g. "
    )
    at.sidebar.selectbox[0].set_value("extractive").run()
    at.chat_input[0].set_value("How many glaciers did the researchers measure?").run()
    assert not at.exception and not at.error and "176 glaciers" in at.chat_message[-1].html[0].value


def test_filters_that_match_nothing_point_to_the_library_view(monkeypatch, tmp_path, minilm, library):
    at = start(monkeypatch, ingested(tmp_path, minilm, library))
    at.sidebar.text_input(key="f_author").set_value("Nobody Atall").run()
    at.chat_input[0].set_value("What price did arabica coffee futures reach?").run()
    assert not at.exception
    assert plain(at.error[0].value) == "no article matches the filters author='Nobody Atall'; see the Library view"


@pytest.mark.parametrize(
    "message, shown",
    [
        (
            "openai backend: x did not answer within 5 s; raise --timeout or check the server",
            "openai backend: x did not answer within 5 s",
        ),
        (
            "openai backend: lost the connection to x (refused); check --base-url and that the server runs",
            "openai backend: lost the connection to x (refused); check Server URL, under Answer settings in the "
            "sidebar, and that the server runs",
        ),
        (
            "chroma server ftp://h: not an http(s) URL; give --chroma-url http://HOST:PORT",
            "chroma server ftp://h: not an http(s) URL; give Chroma server as http://HOST:PORT, under Answer "
            "settings in the sidebar",
        ),
        (
            "llamacpp backend: llama-cpp-python is not installed; install it with: pip install -e '.[llamacpp]'",
            "llamacpp backend: llama-cpp-python is not installed",
        ),
        (
            "big.pdf: larger than the 50 MiB upload limit; split it, or add it with `python -m ingest PATH --max-mb N`",
            "big.pdf: larger than the 50 MiB upload limit",
        ),
        ("a.md: no article text found; check that the file is not empty", None),  # no command: as written
        (
            "/srv/n: the library was chunked with chunk size 90, these settings chunk with chunk size 150; "
            "re-chunk it once (re-embeds its 7 articles, 31 passages now) with "
            "`python -m ingest rechunk --yes --store /srv/n --chunk-size 150 --chunk-overlap 40`, "
            "or use the settings it was built with (chunk size 90)",
            "/srv/n: the library was chunked with chunk size 90, these settings chunk with chunk size 150; "
            "whoever runs Dossier can re-chunk it once from the command line (re-embeds its 7 articles, 31 passages "
            "now) or start the page again with the settings it was built with (chunk size 90)",
        ),
    ],
)
def test_engine_messages_lose_their_terminal_commands_on_the_page(message, shown):
    assert page_message(message) == (shown or message)


def test_a_library_chunked_otherwise_refuses_an_upload_with_a_way_forward_for_a_web_user(
    monkeypatch, tmp_path, minilm, library
):
    Library(tmp_path / "store", Settings(chunk_size=120, chunk_overlap=20), minilm).ingest([library])
    at = start(monkeypatch, tmp_path / "store")  # the page chunks with the default settings
    at.sidebar.file_uploader[0].set_value([("moths.md", b"# Moths\n\nMoths fly towards the lamps.", "text/markdown")])
    sidebar_button(at, "Add to library").click().run()
    assert not at.exception and "**3** articles" in at.sidebar.markdown[0].value
    refused = plain(at.sidebar.error[0].value)
    what, fix = refused.split("; ")
    assert "the library was chunked with chunk size 120, overlap 20" in what and "chunk with chunk size 200" in what
    assert fix.startswith("whoever runs Dossier can re-chunk it once from the command line (re-embeds its 3 articles")
    assert fix.endswith(
        "or start the page again with the settings it was built with (chunk size 120, overlap 20, pipeline 4)"
    )
    assert "python -m" not in fix and "--" not in fix


def fails(monkeypatch, method: str, message: str) -> None:
    def refuse(self, *args):
        raise DossierError(message)

    monkeypatch.setattr(Library, method, refuse)


@pytest.mark.parametrize("method", ["articles", "counts"])
def test_a_store_lost_after_the_page_opened_is_an_error_on_the_page(monkeypatch, tmp_path, minilm, library, method):
    at = start(monkeypatch, ingested(tmp_path, minilm, library))
    lost = "chroma server http://10.9.8.7:8000: lost it (timed out); check that the server is running (chroma run)"
    with monkeypatch.context() as away:
        fails(away, method, f"{lost} and --chroma-url")
        at.run()
    assert not at.exception
    assert [plain(e.value) for e in at.error] == [
        "chroma server http://10.9.8.7:8000: lost it (timed out); check that the server runs, and Chroma server "
        "under Answer settings in the sidebar"
    ]
    assert not at.sidebar.markdown  # the page stops at the error: no counts of a library it cannot read
    at.run()  # the server is back: so is the page
    assert not at.exception and not at.error and "**3** articles" in at.sidebar.markdown[0].value


def test_a_store_the_warm_start_cannot_open_is_one_line_and_the_next_run_opens_it(monkeypatch, tmp_path):
    from rag.page_open import warm_start

    store = tmp_path / "store"
    store.mkdir()
    (store / "chroma.sqlite3").write_text("not a database")
    warm_start.clear()  # a new server: its first page run opens the store on the warm start's thread
    at = start(monkeypatch, store)
    [error] = at.error
    assert plain(error.value).startswith(f"store {store}: cannot open it (") and "--store" not in error.value
    assert at.chat_input and not at.sidebar.markdown
    (store / "chroma.sqlite3").unlink()
    at.run()  # tried again
    assert not at.exception and not at.error and "**0** articles" in at.sidebar.markdown[0].value


def test_an_article_gone_from_the_library_view_is_an_error_not_a_traceback(monkeypatch, tmp_path, minilm, library):
    at = start(monkeypatch, ingested(tmp_path, minilm, library))
    at.sidebar.radio[0].set_value("Library").run()
    assert at.tabs
    fails(monkeypatch, "regions", "a1b2c3: no article with this id")
    at.run()
    assert not at.exception and not at.tabs
    assert [plain(e.value) for e in at.error] == ["a1b2c3: no article with this id"]


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
    extract = Answer(
        "High tide on Friday is at 06:40 [1].",
        (tide,),
        False,
        (Sentence("High tide on Friday is at 06:40 [1].", (1,), True, "quoted"),),
    )
    off = Answer(
        "Volunteers counted 310 gulls [1].",
        (gulls,),
        False,
        (Sentence("Volunteers counted 310 gulls [1].", (1,), True, "quoted"),),
        off_question=True,
        from_passages=extract,
    )
    refused = Answer("The articles don't say.", (), False, refusal_contradicted=True, from_passages=extract)
    shaky = Answer(
        "Gulls nest on roofs [1]. They eat chips [1]. There were 310 [1].",
        (gulls,),
        False,
        (
            Sentence("Gulls nest on roofs [1].", (1,), False, 'the passage does not say "roofs"'),
            Sentence("They eat chips [1].", (1,), False, 'the passage does not say "chips"'),
            Sentence("There were 310 [1].", (1,), True, "moved from [2] to [1]", recited=True),
        ),
        repeated=True,
        dropped=1,
    )
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
    assert kinds[0] == (
        "warning",
        "The model said the articles don't say, but a passage appears to answer it — see below.",
    )
    assert "06:40" in kinds[-2][1] and kinds[-3] == ("subheader", "From the passages")

    kinds = shown(at.chat_message[2])
    assert kinds[0] == (
        "warning",
        "2 of 3 sentences could not be verified against the passages they cite; point at one to see why.",
    )
    assert kinds[1][0] == "html" and kinds[1][1].count("⚠") == 2 and kinds[1][1].count("↻") == 1
    assert [v for k, v in kinds if k == "caption"] == [
        "The model began repeating itself; the answer was cut at the first repeat.",
        "Strict mode dropped 1 unverified sentence(s).",
    ]
    assert not any("could not be verified" in v for k, v in kinds if k == "caption")


STORM = {
    "storm-gazette.md": (
        "Storm Batters the Fenwick Coast",
        "2026-02-10",
        "Fenwick Gazette",
        "The storm destroyed 140 homes along the Fenwick coast on Sunday night, the county said. "
        "Crews cleared fallen trees from the coast road on Monday morning.",
    ),
    "storm-post.md": (
        "Fenwick Counts the Cost of the Storm",
        "2026-02-12",
        "Valley Post",
        "The storm destroyed 320 homes along the Fenwick coast, according to the fire service. "
        "Schools in the villages stayed closed for two days.",
    ),
}


def news_store(tmp_path, minilm) -> Path:
    """Two outlets disagreeing on a number, a day apart, and an undated article."""
    articles = tmp_path / "news"
    articles.mkdir()
    for name, (title, day, outlet, text) in STORM.items():
        (articles / name).write_text(f"---\ntitle: {title}\ndate: {day}\nsource: {outlet}\n---\n{text}\n")
    (articles / "bees.txt").write_text(
        "Beekeepers Along the Fenwick Coast Prepare for Spring\n\n"
        "Beekeepers along the Fenwick coast are checking their hives after the winter. "
        "Most colonies survived the cold months, the local association said.\n"
    )
    Library(tmp_path / "store", embedder=minilm).ingest([articles])
    return tmp_path / "store"


DATED = "How many homes did the storm destroy since 11 February 2026?"


def test_dates_in_a_question_are_a_chip_that_asks_it_again_without_them(monkeypatch, tmp_path, minilm):
    at = start(monkeypatch, news_store(tmp_path, minilm))
    at.chat_input[0].set_value(DATED).run()
    at.chat_input[0].set_value("Which schools stayed closed?").run()
    assert not at.exception and not at.error and len(at.chat_message) == 4
    later = at.chat_message[3].html[0].value
    [chip] = at.chat_message[1].button
    assert chip.label == "📅 since 11 Feb 2026 ✕" and not chip.disabled
    answer = at.chat_message[1].html[0].value
    # Only the Valley Post is as recent: one figure, no disagreement, and the undated article said to be left out.
    assert "320 homes" in answer and "140" not in answer and "dossier-conflicts" not in answer
    assert "1 undated article was left out by the date: tick Include undated articles under Filters." in answer

    chip.click().run()
    assert not at.exception and not at.error
    assert len(at.chat_message) == 4 and at.chat_message[3].html[0].value == later  # replaced in place
    assert plain(at.chat_message[0].markdown[0].value) == DATED
    [chip] = at.chat_message[1].button
    assert chip.label == "dates in the question ignored (since 11 Feb 2026)" and chip.disabled
    answer = at.chat_message[1].html[0].value
    assert "Reports differ on the homes destroyed" in answer and "140" in answer and "left out" not in answer
    turn = at.session_state["messages"][1]
    assert turn["answer"]["trace"]["dates"] is None and turn["answer"]["trace"]["filters"] == ""
    assert turn["content"] == turn["answer"]["answer"] and turn["content"].startswith("Reports differ")


def test_undated_articles_can_be_let_through_a_date(monkeypatch, tmp_path, minilm):
    at = start(monkeypatch, news_store(tmp_path, minilm))
    at.sidebar.checkbox(key="f_undated").check().run()
    assert any("with undated articles" in h.value for h in at.html)
    at.chat_input[0].set_value(DATED).run()
    assert not at.exception and not at.error
    assert "left out" not in at.chat_message[1].html[0].value
    trace = at.session_state["messages"][1]["answer"]["trace"]
    assert trace["undated_left_out"] == 0 and "undated=True" in trace["filters"]
    assert "Beekeepers Along the Fenwick Coast Prepare for Spring" in [p["title"] for p in trace["passages"]]
    sidebar_button(at, "Clear filters").click().run()
    assert not at.sidebar.checkbox(key="f_undated").value
    assert not any("with undated articles" in h.value for h in at.html)


def test_how_a_figure_changed_is_a_dated_list_and_rival_figures_are_not_superseded(monkeypatch, tmp_path, minilm):
    at = start(monkeypatch, news_store(tmp_path, minilm))
    at.chat_input[0].set_value("How has the count of homes the storm destroyed on the Fenwick coast changed?").run()
    assert not at.exception and not at.error
    answer = at.chat_message[1].html[0].value
    assert "oldest first:<br>• 10 Feb 2026, Fenwick Gazette: The storm destroyed 140 homes" in answer
    assert "<br>• 12 Feb 2026, Valley Post: The storm destroyed 320 homes" in answer
    # Two outlets a day apart disagree: the box says so, and neither figure supersedes the other.
    assert "superseded" not in answer and "Sources disagree" in answer and "Beekeepers" not in answer


def test_sources_that_disagree_are_shown_side_by_side_with_outlets_dates_and_quotes(monkeypatch, tmp_path, minilm):
    at = start(monkeypatch, news_store(tmp_path, minilm))
    at.chat_input[0].set_value("How many homes did the storm destroy?").run()
    assert not at.exception and not at.error and not at.chat_message[1].button  # no dates named: no chip
    answer, cards = (h.value for h in at.chat_message[1].html)
    box = answer[answer.index('<div class="dossier-conflicts">') :]
    assert "Sources disagree" in box and "homes destroyed" in box and box.count('class="dossier-side"') == 2
    # Each side: its value in bold, then its [n], outlet and date, and the sentence quoted.
    sides = {side[: side.index("</strong>")]: side for side in box.split("<strong>")[1:]}
    assert set(sides) == {"140", "320"}
    assert "Fenwick Gazette · 10 Feb 2026" in sides["140"] and "Valley Post · 12 Feb 2026" in sides["320"]
    assert "“The storm destroyed 140 homes along the Fenwick coast on Sunday night, the county said.”" in sides["140"]
    assert "“The storm destroyed 320 homes along the Fenwick coast, according to the fire service.”" in sides["320"]
    assert "Crews cleared" not in box and "Schools" not in box  # the sentence giving the value, not the passage
    for value, side in sides.items():
        [n] = re.findall(r'href="#(a\w+-source-\d)"', side)
        assert f'id="{n}"' in cards  # its [n] opens the card of the passage it quotes
        assert f"{value} homes" in cards.split(f'id="{n}"')[1].split('class="dossier-source"')[0]


def test_dates_not_read_and_corrections_are_said_and_escaped(monkeypatch, tmp_path):
    from rag.answer import Disagreement, Reported

    ferry = Citation(
        1, "ferry", "Ferry", "/docs/f.md", "The ferry sailed at noon. It carried 85 <b>cars</b>.", 0, 52, 0.7,
        outlet="Isle <Times>", published_at="2025-06-01T08:00:00", highlights=((26, 52),),
    )  # fmt: skip
    fixed = Citation(
        2, "ferry2", "Ferry", "/docs/g.md", "It carried 58 cars, not 85.", 0, 27, 0.6,
        outlet="Isle <Times>", published_at="2025-06-02",
    )  # fmt: skip
    conflict = Disagreement(
        "cars <carried>",
        "number",
        (
            Reported("85", (1,), "2025-06-01T08:00:00", "Isle <Times>", "It carried 85 <b>cars</b>."),
            Reported("58", (2,), "2025-06-02", "Isle <Times>", "It carried 58 cars, not 85."),
        ),
        correction=True,
    )
    years = {"phrases": ["in 1997"], "since": "1997-01-01", "until": "1997-12-31", "recency": False}
    encyclopedia = Answer(
        "Cars [1].", (ferry, fixed), False, conflicts=(conflict,),
        trace={"dates": {**years, "label": "1 Jan – 31 Dec 1997", "applied": False}, "undated_left_out": 0},
    )  # fmt: skip
    latest = {"phrases": ["latest"], "since": None, "until": None, "recency": True, "label": "latest first"}
    newest = Answer("Cars [1].", (ferry,), False, trace={"dates": {**latest, "applied": False}})
    monkeypatch.setenv("DOSSIER_STORE", str(tmp_path / "store"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["messages"] = [turn(1, encyclopedia), turn(2, newest)]
    at.run()
    assert not at.exception
    assert not at.chat_message[0].button  # the library has no dates: "in 1997" narrowed nothing
    html = at.chat_message[0].html[0].value
    assert "The articles have no dates; “in 1997” read as part of the question." in html
    assert "A report was corrected" in html and "Sources disagree" not in html
    assert 'cars &lt;carried&gt;<span class="label">Correction</span>' in html
    assert "Isle &lt;Times&gt; · 1 Jun 2025" in html and "<Times>" not in html
    assert "“It carried 85 &lt;b&gt;cars&lt;/b&gt;.”" in html and "noon" not in html  # the sentence, escaped
    assert "“It carried 58 cars, not 85.”" in html
    [chip] = at.chat_message[1].button  # "latest" preferred newer articles: it can be removed too
    assert chip.label == "📅 latest first ✕" and not chip.disabled
