"""The chat page's Chat view, once the library is open: the conversation, each answer with its banners, cards
and feedback, the sample library offered to an empty library, and the conversation's export.

Article text, titles and URLs reach the page only through rag.page_text's `escape` (Markdown) or rag.render and
rag.page_news (HTML escaped, then sanitised again by st.html)."""

import uuid

import streamlit as st

from dossier_core.errors import DossierError
from rag.answer import Answer
from rag.assistant import Assistant
from rag.export import to_json, to_markdown
from rag.feedback import FeedbackLog, feedback_path
from rag.filters import Filters
from rag.library import MAIN, Library
from rag.page_news import conflicts_html, date_chip, dates_html
from rag.page_text import escape, show_error
from rag.page_words import page_message
from rag.render import answer_html, chips_html, closest_html, notices, sources_html
from rag.sample import SAMPLE_QUESTIONS, load_sample


def export_buttons(messages: list[dict]) -> None:
    """The conversation as Markdown or JSON (drawn in the sidebar)."""
    st.caption("Export the conversation")
    left, right = st.columns(2)
    markdown, json = to_markdown(messages), to_json(messages)
    left.download_button("⬇ Markdown", markdown, "dossier-conversation.md", "text/markdown", on_click="ignore")
    right.download_button("⬇ JSON", json, "dossier-conversation.json", "application/json", on_click="ignore")


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


def chat(
    assistant: Assistant, messages: list[dict], filters: Filters, chips: list[str], sample: bool, typed: str | None
) -> None:
    """The conversation, and the answer to the question `typed` in the chat input or picked from the sample's."""
    ask_without_dates(assistant, messages, filters)
    question = typed or st.session_state.pop("asked", None)
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
