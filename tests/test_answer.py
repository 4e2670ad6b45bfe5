import re
from pathlib import Path

import pytest

import rag
from rag import Assistant, DossierError, Library, Settings
from rag.backends.extractive import is_statement
from rag.conversation import retrieval_query
from vectorstore.records import Hit


def hit(chunk_id, text="Some passage.", score=0.8):
    return Hit(chunk_id, "art-" + chunk_id, text, 10, 10 + len(text), score, "Title " + chunk_id, "/src/" + chunk_id)


def test_public_api_is_pinned():
    assert sorted(rag.__all__) == [
        "Answer",
        "Assistant",
        "Citation",
        "DossierError",
        "Filters",
        "IngestResult",
        "Library",
        "Settings",
    ]
    assert all(hasattr(rag, name) for name in rag.__all__)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"chunk_size": 50, "chunk_overlap": 50}, "chunk_overlap=50 must be .* below chunk_size=50"),
        ({"top_k": 0}, "top_k=0"),
        ({"backend": "gpt"}, "unknown answer backend 'gpt'; choose from: extractive"),
    ],
)
def test_settings_are_validated_when_built(kwargs, message):
    with pytest.raises(DossierError, match=message):
        Settings(**kwargs)


def test_follow_up_questions_borrow_the_previous_user_question():
    history = [
        {"role": "user", "content": "Who approved the Harbor Bridge?"},
        {"role": "assistant", "content": "The council [1]"},
    ]
    assert (
        retrieval_query("How much will it cost?", history) == "Who approved the Harbor Bridge? How much will it cost?"
    )
    assert retrieval_query("How tall is Mont Blanc?", history) == "How tall is Mont Blanc?"
    assert retrieval_query("How much will it cost?", None) == "How much will it cost?"
    assert (
        retrieval_query("And how many missiles?", history) == "Who approved the Harbor Bridge? And how many missiles?"
    )
    assert retrieval_query("What is the capital of Peru?", history) == "What is the capital of Peru?"


def test_headings_captions_and_menu_lines_are_not_quoted():
    assert is_statement("The council voted 7 to 2 on Tuesday.")
    assert is_statement("the minutes record a long debate about the bridge and its cost overruns")
    assert not is_statement("## Cost and funding")
    assert not is_statement("Alpine Glaciers Lost a Tenth of Their Ice in Two Years")
    assert not is_statement("Connect with us")


def markers(text):
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_extractive_answers_cite_each_sentence_and_abstain_off_topic(tmp_path, library, fake_embedder):
    a = Assistant(
        tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10, min_relevance=0.2), embedder=fake_embedder
    )
    assert {r.status for r in a.library.ingest([library])} == {"added"}
    answer = a.ask("How many glaciers did the team measure with drones and radar?")
    assert not answer.abstained
    assert "176 glaciers" in answer.text
    assert markers(answer.text) == {c.n for c in answer.citations} == set(range(1, len(answer.citations) + 1))
    claims = re.findall(r"(.+?) \[(\d+)\](?: |$)", answer.text)
    assert 1 <= len(claims) <= 3
    passages = {c.n: c.text for c in answer.citations}
    assert all(sentence in passages[int(n)] for sentence, n in claims)

    off_topic = a.ask("What is the best recipe for sourdough pancakes?")
    assert off_topic.abstained and off_topic.citations == () and "don't cover" in off_topic.text

    *pieces, final = a.stream("How many glaciers did the team measure with drones and radar?")
    assert all(isinstance(p, str) for p in pieces) and "".join(pieces) == final.text == answer.text


def test_asking_an_empty_store_or_an_empty_question_says_what_to_do(tmp_path, fake_embedder):
    a = Assistant(tmp_path / "store", embedder=fake_embedder)
    with pytest.raises(DossierError, match="has no articles yet; add some with: python -m ingest"):
        a.ask("Anything?")
    with pytest.raises(DossierError, match="question is empty"):
        a.ask("   ")


