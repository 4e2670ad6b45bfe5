"""The chat page in a real browser: `streamlit run app.py` on 127.0.0.1, driven by
Playwright through Debian's Chromium. Screenshots go to artifacts/ (git-ignored)."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rag import Library
from rag.sample import SAMPLE_QUESTIONS
from tests.conftest import FIXTURES, LIBRARY, free_port

CHROMIUM = shutil.which("chromium")
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.model,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM, reason="needs Debian's chromium, which `make install` installs"),
]
GLACIERS = "How many glaciers did the researchers measure?"
PIGEONS = "How many harbor pigeons did volunteers count?"


@contextmanager
def streamlit(store: Path, **env):
    """`streamlit run app.py` on a free port of 127.0.0.1 over `store`, with `env` added; yields its URL."""
    port = free_port()
    log = store.parent / f"streamlit-{port}.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env={**os.environ, "DOSSIER_STORE": str(store), **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, minilm):
    store = tmp_path_factory.mktemp("browser") / "store"
    results = Library(store, embedder=minilm).ingest([LIBRARY, FIXTURES / "hostile" / "pigeon-xss.md"])
    assert [r.status for r in results] == ["added"] * 4
    with streamlit(store) as url:
        yield url


@pytest.fixture(scope="module")
def empty_app_url(tmp_path_factory):
    with streamlit(tmp_path_factory.mktemp("browser-empty") / "store") as url:
        yield url


# Two sentences that no passage of the library supports, cited to the first passage.
UNVERIFIED = "The glaciers were counted from a hot-air balloon [1]. A parrot led the survey team [1]."


class ScriptedModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that streams UNVERIFIED, word by word, whatever it is asked."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in UNVERIFIED.split(" "):
            delta = {"choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
            chunk = {"id": "scripted", "object": "chat.completion.chunk", "created": 0, "model": "scripted", **delta}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def llm_app_url(tmp_path_factory, minilm):
    store = tmp_path_factory.mktemp("browser-llm") / "store"
    Library(store, embedder=minilm).ingest([LIBRARY])
    model = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedModel)
    threading.Thread(target=model.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{model.server_port}/v1"
    with streamlit(store, DOSSIER_BACKEND="openai", DOSSIER_MODEL="scripted", DOSSIER_BASE_URL=base_url) as url:
        yield url
    model.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def open_page(browser, url, width=1280, height=900):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    expect(page.get_by_text("passages", exact=False).first).to_be_visible(timeout=120_000)
    return page


def ask(page, question):
    from playwright.sync_api import expect

    before = page.locator(".dossier-answer").count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    expect(page.locator(".dossier-answer")).to_have_count(before + 1, timeout=120_000)
    return page.locator(".dossier-answer").last


def test_a_citation_opens_its_source_card_with_the_supporting_sentence_highlighted(app_url, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app_url)
    answer = ask(page, GLACIERS)
    expect(answer).to_contain_text("176 glaciers")
    link = answer.locator("sup a").first
    card = page.locator(f"[id='{link.get_attribute('href')[1:]}']")
    expect(card).to_have_count(1)
    link.click()
    expect(card).to_be_in_viewport()
    assert card.evaluate("e => e.matches(':target')"), "the link should target its card"
    expect(card).to_contain_text("Alpine Glaciers Lost a Tenth of Their Ice")
    # Every sentence the answer quotes from this passage is marked; the one that answers among them.
    expect(card.locator("mark", has_text="176 glaciers")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "chat-desktop.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("button", name="⬇ Markdown").click()
    exported = Path(download.value.path()).read_text()
    assert download.value.suggested_filename == "dossier-conversation.md"
    assert f"**Question:** {GLACIERS}" in exported and "176 glaciers" in exported
    assert "## References\n\n1. “Alpine Glaciers Lost a Tenth of Their Ice in Two Years”" in exported
    page.close()


def test_article_markup_shows_as_text_and_runs_nothing(app_url, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app_url)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    answer = ask(page, PIGEONS)
    expect(answer).to_contain_text("4,210 harbor pigeons")
    expect(answer).to_contain_text("<script>window.__dossierXss='script'</script>")
    card = page.locator(".dossier-source").last
    expect(card).to_contain_text("Pigeons <img src=x onerror=")
    expect(card).to_contain_text("[the survey's lead](javascript:")
    card.get_by_text("because of new nesting ledges", exact=False).hover()
    assert page.locator(".dossier-source img, .dossier-source b").count() == 0

    page.get_by_text("Library", exact=True).click()
    page.get_by_label("Search the library").fill("pigeons")
    page.get_by_label("Search the library").press("Enter")
    expect(page.get_by_text("1 of 4 articles")).to_be_visible(timeout=60_000)
    expect(
        page.get_by_text("Volunteers counted 4,210 harbor pigeons in the spring survey <script>", exact=False)
    ).to_be_visible()
    page.get_by_text("Dropped (", exact=False).click()
    # The expander opens with an animation, slow on a loaded machine.
    dropped = page.get_by_text('Pigeons <img src=x onerror="window.__dossierXss', exact=False).last
    expect(dropped).to_be_visible(timeout=30_000)
    assert page.evaluate("window.__dossierXss") is None and not dialogs
    page.close()


def test_a_newcomer_loads_the_sample_library_from_the_page_and_gets_cited_answers(empty_app_url, browser):
    from playwright.sync_api import expect

    page = open_page(browser, empty_app_url)
    expect(page.get_by_text("The library is empty", exact=False)).to_be_visible()
    page.get_by_role("button", name="Load the sample library").click()
    expect(page.get_by_text(re.compile(r"^5 articles · \d+ passages$"))).to_be_visible(timeout=120_000)
    page.get_by_role("button", name=SAMPLE_QUESTIONS[0]).click()  # an offered question, one click
    expect(page.locator(".dossier-answer")).to_have_count(1, timeout=120_000)
    expect(page.locator(".dossier-answer").first).to_contain_text("Twelve tidal turbines")
    answer = ask(page, "How much will the turbines add to household power bills?")  # and one typed
    expect(answer).to_contain_text("about 9 pounds a year per home")
    link = answer.locator("sup a").first
    card = page.locator(f"[id='{link.get_attribute('href')[1:]}']")
    link.click()
    expect(card).to_be_in_viewport()
    expect(card).to_contain_text("What the Wren Point Turbines Will, and Won't, Do for Power Bills")
    expect(card).to_contain_text("Tomas Ferreira · Grid Notes · 2025-05-19")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "sample-answer.png")
    page.close()


def test_the_page_takes_a_question_while_the_library_opens(tmp_path_factory, minilm, browser):
    """A first start on a fresh machine: the model's ONNX export takes seconds, and the page is drawn meanwhile."""
    from playwright.sync_api import expect

    root = tmp_path_factory.mktemp("browser-cold")
    Library(root / "store", embedder=minilm).ingest([LIBRARY])
    with streamlit(root / "store", DOSSIER_CACHE=str(root / "cache")) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        box = page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Opening the library…")).to_be_visible()
        expect(page.get_by_text("passages", exact=False)).to_have_count(0)  # the library's counts: not yet
        box.fill(GLACIERS)
        box.press("Enter")
        answer = page.locator(".dossier-answer")
        expect(answer).to_have_count(1, timeout=120_000)
        expect(answer).to_contain_text("176 glaciers")
        expect(page.get_by_test_id("stChatMessage").first).to_contain_text(GLACIERS)
        expect(page.locator(".dossier-source").first).to_contain_text("Alpine Glaciers Lost a Tenth of Their Ice")
        expect(page.get_by_text("Opening the library…")).to_have_count(0)
        page.close()
    assert (root / "cache").is_dir(), "the library's opening should have exported the model"


