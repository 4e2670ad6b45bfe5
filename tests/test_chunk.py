from pathlib import Path

import pytest

from ingest.chunk import chunk_article
from ingest.load import parse_article
from ingest.models import Article
from tests.conftest import LIBRARY, SHARED


def words(texts):
    return [len(t.split()) for t in texts]


def article(text):
    return Article(id="a1", source="test", text=text, content_hash="h")


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
        assert c.llm_tokens > 0
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
        art = parse_article(str(path), path.name, path.read_bytes())
        chunks = chunk_article(art, minilm.count_tokens, chunk_size=minilm.max_tokens, chunk_overlap=40)
        small = chunk_article(art, minilm.count_tokens, chunk_size=64, chunk_overlap=16)
        for c in chunks + small:
            assert art.text[c.start : c.end] == c.text
        assert max(minilm.count_tokens([c.text for c in chunks])) <= minilm.max_tokens
        assert minilm.count_tokens([c.text for c in small]) == [c.tokens for c in small]
        assert max(c.tokens for c in small) <= 64