def test_ingest_statuses_unchanged_replaced_and_failed(tmp_path, library, fake_embedder):
    a = Assistant(tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10), embedder=fake_embedder)
    first = a.library.ingest([library])
    counts = a.library.counts()
    assert [r.status for r in first] == ["added"] * 3 and counts[0] == 3
    assert [r.status for r in a.library.ingest([library])] == ["unchanged"] * 3
    assert a.library.counts() == counts

    (library / "glacier-study.txt").write_text(
        "Alpine glaciers grew last year, a new study by the monitoring network says."
    )
    (library / "broken.html").write_bytes(b"\x00\x01\x02binary")
    results = {r.source.rsplit("/", 1)[-1]: r for r in a.library.ingest([library, tmp_path / "missing.md"])}
    assert results["glacier-study.txt"].status == "replaced" and results["glacier-study.txt"].chunks == 1
    assert results["harbor-bridge.md"].status == "unchanged"
    assert results["broken.html"].status == "failed" and "binary" in results["broken.html"].error
    assert results["missing.md"].status == "failed"
    articles, chunks = a.library.counts()
    assert articles == 3 and chunks < counts[1]


def test_uploads_are_named_by_their_file_name_only(tmp_path, fake_embedder):
    a = Assistant(tmp_path / "store", embedder=fake_embedder)
    owls = b"# Evil\n\nJust a long enough paragraph of text about owls and the mice they hunt at night."
    [r] = a.library.ingest_upload("../../etc/evil.md", owls)
    assert (r.status, r.source, r.title) == ("added", "upload:evil.md", "Evil")
    assert [r.status for r in a.library.ingest_upload("evil.md", owls)] == ["unchanged"]
    [dup] = a.library.ingest_upload("copy.md", owls)
    assert dup.status == "duplicate" and dup.error == "same content as upload:evil.md"
    [bad] = a.library.ingest_upload("x.exe", b"MZ")
    assert bad.status == "failed" and "unsupported file type" in bad.error
    assert a.library.counts()[0] == 1


def test_list_and_remove_by_id_path_or_url(tmp_path, library, fake_embedder):
    a = Assistant(tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10), embedder=fake_embedder)
    a.library.ingest([library])
    records = a.library.articles()
    assert sorted(r.title for r in records) == [
        "Alpine Glaciers Lost a Tenth of Their Ice in Two Years",
        "Coffee Prices Hit a Record as Harvests Fail",
        "Council Approves the Harbor Bridge",
    ]
    dates = [r.published_at or "" for r in records]
    assert dates == sorted(dates, reverse=True)  # newest first
    glacier = next(r for r in records if r.title.startswith("Alpine"))
    assert [r.title for r in a.library.remove(glacier.id)] == [glacier.title]
    [bridge] = a.library.remove(str(library / "harbor-bridge.md"))
    assert bridge.title == "Council Approves the Harbor Bridge"
    assert a.library.remove("https://marketdaily.example/coffee-record")[0].title.startswith("Coffee")
    assert a.library.counts() == (0, 0)
    with pytest.raises(
        DossierError, match="nothing.txt: no article with this id, path or URL; see `python -m ingest list`"
    ):
        a.library.remove("nothing.txt")


def test_new_chunk_settings_rechunk_as_an_explicit_step_without_refetching(tmp_path, library, fake_embedder):
    a = Assistant(tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10), embedder=fake_embedder)
    a.library.ingest([library])
    articles, chunks = a.library.counts()
    for path in library.iterdir():
        path.unlink()  # re-chunking must not need the sources
    b = Library(tmp_path / "store", Settings(chunk_size=30, chunk_overlap=5), embedder=fake_embedder)
    assert b.counts() == (articles, chunks)  # opening changes nothing
    assert f"re-embeds its {articles} articles, {chunks} passages now" in b.rechunk_cost()
    with pytest.raises(DossierError, match="python -m ingest rechunk --yes"):
        b.ingest([tmp_path / "anything.txt"])
    assert Assistant(b).ask("What did the council approve?").citations  # asking works meanwhile
    assert b.rechunk() == articles and b.rechunk_cost() is None
    assert b.counts()[0] == articles and b.counts()[1] > chunks
    assert b.check() == []
    hits = Assistant(b).retrieve("coffee glaciers bridge", k=20)
    assert hits and all(fake_embedder.count_tokens([h.text])[0] <= 30 for h in hits)


