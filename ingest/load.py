"""Sources on disk (or uploaded bytes) → `Article`s."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

from charset_normalizer import from_bytes

from ingest.errors import DossierError
from ingest.extract import FORMATS, extract
from ingest.models import Article

MAX_BYTES = 50 * 1024 * 1024


def article_id(source: str) -> str:
    """Stable id from the canonical source (absolute path or URL)."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_files(paths: list[str | Path]) -> Iterator[Path]:
    """Files named directly (whatever their type, so a bad one gets a clear error)
    and supported files found recursively in folders, in a stable order."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in FORMATS and (p.is_file() or p.is_symlink()) and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            yield path


def read_source(path: Path) -> tuple[str, bytes]:
    """(canonical source, bytes) of a file, or a DossierError saying what is wrong."""
    if not path.exists():
        raise DossierError(f"{path}: no such file or folder; check the path")
    if path.suffix.lower() not in FORMATS:
        raise DossierError(f"{path}: unsupported file type '{path.suffix or '(none)'}'; use one of {', '.join(sorted(FORMATS))}")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise DossierError(f"{path}: larger than {MAX_BYTES // 2**20} MiB; split it into smaller files")
        return str(path.resolve()), path.read_bytes()
    except OSError as e:
        raise DossierError(f"{path}: cannot read ({e.strerror or e}); check that it exists and is readable") from None


def parse_article(source: str, name: str, data: bytes) -> Article:
    """Bytes of a document named `name` (its extension picks the format) → Article."""
    fmt = FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        raise DossierError(f"{name}: unsupported file type; use one of {', '.join(sorted(FORMATS))}")
    text, metadata = extract(fmt, decode(data, name), name)
    title = metadata.pop("title", None) or Path(name).stem.replace("-", " ").replace("_", " ").strip() or None
    return Article(id=article_id(source), source=source, text=text, content_hash=content_hash(data), title=title, metadata=metadata)


def decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise DossierError(f"{name}: looks like a binary file, not text; give a .txt, .md or .html file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        matches = list(from_bytes(data))
        if not matches:
            raise DossierError(f"{name}: cannot detect the text encoding; save it as UTF-8") from None
        # Short texts fit several single-byte code pages equally well; among those
        # that do, Windows-1252 is by far the most common for articles.
        least = min(m.chaos for m in matches)
        tied = [m for m in matches if m.chaos <= least + 0.01]
        return str(next((m for m in tied if m.encoding == "cp1252"), tied[0]))
