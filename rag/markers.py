"""Citation markers: the one place that knows how models cite. Whatever style a model writes them in
([1], [1-3], 【1】, (Source 1), ^1, …), they become [n] as the answer streams, numbered by first use; a
finished answer is split into sentences, each with the markers that follow it. Whatever reads or rewrites
the [n] of a finished answer (pages, exports, prompts, evaluation) does it with MARKER, renumber and unmarked."""

import re
from collections.abc import Callable

from dossier_core.text import sentence_spans

# A finished answer's marker: [n], with the space before it. The lookbehind starts a match only where a run of
# space starts, so a run of 10 000 spaces before no marker is not scanned 10 000 times.
MARKER = re.compile(r"(?<!\s)(?P<space>\s*+)\[(?P<n>\d+)\]")


def cited(text: str) -> tuple[int, ...]:
    """The numbers of the [n] markers in `text`, in order."""
    return tuple(int(m["n"]) for m in MARKER.finditer(text))


def renumber(text: str, new: Callable[[int], int | None]) -> str:
    """`text` with each [n] made [new(n)], or removed with the space before it where new(n) is None."""

    def one(m: re.Match) -> str:
        n = new(int(m["n"]))
        return "" if n is None else f"{m['space']}[{n}]"

    return MARKER.sub(one, text)


def unmarked(text: str) -> str:
    """`text` without its [n] markers and the space before each."""
    return MARKER.sub("", text)


# Every repeat is bounded, so no marker is longer than _LONGEST and the stream never waits on more.
_SP = r"[ \t]{0,3}+"
_NUM = r"\d{1,9}+"
_ITEM = rf"{_NUM}(?:{_SP}[-–—]{_SP}{_NUM})?"  # a number or a range
_LIST = rf"{_ITEM}(?:{_SP}(?:[,;&]|and){_SP}{_ITEM}){{0,19}}"
_LABELS = ("passages", "passage", "sources", "source", "refs", "ref")
_LABEL = rf"(?i:{'|'.join(_LABELS)}){_SP}:?{_SP}"
_BODY = rf"{_SP}(?:{_LABEL})?{_LIST}{_SP}"
# Always citations: [1] [1, 2] [1; 3] [1-3] [^1] [Source 1] 【1】 ^[1] (Source 1).
_PLAIN = rf"\[\^?{_BODY}\]|【{_BODY}】|\^\[{_BODY}\]|\({_SP}{_LABEL}{_LIST}{_SP}\)"
# Citations only where they read as one (_reads_as_citation), and only with numbers a prompt's passages can
# have: (1) and ^1, not "(2002)", "(1869–1909)" or "^123".
_SMALL = r"\d{1,2}+"
_SMALL_ITEM = rf"{_SMALL}(?:{_SP}[-–—]{_SP}{_SMALL})?"
_SMALL_LIST = rf"{_SMALL_ITEM}(?:{_SP}(?:[,;&]|and){_SP}{_SMALL_ITEM}){{0,19}}"
_BARE = rf"\({_SP}{_SMALL_LIST}{_SP}\)|\^{_SMALL}(?!\d)"
_UNIT = re.compile(rf"{_PLAIN}|{_BARE}")
# A run of markers and the space before it (a dropped marker takes its space along). A match starts only
# where a run of space starts (the lookbehind), so a model's run of 10 000 spaces is not scanned 10 000 times.
_MARKERS = re.compile(
    rf"(?<!\s)(\s*+)(?:((?:{_PLAIN})(?:[ \t]*+(?:{_PLAIN}))*+)|((?:{_BARE})(?:[ \t]*+(?:{_BARE}))*+))"
)
_LONGEST = 800
_OPENERS = "[【(^"
_CLOSERS = {"]": "[", "】": "【", ")": "("}


def _prefixes(words: tuple[str, ...]) -> str:
    return "|".join(sorted({w[:i] for w in words for i in range(1, len(w) + 1)}, key=len, reverse=True))


