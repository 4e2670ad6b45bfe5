from ingest.text import normalize_whitespace, sentence_spans


def test_normalize_whitespace_collapses_spaces_and_blank_lines():
    raw = "Title\r\n\r\n\r\n\r\nFirst  line\t here \u00a0 \nsecond\x07 line   \n\n\n"
    assert normalize_whitespace(raw) == "Title\n\nFirst line here\nsecond line"


def test_sentence_spans_respect_abbreviations_and_offsets():
    text = "Mr. Smith met Dr. J. Jones in the U.S. on Tuesday. He said “Go!” Then he left.\n\nNew paragraph here."
    spans = sentence_spans(text)
    assert [text[s:e] for s, e, _ in spans] == [
        "Mr. Smith met Dr. J. Jones in the U.S. on Tuesday.",
        "He said “Go!”",
        "Then he left.",
        "New paragraph here.",
    ]
    assert [p for _, _, p in spans] == [0, 0, 0, 1]


def test_lines_are_sentence_breaks_and_spans_cover_all_non_space():
    text = "Headline without stop\nCaption line. Body sentence one! Body two?"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e, _ in spans] == ["Headline without stop", "Caption line.", "Body sentence one!", "Body two?"]
    covered = "".join(text[s:e] for s, e, _ in spans)
    assert covered.replace(" ", "") == text.replace(" ", "").replace("\n", "")


def test_sentence_spans_of_a_slice_use_absolute_offsets():
    text = "Ignore this. Keep this one. And this."
    spans = sentence_spans(text, 13, len(text))
    assert [text[s:e] for s, e, _ in spans] == ["Keep this one.", "And this."]


def test_sentence_spans_of_empty_or_blank_text():
    assert sentence_spans("") == []
    assert sentence_spans(" \n\n \n") == []


def test_sentences_start_with_any_capital_and_cjk_full_stops_end_them():
    text = "Il est parti. Élise est venue. He paid $5. ¿Qué pasa? said the iPhone. maker."
    assert [text[s:e] for s, e, _ in sentence_spans(text)] == [
        "Il est parti.", "Élise est venue.", "He paid $5.", "¿Qué pasa? said the iPhone. maker."]
    cjk = "今天下雨。明天晴天！"
    assert [cjk[s:e] for s, e, _ in sentence_spans(cjk)] == ["今天下雨。", "明天晴天！"]


def test_sentence_splitting_is_linear_on_long_lines():
    import time

    line = "A short sentence with a full stop. " * 20000  # 700 KB on one line
    started = time.monotonic()
    assert len(sentence_spans(line)) == 20000
    assert time.monotonic() - started < 5
