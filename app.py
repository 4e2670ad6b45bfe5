"""Dossier's chat page: a thin Streamlit shell over rag.Assistant.

Article text, titles and URLs reach the page only through `escape` (Markdown)
or rag.render (HTML escaped, then sanitised again by st.html).
"""

import re
import uuid
from collections import Counter
from dataclasses import replace
from datetime import date

import streamlit as st

from ingest.extract import FORMATS
from rag import Answer, Assistant, DossierError, Settings
from rag.assistant import MAX_QUESTION
from rag.backends import BACKENDS
from rag.export import to_json, to_markdown
from rag.filters import Filters
from rag.render import STYLE, answer_html, chips_html, closest_html, notices, sources_html
from rag.settings import settings_from_env, store_from_env
from vectorstore.embedder import MiniLMEmbedder

UPLOAD_TYPES = [ext.lstrip(".") for ext in FORMATS]
EARLIEST = date(1700, 1, 1)  # archives reach far back: the State of the Union corpus starts in 1790
FILTERS_OFF = {"f_source": "", "f_author": "", "f_since": None, "f_until": None, "f_articles": []}


def escape(text: str) -> str:
    """Article text is shown as written, never interpreted as Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])", r"\\\1", text)


def show_error(message: str, where=st) -> None:
    """Errors name inputs (file names, URLs, a server's reply): shown as written too."""
    where.error(escape(message))


def unique_labels(records, label) -> dict[str, str]:
    """Article id → label; articles sharing a label (one story from several outlets) get their id's start."""
    labels = {r.id: label(r) for r in records}
    uses = Counter(labels.values())
    return {i: f"{v} · {i[:6]}" if uses[v] > 1 else v for i, v in labels.items()}


@st.cache_resource(show_spinner="Loading the embedding model…")
def load_embedder(runtime: str) -> MiniLMEmbedder:
    return MiniLMEmbedder(runtime)


# Keyed by the settings that shape an Assistant; the number of passages is given per question.
@st.cache_resource(show_spinner="Opening the library…", max_entries=4)
def load_assistant(store: str, settings: Settings) -> Assistant:
    return Assistant(store, settings, embedder=load_embedder(settings.encoder))


# -- sidebar


def answer_settings() -> Settings:
    """The answer backend and its settings, starting from the environment's; kept for the session."""
    default = settings_from_env()
    names = list(BACKENDS)
    backend = st.selectbox("Answer backend", names, index=names.index(default.backend), key="backend",
                           help="extractive quotes the articles; the others ask a language model")
    st.slider("Passages per answer", 1, 10, default.top_k, key="top_k", help="how many passages are retrieved for each question")
    chroma_url = st.text_input("Chroma server", default.chroma_url or "", key="chroma_url", placeholder="http://HOST:PORT", persist_state="session",
                               help="a shared library on a Chroma server (chroma run); empty: the store folder on this machine") or None
    default = replace(default, chroma_url=chroma_url)
    if backend == "extractive":
        return replace(default, backend=backend)
    model = st.text_input("Model", default.model or "", key="model", persist_state="session",
                          help="the name the server serves (openai), or the path of a .gguf file (llamacpp)")
    base_url = default.base_url
    if backend == "openai":
        base_url = st.text_input("Server URL", default.base_url or "", key="base_url", placeholder="https://api.openai.com/v1", persist_state="session",
                                 help="any OpenAI-compatible /v1 endpoint; the key comes from OPENAI_API_KEY") or None
    strict = st.checkbox("Only verified sentences", default.strict, key="strict", persist_state="session",
                         help="drop sentences that the passage they cite does not support")
    return replace(default, backend=backend, model=model or None, base_url=base_url, strict=strict)


def add_articles(assistant: Assistant) -> None:
    with st.form("add", clear_on_submit=True):
        files = st.file_uploader("Add articles", type=UPLOAD_TYPES, accept_multiple_files=True)
        url = st.text_input("…or an article's URL", placeholder="https://")
        if not st.form_submit_button("Add to library"):
            return
    jobs = [(f.name, lambda f=f: assistant.ingest_upload(f.name, f.getvalue())) for f in files or []]
    if url.strip():
        jobs.append((url.strip(), lambda: assistant.ingest([url.strip()])))
    if not jobs:
        st.warning("Choose files or type a URL first.")
        return
    bar = st.progress(0.0)
    stored = failed = 0
    with st.status(f"Adding {len(jobs)} item(s)…", expanded=True) as status:
        for done, (name, job) in enumerate(jobs):
            bar.progress(done / len(jobs), text=escape(name))
            try:
                results = job()
            except DossierError as e:
                failed += 1
                show_error(str(e))
                continue
            for r in results:
                if r.status == "failed":
                    failed += 1
                    show_error(r.error)
                else:
                    stored += 1
                    st.write(f"{r.status}: {escape(r.title or name)} ({r.chunks} passages)")
        bar.progress(1.0, text="Done")
        status.update(label=f"{stored} article(s) stored, {failed} failed", state="error" if failed else "complete")


def clear_filters() -> None:
    st.session_state.update(FILTERS_OFF)


def filter_box(records) -> tuple[Filters, list[str]]:
    """Filters for the next questions, and their chips."""
    titles = unique_labels(records, lambda r: r.title or r.source)
    with st.expander("Filters"):
        source = st.text_input("Source", key="f_source", help="the outlet, or part of the file path or URL")
        author = st.text_input("Author", key="f_author", help="part of the author line")
        since = st.date_input("Published since", value=None, min_value=EARLIEST, key="f_since")
        until = st.date_input("Published until", value=None, min_value=EARLIEST, key="f_until")
        chosen = st.multiselect("Only these articles", list(titles), format_func=titles.get, key="f_articles")
        st.button("Clear filters", on_click=clear_filters)
    filters = Filters(source.strip() or None, author.strip() or None, since and since.isoformat(), until and until.isoformat(),
                      tuple(chosen))
    chips = [f"{name}: {value}" for name, value in (("source", filters.source), ("author", filters.author),
                                                  ("since", filters.since), ("until", filters.until)) if value]
    if filters.articles:
        chips += [f"article: {titles[i]}" for i in filters.articles] if len(filters.articles) <= 3 else [f"{len(filters.articles)} articles"]
    return filters, chips


def new_chat() -> None:
    st.session_state["messages"].clear()


def export_buttons(messages: list[dict]) -> None:
    st.caption("Export the conversation")
    left, right = st.columns(2)
    left.download_button("⬇ Markdown", to_markdown(messages), "dossier-conversation.md", "text/markdown", on_click="ignore")
    right.download_button("⬇ JSON", to_json(messages), "dossier-conversation.json", "application/json", on_click="ignore")


# -- main area


def rate(assistant: Assistant, turn: dict) -> None:
    rating = st.session_state[f"feedback-{turn['id']}"]
    if rating is None:
        return
    try:
        assistant.feedback.record(turn["id"], rating, turn["question"], turn["answer"])
    except DossierError as e:
        st.toast(escape(str(e)))


def show_answer(assistant: Assistant, turn: dict, timings: bool) -> None:
    answer, key = turn["answer"], f"a{turn['id'][:8]}"
    above, below = notices(answer)
    for banner in above:
        st.warning(banner, icon="⚠️")
    st.html(answer_html(answer, key))
    closest = closest_html(answer) if answer["abstained"] else ""
    if closest:
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


def chat(assistant: Assistant, messages: list[dict], filters: Filters, chips: list[str], k: int, timings: bool) -> None:
    # The input is pinned to the bottom whatever the order; reading it first lets the chips render last, just above it.
    question = st.chat_input("Ask about your articles", max_chars=MAX_QUESTION)
    if not messages and not question:
        st.caption("Ask a question about the articles in your library. Every sentence of the answer cites the passage it comes from.")
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
                answer = stream_answer(live, assistant.stream(question, history, filters, k))
            except DossierError as e:
                show_error(str(e), live)
            else:
                turn = {"role": "assistant", "content": answer["answer"], "answer": answer, "question": question, "id": uuid.uuid4().hex}
                messages += [{"role": "user", "content": question}, turn]
                with live.container():
                    show_answer(assistant, turn, timings)
    if chips:
        st.html(f"<div>Filters: {chips_html(chips)}</div>")


def regions_count(regions: list) -> str:
    return f"{len(regions)} region{'' if len(regions) == 1 else 's'}"


def library(assistant: Assistant, records) -> None:
    st.subheader("Library")
    query = st.text_input("Search the library", key="library_search", placeholder="title, outlet, author or source", persist_state="session").strip().lower()
    found = [r for r in records if query in " ".join(filter(None, (r.title, r.source, r.site, r.author))).lower()]
    st.caption(f"{len(found)} of {len(records)} articles")
    if not found:
        return
    st.dataframe(
        [{"Title": r.title or "", "Outlet": r.site or "", "Date": (r.published_at or "")[:10], "Passages": r.chunks, "Source": r.source} for r in found],
        hide_index=True,
    )
    titles = unique_labels(found, lambda r: f"{r.title or r.source} ({(r.published_at or 'no date')[:10]})")
    chosen = st.selectbox("Article", list(titles), format_func=titles.get, key="library_article")
    record = next(r for r in found if r.id == chosen)
    st.caption(escape(" · ".join(filter(None, (record.author, record.site, record.source)))))
    if st.button("Remove from library", key="remove"):
        try:
            assistant.remove(record.id)
        except DossierError as e:
            show_error(str(e))
        else:
            st.toast(f"Removed {escape(record.title or record.source)}")
            st.rerun()
    regions = assistant.regions(record.id)
    kept, dropped = [r for r in regions if r[2]], [r for r in regions if not r[2]]
    indexed_tab, dropped_tab = st.tabs([f"Indexed ({regions_count(kept)})", f"Dropped ({regions_count(dropped)})"])
    for tab, shown, empty in ((indexed_tab, kept, "Nothing was indexed."), (dropped_tab, dropped, "Nothing was dropped.")):
        with tab:
            if not shown:
                st.caption(empty)
            for label, text, _ in shown:
                st.markdown(f"**{label.replace('_', ' ')}**  \n{escape(text)}")


def main() -> None:
    st.set_page_config(page_title="Dossier", page_icon="🗂️")
    st.html(STYLE)
    st.title("Dossier")
    messages = st.session_state.setdefault("messages", [])
    with st.sidebar:
        view = st.radio("View", ["Chat", "Library"], horizontal=True, key="view", label_visibility="collapsed")
        counts, adding, filtering = st.empty(), st.container(), st.container()
        with st.expander("Answer settings"):
            settings = answer_settings()
        st.button("New chat", on_click=new_chat)
        timings = st.toggle("Show timings", key="timings", help="time spent finding passages and writing each answer")
        exports = st.container()
    try:
        assistant = load_assistant(store_from_env(), settings)
    except DossierError as e:
        show_error(str(e))
        st.stop()
    with adding:
        add_articles(assistant)
    records = assistant.articles()
    articles, chunks = assistant.counts()
    counts.markdown(f"**{articles}** articles · **{chunks}** passages")
    with filtering:
        filters, chips = filter_box(records)

    if not articles:
        st.info(
            "The library is empty. Add articles (text, Markdown, HTML, PDF or JSON) or a URL with the box in the sidebar, "
            "or from a terminal: `python -m ingest PATH`."
        )
    if view == "Library":
        library(assistant, records)
    else:
        chat(assistant, messages, filters, chips, st.session_state["top_k"], timings)
    if messages:
        with exports:
            export_buttons(messages)


main()
