"""The chat page's model and store, opened on a background thread while the page draws.

Importing Chroma and the model's runtime, opening the store and running the model once take over a second of a
2-core machine (bench/cold-start.md). The server's first page run starts that work here, draws its title, sidebar
and chat input meanwhile, and waits for it only where the page needs the library, so that a question typed
meanwhile is answered as soon as it can be.

This module imports none of those libraries, so that the page can import it before drawing. The page imports its
other modules, which do, only once the warm start is over: a module that two threads import at once can be seen
half made by one of them.
"""

import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from datetime import date
from typing import TYPE_CHECKING, TypeVar

import streamlit as st

from dossier_core.errors import DossierError

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.settings import Settings
    from vectorstore.embedder import Embedder

T = TypeVar("T")
# Searched for once by the warm start: it names a date, so that the date phrases are compiled too.
WARM_UP = "What did the articles report last week?"


def in_background(work: Callable[[], T]) -> Future[T]:
    """`work()` on a daemon thread: the server need not wait for it to stop."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except Exception as e:  # the page meets it again where it does the same work itself, and shows it there
            future.set_exception(e)

    threading.Thread(target=run, name="dossier-warm-start", daemon=True).start()
    return future


def _warm_start() -> "tuple[Settings, Assistant | DossierError]":
    """The settings from the environment, and the assistant over the library they name, opened and with what its
    first question would do once done already; or the error opening it."""
    from dataclasses import replace

    from rag.assistant import Assistant
    from rag.dates import read_dates
    from rag.library import MAIN, MiniLMEmbedder
    from rag.settings import load_settings

    settings = replace(load_settings(), library=MAIN)  # the library the page opens (app.py)
    try:
        assistant = Assistant(settings=settings, embedder=MiniLMEmbedder(settings.encoder, settings.cache))
    except DossierError as e:
        return settings, e
    read_dates(WARM_UP, date.today())
    with suppress(DossierError):  # the first question meets it again, and shows it
        assistant.retrieve(WARM_UP)  # the model's session and thread pool, the vector and BM25 indexes
    return settings, assistant


@st.cache_resource(show_spinner=False)
def warm_start() -> "Future[tuple[Settings, Assistant | DossierError]]":
    """Started by the server's first page run; again by the run after one that showed its error."""
    return in_background(_warm_start)


def wait_for_library() -> None:
    """Hold this page run until the warm start is over; what it made is taken up by `load_assistant`."""
    opening = warm_start()
    if not opening.done():
        with st.spinner("Opening the library…"):
            opening.exception()


def _warmed() -> "tuple[Settings, Assistant | DossierError] | None":
    opening = warm_start()
    return None if opening.exception() else opening.result()


@st.cache_resource(show_spinner="Loading the embedding model…")
def load_embedder(runtime: str, cache: str | None) -> "Embedder":
    from rag.library import MiniLMEmbedder

    if warmed := _warmed():
        settings, opened = warmed
        if not isinstance(opened, DossierError) and (settings.encoder, settings.cache) == (runtime, cache):
            return opened.embedder
    return MiniLMEmbedder(runtime, cache)


# Keyed by the settings that shape an Assistant; the number of passages is given per question.
@st.cache_resource(show_spinner="Opening the library…", max_entries=4)
def load_assistant(settings: "Settings") -> "Assistant":
    from rag.assistant import Assistant

    if (warmed := _warmed()) and warmed[0] == settings:
        if isinstance(warmed[1], DossierError):
            warm_start.clear()  # shown once, not tried again in this run (a server that does not answer takes 30 s)
            raise warmed[1]
        return warmed[1]
    return Assistant(settings=settings, embedder=load_embedder(settings.encoder, settings.cache))
