from dossier_core.text import normalize_whitespace, sentence_spans


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
    assert [text[s:e] for s, e, _ in spans] == [
        "Headline without stop",
        "Caption line.",
        "Body sentence one!",
        "Body two?",
    ]
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
        "Il est parti.",
        "Élise est venue.",
        "He paid $5.",
        "¿Qué pasa? said the iPhone. maker.",
    ]
    cjk = "今天下雨。明天晴天！"
    assert [cjk[s:e] for s, e, _ in sentence_spans(cjk)] == ["今天下雨。", "明天晴天！"]


def test_sentence_splitting_is_linear_on_long_lines():
    import time

    line = "A short sentence with a full stop. " * 20000  # 700 KB on one line
    started = time.monotonic()
    assert len(sentence_spans(line)) == 20000
    assert time.monotonic() - started < 5


def sentences(text):
    return [text[s:e] for s, e, _ in sentence_spans(text)]


def test_abbreviations_before_names_and_numbers_go_on_with_the_sentence():
    text = (
        "Prof. Lindqvist of St. Andrews met Sen. Oduya at No. 10 on Feb. 3, and the U.S. Coast Guard "
        "towed the ship for Halvorsen Ltd. Three tugs helped."
    )
    assert sentences(text) == [text.removesuffix(" Three tugs helped."), "Three tugs helped."]


def test_an_abbreviation_ends_the_sentence_before_a_word_that_starts_sentences():
    text = "The firm moved to the U.S. The staff stayed with Berg & Co. They hired cooks, cleaners, etc. It grew."
    assert sentences(text) == [
        "The firm moved to the U.S.",
        "The staff stayed with Berg & Co.",
        "They hired cooks, cleaners, etc.",
        "It grew.",
    ]


def test_words_that_abbreviate_only_before_numbers():
    text = "The reply was no. Voters agreed. See Fig. 4 and No. 12 below. She studied art. Galleries took her work."
    assert sentences(text) == [
        "The reply was no.",
        "Voters agreed.",
        "See Fig. 4 and No. 12 below.",
        "She studied art.",
        "Galleries took her work.",
    ]


def test_times_end_a_sentence_unless_a_day_month_or_zone_follows():
    text = (
        "The ferry sailed at 6:05 a.m. Tuesday and docked at 11 a.m. GMT. The crew left at 4 p.m. Harbour staff "
        "counted the cargo at 5 p.m. on the quay. Doors close at 9 p.m. Dec. 24."
    )
    assert sentences(text) == [
        "The ferry sailed at 6:05 a.m. Tuesday and docked at 11 a.m. GMT.",
        "The crew left at 4 p.m.",
        "Harbour staff counted the cargo at 5 p.m. on the quay.",
        "Doors close at 9 p.m. Dec. 24.",
    ]


def test_decimals_initials_and_ellipses():
    text = (
        "Output rose 2.75 percent to $3.4 billion under T. S. Marlow and Harriet B. Quill. Then it stalled... "
        "Nobody knew why. It waited... and recovered."
    )
    assert sentences(text) == [
        "Output rose 2.75 percent to $3.4 billion under T. S. Marlow and Harriet B. Quill.",
        "Then it stalled...",
        "Nobody knew why.",
        "It waited... and recovered.",
    ]


def test_quotes_end_sentences_inside_them_unless_the_speaker_follows():
    text = (
        '"The dam held." Engineers cheered. He wrote "done." and slept. "Is it safe?" Marta Ruiz asked. '
        '"Run!" Everyone ran. "Why now?" She shrugged.'
    )
    assert sentences(text) == [
        '"The dam held."',
        "Engineers cheered.",
        'He wrote "done." and slept.',
        '"Is it safe?" Marta Ruiz asked.',
        '"Run!"',
        "Everyone ran.",
        '"Why now?"',
        "She shrugged.",
    ]


def test_list_markers_are_not_sentences_of_their_own():
    text = "Steps:\n1. Drain the tank.\n2. Seal the valve. 3. Refill it.\nB. Other options.\n(ii). Last."
    assert sentences(text) == [
        "Steps:",
        "1. Drain the tank.",
        "2. Seal the valve.",
        "3. Refill it.",
        "B. Other options.",
        "(ii). Last.",
    ]


def test_a_citation_marker_after_an_abbreviation_ends_the_sentence():
    text = "Output fell in the U.S. [2] Exports rose by 7 p.m. [1]"
    assert sentences(text) == ["Output fell in the U.S.", "[2] Exports rose by 7 p.m.", "[1]"]


def test_abbreviation_rules_stay_linear_on_long_lines():
    import time

    for unit in ("Q. ", "U.S. Navy ", "No. ", "p.m. Friday ", '"Why?" Pat asked ', "1. ", "Dr. The "):
        line = unit * (400_000 // len(unit))
        started = time.monotonic()
        sentence_spans(line)
        assert time.monotonic() - started < 5, unit
