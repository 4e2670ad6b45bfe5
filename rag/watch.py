"""Folder watch: a library that mirrors folders. Files added or changed are ingested, files deleted are removed,
and a renamed file keeps its article under its new path: the stored article (same content hash, title and
regions) is stored again under the new path, taking the vectors the store holds for it, so nothing is embedded.

A watch starts with a full sync (what changed while nothing watched), then follows the folders through
watchdog. Watchdog's threads only queue events; the one thread that iterates the watch settles them (an
editor's save — write a temp file, rename it over, touch — is one change once its path has been quiet for
SETTLE seconds) and applies each group of settled paths under the store's write lock. A group is planned from
the files and the library as they are then, not from the kinds of events, so a burst, or a file deleted and
written again, comes out right whatever order its events came in.
"""

import logging
import os
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass, replace
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from dossier_core.errors import DossierError, NotFound
from dossier_core.text import plural
from ingest.chunk import INDEXED
from ingest.extract import FORMATS
from ingest.load import MAX_BYTES, article_id, content_hash, glob_reason, parse_articles, read_file
from rag.ingestion import Batch, IngestResult, guarded
from rag.library import DUMPS, Library
from rag.settings import Settings
from vectorstore.records import ArticleRecord

SETTLE = 0.5  # seconds a path stays quiet before its change is applied: an editor's save burst is one change
_TICK = 0.1  # how often the watch looks at the clock and at `stop`
# A folder's own "modified" (its listing changed) says nothing its files' events do not; opening and reading
# a file (the watch's own reads among them) changes nothing.
_FOLDER_EVENTS = ("created", "moved", "deleted")
_FILE_EVENTS = ("created", "modified", "attrib", "closed", "moved", "deleted")
# Stopping watchdog 7.1's inotify observer races its reader, which then logs an error; nothing is lost.
logging.getLogger("watchdog.observers.inotify").addFilter(lambda r: "thread is inactive" not in r.getMessage())


def file_of(source: str) -> Path | None:
    """The file an article was stored from: its source, or a dump's path before "#ID"; None for a URL, an
    upload or stdin."""
    if not Path(source).is_absolute():
        return None
    for suffix in DUMPS:
        at = source.lower().find(suffix + "#")
        if at >= 0:
            return Path(source[: at + len(suffix)])
    return Path(source)


@dataclass(frozen=True)
class Step:
    """One thing a sync does: ingest a file (new or changed), rename (the articles of a gone file move to
    `path`), or remove (the articles of a gone file, or those a dump no longer holds)."""

    action: str  # rename | remove | ingest
    path: Path
    records: tuple[ArticleRecord, ...] = ()  # what is renamed or removed; what an ingested file held before
    digest: str | None = None  # an ingested file's content hash (not a dump's: its articles have their own)

    @property
    def line(self) -> str:
        if self.action == "rename":
            return f"rename    {file_of(self.records[0].source)} -> {self.path}"
        if self.action == "remove":
            return f"remove    {self.path} ({plural(len(self.records), 'article')})"
        return f"ingest    {self.path} ({'changed' if self.records else 'new'})"


@dataclass(frozen=True)
class Plan:
    steps: list[Step]  # renames, then removals, then ingests
    unchanged: int  # files in the library as they are

    @property
    def summary(self) -> str:
        count = Counter(s.action for s in self.steps)
        return (
            f"{count['ingest']} to ingest, {count['rename']} to rename, {count['remove']} to remove; "
            f"{plural(self.unchanged, 'file')} unchanged"
        )


def watched_folders(folders: Iterable[str | Path]) -> list[Path]:
    """The folders to watch, resolved; one that does not exist is a one-line error."""
    for folder in folders:
        if not Path(folder).is_dir():
            raise DossierError(f"{folder}: no such folder; give watch the folders to mirror")
    return [Path(folder).resolve() for folder in folders]


