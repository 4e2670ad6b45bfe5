"""Token-aware chunking that respects headings, paragraphs and sentences and keeps offsets.

Token counts come from the embedder's own tokenizer (passed in), because a
chunk longer than the model's window is silently truncated when embedded.
Counts of whitespace-separated pieces add up to the count of the whole for
word-piece tokenizers, so sentences are counted once and summed.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from dossier_core.models import Article, Chunk
from dossier_core.text import sentence_spans
from ingest.regions import AUTHOR_BIO, BODY, CAPTION

CountTokens = Callable[[list[str]], list[int]]
INDEXED = (BODY, CAPTION, AUTHOR_BIO)  # regions indexed by default; the bio answers "who wrote it"
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+\S")


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    paragraph: int
    tokens: int


def chunk_article(
    article: Article,
    count_tokens: CountTokens,
    chunk_size: int,
    chunk_overlap: int,
    labels: tuple[str, ...] = INDEXED,
) -> list[Chunk]:
    """Chunks of the article's regions with these labels; each section (the
    text under a heading) is chunked on its own, headings go into the context."""
    text = article.text
    pieces = []  # (group of units, region, context)
    for region in article.regions:
        if region.label not in labels:
            continue
        for heading, start, end in sections(text, region.start, region.end):
            context, budget = _context(article.title, heading, count_tokens, chunk_size)
            units = _fit_units(text, sentence_spans(text, start, end), count_tokens, budget)
            context_tokens = chunk_size - budget
            for group in _pack(units, budget, min(chunk_overlap, budget // 2)):
                pieces.append((group, region, context, context_tokens))
    texts = [text[g[0].start : g[-1].end] for g, *_ in pieces]
    return [
        Chunk(
            article_id=article.id,
            index=i,
            text=texts[i],
            start=group[0].start,
            end=group[-1].end,
            tokens=context_tokens + sum(u.tokens for u in group),
            region=region.label,
            context=context,
            page=region.page,
        )
        for i, (group, region, context, context_tokens) in enumerate(pieces)
    ]


def sections(text: str, start: int, end: int) -> list[tuple[str | None, int, int]]:
    """(heading, start, end) of each section of text[start:end]; heading lines are
    not in the spans. A heading-like line with no text under it is text itself
    (a list of short lines must not vanish)."""
    lines = [(start + m.start(), start + m.end()) for m in re.finditer(r"[^\n]+", text[start:end]) if m.group().strip()]
    looks = [_is_heading(text, s, e) for s, e in lines]
    headings = [i for i in range(len(lines)) if looks[i] and i + 1 < len(lines) and not looks[i + 1]]
    found, heading, section_start = [], None, start
    for i in headings:
        line_start, line_end = lines[i]
        if text[section_start:line_start].strip():
            found.append((heading, section_start, line_start))
        heading, section_start = text[line_start:line_end].strip().strip("#*_ ").strip(), line_end
    if text[section_start:end].strip():
        found.append((heading, section_start, end))
    return found


def _is_heading(text: str, start: int, end: int) -> bool:
    """A Markdown heading, or a short unpunctuated line standing alone as a paragraph."""
    line = text[start:end].strip()
    if _MARKDOWN_HEADING.match(line):
        return True
    alone = text[max(start - 2, 0) : start] in ("\n\n", "") and text[end : end + 2] in ("\n\n", "")
    return (
        alone
        and 0 < len(line.split()) <= 10
        and line[0].isupper()
        and not line.endswith((".", "!", "?", ":", ";", ",", "”", '"'))
    )


def _context(title: str | None, heading: str | None, count_tokens: CountTokens, chunk_size: int) -> tuple[str, int]:
    """The header embedded with each chunk, and the tokens left for the passage.
    A header may take at most a quarter of the window."""
    words = " — ".join(p for p in (title, heading) if p).split()
    while words:
        tokens = count_tokens([" ".join(words)])[0]
        if tokens <= chunk_size // 4:
            return " ".join(words), chunk_size - tokens
        words = words[:-1]
    return "", chunk_size


def _fit_units(text, spans, count_tokens, limit) -> list[_Unit]:
    """Sentences as units; a sentence over the limit is split at word boundaries."""
    counts = count_tokens([text[s:e] for s, e, _ in spans])
    units = []
    for (start, end, paragraph), tokens in zip(spans, counts):
        if tokens <= limit:
            units.append(_Unit(start, end, paragraph, tokens))
        else:
            units.extend(_split_long(text, start, end, paragraph, count_tokens, limit))
    return units


def _split_long(text, start, end, paragraph, count_tokens, limit) -> list[_Unit]:
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    counts = count_tokens([text[s:e] for s, e in words])
    pieces, piece_start, piece_end, piece_tokens = [], None, None, 0
    for (s, e), tokens in zip(words, counts):
        if tokens > limit:
            # One "word" longer than the window (a URL, a base64 blob): cut it by characters.
            pieces.extend(_split_chars(text, s, e, paragraph, count_tokens, limit))
            continue
        if piece_start is not None and piece_tokens + tokens > limit:
            pieces.append(_Unit(piece_start, piece_end, paragraph, piece_tokens))
            piece_start, piece_tokens = None, 0
        if piece_start is None:
            piece_start = s
        piece_end, piece_tokens = e, piece_tokens + tokens
    if piece_start is not None:
        pieces.append(_Unit(piece_start, piece_end, paragraph, piece_tokens))
    return pieces


def _split_chars(text, start, end, paragraph, count_tokens, limit) -> list[_Unit]:
    pieces = []
    while start < end:
        size = min(end - start, limit)
        while size > 1 and count_tokens([text[start : start + size]])[0] > limit:
            size //= 2
        pieces.append(_Unit(start, start + size, paragraph, count_tokens([text[start : start + size]])[0]))
        start += size
    return pieces


def _pack(units: list[_Unit], size: int, overlap: int) -> list[list[_Unit]]:
    """Greedy packing with sentence overlap; a new paragraph starts a new chunk
    once the current one is at least half full."""
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    carried = 0  # leading units of `current` already emitted in the previous chunk
    for unit in units:
        tokens = sum(u.tokens for u in current)
        new_paragraph = bool(current) and unit.paragraph != current[-1].paragraph and tokens >= size // 2
        if len(current) > carried and (tokens + unit.tokens > size or new_paragraph):
            groups.append(current)
            current = [] if new_paragraph else _tail(current, overlap)
            carried = len(current)
        while current and sum(u.tokens for u in current) + unit.tokens > size:
            current.pop(0)
            carried = max(carried - 1, 0)
        current.append(unit)
    if len(current) > carried:
        groups.append(current)
    return groups


def _tail(group: list[_Unit], overlap: int) -> list[_Unit]:
    """The last sentences of a chunk, at most `overlap` tokens, never the whole chunk."""
    tail: list[_Unit] = []
    tokens = 0
    for unit in reversed(group[1:]):
        if tokens + unit.tokens > overlap:
            break
        tail.insert(0, unit)
        tokens += unit.tokens
    return tail