# What the next piece may still finish into a marker ("[", "[2,", "【", "(Sou", "^"): a loose superset
# of the markers' beginnings, which at worst holds a few characters back a little longer.
_OPEN = re.compile(
    rf"(?:\^\[?|\[\^?|【|\()[ \t]{{0,3}}(?:(?i:{_prefixes(_LABELS)})[ \t:]{{0,7}})?"
    rf"(?:[\d \t,;&\-–—]|and|an|a){{0,{_LONGEST}}}"
)
_ITEMS = re.compile(r"(\d+)(?:[ \t]*[-–—][ \t]*(\d+))?")
_AFTER_STOP = re.compile(r"[.!?…。！？][\"”’')]?\Z")  # "… in May. (1)" and "… he said.” (1)"
_WORD_END = re.compile(r"[^\W\d_]{3}\Z")  # "May^1" is a citation, "km^2" and "x^2" are not
_NEXT = re.compile(r"[ \t]*+(.?)", re.DOTALL)
_CONTEXT = 8  # characters before a marker that decide whether (1) or ^1 is one

_LEADING = re.compile(r"(?:\s*\[\d+\])+")
_SPACES = re.compile(r"\s*")
# "… opened in May.[1] It cost …": markers glued to a full stop end a sentence (unless a lowercase word follows).
_GLUED = re.compile(r"[.!?…][\"”’')]*(?:\[\d+\])+(?=\s+[\"“‘'(]?([^\W_]))")


def _numbers_in(unit: str) -> list[int]:
    numbers = []
    for low, high in _ITEMS.findall(unit):
        low, high = int(low), int(high or low)
        numbers += range(low, high + 1) if 0 <= high - low < 20 else [low, high]
    return numbers


def _reads_as_citation(text: str, start: int, space: str, end: int, opener: str) -> bool:
    """Whether a bare (n) or ^n at text[start:end] cites: after a full stop, or at a word's end and before
    punctuation, the line's end or another marker. Not an item at a line's start ("(1) First, …") nor one
    inside a sentence ("two parts: (1) a bridge"), nor a power (km^2, 10^6)."""
    before = text[max(0, start - 4) : start]
    if not before or "\n" in space:
        return False
    if _AFTER_STOP.search(before):
        return True
    if opener == "^":
        return not space and bool(_WORD_END.search(before))
    after = _NEXT.match(text, end).group(1)
    last = before[-1]
    after_word = last.isalpha() or last in "\"”’')]" or (last.isdigit() and bool(space))
    return after_word and after in '\n.,;:!?)]"”’[【(^'


class Numbering:
    """Passage index → citation number, given in order of first use."""

    def __init__(self, passages: int):
        self.passages = passages
        self.numbers: dict[int, int] = {}
        self.removed: list[int] = []  # markers that pointed at no passage

    def rewrite(self, text: str, before: str = "") -> str:
        """`text` with its markers as [n]; `before` is what came just before it (read, not rewritten)."""
        whole, out, last = before + text, [], len(before)
        for m in _MARKERS.finditer(whole, len(before)):
            out += [whole[last : m.start()], self._marker(m)]
            last = m.end()
        out.append(whole[last:])
        return "".join(out)

    def _marker(self, m: re.Match) -> str:
        space, plain, bare = m.groups()
        numbers = [n for unit in _UNIT.finditer(plain or bare) for n in _numbers_in(unit.group())]
        if bare and not (
            all(1 <= n <= self.passages for n in numbers)
            and _reads_as_citation(m.string, m.start(), space, m.end(), bare[0])
        ):
            return m.group()
        kept = []
        for n in numbers:
            if 1 <= n <= self.passages:
                kept.append(self.numbers.setdefault(n, len(self.numbers) + 1))
            else:
                self.removed.append(n)
        glued = m.string[m.end() : m.end() + 1].isalnum()  # "【1】It" → "[1] It"
        if not kept:
            return " " if glued else ""
        return space + "".join(f"[{n}]" for n in dict.fromkeys(kept)) + (" " if glued else "")


class MarkerStream:
    """Rewrites markers in streamed text; holds back only what may be half a marker."""

    def __init__(self, numbering: Numbering):
        self.numbering = numbering
        self._buffer = ""
        self._held = 0  # the buffer's whole markers and space before the start of one
        self._before = ""  # the last characters let through

    def feed(self, piece: str) -> str:
        self._buffer += piece
        cut, tail = _pending(self._buffer, self._held)
        self._held = tail - cut
        return self._release(cut)

    def flush(self) -> str:
        return self._release(len(self._buffer)).rstrip()

    def _release(self, cut: int) -> str:
        ready, self._buffer = self._buffer[:cut], self._buffer[cut:]
        out = self.numbering.rewrite(ready, self._before)
        self._before = (self._before + ready)[-_CONTEXT:]
        return out


