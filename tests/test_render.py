"""What the chat page shows and exports, built from answers (pure: no model, no store)."""

import json

import pytest

from dossier_core.errors import DossierError
from rag.answer import Answer, Citation, Sentence
from rag.export import to_json, to_markdown
from rag.feedback import FeedbackLog
from rag.render import answer_html, closest_html, notices, sources_html, text_fragment


def citation(n, article="a1", start=0, text="Volunteers counted 4,210 pigeons. The count rose.", **extra):
    return {
        "n": n,
        "article_id": article,
        "title": f"Title {article}",
        "source": f"/docs/{article}.md",
        "text": text,
        "start": start,
        "end": start + len(text),
        "score": 0.8,
        "url": None,
        "author": None,
        "outlet": None,
        "published_at": None,
        "highlights": [],
        **extra,
    }


def answer(text, sentences, citations, **extra):
    return {
        "answer": text,
        "abstained": False,
        "citations": citations,
        "unsupported": [i for i, s in enumerate(sentences) if not s[2]],
        "sentences": [{"text": t, "citations": c, "supported": ok, "reason": why} for t, c, ok, why in sentences],
        "removed_markers": [],
        **extra,
    }


def test_answer_html_links_markers_to_cards_and_marks_unverified_sentences():
    a = answer(
        "Volunteers counted <b>4,210</b> pigeons [1]. They were all blue [2].",
        [
            ("Volunteers counted <b>4,210</b> pigeons [1].", [1], True, "quoted"),
            ("They were all blue [2].", [2], False, 'the passage does not say "blue"'),
        ],
        [citation(1), citation(2, "a2")],
    )
    html = answer_html(a, "m1")
    assert "&lt;b&gt;4,210&lt;/b&gt;" in html and "<b>" not in html
    assert '<sup><a href="#m1-source-1" title="Source 1">[1]</a></sup>' in html
    assert (
        '<span class="dossier-unverified" title="Unverified: the passage does not say &quot;blue&quot;">'
        "They were all blue" in html
    )
    assert html.count("⚠") == 1


def checked(text, sentences, **flags):
    """A real Answer as the page stores it; sentences are (text, supported, recited, reason)."""
    passage = Citation(1, "ferry", "Ferry timetable", "/docs/ferry.md", "The night ferry leaves at 22:15.", 0, 32, 0.7)
    checked = tuple(Sentence(t, (1,), ok, why, recited) for t, ok, recited, why in sentences)
    return Answer(text, (passage,), False, checked, **flags).to_dict()


def test_a_re_cited_sentence_shows_its_own_mark_with_the_reason_and_no_warning():
    a = checked(
        "The ferry leaves at 22:15 [1]. It is the last one [1].",
        [
            ("The ferry leaves at 22:15 [1].", True, True, 'moved from [2] to [1]: "22:15" is <only> in [1]'),
            ("It is the last one [1].", True, False, "quoted"),
        ],
    )
    html = answer_html(a, "r1")
    why = "moved from [2] to [1]: &quot;22:15&quot; is &lt;only&gt; in [1]"
    assert f'<sup class="dossier-recited-mark" title="{why}">↻</sup>' in html
    assert html.count("↻") == 1 and "⚠" not in html and "<only>" not in html
    # The mark follows the sentence's own citation, before the next sentence.
    assert html.index("r1-source-1") < html.index("↻") < html.index("It is the last one")


def test_most_sentences_unverified_is_a_banner_above_and_a_few_a_caption_below():
    two_of_three = checked(
        "A [1]. B [1]. C [1].",
        [("A [1].", False, False, "no"), ("B [1].", False, False, "no"), ("C [1].", True, False, "quoted")],
    )
    one_of_three = checked(
        "A [1]. B [1]. C [1].",
        [("A [1].", False, False, "no"), ("B [1].", True, False, "quoted"), ("C [1].", True, False, "quoted")],
    )
    half = checked("A [1]. B [1].", [("A [1].", False, False, "no"), ("B [1].", True, False, "quoted")])
    above, below = notices(two_of_three)
    assert above == ["2 of 3 sentences could not be verified against the passages they cite; point at one to see why."]
    assert below == []
    above, below = notices(one_of_three)
    assert above == [] and below[0].startswith("⚠ 1 sentence(s) could not be verified")
    assert notices(half)[0] == []  # a half is not "most"
    assert notices(checked("A [1].", [("A [1].", True, False, "quoted")])) == ([], [])


