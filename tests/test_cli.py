"""The two command-line tools, run as a user runs them."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from filelock import FileLock

from rag import DossierError
from tests.conftest import FIXTURES, LIBRARY

pytestmark = [pytest.mark.slow, pytest.mark.model]
ROOT = Path(__file__).resolve().parents[1]


def env():
    e = {**os.environ, "PYTHONPATH": str(ROOT)}
    e.pop("DOSSIER_STORE", None)
    e.pop("DOSSIER_ALLOW_PRIVATE", None)
    e.pop("DOSSIER_LIBRARY", None)
    return e


def run(*args, stdin=None, environ=None):
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)],
        cwd=ROOT,
        env={**env(), **(environ or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


def start(*args):
    return subprocess.Popen(
        [sys.executable, "-m", *map(str, args)],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def summary(result) -> str:
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    bad = root / "bad"
    bad.mkdir()
    (bad / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (bad / "empty.md").write_text("  \n\n")
    (bad / "gone.html").symlink_to(root / "does-not-exist.html")
    store = root / "store"
    return store, run("ingest", LIBRARY, bad, "--store", store)


def test_ingest_reports_each_input_and_fails_without_stopping_the_batch(ingested):
    store, result = ingested
    assert result.returncode == 1, result.stderr
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(
        r"6 articles: 3 added, 0 replaced, 0 unchanged, 0 duplicate, 3 failed; \d+ chunks embedded in [\d.]+s "
        r"\([\d.]+ articles/s, \d+ chunks/s\)",
        lines[-1],
    )
    assert sum(line.startswith("added ") for line in lines) == 3
    failed = {re.search(r"/bad/(\S+):", line).group(1): line for line in lines if line.startswith("failed")}
    assert set(failed) == {"image.txt", "empty.md", "gone.html"}
    assert (
        "binary" in failed["image.txt"]
        and "no article text" in failed["empty.md"]
        and "no such file" in failed["gone.html"]
    )
    assert "Traceback" not in result.stderr


def test_ingest_again_changes_nothing_and_list_shows_the_library(ingested):
    store, _ = ingested
    again = run("ingest", LIBRARY, "--store", store)
    assert again.returncode == 0
    assert summary(again).startswith("3 articles: 0 added, 0 replaced, 3 unchanged, 0 duplicate, 0 failed")
    listing = run("ingest", "list", "--store", store)
    assert listing.returncode == 0
    assert "Coffee Prices Hit a Record as Harvests Fail" in listing.stdout and "2024-11-12" in listing.stdout
    assert summary(listing).startswith("3 articles, ")
    assert run("ingest", "check", "--store", store).stdout.startswith(f"store {store}: consistent")


def test_ask_json_has_the_documented_shape(ingested):
    store, _ = ingested
    result = run("rag", "ask", "What price did arabica coffee futures reach?", "--store", store, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {
        "answer",
        "abstained",
        "citations",
        "sentences",
        "unsupported",
        "removed_markers",
        "trace",
        "off_question",
        "refusal_contradicted",
        "repeated",
        "dropped",
        "from_passages",
        "conflicts",
    }
    assert answer["off_question"] is answer["refusal_contradicted"] is answer["repeated"] is False
    assert answer["dropped"] == 0 and answer["from_passages"] is None and answer["conflicts"] == []
    assert answer["abstained"] is False and answer["unsupported"] == [] and answer["removed_markers"] == []
    assert [s["citations"] for s in answer["sentences"]] and all(s["supported"] for s in answer["sentences"])
    fields = {
        "n": int,
        "article_id": str,
        "title": str,
        "source": str,
        "text": str,
        "start": int,
        "end": int,
        "score": float,
        "url": str,
        "author": str,
        "outlet": str,
        "published_at": str,
        "highlights": list,
        "library": str,
    }
    for c in answer["citations"]:
        assert {k: type(v) for k, v in c.items()} == fields
        assert c["end"] - c["start"] == len(c["text"])
        assert c["highlights"] and all(0 <= s < e <= len(c["text"]) for s, e in c["highlights"])
    coffee = next(c for c in answer["citations"] if "3.20 dollars" in c["text"])
    assert any("3.20 dollars" in coffee["text"][s:e] for s, e in coffee["highlights"])
    assert answer["trace"]["query"] == "What price did arabica coffee futures reach?"
    assert {c["article_id"] for c in answer["citations"]} <= {p["article_id"] for p in answer["trace"]["passages"]}
    assert set(answer["trace"]["seconds"]) == {"retrieve", "answer"}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])} == {c["n"] for c in answer["citations"]}
    assert any("3.20 dollars" in c["text"] for c in answer["citations"])


def test_ask_prints_the_answer_and_its_sources_and_abstains_off_topic(ingested):
    store, _ = ingested
    result = run("rag", "ask", "How many glaciers were measured?", "--store", store)
    assert result.returncode == 0 and "176 glaciers" in result.stdout and "\n[1] " in result.stdout
    off = run("rag", "ask", "Who won the 1998 football World Cup?", "--store", store, "--json")
    assert json.loads(off.stdout)["abstained"] is True


def test_ask_filters_limit_the_articles_drawn_on(ingested):
    store, _ = ingested
    question = "What price did arabica coffee futures reach?"
    result = run("rag", "ask", question, "--store", store, "--json", "--author", "Ortega", "--until", "2024-12-31")
    assert result.returncode == 0, result.stderr
    assert {c["title"] for c in json.loads(result.stdout)["citations"]} == {
        "Coffee Prices Hit a Record as Harvests Fail"
    }
    later = run("rag", "ask", question, "--store", store, "--json", "--since", "2025-01-01")
    assert later.returncode == 0, later.stderr
    assert "Coffee Prices Hit a Record as Harvests Fail" not in {
        c["title"] for c in json.loads(later.stdout)["citations"]
    }
    bad = run("rag", "ask", "Anything?", "--store", store, "--since", "yesterday")
    assert bad.returncode == 2 and "since='yesterday' is not a date; write it as YYYY-MM-DD" in bad.stderr


def test_stdin_remove_and_duplicates(tmp_path):
    store = tmp_path / "store"
    text = (
        "Harbour seals were counted on the sandbanks this summer, and their number rose to 412, the highest on record."
    )
    first = run("ingest", "-", "--store", store, stdin=text)
    assert first.returncode == 0 and first.stdout.startswith("added     stdin:")
    assert run("ingest", "-", "--store", store, stdin=text).stdout.startswith("unchanged stdin:")
    (tmp_path / "seals.txt").write_text(text)
    dup = run("ingest", tmp_path / "seals.txt", "--store", store)
    assert dup.stdout.startswith("duplicate ") and "same content as stdin:" in dup.stdout
    source = first.stdout.split()[1]
    removed = run("ingest", "remove", source, "--store", store)
    assert removed.returncode == 0 and removed.stdout.startswith("removed ")
    missing = run("ingest", "remove", source, "--store", store)
    assert missing.returncode == 2 and "no article with this id, path or URL" in missing.stderr


@pytest.fixture
def site():
    """The fixture library over HTTP on 127.0.0.1: a server in the user's own network."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(LIBRARY)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_urls_on_this_machine_are_fetched_only_with_allow_private(tmp_path, site):
    url, store = f"{site}/coffee-prices.html", tmp_path / "store"
    refused = run("ingest", url, LIBRARY / "harbor-bridge.md", "--store", store)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    lines = refused.stdout.strip().splitlines()
    assert (
        f"failed    {url}: resolves to 127.0.0.1, a private or local address; "
        "pass --allow-private (or set DOSSIER_ALLOW_PRIVATE=1) to fetch from your own network" in lines
    )
    assert any(line.startswith("added     ") and "harbor-bridge.md (" in line for line in lines)  # the batch went on
    assert re.match(r"2 articles: 1 added, 0 replaced, 0 unchanged, 0 duplicate, 1 failed;", lines[-1])
    allowed = run("ingest", url, "--store", store, "--allow-private")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert allowed.stdout.startswith(f"added     {url} (")
    assert f"article   {url}" in run("ingest", url, "--dry-run", environ={"DOSSIER_ALLOW_PRIVATE": "1"}).stdout
    # Only "1" allows: a value meant otherwise ("0", "false", "no") must not open the private network.
    assert run("ingest", url, "--dry-run", environ={"DOSSIER_ALLOW_PRIVATE": "false"}).returncode == 1


