"""Dossier's chat page: a thin Streamlit shell over rag.Assistant and its Library.

Article text, titles and URLs reach the page only through rag.page_text's `escape` (Markdown)
or rag.render and rag.page_news (HTML escaped, then sanitised again by st.html).
The Library view is rag.page_library.
"""

import uuid
from dataclasses import replace
from datetime import date

import streamlit as st

from rag import Answer, Assistant, DossierError, Filters, Library, Settings
from rag.assistant import MAX_QUESTION
from rag.backends import BACKENDS
from rag.export import to_json, to_markdown
from rag.feedback import FeedbackLog, feedback_path
from rag.libraries import sibling, store_libraries
from rag.library import FORMATS, MAIN, MiniLMEmbedder
from rag.page_library import library_view
from rag.page_news import NEWS_STYLE, conflicts_html, date_chip, dates_html
from rag.page_text import escape, show_error, unique_labels
from rag.page_words import page_message
from rag.render import STYLE, answer_html, chips_html, closest_html, notices, sources_html
from rag.sample import SAMPLE, SAMPLE_QUESTIONS, load_sample
from rag.settings import load_settings

UPLOAD_TYPES = [ext.lstrip(".") for ext in FORMATS]
EARLIEST = date(1700, 1, 1)  # archives reach far back: the State of the Union corpus starts in 1790
FILTERS_OFF = {"f_source": "", "f_author": "", "f_since": None, "f_until": None, "f_undated": False, "f_articles": []}


@st.cache_resource(show_spinner="Loading the embedding model…")
def load_embedder(runtime: str, cache: str | None) -> MiniLMEmbedder:
    return MiniLMEmbedder(runtime, cache)


# Keyed by the settings that shape an Assistant; the number of passages is given per question.
@st.cache_resource(show_spinner="Opening the library…", max_entries=4)
def load_assistant(settings: Settings) -> Assistant:
    return Assistant(settings=settings, embedder=load_embedder(settings.encoder, settings.cache))


# -- sidebar


def create_library(home: Library) -> None:
    """The "New library" button: make it, and switch to it."""
    try:
        made = sibling(home, st.session_state.new_library.strip(), create=True)
    except DossierError as e:
        st.session_state.library_error = str(e)
        return
    st.session_state.library, st.session_state.also_ask = made.name, []


def pick_libraries(assistant: Assistant, named: tuple[str, ...]) -> tuple[str, ...]:
    """The library the page shows and adds to, then others to ask across (`named`: those the settings name)."""
    home = assistant.library
    names = store_libraries(home)
    state = st.session_state
    # The widgets' values live in the session (a library made or removed elsewhere is dropped from them).
    if state.get("library") not in names:
        state.library = named[0] if named[0] in names else MAIN
    shown = st.selectbox("Library", names, key="library") if len(names) > 1 else MAIN
    others = [n for n in names if n != shown]
    state.also_ask = [n for n in state.get("also_ask", named[1:]) if n in others]
    also = st.multiselect("Also ask", others, key="also_ask") if others else []
    with st.popover("New library"):
        st.text_input("Name", key="new_library", placeholder="climate-desk", max_chars=40)
        st.button("Create", on_click=create_library, args=(home,))
    if error := st.session_state.pop("library_error", None):
        show_error(error)
    return (shown, *also)


def answer_settings() -> Settings:
    """The answer backend and its settings, starting from the environment's; kept for the session."""
    default = load_settings()
    names = list(BACKENDS)
    backend = st.selectbox(
        "Answer backend", names, index=names.index(default.backend), key="backend",
        help="extractive quotes the articles; the others ask a language model",
    )  # fmt: skip
    st.slider("Passages per answer", 1, 10, default.top_k, key="top_k", help="passages retrieved for each question")
    chroma_url = st.text_input(
        "Chroma server", default.chroma_url or "", key="chroma_url", placeholder="http://HOST:PORT",
        persist_state="session", help="a shared library on a Chroma server; empty: the store folder on this machine",
    )  # fmt: skip
    default = replace(default, chroma_url=chroma_url or None)
    if backend == "extractive":
        return replace(default, backend=backend)
    model = st.text_input(
        "Model", default.model or "", key="model", persist_state="session",
        help="the name the server serves (openai), or the path of a .gguf file (llamacpp)",
    )  # fmt: skip
    base_url = default.base_url
    if backend == "openai":
        base_url = st.text_input(
            "Server URL", default.base_url or "", key="base_url", placeholder="https://api.openai.com/v1",
            persist_state="session", help="any OpenAI-compatible /v1 endpoint; the key comes from OPENAI_API_KEY",
        )  # fmt: skip
    strict = st.checkbox(
        "Only verified sentences", default.strict, key="strict", persist_state="session",
        help="drop sentences that the passage they cite does not support",
    )  # fmt: skip
    return replace(default, backend=backend, model=model or None, base_url=base_url or None, strict=strict)


