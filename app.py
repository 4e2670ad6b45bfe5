"""Dossier's chat page: a thin Streamlit shell over rag.Assistant."""

import re
from dataclasses import replace

import streamlit as st

from ingest.extract import FORMATS
from rag import Answer, Assistant, DossierError, Settings
from rag.backends import BACKENDS
from rag.settings import settings_from_env, store_from_env
from vectorstore.embedder import MiniLMEmbedder

UPLOAD_TYPES = [ext.lstrip(".") for ext in FORMATS]


def escape(text: str) -> str:
    """Article text is shown as written, never interpreted as Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)


@st.cache_resource(show_spinner="Loading the embedding model…")
def load_embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@st.cache_resource(show_spinner="Opening the library…", max_entries=4)
def load_assistant(store: str, settings: Settings) -> Assistant:
    return Assistant(store, settings, embedder=load_embedder())


def backend_settings() -> Settings:
    """The answer backend chosen in the sidebar, starting from the environment's."""
    default = settings_from_env()
    names = list(BACKENDS)
    backend = st.selectbox("Answer backend", names, index=names.index(default.backend), help="extractive quotes the articles; the others ask a language model")
    if backend == "extractive":
        return replace(default, backend=backend)
    model = st.text_input("Model", default.model or "", help="the name the server serves (openai), or the path of a .gguf file (llamacpp)")
    base_url = default.base_url
    if backend == "openai":
        base_url = st.text_input("Server URL", default.base_url or "", placeholder="https://api.openai.com/v1", help="any OpenAI-compatible /v1 endpoint; the key comes from OPENAI_API_KEY") or None
    strict = st.checkbox("Only verified sentences", default.strict, help="drop sentences that the passage they cite does not support")
    return replace(default, backend=backend, model=model or None, base_url=base_url, strict=strict)


def show_unverified(answer: dict) -> None:
    for i in answer["unsupported"]:
        sentence = answer["sentences"][i]
        st.warning(f"Unverified: {escape(sentence['text'])}  \n{escape(sentence['reason'])}", icon="⚠️")
    if answer["removed_markers"]:
        st.caption(f"Removed citations to passages that do not exist: {', '.join(f'[{n}]' for n in answer['removed_markers'])}")


def show_sources(answer: dict) -> None:
    for c in answer["citations"]:
        with st.container(border=True):
            st.markdown(f"**[{c['n']}] {escape(c['title'] or c['source'])}**  \n{escape(c['source'])}")
            st.caption(escape(c["text"]))


def upload_box(assistant: Assistant, key: str) -> None:
    with st.form(key, clear_on_submit=True):
        files = st.file_uploader("Add articles", type=UPLOAD_TYPES, accept_multiple_files=True)
        if st.form_submit_button("Add to library") and files:
            with st.status(f"Adding {len(files)} file(s)…") as status:
                for f in files:
                    for r in assistant.ingest_upload(f.name, f.getvalue()):
                        if r.status == "failed":
                            st.error(r.error)
                        else:
                            st.write(f"{r.status}: {escape(r.title or f.name)} ({r.chunks} passages)")
                status.update(label="Done", state="complete")


def answer_stream(assistant: Assistant, question: str, history: list[dict], result: dict):
    for piece in assistant.stream(question, history):
        if isinstance(piece, Answer):
            result["answer"] = piece.to_dict()
        else:
            yield escape(piece)


def main() -> None:
    st.set_page_config(page_title="Dossier", page_icon="🗂️")
    st.title("Dossier")
    with st.sidebar:
        settings = backend_settings()
    try:
        assistant = load_assistant(store_from_env(), settings)
    except DossierError as e:
        st.error(str(e))
        st.stop()
    messages = st.session_state.setdefault("messages", [])

    with st.sidebar:
        counts = st.empty()
        upload_box(assistant, "sidebar_upload")
        if st.button("New chat"):
            messages.clear()
        articles, chunks = assistant.counts()
        counts.markdown(f"**{articles}** articles · **{chunks}** passages")

    if not articles:
        st.info(
            "The library is empty. Add articles (text, Markdown, HTML, PDF or JSON) with the box in the sidebar, "
            "or from a terminal: `python -m ingest PATH`."
        )

    for m in messages:
        with st.chat_message(m["role"]):
            st.markdown(escape(m["content"]))
            if m.get("answer"):
                show_unverified(m["answer"])
                show_sources(m["answer"])

    question = st.chat_input("Ask about your articles")
    if not question:
        return
    with st.chat_message("user"):
        st.markdown(escape(question))
    history = [{"role": m["role"], "content": m["content"]} for m in messages]
    messages.append({"role": "user", "content": question})
    with st.chat_message("assistant"):
        result: dict = {}
        try:
            st.write_stream(answer_stream(assistant, question, history, result))
        except DossierError as e:
            st.error(str(e))
            messages.pop()
            return
        show_unverified(result["answer"])
        show_sources(result["answer"])
    messages.append({"role": "assistant", "content": result["answer"]["answer"], "answer": result["answer"]})


main()
