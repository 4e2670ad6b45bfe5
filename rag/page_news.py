"""The news side of an answer on the chat page (pure): what the dates a question named did, and a
"Sources disagree" box with each side's value, outlet, date and quoted sentence.

Every string from an article or a question goes through `html.escape`, as in rag.render.
"""

from html import escape

from rag.recency import day_label
from rag.render import card_id

NEWS_STYLE = """<style>
.dossier-note { font-size: .85em; opacity: .7; margin-bottom: .3rem; }
.dossier-conflicts { border: 1px solid #d97706; border-radius: .5rem; padding: .5rem .75rem; margin: .5rem 0; }
.dossier-conflicts .heading { font-weight: 600; margin-bottom: .3rem; }
.dossier-conflict { margin: .4rem 0; }
.dossier-conflict .label { font-size: .8em; border-radius: 1rem; padding: 0 .5rem; margin-left: .4rem;
  background: rgba(217,119,6,.18); }
.dossier-sides { display: flex; flex-wrap: wrap; gap: .6rem; margin-top: .25rem; }
.dossier-side { flex: 1 1 12rem; border-left: 3px solid rgba(217,119,6,.6); padding-left: .6rem; }
.dossier-side .meta { font-size: .85em; opacity: .75; }
.dossier-side blockquote { margin: .25rem 0 0; font-size: .92em; }
.dossier-side sup a { text-decoration: none; font-weight: 600; }
</style>"""


def date_chip(turn: dict) -> dict | None:
    """The button above an answer for the dates its question named (None for none): clicking it asks again
    without them, where they narrowed the articles or preferred newer ones; once done it reads as removed."""
    if turn.get("dates_ignored"):  # the dates of the answer it replaced
        return {"label": f"dates in the question ignored ({turn['dates_ignored']['label']})", "disabled": True}
    dates = turn["answer"].get("trace", {}).get("dates")
    if dates and dates["phrases"] and (dates["applied"] or dates["recency"]):
        return {"label": f"📅 {dates['label']} ✕", "help": "ask again without reading these dates in the question"}
    return None


def dates_html(answer: dict) -> str:
    """Notes above an answer on what the dates its question named did, or ""."""
    trace, notes = answer.get("trace", {}), []
    dates = trace.get("dates")
    if dates and dates["phrases"] and not dates["applied"] and (dates["since"] or dates["until"]):
        named = ", ".join(f"“{p}”" for p in dates["phrases"])
        notes.append(f"The articles have no dates; {named} read as part of the question.")
    if left_out := trace.get("undated_left_out", 0):
        many = "articles were" if left_out > 1 else "article was"
        notes.append(f"{left_out} undated {many} left out by the date: tick Include undated articles under Filters.")
    return "".join(f'<div class="dossier-note">{escape(note)}</div>' for note in notes)


def _side(side: dict, citations: dict[int, dict], key: str) -> str:
    numbers = [n for n in side["citations"] if n in citations]
    links = "".join(f'<sup><a href="#{card_id(key, n)}" title="Source {n}">[{n}]</a></sup>' for n in numbers)
    day = day_label(side["published_at"]) if side.get("published_at") else None
    meta = " · ".join(escape(p) for p in (side.get("outlet"), day) if p)
    quote = f"<blockquote>“{escape(side['quote'])}”</blockquote>" if side.get("quote") else ""
    return (
        f'<div class="dossier-side"><strong>{escape(side["value"])}</strong> {links}'
        f"{f'<div class=meta>{meta}</div>' if meta else ''}{quote}</div>"
    )


def conflicts_html(answer: dict, key: str) -> str:
    """The box under an answer whose sources disagree ("" when they agree): each side side by side."""
    conflicts = answer.get("conflicts") or []
    if not conflicts:
        return ""
    citations = {c["n"]: c for c in answer["citations"]}
    heading = "A report was corrected" if all(c["correction"] for c in conflicts) else "Sources disagree"
    blocks = []
    for conflict in conflicts:
        label = '<span class="label">Correction</span>' if conflict["correction"] else ""
        sides = "".join(_side(side, citations, key) for side in conflict["values"])
        blocks.append(
            f'<div class="dossier-conflict"><div>{escape(conflict["about"])}{label}</div>'
            f'<div class="dossier-sides">{sides}</div></div>'
        )
    return f'<div class="dossier-conflicts"><div class="heading">⚖ {heading}</div>{"".join(blocks)}</div>'