def add_articles(library: Library) -> None:
    with st.form("add", clear_on_submit=True):
        files = st.file_uploader("Add articles", type=UPLOAD_TYPES, accept_multiple_files=True)
        url = st.text_input("…or an article's URL", placeholder="https://")
        if not st.form_submit_button("Add to library"):
            return
    jobs = [(f.name, lambda f=f: library.ingest_upload(f.name, f.getvalue())) for f in files or []]
    if url.strip():
        jobs.append((url.strip(), lambda: library.ingest([url.strip()])))
    if not jobs:
        st.warning("Choose files or type a URL first.")
        return
    bar = st.progress(0.0)
    stored, failures = 0, []
    with st.status(f"Adding {len(jobs)} item(s)…", expanded=True) as status:
        for done, (name, job) in enumerate(jobs):
            bar.progress(done / len(jobs), text=escape(name))
            try:
                results = job()
            except DossierError as e:
                failures.append(str(e))
                continue
            failures += [r.error for r in results if r.status == "failed"]
            for r in results:
                if r.status != "failed":
                    stored += 1
                    st.write(f"{r.status}: {escape(r.title or name)} ({r.chunks} passages)")
        bar.progress(1.0, text="Done")
        status.update(
            label=f"{stored} article(s) stored, {len(failures)} failed", state="error" if failures else "complete"
        )
    # Outside the status box, which folds up: why an item failed stays in sight.
    for failure in failures:
        show_error(failure)


def filter_box(records) -> tuple[Filters, list[str]]:
    """Filters for the next questions, and their chips."""
    titles = unique_labels(records, lambda r: r.title or r.source)
    with st.expander("Filters"):
        source = st.text_input("Source", key="f_source", help="the outlet, or part of the file path or URL")
        author = st.text_input("Author", key="f_author", help="part of the author line")
        since = st.date_input("Published since", value=None, min_value=EARLIEST, key="f_since")
        until = st.date_input("Published until", value=None, min_value=EARLIEST, key="f_until")
        undated = st.checkbox("Include undated articles", key="f_undated", help="they pass the dates given or asked")
        chosen = st.multiselect("Only these articles", list(titles), format_func=titles.get, key="f_articles")
        st.button("Clear filters", on_click=st.session_state.update, args=(FILTERS_OFF,))
    filters = Filters(source.strip() or None, author.strip() or None, since, until, tuple(chosen), undated)
    given = {"source": filters.source, "author": filters.author, "since": filters.since, "until": filters.until}
    chips = [f"{name}: {value}" for name, value in given.items() if value] + ["with undated articles"] * undated
    if len(filters.articles) > 3:
        chips.append(f"{len(filters.articles)} articles")
    else:
        chips += [f"article: {titles[i]}" for i in filters.articles]
    return filters, chips


def export_buttons(messages: list[dict]) -> None:
    st.caption("Export the conversation")
    left, right = st.columns(2)
    markdown, json = to_markdown(messages), to_json(messages)
    left.download_button("⬇ Markdown", markdown, "dossier-conversation.md", "text/markdown", on_click="ignore")
    right.download_button("⬇ JSON", json, "dossier-conversation.json", "application/json", on_click="ignore")


# -- main area


def offer_sample(library: Library) -> None:
    """An empty library: how to fill it, and the sample library, one click away."""
    st.info(
        "The library is empty. Add your own articles with the box in the sidebar (text, Markdown, HTML, PDF or "
        "JSON files, or a page's URL), or load the sample library: five short news and analysis articles about a "
        "seaside town's tidal turbines, seabirds and ferry, written for Dossier, to try questions on."
    )
    if not st.button("Load the sample library", key="load_sample", type="primary"):
        return
    try:
        with st.spinner("Adding the sample articles…"):
            failures = [r.error for r in load_sample(library) if r.status == "failed"]
    except DossierError as e:
        failures = [str(e)]
    for failure in failures:
        show_error(failure)
    if not failures:
        st.rerun()


def rate(assistant: Assistant, turn: dict) -> None:
    rating = st.session_state[f"feedback-{turn['id']}"]
    if rating is None:
        return
    asked = turn["answer"].get("trace", {}).get("libraries") or [MAIN]
    try:  # kept with the first library the question was asked of
        library = assistant.libraries(Filters(libraries=asked[0]))[0]
        FeedbackLog(feedback_path(library)).record(turn["id"], rating, turn["question"], turn["answer"])
    except DossierError as e:
        st.toast(escape(page_message(str(e))))


def show_answer(assistant: Assistant, turn: dict, timings: bool) -> None:
    answer, key = turn["answer"], f"a{turn['id'][:8]}"
    above, below = notices(answer)
    if chip := date_chip(turn):  # the dates the question named: clicking it asks again without them
        st.button(**chip, key=f"undate-{turn['id']}", on_click=st.session_state.update, kwargs={"undate": turn})
    for banner in above:
        st.warning(banner, icon="⚠️")
    st.html(dates_html(answer) + answer_html(answer, key) + conflicts_html(answer, key))
    if answer["abstained"] and (closest := closest_html(answer)):
        st.html(closest)
    for caption in below:
        st.caption(caption)
    if answer["citations"]:
        st.html(sources_html(answer, key))
    # The model's answer missed the question or refused wrongly: the passages' own answer, with its own cards.
    extract = answer.get("from_passages")
    if extract:
        st.subheader("From the passages", anchor=False)
        st.html(answer_html(extract, f"{key}p"))
        if extract["citations"]:
            st.html(sources_html(extract, f"{key}p"))
    if timings and answer.get("trace", {}).get("seconds"):
        seconds = answer["trace"]["seconds"]
        st.caption(f"retrieve {seconds['retrieve'] * 1000:.0f} ms · answer {seconds['answer'] * 1000:.0f} ms")
    st.feedback("thumbs", key=f"feedback-{turn['id']}", on_change=rate, args=(assistant, turn), persist_state="session")


