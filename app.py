"""Dossier's chat page: a thin Streamlit shell over rag.Assistant and its Library.

The page draws its title, sidebar and chat input before the model and store are open: rag.page_open opens them on
a background thread, and the rest of the page (rag.page_sidebar, rag.page_chat and the Library view,
rag.page_library) is read once they are. Article text, titles and URLs reach the page only through rag.page_text's
`escape` (Markdown) or rag.render and rag.page_news (HTML escaped, then sanitised again by st.html).
"""

from dataclasses import replace

import streamlit as st

from rag import DossierError
from rag.page_open import load_assistant, wait_for_library, warm_start
from rag.page_text import show_error
from rag.question import MAX_QUESTION


def main() -> None:
    warm_start()  # the model and store open on a thread of their own (once per server) while the page draws
    st.set_page_config(page_title="Dossier", page_icon="🗂️")
    st.title("Dossier")
    messages = st.session_state.setdefault("messages", [])
    with st.sidebar:
        view = st.radio("View", ["Chat", "Library"], horizontal=True, key="view", label_visibility="collapsed")
        picking, counts, adding, filtering = st.container(), st.empty(), st.container(), st.container()
        answering = st.expander("Answer settings")
        st.button("New chat", on_click=messages.clear)
        st.toggle("Show timings", key="timings", help="time spent finding passages and writing each answer")
        exports = st.container()
    # Pinned to the bottom wherever it is drawn: drawn first, it takes a question while the library opens.
    typed = st.chat_input("Ask about your articles", max_chars=MAX_QUESTION) if view == "Chat" else None
    wait_for_library()
    # Read once the library is open: these modules import Chroma and the model's runtime, as the thread that
    # opened it did (see rag.page_open).
    from rag import Filters
    from rag.library import MAIN
    from rag.page_chat import chat, export_buttons, offer_sample
    from rag.page_library import library_view
    from rag.page_news import NEWS_STYLE
    from rag.page_sidebar import add_articles, answer_settings, filter_box, pick_libraries
    from rag.render import STYLE
    from rag.sample import SAMPLE

    st.html(STYLE + NEWS_STYLE)
    try:  # settings from the environment, the library they open, and what it holds now (a server may have gone)
        with answering:
            settings = answer_settings()
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
        chat(assistant, messages, filters, chips, any(r.source.startswith(sample) for r in records), typed)
    if messages:
        with exports:
            export_buttons(messages)


main()
