import pytest

from dossier_core.models import Article, Region
from ingest.chunk import chunk_article
from tests.conftest import LIBRARY, SHARED, parse


def words(texts):
    return [len(t.split()) for t in texts]


def article(text, title=None):
    return Article(
        id="a1", source="test", text=text, content_hash="h", title=title, regions=(Region("body", 0, len(text)),)
    )


def sentence(i, n=10):
    return f"Start{i} " + " ".join(f"w{i}x{j}" for j in range(n - 2)) + f" end{i}."


def test_offsets_round_trip_and_chunks_stay_under_the_limit():
    text = "\n\n".join(" ".join(sentence(p * 10 + i) for i in range(7)) for p in range(5))
    chunks = chunk_article(article(text), words, chunk_size=30, chunk_overlap=10)
    assert len(chunks) > 5
    for i, c in enumerate(chunks):
        assert text[c.start : c.end] == c.text
        assert c.index == i and c.article_id == "a1"
        assert c.tokens == len(c.text.split()) <= 30
    # Every sentence is in some chunk.
    assert all(any(f"end{p * 10 + i}." in c.text for c in chunks) for p in range(5) for i in range(7))


def test_overlap_repeats_the_last_sentences_of_the_previous_chunk():
    text = " ".join(sentence(i) for i in range(6))
    chunks = chunk_article(article(text), words, chunk_size=30, chunk_overlap=10)
    assert [c.text.count("end") for c in chunks] == [3, 3, 2]
    assert "end2." in chunks[0].text and chunks[1].text.startswith("Start2")
    no_overlap = chunk_article(article(text), words, chunk_size=30, chunk_overlap=0)
    assert [c.text.count("end") for c in no_overlap] == [3, 3]


def test_a_new_paragraph_starts_a_new_chunk_once_half_full():
    text = " ".join(sentence(i) for i in range(2)) + "\n\n" + sentence(2)
    chunks = chunk_article(article(text), words, chunk_size=40, chunk_overlap=0)
    assert [c.text.count("end") for c in chunks] == [2, 1]


def test_a_sentence_longer_than_the_limit_is_split_at_words():
    text = "Short one. " + " ".join(f"word{i}" for i in range(95)) + " end."
    chunks = chunk_article(article(text), words, chunk_size=20, chunk_overlap=5)
    assert all(c.tokens <= 20 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert "word94" in chunks[-1].text


def test_a_single_huge_word_is_cut_by_characters():
    text = "x" * 5000
    chunks = chunk_article(article(text), lambda ts: [len(t) // 4 + 1 for t in ts], chunk_size=50, chunk_overlap=0)
    assert "".join(c.text for c in chunks) == text
    assert all(c.tokens <= 50 for c in chunks)


@pytest.mark.model
def test_real_tokenizer_never_sees_a_chunk_over_the_model_window(minilm):
    paths = sorted(LIBRARY.iterdir()) + sorted((SHARED / "corpora" / "seed").glob("*.txt"))
    for path in paths:
        art = parse(path)
        chunks = chunk_article(art, minilm.count_tokens, chunk_size=minilm.max_tokens, chunk_overlap=40)
        small = chunk_article(art, minilm.count_tokens, chunk_size=64, chunk_overlap=16)
        for c in chunks + small:
            assert art.text[c.start : c.end] == c.text
        assert max(minilm.count_tokens([c.embedding_text for c in chunks])) <= minilm.max_tokens
        assert minilm.count_tokens([c.embedding_text for c in small]) == [c.tokens for c in small]
        assert max(c.tokens for c in small) <= 64


def test_headings_split_sections_and_go_into_the_embedded_context_not_the_passage():
    text = (
        "Intro sentence one is here. Intro two.\n\n## Cost and funding\n\nIt costs 48 million. Grants pay half."
        "\n\nShort Heading Line\n\nMore text follows here."
    )
    chunks = chunk_article(article(text, title="Bridge Story"), words, chunk_size=100, chunk_overlap=0)
    assert [c.text for c in chunks] == [
        "Intro sentence one is here. Intro two.",
        "It costs 48 million. Grants pay half.",
        "More text follows here.",
    ]
    assert [c.context for c in chunks] == [
        "Bridge Story",
        "Bridge Story — Cost and funding",
        "Bridge Story — Short Heading Line",
    ]
    assert chunks[1].embedding_text == "Bridge Story — Cost and funding\n\nIt costs 48 million. Grants pay half."
    assert [c.tokens for c in chunks] == [len(c.embedding_text.split()) for c in chunks]


def test_the_context_never_pushes_a_chunk_over_the_limit():
    long_title = " ".join(f"T{i}" for i in range(40))
    text = " ".join(sentence(i) for i in range(8))
    chunks = chunk_article(article(text, title=long_title), words, chunk_size=40, chunk_overlap=0)
    assert all(c.tokens <= 40 and len(c.embedding_text.split()) == c.tokens for c in chunks)
    assert all(len(c.context.split()) <= 10 for c in chunks)


def test_only_indexed_regions_are_chunked_and_chunks_keep_region_and_page():
    text = "Body text on page one.\n\nComment by a reader here.\n\nBody text on page two."
    regions = (Region("body", 0, 22, page=1), Region("comments", 24, 49), Region("body", 51, 73, page=2))
    art = Article(id="a", source="s", text=text, content_hash="h", regions=regions)
    chunks = chunk_article(art, words, chunk_size=50, chunk_overlap=0)
    assert [(c.text, c.region, c.page) for c in chunks] == [
        ("Body text on page one.", "body", 1),
        ("Body text on page two.", "body", 2),
    ]
    with_comments = chunk_article(art, words, chunk_size=50, chunk_overlap=0, labels=("body", "comments"))
    assert [c.region for c in with_comments] == ["body", "comments", "body"]
    assert [c.index for c in with_comments] == [0, 1, 2]


def test_short_lines_without_text_under_them_are_text_not_headings():
    text = "Shopping List\n\nEggs\n\nFlour\n\nSugar"
    chunks = chunk_article(article(text, title="Baking"), words, chunk_size=50, chunk_overlap=0)
    assert [(c.context, c.text) for c in chunks] == [("Baking", text)]
    assert chunk_article(article("Only A Heading"), words, chunk_size=50, chunk_overlap=0)[0].text == "Only A Heading"