def test_dry_run_shows_regions_and_metadata_without_touching_a_store(tmp_path):
    result = run("ingest", FIXTURES / "pages" / "blog-post.md", "--dry-run", "--show", "--store", tmp_path / "store")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "title        Why Our Town Library Now Lends Tools" in out and "author       Sam Lee" in out
    assert re.search(r"\[body: indexed, \d+ chars\]\n    When the Greenfield public library", out)
    assert re.search(r"\[comments: dropped, \d+ chars\]\n    ## Comments", out)
    kept = run("ingest", FIXTURES / "pages" / "blog-post.md", "--dry-run", "--keep", "comments")
    assert re.search(r"\[comments: indexed", kept.stdout)
    assert not (tmp_path / "store").exists()


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    empty = run("rag", "ask", "Anything?", "--store", tmp_path / "new")
    assert empty.returncode == 2
    assert empty.stderr.strip().startswith("error: store") and "python -m ingest" in empty.stderr
    assert "no such folder" in empty.stderr and not (tmp_path / "new").exists()  # asking creates no empty store
    for command in ("list", "check", "remove"):
        listed = run("ingest", command, *(["x"] if command == "remove" else []), "--store", tmp_path / "typo")
        assert listed.returncode == 2 and "no such folder" in listed.stderr and not (tmp_path / "typo").exists()
    assert "Traceback" not in empty.stderr
    blocked = tmp_path / "file"
    blocked.write_text("x")
    bad_store = run("ingest", LIBRARY, "--store", blocked)
    assert bad_store.returncode == 2 and "cannot open it" in bad_store.stderr and "Traceback" not in bad_store.stderr
    (tmp_path / "empty").mkdir()
    nothing = run("ingest", tmp_path / "empty", "--store", tmp_path / "s2")
    assert nothing.returncode == 2 and "no supported files under" in nothing.stderr


