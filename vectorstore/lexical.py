"""BM25 over chunk texts: SQLite FTS5 in the store folder, updated per article.

FTS5 ranks with Okapi BM25 (k1 = 1.2, b = 0.75) and updates incrementally, so
an ingest adds or removes one article's rows instead of rebuilding the index.
"""

import re
import sqlite3
import threading
from pathlib import Path

from ingest.text import STOPWORDS


class LexicalIndex:
    def __init__(self, path: Path):
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=60, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5("
            "chunk_id UNINDEXED, article_id UNINDEXED, content_hash UNINDEXED, text, tokenize='porter unicode61 remove_diacritics 2')"
        )

    def add(self, rows: list[tuple[str, str, str, str]]) -> None:
        """(chunk_id, article_id, content_hash, text) rows; ids already present are replaced."""
        with self._lock:
            self._db.execute("BEGIN")
            # Ids carry the article's content hash: one delete per version, not a table scan per row.
            self._db.executemany("DELETE FROM chunks WHERE article_id = ? AND content_hash = ?", {(r[1], r[2]) for r in rows})
            self._db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def delete(self, article_id: str, keep_hash: str | None = None) -> None:
        """Remove an article's rows, except those of the version `keep_hash`."""
        with self._lock:
            self._db.execute("DELETE FROM chunks WHERE article_id = ? AND content_hash IS NOT ?", (article_id, keep_hash))

    def count(self, article_id: str | None = None) -> int:
        with self._lock:
            if article_id is None:
                return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            return self._db.execute("SELECT count(*) FROM chunks WHERE article_id = ?", (article_id,)).fetchone()[0]

    def ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT chunk_id FROM chunks")}

    def search(self, query: str, k: int, articles: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk_id, BM25 score — higher is better) of the best k chunks for any of
        the query's words, from all articles or only those listed."""
        words = sorted({w for w in re.findall(r"\w+", query.lower()) if w not in STOPWORDS})
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        only = f" AND article_id IN ({','.join('?' * len(articles))})" if articles else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT chunk_id, bm25(chunks) FROM chunks WHERE chunks MATCH ?{only} ORDER BY bm25(chunks) LIMIT ?",
                (match, *(articles or ()), k),
            ).fetchall()
        return [(chunk_id, -score) for chunk_id, score in rows]
