"""Readers' thumbs up/down on answers, kept with what produced them, in SQLite."""

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from dossier_core.errors import DossierError
from rag.store_files import library_file, run

_SCHEMA = """CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    rated_at TEXT NOT NULL,
    rating INTEGER NOT NULL,  -- 1 thumbs up, 0 thumbs down
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,  -- JSON, as in Answer.to_dict()
    trace TEXT NOT NULL  -- JSON: retrieval query, passages found with scores, timings
)"""


def feedback_path(library) -> Path:
    """Where a library's ratings are kept."""
    return library_file(library, "dossier-feedback")


class FeedbackLog:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _run(self, sql: str, row: tuple = ()) -> list[sqlite3.Row]:
        return run(self.path, "feedback", (_SCHEMA,), sql, row)

    def record(self, answer_id: str, rating: int, question: str, answer: dict) -> None:
        """Store a rating; rating the same answer again replaces the earlier one."""
        if rating not in (0, 1):
            raise DossierError(f"rating={rating!r} must be 1 (thumbs up) or 0 (thumbs down)")
        row = (
            answer_id,
            datetime.now(UTC).isoformat(timespec="seconds"),
            rating,
            question,
            answer["answer"],
            json.dumps(answer["citations"], ensure_ascii=False),
            json.dumps(answer.get("trace", {}), ensure_ascii=False),
        )
        self._run("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?)", row)

    def all(self) -> list[dict]:
        rows = self._run("SELECT * FROM feedback ORDER BY rated_at")
        return [{**dict(r), "citations": json.loads(r["citations"]), "trace": json.loads(r["trace"])} for r in rows]