def many_articles(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        paragraphs = [
            f"Report {i}, part {p}: the district council number {i} met on day {p} and discussed budget line "
            f"{i * 7 + p} for roads, schools and parks in ward {i}-{p}, approving it after a long debate."
            for p in range(12)
        ]
        (folder / f"report-{i:03}.txt").write_text(f"Council Report {i}\n\n" + "\n\n".join(paragraphs))
    return folder


def kill_after_three_added(proc) -> None:
    """kill -9 an ingest once it has stored three articles: mid-batch, with more to write."""
    added = 0
    while added < 3:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        added += line.startswith("added")
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_a_second_ingest_waits_for_the_first(tmp_path):
    store = tmp_path / "store"
    assert run("ingest", LIBRARY, "--store", store).returncode == 0
    lock = FileLock(store / "dossier-write.lock")
    with lock:
        proc = start("ingest", FIXTURES / "pages", "--store", store)
        deadline = time.monotonic() + 120
        waiting = ""
        while "waiting" not in waiting and time.monotonic() < deadline:
            waiting += proc.stderr.readline()
        assert "another ingest is writing to" in waiting
        assert proc.poll() is None
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "4 added" in out


def test_kill_9_mid_ingest_leaves_a_consistent_store_and_the_next_run_completes(tmp_path):
    store = tmp_path / "store"
    folder = many_articles(tmp_path / "reports", 40)
    kill_after_three_added(start("ingest", folder, "--store", store))
    check = run("ingest", "check", "--store", store)
    assert check.returncode == 0, check.stdout + check.stderr
    again = run("ingest", folder, "--store", store)
    assert again.returncode == 0, again.stderr
    assert re.match(r"40 articles: \d+ added, 0 replaced, \d+ unchanged, 0 duplicate, 0 failed", summary(again))
    assert run("ingest", "check", "--store", store).stdout.startswith(f"store {store}: consistent (40 articles)")


# -- rag chat and rag ask --history


def answers(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def turn(stdout: str, question: str) -> str:
    """What a piped chat printed for one question: from its echoed "> question" to the next one."""
    return stdout.split(f"> {question}\n", 1)[1].split("\n> ", 1)[0]


def test_chat_keeps_the_conversation_starts_over_and_ends_cleanly(ingested):
    store, _ = ingested
    lines = [
        "How many glaciers did the team measure?",
        "",
        "/bogus",
        "/new",
        "What price did arabica coffee futures reach?",
    ]
    result = run("rag", "chat", "--store", store, stdin="\n".join(lines) + "\n")  # ends with Ctrl-D: no /quit
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip() == "error: unknown command /bogus; type /new or /quit"
    first = turn(result.stdout, lines[0])
    assert "176 glaciers" in first and "\n[1] Alpine Glaciers Lost a Tenth of Their Ice in Two Years — " in first
    assert "(new conversation)" in result.stdout and "3.20 dollars" in turn(result.stdout, lines[-1])


def test_chat_follow_ups_search_for_the_person_the_conversation_named(ingested):
    store, _ = ingested
    lines = [
        "What did Dr. Petra Lindqvist say about the melt?",
        "What else did she say?",
        ":new",
        "What else did she say?",
        "/quit",
        "How many glaciers did the team measure?",
    ]
    result = run("rag", "chat", "--store", store, "--json", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    queries = [a["trace"]["query"] for a in answers(result)]  # one JSON object per answer; nothing after /quit
    assert queries == [lines[0], "What else did Petra Lindqvist say?", "What else did she say?"]


def test_ask_history_file_carries_the_conversation(ingested, tmp_path):
    store, _ = ingested
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            [
                {"role": "user", "content": "Who objected to the crossing?"},
                {"role": "assistant", "content": "Councillor Miriam Osei, who voted against the plan, said so [1]."},
            ]
        )
    )
    result = run("rag", "ask", "What did the mayor reply to her?", "--history", history, "--store", store, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["trace"]["query"] == "What did the mayor reply to Miriam Osei?"


def test_ask_history_mistakes_are_one_line_naming_the_file_and_the_fix(tmp_path):
    missing = run("rag", "ask", "Anything?", "--history", tmp_path / "nope.json", "--store", tmp_path / "store")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    [line] = missing.stderr.splitlines()
    fix = "give a JSON list of turns such as ["
    assert line.startswith(f"error: --history {tmp_path / 'nope.json'}: no such file; {fix}")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"role": "user", "content": "Hi"},\n {"role": "assistant" "content": "Hello"}]')
    bad = run("rag", "ask", "Anything?", "--history", broken, "--store", tmp_path / "store")
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert f"--history {broken}: not valid JSON (line 2, column 23: Expecting ',' delimiter); {fix}" in bad.stderr
    assert not (tmp_path / "store").exists()  # the file is checked before anything else is opened


