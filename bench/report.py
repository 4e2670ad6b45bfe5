"""Shared by the bench scripts: a report goes to the terminal and, when asked, to a file."""

from pathlib import Path


def emit(lines: list[str], path: Path | None) -> None:
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if path:
        path.write_text(text)
