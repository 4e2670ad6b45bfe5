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
