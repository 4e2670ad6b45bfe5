"""The chat page's Library view: find an article, see what was indexed and dropped of it, remove it; back the
library up as a file and import such a file.

Article text, titles and file names reach the page only through rag.page_text's `escape` and `show_error`."""

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from urllib.parse import urlsplit

import streamlit as st

from dossier_core.errors import DossierError
from rag.backup import export_bytes, import_bytes
from rag.feeds import poll, subscribed
from rag.library import Library, matching
from rag.page_text import escape, show_error, unique_labels

# Widths (px) that together fit the centred page, so that no column hides behind a sideways scroll.
COLUMNS = {
    "Title": st.column_config.TextColumn(width=240),
    "Outlet": st.column_config.TextColumn(width=130),
    "Date": st.column_config.TextColumn(width=90),
    "Passages": st.column_config.NumberColumn(width=75),
    "Source": st.column_config.TextColumn(width=135, help="the file's name or the page's address"),
}
BACKUP_TYPES = ["jsonl", "jsonl.gz"]


def short_source(source: str) -> str:
    """Where an article came from, short enough for a table cell: a URL's host and path, else a file's name."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        return parts.netloc + parts.path.rstrip("/")
    return re.split(r"[/\\:]", source)[-1]  # a path, upload:NAME or stdin:HASH


def library_view(library: Library, records) -> None:
    """The view of `library`, whose articles are `records`."""
    st.subheader("Library")
    results_report()
    with st.expander("Backup and move"):
        backup_download(library, bool(records))
        backup_import(library)
    feeds_box(library)
    browse(library, records)


def browse(library: Library, records) -> None:
    query = st.text_input(
        "Search the library", key="library_search", placeholder="title, outlet, author or source",
        persist_state="session",
    ).strip().lower()  # fmt: skip
    found = matching(records, query)
    st.caption(f"{len(found)} of {len(records)} articles")
    if not found:
        return
    rows = [
        {"Title": r.title or "", "Outlet": r.outlet or "", "Date": (r.published_at or "")[:10], "Passages": r.chunks,
         "Source": short_source(r.source)}
        for r in found
    ]  # fmt: skip
    st.dataframe(rows, hide_index=True, column_config=COLUMNS)
    titles = unique_labels(found, lambda r: f"{r.title or r.source} ({(r.published_at or 'no date')[:10]})")
    chosen = st.selectbox("Article", list(titles), format_func=titles.get, key="library_article")
    record = next(r for r in found if r.id == chosen)
    st.caption(escape(" · ".join(filter(None, (record.author, record.outlet, record.source)))))
    remove_button(library, record)
    try:  # another process may have removed it since the list was read
        regions = library.regions(record.id)
    except DossierError as e:
        show_error(str(e))
        return
    groups = {"Indexed": [r for r in regions if r[2]], "Dropped": [r for r in regions if not r[2]]}
    tabs = st.tabs([f"{name} ({len(shown)} region{'' if len(shown) == 1 else 's'})" for name, shown in groups.items()])
    for tab, (name, shown) in zip(tabs, groups.items()):
        with tab:
            if not shown:
                st.caption(f"Nothing was {name.lower()}.")
            for label, text, _ in shown:
                st.markdown(f"**{label.replace('_', ' ')}**  \n{escape(text)}")


def remove_button(library: Library, record) -> None:
    """Removing takes a second click, on a button that names what goes."""
    st.button("Remove from library…", key="remove", on_click=st.session_state.update, kwargs={"removing": record.id})
    if st.session_state.get("removing") != record.id:
        return
    name = record.title or record.source
    with st.container(border=True):
        st.warning(f"Remove “{escape(name)}” and its {record.chunks} passages from the library?")
        yes, no = st.columns(2)
        confirmed = yes.button("Remove it", key="remove_confirm", type="primary")
        no.button("Keep it", key="remove_cancel", on_click=st.session_state.pop, args=("removing",))
    if not confirmed:
        return
    st.session_state.pop("removing")
    try:
        library.remove(record.id)
    except DossierError as e:
        show_error(str(e))
    else:
        st.toast(f"Removed {escape(name)}")
        st.rerun()


# -- backup and move


def backup_download(library: Library, has_articles: bool) -> None:
    """The backup is written only when asked for: a download button needs its bytes on every run it is shown."""
    prepare = st.button(
        "Prepare backup", key="backup_prepare", disabled=not has_articles,
        help="every article's cleaned text, regions and metadata, without vectors, as one file: import it into "
        "any Dossier to move the library there, or into this one to restore it",
    )  # fmt: skip
    if not prepare:
        return
    try:
        with st.spinner("Writing the backup…"):
            data = export_bytes(library)
    except DossierError as e:
        show_error(str(e))
        return
    file_name = f"dossier-{library.name}-{date.today().isoformat()}.jsonl.gz"
    st.download_button(
        f"⬇ {file_name}", data, file_name, "application/gzip", key="backup_download", on_click="ignore", type="primary"
    )


def backup_import(library: Library) -> None:
    """Import an uploaded backup; what happened is shown after the rerun that shows the articles it added."""
    with st.form("backup_import", clear_on_submit=True, border=False):
        upload = st.file_uploader(
            "Import a backup", type=BACKUP_TYPES, key="backup_file",
            help="a file that Prepare backup wrote (.jsonl.gz) or a plain .jsonl export; articles the library "
            "already holds unchanged are skipped, the others are embedded again",
        )  # fmt: skip
        if not st.form_submit_button("Import"):
            return
    if upload is None:
        st.warning("Choose a backup file first.")
        return
    with st.spinner(f"Importing {escape(upload.name)}…"):
        work = lambda: import_bytes(library, upload.name, upload.getvalue())  # noqa: E731
        run_and_report(f"Imported {upload.name}", work, f"{upload.name} holds no article records")


def run_and_report(heading: str, results: Callable[[], Iterable], empty: str | None = None) -> None:
    """Run an import or a feed check, then rerun (the sidebar's counts and the table change) and show once what
    happened: `heading`, the tally by status, and each failure on its own line (`empty`: the error when nothing
    came of it)."""
    tally, errors = Counter(), []
    try:
        for result in results():
            tally[result.status] += 1
            if result.status == "failed":
                errors.append(result.error)
    except DossierError as e:  # an import file that is no export, or is cut short
        errors.append(str(e))
    if empty and not tally and not errors:
        errors.append(empty)
    st.session_state["results"] = (heading, dict(tally), errors)
    st.rerun()


def results_report() -> None:
    """The last import's or feed check's tally, and each error on a line of its own; shown once."""
    if (report := st.session_state.pop("results", None)) is None:
        return
    heading, tally, errors = report
    if tally or not errors:
        counts = sorted(tally.items(), key=lambda item: item[0] == "failed")  # failures last, beside their lines
        st.info(f"{escape(heading)}: " + (", ".join(f"{n} {status}" for status, n in counts) or "nothing new"))
    for error in errors:
        show_error(error)


# -- news feeds


def feeds_box(library: Library) -> None:
    """The library's feeds with when each was last read, one more to subscribe to, and "Check now"."""
    with st.expander("News feeds"):
        feeds = subscribed(library)
        rows = [
            {"Feed": f.title or f.url, "Address": f.url, "Checked": (f.polled_at or "never")[:16].replace("T", " "),
             "Articles": f.items, "Failing": f"{f.failures}× — {f.last_error}" if f.failures else ""}
            for f in feeds
        ]  # fmt: skip
        if rows:
            st.dataframe(rows, hide_index=True)
        else:
            st.caption("No feeds yet: subscribe to an RSS or Atom feed and its new articles are added on each check.")
        with st.form("feed_add", clear_on_submit=True, border=False):
            url = st.text_input("Subscribe to a feed", key="feed_url", placeholder="https://example.org/feed.xml")
            subscribe = st.form_submit_button("Subscribe and check it")
        check = st.button("Check now", key="feeds_check", disabled=not feeds, help="read every feed for new articles")
    if subscribe and not url.strip():
        st.warning("Type a feed's address first.")
    elif subscribe or check:
        with st.spinner("Reading the feeds…"):
            run_and_report("Checked the feeds", lambda: poll(library, [url.strip()] if subscribe else None))