class WatchedFolders:
    """The folders a watch mirrors and the files in them it takes: ingest's rules (supported types, no hidden
    files or folders, --include/--exclude globs on the path below the folder or the name), never the store's."""

    def __init__(self, folders: Iterable[str | Path], include=(), exclude=(), store: str | Path | None = None):
        self.roots = watched_folders(folders)
        self.include, self.exclude = list(include), list(exclude)
        self.store = Path(store).resolve() if store else None

    def inside(self, path: Path) -> Path | None:
        """The watched folder `path` is below (the innermost when they nest), unless the path is hidden or in
        the store."""
        roots = [r for r in self.roots if r in path.parents]
        if not roots or (self.store and (path == self.store or self.store in path.parents)):
            return None
        root = max(roots, key=lambda r: len(r.parts))
        return None if any(p.startswith(".") for p in path.relative_to(root).parts) else root

    def takes(self, path: Path) -> bool:
        """Whether the watch mirrors a file at `path` (there or gone)."""
        root = self.inside(path)
        if root is None or path.suffix.lower() not in FORMATS:
            return False  # editor temp files (.swp, ~, .tmp) are of no supported type, or hidden
        return glob_reason(path.relative_to(root).as_posix(), path.name, self.include, self.exclude) is None

    def files(self, scope: Iterable[Path]) -> list[Path]:
        """The files the watch takes at or below the paths of `scope`, in order."""
        found = set()
        for path in scope:
            if path.is_dir():
                for folder, dirs, names in os.walk(path):
                    dirs[:] = [d for d in dirs if not d.startswith(".") and Path(folder, d) != self.store]
                    found.update(p for p in (Path(folder, n) for n in names) if self.takes(p) and p.is_file())
            elif path.is_file() and self.takes(path):
                found.add(path)
        return sorted(found)

    def plan(
        self,
        records: list[ArticleRecord],
        scope: Iterable[Path] | None = None,
        moves: dict[Path, Path] | None = None,
        spares: dict[str, set[Path]] | None = None,
    ) -> Plan:
        """What syncing `scope` (every watched folder unless given) does to a library holding `records`: which
        articles to rename or remove, which files to ingest. A gone file's article moves to the file watchdog saw
        it renamed to ({new path: old path} in `moves`), else to a new file of the same content hash, else to
        a file outside the scope that held the same content and so was not stored (`spares`: {content hash:
        paths}): a file moved into a new folder comes as a new file, and its old path goes only later."""
        scope = list(scope or self.roots)
        held = defaultdict(list)  # file → the articles stored from it
        for r in records:
            path = file_of(r.source)
            if path and any(s == path or s in path.parents for s in scope) and self.takes(path):
                held[path].append(r)
        gone = {path: rs for path, rs in held.items() if not path.exists()}
        by_id = {r.id: r for r in records}
        removals, ingests, unchanged = [], [], 0
        for path in self.files(scope):
            digest, stale = None, []
            if path.suffix.lower() in DUMPS:
                changed, stale = _dump_changes(path, held[path], by_id)
            else:
                digest = _digest(path)
                changed = not held[path] or held[path][0].content_hash != digest
            if stale:
                removals.append(Step("remove", path, tuple(stale)))
            if changed:
                ingests.append(Step("ingest", path, tuple(held[path]), digest))
            elif not stale:
                unchanged += 1
        renames = _renames(gone, ingests, moves or {})
        sources = {r.source for r in records}
        for path, rs in list(gone.items()):
            digest = rs[0].content_hash
            twin = next((p for p in sorted((spares or {}).get(digest, ())) if _digest(p) == digest), None)
            if twin and len(rs) == 1 and str(twin) not in sources:
                renames.append(Step("rename", twin, tuple(gone.pop(path))))
        removals += [Step("remove", path, tuple(rs)) for path, rs in gone.items()]
        return Plan(renames + removals + ingests, unchanged)


def _digest(path: Path) -> str | None:
    try:
        return content_hash(path.read_bytes()) if path.stat().st_size <= MAX_BYTES else None
    except OSError:
        return None  # the ingest says what is wrong with it


