"""Answers as HTML for a web page (pure): [n] as links to source cards, unverified and
re-cited sentences marked, cited passages with the supporting sentence highlighted, and
the notices that go above and below an answer.

Every string from an article, a model or a reader goes through `html.escape`;
the chat page also renders through Streamlit's sanitizer.
"""

import re
from html import escape
from urllib.parse import quote

from rag.answer import MAIN, named_libraries
from rag.export import reference
from rag.markers import MARKER

STYLE = """<style>
.dossier-answer { line-height: 1.6; }
.dossier-answer sup a { text-decoration: none; font-weight: 600; padding: 0 1px; }
.dossier-unverified { text-decoration: underline dotted #b45309; text-underline-offset: 3px; cursor: help; }
.dossier-unverified-mark { color: #b45309; cursor: help; }
.dossier-recited-mark { color: #2563eb; cursor: help; }
.dossier-source { border: 1px solid rgba(128,128,128,.35); border-radius: .5rem; padding: .5rem .75rem;
  margin: .4rem 0; scroll-margin-top: 4rem; }
.dossier-source:target { outline: 2px solid #2563eb; }
.dossier-source .meta { font-size: .85em; opacity: .75; }
.dossier-source blockquote { margin: .35rem 0 0; padding-left: .6rem; border-left: 3px solid rgba(128,128,128,.4);
  font-size: .92em; white-space: pre-wrap; }
.dossier-source mark { background: #fde68a; color: inherit; padding: 0 1px; }
.dossier-chip { display: inline-block; border-radius: 1rem; padding: .1rem .6rem; margin: 0 .3rem .3rem 0;
  font-size: .85em; background: rgba(37,99,235,.12); }
</style>"""


def web_url(url: str | None) -> str | None:
    """Only http(s) links: an article's own metadata may say `javascript:`."""
    return url if url and re.match(r"https?://", url, re.I) else None


def card_id(key: str, n: int) -> str:
    return f"{key}-source-{n}"


def text_fragment(url: str, sentence: str) -> str:
    """A link that scrolls the original page to `sentence` (a URL text fragment)."""
    words = sentence.split()
    if not words:
        return url

    def part(ws: list[str]) -> str:
        return quote(" ".join(ws), safe="").replace("-", "%2D")  # a bare "-" would make it a prefix or suffix

    target = part(words) if len(words) <= 8 else f"{part(words[:4])},{part(words[-4:])}"
    return f"{url.split('#')[0]}#:~:text={target}"


def _markers(escaped: str, key: str) -> str:
    return MARKER.sub(
        lambda m: f'<sup><a href="#{card_id(key, int(m["n"]))}" title="Source {m["n"]}">[{m["n"]}]</a></sup>', escaped
    )


def answer_html(answer: dict, key: str) -> str:
    """The answer text; `key` makes the card links unique on a page with many answers."""
    text, out, pos = answer["answer"], [], 0
    for s in answer["sentences"]:
        at = text.find(s["text"], pos)
        if at < 0:
            continue
        out.append(escape(text[pos:at]))
        body = _markers(escape(s["text"]), key)
        if not s["supported"]:
            why = escape(f"Unverified: {s['reason']}")
            body = (
                f'<span class="dossier-unverified" title="{why}">{body}</span>'
                f'<sup class="dossier-unverified-mark" title="{why}">⚠</sup>'
            )
        elif s.get("recited"):  # answers stored before re-citing existed have no such key
            body += f'<sup class="dossier-recited-mark" title="{escape(s["reason"])}">↻</sup>'
        out.append(body)
        pos = at + len(s["text"])
    out.append(_markers(escape(text[pos:]), key))
    lines = re.sub(r"(?m)^- ", "• ", "".join(out))  # a list's lines (a timeline, a model's list) as bullets
    return '<div class="dossier-answer">' + lines.replace("\n", "<br>") + "</div>"


def notices(answer: dict) -> tuple[list[str], list[str]]:
    """What the page says about an answer as a whole: banners above it and captions below it.
    Plain text with no article or model words in it."""
    above, below = [], []
    unverified, total = len(answer["unsupported"]), len(answer["sentences"])
    if unverified * 2 > total:  # most of it unverified: a caption under the answer would be read too late
        above.append(
            f"{unverified} of {total} sentence{'' if total == 1 else 's'} could not be verified "
            "against the passages they cite; point at one to see why."
        )
    elif unverified:
        below.append(
            f"⚠ {unverified} sentence(s) could not be verified against the passage they cite; point at one to see why."
        )
    if answer.get("off_question"):
        above.append("This answer does not seem to address the question; the passages' own sentences are below.")
    if answer.get("refusal_contradicted"):
        above.append("The model said the articles don't say, but a passage appears to answer it — see below.")
    if answer.get("repeated"):
        below.append("The model began repeating itself; the answer was cut at the first repeat.")
    if answer.get("dropped"):
        below.append(f"Strict mode dropped {answer['dropped']} unverified sentence(s).")
    if answer["removed_markers"]:
        removed = ", ".join(f"[{n}]" for n in answer["removed_markers"])
        below.append(f"Removed citations to passages that do not exist: {removed}")
    return above, below


def _passage(c: dict) -> str:
    text, out, pos = c["text"], [], 0
    for start, end in sorted(c.get("highlights") or []):
        if start >= pos:
            out += [escape(text[pos:start]), f"<mark>{escape(text[start:end])}</mark>"]
            pos = end
    return "".join(out) + escape(text[pos:])


def sources_html(answer: dict, key: str) -> str:
    """A card for each cited passage: title (linked to the original), byline, the passage."""
    cards = []
    asked = answer.get("trace", {}).get("libraries", [])
    libraries = named_libraries([c.get("library", MAIN) for c in answer["citations"]], asked)
    for c in answer["citations"]:
        title = escape(c.get("title") or c["source"])
        url = web_url(c.get("url"))
        if url:
            highlights = c.get("highlights") or [(0, len(c["text"]))]
            start, end = highlights[0]
            href = escape(text_fragment(url, c["text"][start:end]))
            title = f'<a href="{href}" target="_blank" rel="noopener noreferrer">{title}</a>'
        library = f"library {c.get('library')}" if libraries else None
        meta = " · ".join(
            escape(p) for p in (c.get("author"), c.get("outlet"), (c.get("published_at") or "")[:10], library) if p
        )
        origin = "" if url else f'<div class="meta">{escape(c["source"])}</div>'
        cards.append(
            f'<div class="dossier-source" id="{card_id(key, c["n"])}"><div><strong>[{c["n"]}]</strong> {title}</div>'
            f"{f'<div class=meta>{meta}</div>' if meta else ''}{origin}<blockquote>{_passage(c)}</blockquote></div>"
        )
    return "".join(cards)


def closest_html(answer: dict) -> str:
    """For an abstention: the articles the library holds that came closest, linked."""
    seen, items = set(), []
    for p in answer.get("trace", {}).get("passages", []):
        if p["article_id"] in seen:
            continue
        seen.add(p["article_id"])
        label = escape(reference(p))
        url = web_url(p.get("url"))
        items.append(
            f'<li><a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{label}</a></li>'
            if url
            else f"<li>{label}</li>"
        )
    return f"<div>Closest in the library:</div><ul>{''.join(items[:3])}</ul>" if items else ""


def chips_html(chips: list[str]) -> str:
    return "".join(f'<span class="dossier-chip">{escape(c)}</span>' for c in chips)