def stream_answer(live, pieces) -> dict:
    text = ""
    for piece in pieces:
        if isinstance(piece, Answer):
            return piece.to_dict()
        text += piece
        live.markdown(escape(text) + " ▌")
    raise AssertionError("Assistant.stream always ends with an Answer")


def ask_without_dates(assistant: Assistant, messages: list[dict], filters: Filters) -> None:
    """The answer whose date chip was removed, replaced by one to its question read without dates."""
    if (turn := st.session_state.pop("undate", None)) not in messages:
        return
    history = [{"role": m["role"], "content": m["content"]} for m in messages[: messages.index(turn) - 1]]
    try:
        with st.spinner("Asking again without the dates…"):
            answer = assistant.ask(turn["question"], history, filters, st.session_state["top_k"], dates=False)
    except DossierError as e:
        return show_error(str(e))
    dates = turn["answer"]["trace"]["dates"]  # the chip says which were ignored
    turn.update(content=answer.text, answer=answer.to_dict(), id=uuid.uuid4().hex, dates_ignored=dates)


def chat(assistant: Assistant, messages: list[dict], filters: Filters, chips: list[str], sample: bool) -> None:
    ask_without_dates(assistant, messages, filters)
    # The input is pinned to the bottom whatever the order; reading it first lets the chips render last, just above it.
    question = st.chat_input("Ask about your articles", max_chars=MAX_QUESTION) or st.session_state.pop("asked", None)
    if not messages and not question:
        st.caption("Ask a question about the articles in your library. Every sentence of the answer cites its passage.")
        if sample:
            st.caption("Or try one of these about the sample library:")
            for n, suggestion in enumerate(SAMPLE_QUESTIONS):
                st.button(suggestion, key=f"try-{n}", on_click=st.session_state.update, kwargs={"asked": suggestion})
    timings = st.session_state["timings"]
    for turn in messages:
        with st.chat_message(turn["role"]):
            if turn["role"] == "user":
                st.markdown(escape(turn["content"]))
            else:
                show_answer(assistant, turn, timings)
    if question:
        with st.chat_message("user"):
            st.markdown(escape(question))
        history = [{"role": m["role"], "content": m["content"]} for m in messages]
        with st.chat_message("assistant"):
            live = st.empty()
            try:
                answer = stream_answer(live, assistant.stream(question, history, filters, st.session_state["top_k"]))
            except DossierError as e:
                show_error(str(e), live)
            else:
                turn = {"role": "assistant", "content": answer["answer"], "answer": answer, "question": question}
                turn["id"] = uuid.uuid4().hex
                messages += [{"role": "user", "content": question}, turn]
                with live.container():
                    show_answer(assistant, turn, timings)
    if chips:
        st.html(f"<div>Filters: {chips_html(chips)}</div>")


def main() -> None:
    st.set_page_config(page_title="Dossier", page_icon="🗂️")
    st.html(STYLE + NEWS_STYLE)
    st.title("Dossier")
    messages = st.session_state.setdefault("messages", [])
    try:  # settings from the environment, the library they open, and what it holds now (a server may have gone)
        with st.sidebar:
            view = st.radio("View", ["Chat", "Library"], horizontal=True, key="view", label_visibility="collapsed")
            picking, counts, adding, filtering = st.container(), st.empty(), st.container(), st.container()
            with st.expander("Answer settings"):
                settings = answer_settings()
            st.button("New chat", on_click=messages.clear)
            st.toggle("Show timings", key="timings", help="time spent finding passages and writing each answer")
            exports = st.container()
        # One Assistant over the store (every store has main, so opening it makes nothing); the libraries a
        # question is asked of are its filters'.
        assistant = load_assistant(replace(settings, library=MAIN))
        with picking:
            asked = pick_libraries(assistant, settings.libraries)
        library = assistant.libraries(Filters(libraries=asked[0]))[0]
        with adding:
            add_articles(library)
        records = library.articles()
        articles, chunks = library.counts()
    except DossierError as e:
        show_error(str(e))
        st.stop()
    counts.markdown(f"**{articles}** articles · **{chunks}** passages")
    with filtering:
        filters, chips = filter_box(records)
    filters = replace(filters, libraries=asked)

    if not articles:
        offer_sample(library)
    if view == "Library":
        library_view(library, records)
    else:
        sample = str(SAMPLE.resolve())
        chat(assistant, messages, filters, chips, any(r.source.startswith(sample) for r in records))
    if messages:
        with exports:
            export_buttons(messages)


main()