def test_langchain_retriever_returns_documents_with_chunk_metadata(tmp_path, library, fake_embedder):
    from langchain_core.retrievers import BaseRetriever

    a = Assistant(tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10), embedder=fake_embedder)
    a.library.ingest([library])
    retriever = a.as_retriever(k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("arabica coffee futures price record")
    assert len(docs) == 2
    top = docs[0]
    assert "Arabica" in top.page_content
    assert top.metadata["title"] == "Coffee Prices Hit a Record as Harvests Fail"
    assert {"article_id", "source", "start", "end", "chunk_id", "score"} <= top.metadata.keys()


def test_bracketed_numbers_in_quoted_sentences_do_not_become_markers(fake_embedder):
    from rag.backends.extractive import ExtractiveBackend

    passage = hit("a", "The council [3] agreed on the bridge toll, as reported [12] by the paper.")
    pieces = ExtractiveBackend(fake_embedder, Settings()).stream(
        "Did the council agree on the bridge toll?", [passage], []
    )
    assert "".join(pieces) == "The council agreed on the bridge toll, as reported by the paper. [1]"


def test_a_string_input_is_one_input_and_a_bad_name_does_not_stop_the_batch(tmp_path, library, fake_embedder):
    import os

    a = Assistant(tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10), embedder=fake_embedder)
    assert [r.status for r in a.library.ingest(str(library))] == ["added"] * 3
    weird = os.path.join(os.fsencode(tmp_path), b"bad-\xff.txt")
    with open(weird, "wb") as f:
        f.write(b"Some text that is long enough to be prose and would otherwise be ingested fine.")
    (tmp_path / "zz-good.txt").write_text("Penguins waddle across the ice shelf in long lines every winter evening.")
    results = a.library.ingest([os.fsdecode(weird), tmp_path / "zz-good.txt"])
    assert [r.status for r in results] == ["failed", "added"]
    assert "file name is not valid UTF-8; rename it" in results[0].error


def test_utf16_files_with_a_byte_order_mark_are_read():
    from tests.conftest import parse

    text = "Notepad saved this article about river otters returning to the city canals in spring."
    assert parse("notes.txt", text.encode("utf-16")).text == text


def test_filters_match_publisher_source_author_dates_and_ids():
    from dataclasses import replace

    from rag import Filters
    from vectorstore.records import ArticleRecord

    article = ArticleRecord(
        "a1",
        "Coffee",
        "https://marketdaily.example/coffee",
        "hash-a1",
        3,
        published_at="2024-11-12T08:00:00+00:00",
        author="Luis Ortega",
        outlet="Market Daily",
    )
    assert Filters().matches(article) and not Filters()
    assert Filters(source="market daily").matches(article) and Filters(source="marketdaily.example").matches(article)
    assert not Filters(source="Valley Gazette").matches(article)
    assert Filters(author="ortega").matches(article) and not Filters(author="Salo").matches(article)
    assert Filters(since="2024-11-12", until="2024-11-12").matches(article)
    assert not Filters(since="2024-11-13").matches(article) and not Filters(until="2024-01-01").matches(article)
    assert not Filters(since="2000-01-01").matches(replace(article, published_at=None))
    assert Filters(articles=("a1",)).matches(article) and not Filters(articles=("b",)).matches(article)
    with pytest.raises(DossierError, match="since='last week' is not a date; write it as YYYY-MM-DD"):
        Filters(since="last week")


def test_filtered_questions_draw_only_on_matching_articles(tmp_path, library, fake_embedder):
    from rag import Filters

    a = Assistant(
        tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10, min_relevance=0.05), embedder=fake_embedder
    )
    a.library.ingest([library])
    question = "What happened to prices, glaciers and the bridge?"
    coffee = a.ask(question, filters=Filters(author="Ortega"))
    assert coffee.citations and {c.title for c in coffee.citations} == {"Coffee Prices Hit a Record as Harvests Fail"}
    dated = a.retrieve(question, 10, Filters(since="2024-01-01", until="2024-12-31"))
    assert {h.title for h in dated} == {
        "Coffee Prices Hit a Record as Harvests Fail"
    }  # the bridge is 2025, glaciers undated
    bridge_id = next(r.id for r in a.library.articles() if r.title.startswith("Council"))
    assert {h.article_id for h in a.retrieve(question, 10, Filters(articles=(bridge_id,)))} == {bridge_id}
    assert {
        d.metadata["article_id"] for d in a.as_retriever(k=5, filters=Filters(articles=(bridge_id,))).invoke(question)
    } == {bridge_id}
    with pytest.raises(DossierError, match="no article matches the filters"):
        a.ask(question, filters=Filters(source="Valley Gazette"))