def test_the_library_table_shows_every_column_within_the_page(app_url, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app_url)
    page.get_by_text("Library", exact=True).click()
    table = page.get_by_test_id("stDataFrame")
    expect(table).to_be_visible(timeout=60_000)
    # The grid draws on a canvas; its hidden accessible table, drawn a moment later, holds the same headers and cells.
    expect(table.locator("th[role=columnheader]")).to_have_count(5)
    assert table.locator("th[role=columnheader]").all_text_contents() == [
        "Title",
        "Outlet",
        "Date",
        "Passages",
        "Source",
    ]
    main = page.get_by_test_id("stMainBlockContainer").bounding_box()
    box = table.bounding_box()
    assert box["x"] >= main["x"] and box["x"] + box["width"] <= main["x"] + main["width"]
    # Nothing to scroll sideways to: every column, Source last, is in sight.
    scroll = table.locator(".dvn-scroller").evaluate("s => [s.scrollWidth, s.clientWidth]")
    assert scroll[0] <= scroll[1], f"the table scrolls sideways: {scroll}"
    cells = table.locator("td[role=gridcell]").all_text_contents()
    assert {"marketdaily.example", "2024-11-12", "coffee-prices.html"} <= set(cells)  # outlet, date, source of a row
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "library-desktop.png", full_page=True)
    page.close()


def test_phone_width_keeps_answer_and_sources_readable(app_url, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app_url, width=390, height=844)
    answer = ask(page, GLACIERS)
    expect(answer).to_contain_text("176 glaciers")
    card = page.locator(".dossier-source").last
    expect(card).to_be_visible()
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, "the source card should fit the phone's width"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "chat-phone.png", full_page=True)
    page.close()


def test_an_answer_mostly_unverified_says_so_above_it(llm_app_url, browser):
    from playwright.sync_api import expect

    page = open_page(browser, llm_app_url)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(GLACIERS)
    box.press("Enter")
    banner = page.get_by_text("2 of 2 sentences could not be verified", exact=False)
    expect(banner).to_be_visible(timeout=120_000)
    answer = page.locator(".dossier-answer").first
    expect(answer).to_contain_text("hot-air balloon")
    expect(answer.locator(".dossier-unverified-mark")).to_have_count(2)
    # Both boxes in one script run: the page scrolls smoothly to the new answer while it is read.
    gap = banner.evaluate(
        "(b, a) => a.getBoundingClientRect().top - b.getBoundingClientRect().bottom", answer.element_handle()
    )
    assert gap >= 0, "the banner should be read before the answer"
    ARTIFACTS.mkdir(exist_ok=True)
    # The chat scrolls inside its own container: a full-page shot would show only its end.
    banner.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "chat-unverified.png")
    page.close()
