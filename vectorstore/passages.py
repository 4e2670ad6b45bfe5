"""Passage text, read from the article records.

A chunk's text is its article's cleaned text between the chunk's offsets, and the article's record already holds
that text, so Chroma keeps of a chunk only what only Chroma can do something with: its vector, its id, its offsets
and the metadata a search and a repair read (vectorstore.records.chunk_metadata). Stores written before keep a
second copy in each chunk's document, which nothing reads.

Texts are kept by article version (id and content hash), so a kept text never goes stale: a replaced article is a
new version. What a citation shows of the article (title, source, outlet…) is not kept here but read with the
versions a search checks, once per store generation (vectorstore.search).
"""

import json
import logging
import threading
from collections import OrderedDict

from vectorstore.handle import StoreHandle

KEPT = 20_000_000  # characters of article text kept: a question's passages come from a few articles, often again

log = logging.getLogger(__name__)


class Passages:
    def __init__(self, handle: StoreHandle):
        self.handle = handle
        self._kept: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # the HTTP server searches from several threads

    def texts(self, versions: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """{(article id, content hash): its cleaned text} of those versions the records hold (call inside
        handle.reported()); a version not held now, or whose record cannot be read, is left out."""
        with self._lock:
            found = {v: self._kept[v] for v in versions if v in self._kept}
            for version in found:
                self._kept.move_to_end(version)
        wanted = dict(v for v in versions if v not in found)
        if not wanted:
            return found
        got = self.handle.fetch(self.handle.articles, ["documents", "metadatas"], ids=sorted(wanted))
        read = {}
        for article_id, document, metadata in zip(got["ids"], got["documents"], got["metadatas"]):
            if metadata.get("content_hash") != wanted[article_id]:
                continue  # replaced since it was found: its offsets are the old text's
            try:
                read[(article_id, wanted[article_id])] = json.loads(document)["article"]["text"]
            except (ValueError, KeyError, TypeError) as e:  # its passages are left out; the rest answers
                source = metadata.get("source")
                log.warning("article %s (%s): its record cannot be read (%r); ingest it again", article_id, source, e)
        with self._lock:
            for version, text in read.items():
                if version not in self._kept:
                    self._kept[version] = text
                    self._size += len(text)
            while self._size > KEPT and len(self._kept) > 1:
                self._size -= len(self._kept.popitem(last=False)[1])
        return {**found, **read}