def test_notices_name_an_off_question_answer_a_contradicted_refusal_a_repeat_and_dropped_sentences():
    extract = checked("The ferry leaves at 22:15 [1].", [("The ferry leaves at 22:15 [1].", True, False, "quoted")])
    off = checked("Buses run hourly [1].", [("Buses run hourly [1].", True, False, "quoted")], off_question=True)
    assert notices(off)[0] == [
        "This answer does not seem to address the question; the passages' own sentences are below."
    ]
    refused = Answer(
        "The articles don't say.",
        (),
        False,
        refusal_contradicted=True,
        repeated=True,
        dropped=2,
        from_passages=Answer("x", (), False),
    ).to_dict()
    above, below = notices(refused)
    assert above == ["The model said the articles don't say, but a passage appears to answer it — see below."]
    assert below == [
        "The model began repeating itself; the answer was cut at the first repeat.",
        "Strict mode dropped 2 unverified sentence(s).",
    ]
    assert extract["from_passages"] is None and notices(extract) == ([], [])
    # Answers stored before these checks existed (session state, feedback logs) have none of the keys.
    old = {k: v for k, v in off.items() if k not in ("off_question", "refusal_contradicted", "repeated", "dropped")}
    assert notices(old) == ([], [])


def test_source_cards_escape_text_highlight_support_and_link_only_web_urls():
    text = "Intro <script>alert(1)</script>. Volunteers counted 4,210 pigeons in the spring survey, a record."
    start = text.index("Volunteers")
    web = citation(
        1,
        text=text,
        url="https://news.example/pigeons#top",
        author="Mara Quint",
        outlet="Harbor News",
        published_at="2025-05-02T08:00:00",
        highlights=[(start, len(text))],
    )
    hostile = citation(2, "a2", url="javascript:alert(1)", title="<img src=x onerror=alert(1)>")
    html = sources_html({"citations": [web, hostile]}, "m2")
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img" not in html
    assert f"<mark>{text[start:]}</mark>" in html
    assert (
        'href="https://news.example/pigeons#:~:text=Volunteers%20counted%204%2C210%20pigeons,spring%20survey%2C%20a%20record."'
        in html
    )
    assert "Mara Quint · Harbor News · 2025-05-02" in html
    assert "javascript:" not in html and 'id="m2-source-2"' in html


def test_text_fragments_encode_the_characters_that_delimit_them():
    assert (
        text_fragment("https://x.example/a", "Short, one-line quote.")
        == "https://x.example/a#:~:text=Short%2C%20one%2Dline%20quote."
    )
    assert text_fragment("https://x.example/a", "") == "https://x.example/a"


def test_an_abstention_lists_the_closest_articles_once_each():
    passages = [
        {
            "article_id": "a",
            "title": "Bridge vote",
            "source": "https://city.example/bridge",
            "url": "https://city.example/bridge",
        },
        {
            "article_id": "a",
            "title": "Bridge vote",
            "source": "https://city.example/bridge",
            "url": "https://city.example/bridge",
        },
        {"article_id": "b", "title": "Owls", "source": "/docs/owls.md", "url": None},
    ]
    html = closest_html({"trace": {"passages": passages}})
    assert html.count("<li>") == 2 and html.count("Bridge vote") == 1
    assert '<a href="https://city.example/bridge" target="_blank"' in html and "“Owls” — /docs/owls.md" in html
    assert closest_html({"trace": {}}) == ""


def test_markdown_export_numbers_references_across_the_conversation():
    coffee = citation(
        1, "coffee", 10, url="https://market.example/coffee", outlet="Market Daily", published_at="2024-11-12"
    )
    glacier = citation(1, "glacier", 0)
    conversation = [
        {"role": "user", "content": "Coffee price?"},
        {
            "role": "assistant",
            "content": "…",
            "answer": answer("It hit 3.20 dollars [1].", [("It hit 3.20 dollars [1].", [1], True, "")], [coffee]),
        },
        {"role": "user", "content": "Glaciers and coffee?"},
        {
            "role": "assistant",
            "content": "…",
            "answer": answer(
                "176 were measured [1]. Coffee rose [2].",
                [("176 were measured [1].", [1], True, ""), ("Coffee rose [2].", [2], False, "no")],
                [glacier, {**coffee, "n": 2}],
            ),
        },
    ]
    md = to_markdown(conversation)
    assert "**Answer:** It hit 3.20 dollars [1]." in md
    assert "**Answer:** 176 were measured [2]. Coffee rose [1]." in md
    assert "_1 sentence(s) of this answer could not be verified" in md
    assert md.endswith(
        "## References\n\n1. “Title coffee” — Market Daily — 2024-11-12 — https://market.example/coffee\n"
        "2. “Title glacier” — /docs/glacier.md\n"
    )
    exported = json.loads(to_json(conversation))
    assert [t["role"] for t in exported["conversation"]] == ["user", "assistant", "user", "assistant"]
    assert exported["conversation"][3]["answer"]["citations"][1]["url"] == "https://market.example/coffee"