def test_an_off_topic_follow_up_abstains_and_a_wordless_lexical_one_does_not_crash(tmp_path, library, fake_embedder):
    a = Assistant(
        tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10, min_relevance=0.3), embedder=fake_embedder
    )
    a.library.ingest([library])
    history = [
        {"role": "user", "content": "Who approved the Harbor Bridge?"},
        {"role": "assistant", "content": "The council [1]"},
    ]
    assert max(h.score for h in a.retrieve("What is the capital of Peru?")) < 0.3
    assert (
        max(h.score for h in a.retrieve("Who approved the Harbor Bridge? What is the capital of Peru?")) > 0.3
    )  # what the old rule would have used
    assert a.ask("What is the capital of Peru?", history).abstained
    lexical = Assistant(
        tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10, retrieval="lexical"), embedder=fake_embedder
    )
    assert lexical.ask("Zzyzx qwertyuiop?", history).abstained


def test_filter_dates_cover_years_and_months_and_reject_other_forms():
    from dataclasses import replace

    from rag import Filters
    from vectorstore.records import ArticleRecord

    sotu = ArticleRecord("s", None, "/sotu.jsonl#1790", "hash-s", 1, published_at="1790")
    assert Filters(since="1790-01-01", until="1790-12-31").matches(sotu)
    assert not Filters(since="1791-01-01").matches(sotu)
    assert Filters(until="2024-07-31").matches(replace(sotu, published_at="2024-07"))
    for bad in ("20200101", "2020-W01-1", "2020-13-01"):
        with pytest.raises(DossierError, match="is not a date"):
            Filters(since=bad)
    assert Filters(articles="doc-12").articles == ("doc-12",) and not Filters(articles="doc-12").matches(
        replace(sotu, id="c-1")
    )
    assert str(Filters(author="Salo", since="2024-01-01")) == "author='Salo', since='2024-01-01'"


def test_chunks_are_embedded_in_groups_across_articles_and_duplicates_in_a_group_are_caught(
    tmp_path, library, fake_embedder, monkeypatch
):
    import rag.assistant

    calls = []
    embed = fake_embedder.embed_bulk
    monkeypatch.setattr(fake_embedder, "embed_bulk", lambda texts: calls.append(len(texts)) or embed(texts))
    owls = "# Owls\n\nBarn owls hunt voles across the meadows at night, listening for their steps in the grass."
    (library / "owls.md").write_text(owls)
    (library / "owls-copy.md").write_text(owls)
    a = Assistant(tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10), embedder=fake_embedder)
    results = a.library.ingest([library])
    assert sorted(r.status for r in results) == ["added"] * 4 + ["duplicate"]
    assert len(calls) == 1 and calls[0] == a.library.counts()[1]  # four articles, one encode
    monkeypatch.setattr(rag.ingestion, "EMBED_GROUP", 1)
    calls.clear()
    b = Assistant(tmp_path / "other", Settings(chunk_size=60, chunk_overlap=10), embedder=fake_embedder)
    assert len(b.library.ingest([library])) == 5 and len(calls) == 4 and b.library.counts() == a.library.counts()


def test_a_folder_ingest_says_which_files_it_skipped_and_why(tmp_path, library, fake_embedder):
    (library / "budget.xlsx").write_bytes(b"PK\x03\x04")
    (library / ".drafts").mkdir()
    (library / ".drafts" / "unfinished.md").write_text("# Not yet\n\nHalf a thought about the bridge.")
    results = Library(tmp_path / "store", Settings(chunk_size=60, chunk_overlap=10), fake_embedder).ingest([library])
    skipped = {Path(r.source).name: r.error for r in results if r.status == "skipped"}
    assert set(skipped) == {"budget.xlsx", ".drafts"}
    assert "unsupported file type '.xlsx'" in skipped["budget.xlsx"] and "hidden" in skipped[".drafts"]
    assert sorted(r.status for r in results if r.status != "skipped") == ["added"] * 3
