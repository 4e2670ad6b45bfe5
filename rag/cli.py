"""What the command-line shells share."""

import os
import sys
from contextlib import contextmanager
from pathlib import Path

from dossier_core.errors import DossierError
from dossier_core.text import plural
from rag.settings import Settings

__all__ = ["existing_store", "plural", "quiet_broken_pipe"]


@contextmanager
def quiet_broken_pipe():
    """Output piped into `head` ends quietly, not with a traceback."""
    try:
        yield
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def existing_store(settings: Settings) -> None:
    """Commands that read a library refuse a store folder that does not exist, rather than create an empty
    one and report it empty (a mistyped --store would look like a library that lost its articles)."""
    if not settings.chroma_url and not Path(settings.store).is_dir():
        raise DossierError(
            f"store {settings.store}: no such folder; give --store the folder you ingested into, "
            f"or add articles first with: python -m ingest PATH --store {settings.store}"
        )
