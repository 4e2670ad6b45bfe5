"""The libraries of one store (folder or Chroma server): each with its size, another opened beside one,
one removed. Each library has its own articles, chunks, BM25 index and feedback; they share the store's
write lock and its embedder, and a second library holding an article the first has is not embedded again."""

from dataclasses import replace

from dossier_core.errors import DossierError, InputError, NotFound
from rag.feedback import feedback_path
from rag.feeds import subscriptions_file
from rag.library import Library
from vectorstore.handle import library_name
from vectorstore.libraries import library_names
from vectorstore.sites import MAIN


def sibling(library: Library, name: str, create: bool = False) -> Library:
    """Another library of the same store, sharing `library`'s embedder."""
    if name == library.name:
        return library
    return Library(library.path, replace(library.settings, library=library_name(name)), library.embedder, create)


def store_libraries(library: Library) -> list[str]:
    """The names of the libraries in `library`'s store, `main` first."""
    return library_names(library.store.handle)


def libraries(library: Library) -> dict[str, tuple[int, int]]:
    """{name: (articles, chunks)} of every library in `library`'s store, `main` first."""
    return {name: sibling(library, name).counts() for name in store_libraries(library)}


def removable(library: Library, name: str) -> Library:
    """Library `name` of `library`'s store, which may be removed: any but `main`, which every store has."""
    site = library.store.handle.site
    if name == MAIN:
        raise InputError(
            f"library {MAIN} cannot be removed: every store has it; remove its articles with "
            f"python -m ingest remove, or delete the store ({site.name})"
        )
    if name not in store_libraries(library):
        raise NotFound(f"{site.name} has no library {name!r}; see: python -m ingest libraries {site.flag}")
    return sibling(library, name)


def remove_library(library: Library, name: str) -> tuple[int, int]:
    """Delete library `name` of `library`'s store with its articles, chunks, BM25 index, feedback and feed
    subscriptions; what it held, as (articles, chunks)."""
    doomed = removable(library, name)
    held = doomed.counts()
    with library.store.consistency.writing():
        doomed.store.handle.drop()
    for kept in (feedback_path(doomed), subscriptions_file(doomed)):
        try:
            kept.unlink(missing_ok=True)
        except OSError as e:
            raise DossierError(f"library {name} removed, but not {kept} ({e}); delete it by hand") from None
    return held
