"""What the chat page shows and exports, built from answers (pure: no model, no store)."""

import json

import pytest

from ingest.errors import DossierError
from rag.export import to_json, to_markdown
from rag.feedback import FeedbackLog
from rag.render import answer_html, closest_html, sources_html, text_fragment


def citation(n, article="a1", start=0, text="Volunteers counted 4,210 pigeons. The count rose.", **extra):
    return {"n": n, "article_id": article, "title": f"Title {article}", "source": f"/docs/{article}.md", "text": text, "start": start,
            "end": start + len(text), "score": 0.8, "url": None, "author": None, "outlet": None, "published_at": None, "highlights": [], **extra}


def answer(text, sentences, citations, **extra):
    return {"answer": text, "abstained": False, "citations": citations, "unsupported": [i for i, s in enumerate(sentences) if not s[2]],
            "sentences": [{"text": t, "citations": c, "supported": ok, "reason": why} for t, c, ok, why in sentences], "removed_markers": [], **extra}


def test_answer_html_links_markers_to_cards_and_marks_unverified_sentences():
    a = answer(
        "Volunteers counted <b>4,210</b> pigeons [1]. They were all blue [2].",
        [("Volunteers counted <b>4,210</b> pigeons [1].", [1], True, "quoted"),
         ("They were all blue [2].", [2], False, 'the passage does not say "blue"')],
        [citation(1), citation(2, "a2")],
    )
    html = answer_html(a, "m1")
    assert "&lt;b&gt;4,210&lt;/b&gt;" in html and "<b>" not in html
    assert '<sup><a href="#m1-source-1" title="Source 1">[1]</a></sup>' in html
    assert '<span class="dossier-unverified" title="Unverified: the passage does not say &quot;blue&quot;">They were all blue' in html
    assert html.count("⚠") == 1


def test_source_cards_escape_text_highlight_support_and_link_only_web_urls():
    text = "Intro <script>alert(1)</script>. Volunteers counted 4,210 pigeons in the spring survey, a record."
    start = text.index("Volunteers")
    web = citation(1, text=text, url="https://news.example/pigeons#top", author="Mara Quint", outlet="Harbor News",
                   published_at="2025-05-02T08:00:00", highlights=[(start, len(text))])
    hostile = citation(2, "a2", url="javascript:alert(1)", title="<img src=x onerror=alert(1)>")
    html = sources_html({"citations": [web, hostile]}, "m2")
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img" not in html
    assert f"<mark>{text[start:]}</mark>" in html
    assert 'href="https://news.example/pigeons#:~:text=Volunteers%20counted%204%2C210%20pigeons,spring%20survey%2C%20a%20record."' in html
    assert "Mara Quint · Harbor News · 2025-05-02" in html
    assert "javascript:" not in html and 'id="m2-source-2"' in html


def test_text_fragments_encode_the_characters_that_delimit_them():
    assert text_fragment("https://x.example/a", "Short, one-line quote.") == "https://x.example/a#:~:text=Short%2C%20one%2Dline%20quote."
    assert text_fragment("https://x.example/a", "") == "https://x.example/a"


def test_an_abstention_lists_the_closest_articles_once_each():
    passages = [{"article_id": "a", "title": "Bridge vote", "source": "https://city.example/bridge", "url": "https://city.example/bridge"},
                {"article_id": "a", "title": "Bridge vote", "source": "https://city.example/bridge", "url": "https://city.example/bridge"},
                {"article_id": "b", "title": "Owls", "source": "/docs/owls.md", "url": None}]
    html = closest_html({"trace": {"passages": passages}})
    assert html.count("<li>") == 2 and html.count("Bridge vote") == 1
    assert '<a href="https://city.example/bridge" target="_blank"' in html and "“Owls” — /docs/owls.md" in html
    assert closest_html({"trace": {}}) == ""


def test_markdown_export_numbers_references_across_the_conversation():
    coffee = citation(1, "coffee", 10, url="https://market.example/coffee", outlet="Market Daily", published_at="2024-11-12")
    glacier = citation(1, "glacier", 0)
    conversation = [
        {"role": "user", "content": "Coffee price?"},
        {"role": "assistant", "content": "…", "answer": answer("It hit 3.20 dollars [1].", [("It hit 3.20 dollars [1].", [1], True, "")], [coffee])},
        {"role": "user", "content": "Glaciers and coffee?"},
        {"role": "assistant", "content": "…", "answer": answer(
            "176 were measured [1]. Coffee rose [2].",
            [("176 were measured [1].", [1], True, ""), ("Coffee rose [2].", [2], False, "no")],
            [glacier, {**coffee, "n": 2}])},
    ]
    md = to_markdown(conversation)
    assert "**Answer:** It hit 3.20 dollars [1]." in md
    assert "**Answer:** 176 were measured [2]. Coffee rose [1]." in md
    assert "_1 sentence(s) of this answer could not be verified" in md
    assert md.endswith("## References\n\n1. “Title coffee” — Market Daily — 2024-11-12 — https://market.example/coffee\n"
                       "2. “Title glacier” — /docs/glacier.md\n")
    exported = json.loads(to_json(conversation))
    assert [t["role"] for t in exported["conversation"]] == ["user", "assistant", "user", "assistant"]
    assert exported["conversation"][3]["answer"]["citations"][1]["url"] == "https://market.example/coffee"


def test_feedback_is_kept_per_answer_and_a_second_rating_replaces_the_first(tmp_path):
    log = FeedbackLog(tmp_path / "feedback.sqlite3")
    a = answer("Counted 4,210 [1].", [("Counted 4,210 [1].", [1], True, "")], [citation(1)], trace={"query": "How many?", "passages": []})
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
