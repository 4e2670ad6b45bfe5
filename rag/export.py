"""A conversation as Markdown with numbered references, or as JSON (pure).

A conversation is the chat page's list of turns: {"role": "user"|"assistant",
"content": str, "answer": Answer.to_dict() for assistant turns}.
"""

import json
from datetime import UTC, datetime

from rag.markers import renumber


def reference(c: dict) -> str:
    """One reference line: title, outlet, author, date, URL (or the file it came from)."""
    parts = [
        f"“{c.get('title') or c['source']}”",
        c.get("outlet"),
        c.get("author"),
        (c.get("published_at") or "")[:10],
        c.get("url") or c["source"],
    ]
    return " — ".join(" ".join(p.split()) for p in dict.fromkeys(parts) if p)


def _renumber(answer: dict, numbers: dict[tuple, int], references: list[dict]) -> str:
    """The answer's text with its [n] numbered across the conversation; new passages join the references."""
    local = {}
    for c in answer["citations"]:
        key = (c["article_id"], c["start"], c["end"])
        if key not in numbers:
            numbers[key] = len(numbers) + 1
            references.append(c)
        local[c["n"]] = numbers[key]
    return renumber(answer["answer"], lambda n: local.get(n, n))


def to_markdown(conversation: list[dict]) -> str:
    numbers: dict[tuple, int] = {}
    references: list[dict] = []
    lines = ["# Dossier conversation", ""]
    for turn in conversation:
        answer = turn.get("answer")
        if turn["role"] != "assistant" or not answer:
            lines += [f"**{'Question' if turn['role'] == 'user' else 'Answer'}:** {turn['content']}", ""]
            continue
        lines += [f"**Answer:** {_renumber(answer, numbers, references)}", ""]
        if answer["unsupported"]:
            unverified = len(answer["unsupported"])
            lines += [
                f"_{unverified} sentence(s) of this answer could not be verified against the cited passages._",
                "",
            ]
        if answer.get("off_question"):
            lines += ["_This answer does not seem to address the question._", ""]
        if answer.get("refusal_contradicted"):
            lines += ["_The model said the articles don't say, but a passage appears to answer it._", ""]
        if answer.get("from_passages"):
            lines += [f"**From the passages:** {_renumber(answer['from_passages'], numbers, references)}", ""]
    if references:
        lines += ["## References", ""] + [f"{n}. {reference(c)}" for n, c in enumerate(references, 1)]
    return "\n".join(lines).rstrip() + "\n"


def to_json(conversation: list[dict]) -> str:
    exported = datetime.now(UTC).isoformat(timespec="seconds")
    turns = [{k: turn[k] for k in ("role", "content", "answer") if k in turn} for turn in conversation]
    return json.dumps({"exported_at": exported, "conversation": turns}, ensure_ascii=False, indent=2)