def test_markdown_export_says_an_answer_missed_the_question_and_adds_the_passages_answer():
    ferry = Citation(1, "ferry", "Ferry timetable", "/docs/ferry.md", "The night ferry leaves at 22:15.", 0, 32, 0.7)
    buses = Citation(1, "buses", "Bus routes", "/docs/buses.md", "Buses run hourly.", 0, 17, 0.5)
    extract = Answer("The night ferry leaves at 22:15 [1].", (ferry,), False)
    off = Answer("Buses run hourly [1].", (buses,), False, off_question=True, from_passages=extract).to_dict()
    refused = Answer("The articles don't say.", (), False, refusal_contradicted=True, from_passages=extract).to_dict()
    md = to_markdown(
        [
            {"role": "user", "content": "When does the last ferry leave?"},
            {"role": "assistant", "content": off["answer"], "answer": off},
            {"role": "user", "content": "And the night ferry?"},
            {"role": "assistant", "content": refused["answer"], "answer": refused},
        ]
    )
    assert (
        "**Answer:** Buses run hourly [1].\n\n_This answer does not seem to address the question._\n\n"
        "**From the passages:** The night ferry leaves at 22:15 [2].\n"
    ) in md
    assert (
        "**Answer:** The articles don't say.\n\n_The model said the articles don't say, but a passage appears "
        "to answer it._\n\n**From the passages:** The night ferry leaves at 22:15 [2].\n"
    ) in md
    assert md.endswith("1. “Bus routes” — /docs/buses.md\n2. “Ferry timetable” — /docs/ferry.md\n")
    [turn] = json.loads(to_json([{"role": "assistant", "content": off["answer"], "answer": off}]))["conversation"]
    assert turn["answer"]["off_question"] is True
    assert turn["answer"]["from_passages"]["answer"] == "The night ferry leaves at 22:15 [1]."


def test_feedback_is_kept_per_answer_and_a_second_rating_replaces_the_first(tmp_path):
    log = FeedbackLog(tmp_path / "feedback.sqlite3")
    a = answer(
        "Counted 4,210 [1].",
        [("Counted 4,210 [1].", [1], True, "")],
        [citation(1)],
        trace={"query": "How many?", "passages": []},
    )
    log.record("id1", 1, "How many?", a)
    log.record("id1", 0, "How many?", a)
    log.record("id2", 1, "Again?", a)
    rows = log.all()
    assert [(r["answer_id"], r["rating"]) for r in rows] == [("id1", 0), ("id2", 1)]
    assert rows[0]["citations"][0]["article_id"] == "a1" and rows[0]["trace"]["query"] == "How many?"
    with pytest.raises(DossierError, match="rating=5 must be 1"):
        log.record("id3", 5, "?", a)
    with pytest.raises(DossierError, match="cannot use it"):
        FeedbackLog(tmp_path / "missing" / "f.sqlite3").record("id", 1, "?", a)


def test_a_listed_answer_shows_one_bullet_a_line():
    text = "What the articles reported, oldest first:\n- 2 May 2019, Wold Post: £18 a day [1]\n- 4 Jun 2023: £24 [2]"
    lines = [("2 May 2019, Wold Post: £18 a day [1]", [1], True, "q"), ("4 Jun 2023: £24 [2]", [2], True, "q")]
    html = answer_html(answer(text, lines, [citation(1), citation(2, "a2")]), "t1")
    assert html.count("<br>• ") == 2 and "- " not in html
    assert html.startswith('<div class="dossier-answer">What the articles reported, oldest first:<br>• 2 May 2019')