def _pending(text: str, held: int = 0) -> tuple[int, int]:
    """Where the tail that the next piece may still join to a run of markers starts (the start of one,
    the whole markers before it, and the space before them), and where the start of one starts.
    What comes before never ends in a marker, so whether a marker reads as a citation (and needs a space
    after it) is known when it is let through. text[:held] was held back as whole markers and space:
    a model writing "[1][1][1]…" or a run of spaces costs one walk over it, not one per piece."""
    cut, tail = _space_before(text, len(text), held), len(text)
    if (start := _start(_OPEN, text, cut, _OPENERS)) is not None:
        tail, cut = start, _space_before(text, start)
    while cut > held and (start := _start(_UNIT, text, cut, _opener_of(text[cut - 1]))) is not None:
        cut = _space_before(text, start)
    return (0 if cut <= held else cut), tail


def _opener_of(last: str) -> str:
    """The opening character of a marker that ends with `last` (none: no marker ends so)."""
    return _CLOSERS.get(last) or ("^" if last.isdigit() else "")


def _start(pattern: re.Pattern, text: str, end: int, openers: str) -> int | None:
    """Where what `pattern` matches, ending at `end` and opening with one of `openers`, starts."""
    window = max(0, end - _LONGEST)
    start = max((text.rfind(c, window, end) for c in openers), default=-1)
    for s in (start - 1, start):  # "^[" and "[^" open with two characters
        if start >= 0 and s >= window and pattern.fullmatch(text, s, end):
            return s
    return None


def _space_before(text: str, end: int, floor: int = 0) -> int:
    """Where the run of space that ends at `end` starts (`floor` at the earliest), copying only about
    as much text as it spans."""
    size = 64
    while True:
        start = max(floor, end - size)
        kept = len(text[start:end].rstrip())
        if kept or start == floor:
            return start + kept
        size *= 4


def split_sentences(text: str) -> list[tuple[int, int, tuple[int, ...]]]:
    """(start, end, the numbers it cites) of each sentence of an answer with [n] markers. Markers bind
    to the sentence before them, also when they start the next line — unless the answer puts its
    markers first ("[1] The bridge … \\n[2] It cost …"), as its first sentence shows."""
    spans = []
    for start, end, _ in sentence_spans(text):
        for m in _GLUED.finditer(text, start, end):
            if not m.group(1).islower():
                spans.append([start, m.end()])
                start = _SPACES.match(text, m.end(), end).end()
        spans.append([start, end])
    prefixed = bool(spans) and _LEADING.match(text, *spans[0]) is not None
    bound: list[list[int]] = []
    for start, end in spans:
        lead = _LEADING.match(text, start, end)
        if lead and bound and (not prefixed or lead.end() == end):
            bound[-1][1] = lead.end()
            start = _SPACES.match(text, lead.end(), end).end()
        if start < end and bound and text[start].islower() and "\n" not in text[bound[-1][1] : start]:
            bound[-1][1] = end  # "… at 9:40 a.m. [1] the train left …": no sentence begins in lowercase
        elif start < end:
            bound.append([start, end])
    if len(bound) > 1 and _LEADING.fullmatch(text, *bound[0]):  # markers alone before the first sentence
        bound[1][0] = bound[0][0]
        del bound[0]
    return [(s, e, cited(text[s:e])) for s, e in bound]


def strip_markers(text: str) -> str:
    """`text` without anything the grammar reads as a marker, whatever passage it would number, so that a
    quoted passage cannot bring one into an answer. A bare (n) or ^n goes where it reads as a citation, and at
    the start, where what an answer puts before the text is not known. Removing a marker can join what was
    around it into a new one ("[[9]3]" → "[3]"), so removing goes on until none is left."""
    while (stripped := _MARKERS.sub(_without_marker, text).strip()) != text:
        text = stripped
    return text


def _without_marker(m: re.Match) -> str:
    space, _, bare = m.groups()
    if bare and m.start() > 0 and not _reads_as_citation(m.string, m.start(), space, m.end(), bare[0]):
        return m.group()
    return " " if m.string[m.end() : m.end() + 1].isalnum() else ""  # "word【1】It" → "word It"
