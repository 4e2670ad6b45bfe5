"""A Chroma store of articles, in three parts on one handle.

    store = ChromaStore(path, {"embedder": name, "dimensions": dim}, url=None, token=None)
    store.records      # counts, articles, put, remove… (vectorstore.records)
    store.search       # candidates of a query, and the best of them (vectorstore.search)
    store.consistency  # the write lock, check and repair (vectorstore.consistency)

Chroma is embedded in the store folder, or a server when given its URL
(vectorstore.sites); the parts reach it through `store.handle`
(vectorstore.handle), which opens the collections and the BM25 index.
"""

from pathlib import Path

from vectorstore.consistency import Consistency
from vectorstore.handle import StoreHandle
from vectorstore.passages import Passages
from vectorstore.records import Records
from vectorstore.search import Search
from vectorstore.sites import MAIN


class ChromaStore:
    def __init__(
        self,
        path: str | Path,
        embedder: dict,
        url: str | None = None,
        token: str | None = None,
        library: str = MAIN,
        create: bool = True,
    ):
        """The arguments are StoreHandle's."""
        self.handle = StoreHandle(path, embedder, url, token, library, create)
        self.path = self.handle.path
        self.records = Records(self.handle)
        passages = Passages(self.handle)
        self.consistency = Consistency(self.handle, self.records, passages)
        self.search = Search(self.handle, self.consistency, passages)
