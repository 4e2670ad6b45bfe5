"""Pure text helpers: whitespace normalisation and sentence spans with offsets."""

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Single plain spaces are left alone: replacing each of a 48 MiB article's 8 million spaces
# made re.sub hold 8 million pieces (700 MiB).
_INLINE_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]{2,}|[\t\u00a0\u2000-\u200b\u202f\u205f\u3000]")
_MANY_BLANKS = re.compile(r"\n{3,}")

# A sentence ends at . ! ? or … (plus closing quotes/brackets) when whitespace
# and something that can start a sentence follow (checked in code: not a
# lowercase letter), or at a CJK full stop. A match starts only where a run of stops
# starts, and runs never give back: a line of 100 000 dots stays linear.
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…]++[\"”’')\]]*+(?=\s+[\"“‘'(\[¿¡]?([^\W_]))|[。！？]+")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e u.s u.k u.n no gen gov sen rep "
    "inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec fig vol pp "
    "lt col maj capt sgt adm rev hon ft mt".split()
)


def normalize_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = (_INLINE_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _MANY_BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _is_abbreviation(text: str, end: int) -> bool:
    """True when the full stop ending at `end` belongs to an abbreviation or an initial."""
    words = text[max(end - 40, 0) : end].split()  # only the last word matters; never rescan the whole text
    token = words[-1].rstrip(".").lstrip("\"“‘'([").lower() if words else ""
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, int]]:
    """(start, end, paragraph) for each sentence of text[start:end].

    Lines are hard breaks (scraped pages put headings and captions on their own
    lines); blank lines separate paragraphs. Spans never include surrounding
    whitespace, so only whitespace lies between consecutive spans.
    """
    end = len(text) if end is None else end
    spans = []
    paragraph = 0
    for line in re.finditer(r"[^\n]+|\n\s*\n", text[start:end]):
        if not line.group().strip():
            paragraph += 1
            continue
        line_start = start + line.start()
        cut = line_start
        for stop in _SENTENCE_END.finditer(text, line_start, start + line.end()):
            if (stop.group(1) or "").islower() or (text[stop.end() - 1] == "." and _is_abbreviation(text, stop.end())):
                continue
            spans.append((cut, stop.end(), paragraph))
            cut = stop.end()
        spans.append((cut, start + line.end(), paragraph))
    return [_strip(text, s, e, p) for s, e, p in spans if text[s:e].strip()]


def _strip(text: str, start: int, end: int, paragraph: int) -> tuple[int, int, int]:
    piece = text[start:end]
    return start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip()), paragraph


WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves s t""".split()
)


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS}


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