def test_history_files_hold_turns_or_the_chat_pages_export(tmp_path):
    from rag.__main__ import read_history

    path = tmp_path / "h.json"
    turns = [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A [1].", "answer": {"citations": []}}]
    path.write_text(json.dumps({"exported_at": "2025-01-01T00:00:00Z", "conversation": turns}))
    assert read_history(str(path)) == [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A [1]."}]
    for wrong, message in [
        ({"role": "user"}, "holds a JSON dict, not a list"),
        ([{"role": "system", "content": "x"}], "turn 1 is not"),
        ([{"role": "user", "content": 3}], "turn 1 is not"),
    ]:
        path.write_text(json.dumps(wrong))
        with pytest.raises(DossierError, match=message):
            read_history(str(path))


class ScriptedModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint replaying REPLIES in turn, streamed word by word; an int is an HTTP error."""

    replies: list = []

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        reply = self.replies.pop(0)
        if isinstance(reply, int):
            self.send_error(reply, "scripted failure")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in reply.split(" "):
            chunk = {
                "id": "s",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "scripted",
                "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def model():
    """Start a scripted model with `model(reply, …)`; yields the options that point `rag` at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def script(*replies):
        ScriptedModel.replies = list(replies)
        return ["--backend", "openai", "--model", "scripted", "--base-url", f"http://127.0.0.1:{server.server_port}/v1"]

    yield script
    server.shutdown()


# True, but written without a citation: Dossier adds [1] to the checked text.
UNCITED = "The team measured 176 glaciers using drones, ground-penetrating radar and stakes drilled into the ice."


def test_chat_with_a_model_prints_checked_answers_once_and_goes_on_after_an_error(ingested, model):
    store, _ = ingested
    options = model(500, UNCITED, "The articles don't say.", "The team counted many glaciers in the Alps. " * 4)
    lines = [
        "How many glaciers were counted?",
        "How many glaciers did the team measure?",
        "How many glaciers were measured?",
        "How many glaciers did the study measure?",
    ]
    result = run("rag", "chat", "--store", store, *options, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    [error] = result.stderr.splitlines()
    assert error.startswith("error: openai backend: ") and "500" in error
    checked = turn(result.stdout, lines[1])
    assert checked.startswith(UNCITED + " [1]\n") and checked.count("using drones") == 2  # the answer, then its source
    assert "With citations checked" not in result.stdout
    refused = turn(result.stdout, lines[2])
    assert refused.startswith("The articles don't say.\n")
    assert "\nThe model said the articles don't answer this, but a passage does.\n" in refused
    assert "\nFrom the passages:\n" in refused and "176 glaciers" in refused.split("From the passages:")[1]
    looped = turn(result.stdout, lines[3])
    assert looped.startswith("The team counted many glaciers in the Alps.\n\n")  # once
    assert "\nThe model began repeating itself; its answer was cut at the first repeat.\n" in looped


def test_ask_on_a_terminal_streams_the_answer_then_replaces_it_with_the_checked_one(ingested, model):
    import pty

    store, _ = ingested
    main, terminal = pty.openpty()
    command = [
        sys.executable,
        "-m",
        "rag",
        "ask",
        "How many glaciers were measured?",
        "--store",
        str(store),
        *model(UNCITED),
    ]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env(), "COLUMNS": "80"},
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    out = b""
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        out += data
    os.close(main)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    text = out.decode().replace("\r\n", "\n")
    streamed, checked = text.split("\x1b[1A\r\x1b[J", 1)  # up over the two rows the 103 characters took, and clear
    assert streamed == UNCITED and checked.startswith(UNCITED + " [1]\n")


def test_the_checks_print_one_plain_line_each_then_the_passages_answer_and_all_sources(capsys):
    from rag.__main__ import print_checks, print_sources
    from rag.answer import Answer, Citation, Disagreement, Reported, Sentence

    def cited(n, text):
        dated = {"outlet": "Pier Post", "published_at": "2024-05-02"} if n == 2 else {}
        return Citation(n, f"art-{n}", f"Title {n}", f"/docs/{n}.md", text, 0, len(text), 0.5, **dated)

    extractive = Answer("The pier is 300 metres long [2].", (cited(2, "The pier is 300 metres long."),), False)
    answer = Answer(
        "The pier opened in 1890 [1]. It is painted blue [1].",
        (cited(1, "The pier opened in 1890."),),
        False,
        (
            Sentence("The pier opened in 1890 [1].", (1,), True, "moved from [2]: passage 1 supports it", recited=True),
            Sentence("It is painted blue [1].", (1,), False, "the passage does not say this"),
        ),
        off_question=True,
        repeated=True,
        dropped=2,
        from_passages=extractive,
        conflicts=(
            Disagreement("the pier's length", "number", (Reported("300 metres", (2,)), Reported("320 m", (1,)))),
        ),
    )
    print_checks(answer)
    print_sources(answer)
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert lines == [
        "re-cited: “The pier opened in 1890 [1].” (moved from [2]: passage 1 supports it)",
        "unverified: “It is painted blue [1].” — the passage does not say this",
        "dropped 2 unverified sentences",
        "This answer does not address what the question asks.",
        "The model began repeating itself; its answer was cut at the first repeat.",
        "sources disagree on the pier's length: 300 metres [2]; 320 m [1]",
        "From the passages:",
        "The pier is 300 metres long [2].",
        "[1] Title 1 — /docs/1.md (characters 0–24)",
        "    The pier opened in 1890.",
        "[2] Title 2 — Pier Post · 2 May 2024 — /docs/2.md (characters 0–28)",
        "    The pier is 300 metres long.",
    ]


def test_ingest_ignores_answer_settings_lists_newest_first_removes_a_dump_and_rechunks_on_request(tmp_path):
    dump = tmp_path / "wires.jsonl"
    items = [
        {"id": "w1", "title": "Ferry Timetable Cut", "published_at": "2023-02-01", "source": "Coast Wire",
         "body": "The island ferry will run four times a day instead of six from March, the operator said."},
        {"id": "w2", "title": "Library Opens Late", "published_at": "2025-06-30", "source": "Town Crier",
         "body": "The central library now opens until nine on weekdays after readers asked for evening hours."},
    ]  # fmt: skip
    dump.write_text("".join(json.dumps(item) + "\n" for item in items))
    store = tmp_path / "store"
    # An answer backend set for the chat, without its model, is no business of an ingest.
    added = run("ingest", dump, LIBRARY / "harbor-bridge.md", "--store", store, environ={"DOSSIER_BACKEND": "openai"})
    assert added.returncode == 0, added.stderr
    listing = run("ingest", "list", "--store", store).stdout.splitlines()
    assert listing[0].split() == ["date", "passages", "title", "outlet", "id"]
    rows = listing[1:-1]
    assert [row.split()[0] for row in rows] == ["2025-06-30", "2025-03-04", "2023-02-01"]  # newest first
    assert "Town Crier" in rows[0] and str(dump) not in listing[1]  # the outlet, not the path
    title_column = {row.index(title) for row, title in zip(rows[::2], ["Library Opens Late", "Ferry Timetable Cut"])}
    assert len(title_column) == 1  # columns aligned
    removed = run("ingest", "remove", dump, "--store", store)
    assert removed.returncode == 0 and removed.stdout.count("removed ") == 2, removed.stderr
    assert summary(run("ingest", "list", "--store", store)).startswith("1 article, ")
    asked = run("ingest", "rechunk", "--store", store, "--chunk-size", "120")
    assert asked.returncode == 1 and "re-embeds its 1 article, " in asked.stdout and "--yes" in asked.stdout
    refused = run("ingest", dump, "--store", store, "--chunk-size", "120")
    assert (
        refused.returncode == 2 and f"python -m ingest rechunk --yes --store {store} --chunk-size 120" in refused.stderr
    )
    assert "use the settings it was built with (chunk size 200, overlap 40" in refused.stderr
    done = run("ingest", "rechunk", "--yes", "--store", store, "--chunk-size", "120")
    assert done.returncode == 0 and done.stdout.startswith("re-chunked 1 article in"), done.stderr
    assert run("ingest", dump, "--store", store, "--chunk-size", "120").returncode == 0


def test_ingest_sample_loads_the_shipped_library_and_suggests_questions(tmp_path):
    store = tmp_path / "store"
    loaded = run("ingest", "--sample", "--store", store)
    assert loaded.returncode == 0, loaded.stderr
    assert "5 articles: 5 added" in loaded.stdout and f'" --store {store}' in loaded.stdout
    question = re.search(r'python -m rag ask "([^"]+)"', loaded.stdout).group(1)
    answer = run("rag", "ask", question, "--store", store, "--json")
    assert answer.returncode == 0 and json.loads(answer.stdout)["citations"], answer.stderr
