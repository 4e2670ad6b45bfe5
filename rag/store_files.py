"""The SQLite files Dossier keeps beside a library's store (readers' ratings, feed subscriptions): one file per
library, one connection per call, tables made on first use, and a failure told in one line naming the file."""

import sqlite3
from contextlib import closing
from pathlib import Path

from dossier_core.errors import DossierError
from vectorstore.sites import library_suffix


def library_file(library, stem: str) -> Path:
    """The library's file `stem`: beside its store, named for it (`main`'s without a suffix)."""
    return library.path / f"{stem}{library_suffix(library.name)}.sqlite3"


def run(path: Path, what: str, schema: tuple[str, ...], sql: str, row: tuple = ()) -> list[sqlite3.Row]:
    """The rows `sql` gives in the file at `path` (its tables made by `schema` first); `what` names the file."""
    try:
        with closing(sqlite3.connect(path, timeout=10)) as db, db:
            db.row_factory = sqlite3.Row
            for statement in schema:
                db.execute(statement)
            return db.execute(sql, row).fetchall()
    except sqlite3.Error as e:
        raise DossierError(
            f"{what} file {path}: cannot use it ({e}); check the store folder's permissions and free space"
        ) from None
