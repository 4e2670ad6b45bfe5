"""The chat page's sidebar, once the library is open: the library shown and those asked across, adding articles,
the answer settings, and the filters for the next questions.

Article titles and file names reach the page only through rag.page_text's `escape` and `show_error`."""

from dataclasses import replace
from datetime import date

import streamlit as st

from dossier_core.errors import DossierError
from rag.assistant import Assistant
from rag.backends import BACKENDS
from rag.filters import Filters
from rag.libraries import sibling, store_libraries
from rag.library import FORMATS, MAIN, Library
from rag.page_text import escape, show_error, unique_labels
from rag.settings import Settings, load_settings

UPLOAD_TYPES = [ext.lstrip(".") for ext in FORMATS]
EARLIEST = date(1700, 1, 1)  # archives reach far back: the State of the Union corpus starts in 1790
FILTERS_OFF = {"f_source": "", "f_author": "", "f_since": None, "f_until": None, "f_undated": False, "f_articles": []}


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
