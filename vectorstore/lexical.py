"""BM25 over chunk texts: SQLite FTS5 in the store folder, updated per article.

FTS5 ranks with Okapi BM25 (k1 = 1.2, b = 0.75) and updates incrementally, so
an ingest adds or removes one article's rows instead of rebuilding the index.

A query costs time in proportion to the rows its words occur in, so on a large
library the commonest words of a question are left out of the match until the
rest occur in at most POSTINGS rows: they carry little BM25 weight (a word in a
third of the chunks scores a sixth of one in half a percent), and the dense side
still reads them.
"""

import re
import sqlite3
import threading
from pathlib import Path

from filelock import FileLock

from dossier_core.text import STOPWORDS

POSTINGS = 20_000
TOKENIZER = "porter unicode61 remove_diacritics 2"


class LexicalIndex:
    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=60, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5("
            f"chunk_id UNINDEXED, article_id UNINDEXED, content_hash UNINDEXED, text, tokenize='{TOKENIZER}')"
        )
        # The index's terms are stems: a scratch table stems the question's words the same way.
        self._db.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, chunks, row)")
        self._db.execute(f"CREATE VIRTUAL TABLE temp.question USING fts5(word, tokenize='{TOKENIZER}')")
        self._db.execute("CREATE VIRTUAL TABLE temp.question_stems USING fts5vocab(temp, question, instance)")
        # FTS5 cannot index its UNINDEXED columns: finding an article's rows there scans every
        # row, once per article written. This table finds them by index (same rowids).
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS chunk_articles "
            "(row INTEGER PRIMARY KEY, article_id TEXT NOT NULL, content_hash TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS chunk_articles_by_id ON chunk_articles (article_id, content_hash)")
        # A copy of a server's index records the server's write counter it has caught up with.
        self._db.execute("CREATE TABLE IF NOT EXISTS synced (written INTEGER NOT NULL)")
        with self._lock:
            self._db.execute("BEGIN")
            empty = self._db.execute("SELECT NOT EXISTS (SELECT 1 FROM chunk_articles)").fetchone()[0]
            if empty:  # an index from before the table, or a new one
                self._db.execute("INSERT INTO chunk_articles SELECT rowid, article_id, content_hash FROM chunks")
            self._db.execute("COMMIT")

    def add(self, rows: list[tuple[str, str, str, str]]) -> None:
        """(chunk_id, article_id, content_hash, text) rows; those of an article version already present are replaced."""
        with self._lock:
            self._db.execute("BEGIN")
            for article_id, content_hash in {(r[1], r[2]) for r in rows}:
                self._delete("article_id = ? AND content_hash = ?", (article_id, content_hash))
            for row in rows:
                rowid = self._db.execute("INSERT INTO chunks VALUES (?, ?, ?, ?)", row).lastrowid
                self._db.execute("INSERT INTO chunk_articles VALUES (?, ?, ?)", (rowid, row[1], row[2]))
            self._db.execute("COMMIT")

    def delete(self, article_id: str, keep_hash: str | None = None) -> None:
        """Remove an article's rows, except those of the version `keep_hash`."""
        with self._lock:
            self._db.execute("BEGIN")
            self._delete("article_id = ? AND content_hash IS NOT ?", (article_id, keep_hash))
            self._db.execute("COMMIT")

    def _delete(self, where: str, args: tuple) -> None:
        self._db.execute(f"DELETE FROM chunks WHERE rowid IN (SELECT row FROM chunk_articles WHERE {where})", args)
        self._db.execute(f"DELETE FROM chunk_articles WHERE {where}", args)

    def count(self, article_id: str | None = None) -> int:
        with self._lock:
            if article_id is None:
                return self._db.execute("SELECT count(*) FROM chunk_articles").fetchone()[0]
            return self._db.execute(
                "SELECT count(*) FROM chunk_articles WHERE article_id = ?", (article_id,)
            ).fetchone()[0]

    def versions(self, article_ids: list[str] | None = None) -> set[tuple[str, str]]:
        """(article_id, content_hash) of every article version held, or of the listed articles'."""
        query = "SELECT DISTINCT article_id, content_hash FROM chunk_articles"
        with self._lock:
            if article_ids is None:
                return set(self._db.execute(query))
            held = set()
            for start in range(0, len(article_ids), 500):  # SQLite's limit on parameters
                part = article_ids[start : start + 500]
                held |= set(self._db.execute(f"{query} WHERE article_id IN ({','.join('?' * len(part))})", part))
            return held

    def locked(self, timeout: float = -1) -> FileLock:
        """The index's lock file, for a change that must not interleave with another process's: a writer's rows
        and a copy catching up (filelock.Timeout when `timeout` seconds pass)."""
        return FileLock(f"{self.path}.lock", timeout=timeout)

    def synced(self) -> int | None:
        """The server's write counter this copy has caught up with; None before its first whole sync."""
        with self._lock:
            row = self._db.execute("SELECT written FROM synced").fetchone()
        return None if row is None else row[0]

    def set_synced(self, written: int) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM synced")
            self._db.execute("INSERT INTO synced VALUES (?)", (written,))
            self._db.execute("COMMIT")

    def ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT chunk_id FROM chunks")}

    def search(self, query: str, k: int, articles: list[str] | None = None) -> list[tuple[str, float, str, str]]:
        """(chunk_id, BM25 score — higher is better, article_id, content_hash) of the best k
        chunks for any of the query's words, from all articles or only those listed."""
        words = sorted({w for w in re.findall(r"\w+", query.lower()) if w not in STOPWORDS})
        if not words:
            return []
        only = f" AND article_id IN ({','.join('?' * len(articles))})" if articles else ""
        with self._lock:
            match = " OR ".join(f'"{w}"' for w in self._affordable(words))
            rows = self._db.execute(
                "SELECT chunk_id, bm25(chunks), article_id, content_hash FROM chunks "
                f"WHERE chunks MATCH ?{only} ORDER BY bm25(chunks) LIMIT ?",
                (match, *(articles or ()), k),
            ).fetchall()
        return [(chunk_id, -score, article_id, content_hash) for chunk_id, score, article_id, content_hash in rows]

    def _affordable(self, words: list[str]) -> list[str]:
        """The rarest of `words` that together occur in at most POSTINGS rows (at least one word)."""
        self._db.execute("DELETE FROM temp.question")
        self._db.executemany("INSERT INTO temp.question (rowid, word) VALUES (?, ?)", enumerate(words))
        stems = dict(self._db.execute("SELECT doc, term FROM temp.question_stems").fetchall())
        found = self._db.execute(
            f"SELECT term, doc FROM temp.terms WHERE term IN ({','.join('?' * len(stems))})", list(stems.values())
        )
        rows = dict(found.fetchall())
        cost = {w: rows.get(stems.get(i), 0) for i, w in enumerate(words)}
        keep = sorted(words, key=cost.__getitem__)
        while len(keep) > 1 and sum(map(cost.__getitem__, keep)) > POSTINGS:
            keep.pop()
        return keep