def _dump_changes(path: Path, held: list[ArticleRecord], by_id: dict) -> tuple[bool, list[ArticleRecord]]:
    """Whether a dump holds articles the library lacks or holds otherwise (from another file: the dump was
    renamed), and the articles stored from it that it holds no more."""
    try:
        articles, problems = parse_articles(read_file(path))
    except DossierError:
        return True, []  # the ingest reports why; what it brought stays until it is read again
    stored = [by_id.get(a.id) for a in articles]
    changed = bool(problems) or any(
        r is None or (r.content_hash, r.source) != (a.content_hash, a.source) for r, a in zip(stored, articles)
    )
    ids = {a.id for a in articles}
    return changed, [r for r in held if r.id not in ids]


def _renames(gone: dict[Path, list], ingests: list[Step], moves: dict[Path, Path]) -> list[Step]:
    """Rename steps pairing a gone file with a new one (taken out of `gone`, and out of `ingests` when the new
    file holds just what the old one did): the rename watchdog saw, else a file of the same content hash. A
    renamed dump is ingested afterwards too, for any article it changed on the way."""
    by_hash = {rs[0].content_hash: p for p, rs in gone.items() if len(rs) == 1 and p.suffix.lower() not in DUMPS}
    renames = []
    for step in [s for s in ingests if not s.records]:
        old = moves.get(step.path)
        is_dump = step.path.suffix.lower() in DUMPS
        if old not in gone or (old.suffix.lower() in DUMPS) != is_dump:
            old = None if is_dump else by_hash.get(step.digest)
        if old not in gone or not (is_dump or gone[old][0].content_hash == step.digest):
            continue
        renames.append(Step("rename", step.path, tuple(gone.pop(old))))
        by_hash.pop(step.digest, None)
        if not is_dump:
            ingests.remove(step)
    return renames


def first_sync(settings: Settings, folders: Iterable[str | Path], include=(), exclude=()) -> Plan:
    """What a watch's first sync would do to the library `settings` name, changing nothing: it makes no store or
    library and loads no model."""
    records = []
    if settings.chroma_url or Path(settings.store).is_dir():
        with suppress(NotFound):  # a library the watch would make
            records = Library(settings=settings, create=False).articles()
    return WatchedFolders(folders, include, exclude, settings.store).plan(records)


class _Queued(FileSystemEventHandler):
    """Watchdog's threads only queue what happened."""

    def __init__(self, events: queue.SimpleQueue):
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in (_FOLDER_EVENTS if event.is_directory else _FILE_EVENTS):
            paths = [Path(os.fsdecode(p)) for p in (event.src_path, event.dest_path) if p]
            self.events.put((event.event_type == "moved", event.is_directory, paths))


