"""The libraries of one store: which there are, and the vectors they already hold for articles about to be
stored, so that an article put into a second library (or moved to a new path) is not embedded again."""

import logging

import numpy as np

from dossier_core.errors import DossierError
from vectorstore.handle import StoreHandle, collection_names, library_of
from vectorstore.sites import MAIN

log = logging.getLogger(__name__)


def library_names(handle: StoreHandle) -> list[str]:
    """The store's libraries, `main` first, then by name."""
    with handle.reported():
        collections = handle.site.client().list_collections()
    found = {library_of(c.name) for c in collections} - {None}
    return sorted(found, key=lambda name: (name != MAIN, name))


def known_vectors(handle: StoreHandle, content_hashes: set[str]) -> dict[str, np.ndarray]:
    """{text_key: vector} of the stored chunks of these article versions, in any library of the store made
    with `handle`'s embedder: the same text embeds to the same vector, whatever the chunk settings. Reuse only
    saves time, so a library that cannot be read now is passed over."""
    if not content_hashes:
        return {}
    known = {}
    for library in library_names(handle):
        try:
            with handle.reported():
                known.update(_held(handle, library, content_hashes))
        except DossierError as e:
            log.warning("library %s: its vectors cannot be reused now (%s)", library, e)
    return known


def _held(handle: StoreHandle, library: str, content_hashes: set[str]) -> dict[str, np.ndarray]:
    chunks = (
        handle.chunks
        if library == handle.library
        else handle.site.client().get_collection(collection_names(library)[0])
    )
    embedder = {k: (handle.chunks.metadata or {}).get(k) for k in ("embedder", "dimensions")}
    if {k: (chunks.metadata or {}).get(k) for k in embedder} != embedder:
        return {}
    where = {"content_hash": {"$in": sorted(content_hashes)}}
    got = handle.fetch(chunks, ["metadatas", "embeddings"], where=where)
    # Chunks stored before the key was kept have none: their vectors are not reused.
    rows = zip(got["metadatas"], got["embeddings"])
    return {m["embedded"]: np.asarray(vector, dtype=np.float32) for m, vector in rows if "embedded" in m}