class FolderWatch:
    """Mirror folders into a library. Inside `with FolderWatch(library, folders) as watch:` the folders are
    followed; `watch.sync()` applies what changed while nothing watched and `watch.changes(stop)` what changes
    from then on, until `stop` is set. Both yield a result per article stored, renamed ("renamed"), removed
    ("removed") or failed, and stop between articles once `stop` is set. A file that fails is tried again
    when it next changes."""

    def __init__(self, library: Library, folders: Iterable[str | Path], include=(), exclude=(), settle=SETTLE):
        self.library = library
        self.folders = WatchedFolders(folders, include, exclude, library.path)
        self.settle = settle
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._dirty: dict[Path, float] = {}  # path → when its last event came
        self._moves: dict[Path, Path] = {}  # new path → old path, of renames not applied yet
        self._duplicates: dict[str, set[Path]] = defaultdict(set)  # content hash → files not stored as duplicates
        self._observer = None

    def __enter__(self) -> "FolderWatch":
        self._observer = Observer()
        handler = _Queued(self._events)
        try:
            for root in self.folders.roots:
                self._observer.schedule(handler, str(root), recursive=True)
            self._observer.start()
        except OSError as e:
            raise DossierError(
                f"cannot watch {', '.join(map(str, self.folders.roots))} ({e}); on Linux, raise "
                "fs.inotify.max_user_watches (sysctl) when the folders hold many subfolders"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        self._observer.stop()
        self._observer.join()

    def sync(self, stop: threading.Event | None = None) -> Iterator[IngestResult]:
        """Bring the library in line with every watched folder."""
        yield from self._applied(None, {}, stop or threading.Event())

    def changes(self, stop: threading.Event) -> Iterator[IngestResult]:
        """Apply each change as its paths settle, until `stop` is set."""
        while not stop.is_set():
            self._take()
            now = time.monotonic()
            busy = {p for p, t in self._dirty.items() if now - t < self.settle}
            # A folder settles with the files below it, so that a folder made and a file moved into it are one
            # change (the rename), not a new file and a deleted one.
            above_busy = {folder for p in busy for folder in p.parents}
            settled = {p for p in self._dirty.keys() - busy if p not in above_busy and busy.isdisjoint(p.parents)}
            if not settled:
                continue
            moves = {new: old for new, old in self._moves.items() if new in settled}
            scope = settled | set(moves.values())
            self._dirty = {p: t for p, t in self._dirty.items() if p not in scope}
            self._moves = {new: old for new, old in self._moves.items() if new not in scope and old not in scope}
            yield from self._applied(scope, moves, stop)

    def _take(self) -> None:
        """Mark the paths of the queued events dirty, waiting a tick for the first."""
        try:
            event = self._events.get(timeout=_TICK)
        except queue.Empty:
            return
        while event:
            moved, is_folder, paths = event
            now = time.monotonic()
            kept = [p for p in paths if (self.folders.inside(p) if is_folder else self.folders.takes(p))]
            for path in kept:
                self._dirty[path] = now
                if path in self._moves:  # a renamed file's old path settles with its new one
                    self._dirty[self._moves[path]] = now
            if moved and not is_folder and len(kept) == 2:
                self._moves[kept[1]] = kept[0]
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                event = None

    def _applied(self, scope: set[Path] | None, moves: dict[Path, Path], stop: threading.Event):
        """Plan the scope against the files and the library as they are now, and carry it out under the write
        lock. Articles queued but not stored when `stop` is set are left for the next sync."""
        if stop.is_set():
            return
        with self.library.writing() as batch:
            plan = self.folders.plan(self.library.store.records.articles(), scope, moves, self._duplicates)
            with closing(self._carried_out(plan, batch)) as results:
                for result in results:
                    if result.status != "unchanged":
                        yield result
                    if stop.is_set():
                        return

    def _carried_out(self, plan: Plan, batch: Batch) -> Iterator[IngestResult]:
        records = self.library.store.records
        for step in plan.steps:
            if step.action == "rename":
                self._duplicates[step.records[0].content_hash].discard(step.path)
                yield from self._renamed(step, batch)
            elif step.action == "remove":
                for r in step.records:
                    records.remove(r.id)
                    yield IngestResult(r.source, "removed", r.chunks, r.title)
            else:
                for result in guarded(str(step.path), lambda step=step: batch.add(read_file(step.path), INDEXED)):
                    if result.status == "duplicate" and step.digest:
                        self._duplicates[step.digest].add(step.path)
                    yield result
        yield from batch.flush()

    def _renamed(self, step: Step, batch: Batch) -> Iterator[IngestResult]:
        """Store a gone file's articles as they are (title, text, indexed regions) under its new path, then
        remove them under the old one."""
        records = self.library.store.records
        old = str(file_of(step.records[0].source))
        moved = []
        for r in step.records:
            article, labels = records.load_article(r.id)
            source = str(step.path) + r.source[len(old) :]  # a dump's articles keep their "#ID"
            new_id = article_id(source) if r.id == article_id(r.source) else r.id  # an id from a URL or a dump stays
            yield from batch.add_article(replace(article, id=new_id, source=source), labels, status="renamed")
            moved += [(r.id, new_id)] if new_id != r.id else []
        yield from batch.flush()
        for old_id, new_id in moved:
            if records.article(new_id):  # not when it failed: then it stays under the old path until the next sync
                records.remove(old_id)
