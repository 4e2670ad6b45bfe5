"""Sentences that hold together: the one splitter finds the sentences a writer meant, a sentence quoted
alone is still one sentence (so the citation check sees Dossier's own quote whole), and a PDF's line
wraps and hyphenated breaks are joined before anything is split."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dossier_core.text import sentence_spans
from ingest.extract import extract_pdf, unwrap_lines
from rag.markers import split_sentences


def unwrap(text: str, compounds: set[str]) -> str:
    """A PDF page's visual lines joined back into lines of text, as one string."""
    return "\n".join(line for _, line in unwrap_lines(text.split("\n"), compounds))


MANY = settings(max_examples=300, deadline=None, derandomize=True)

# Sentences start with a word that starts sentences, so where each ends is never in doubt;
# their insides and ends hold what a splitter trips on.
STARTS = [
    "The harbour board",
    "It",
    "They",
    "She",
    "He",
    "Dr. Nwosu",
    "Mr. Achterberg",
    "Ms. Brelade's council",
    "In March the mayor",
    "\u201cWe",
    '"The levy',
    "Three ferries",
]
INSIDES = [
    " met Sen. Ilves",
    " at 7:15 p.m. Thursday",
    " at 10 a.m. on the quay",
    " before 6 a.m. CET",
    " in the U.S. Senate",
    " on Jan. 12",
    " on Sept. 3, 2021,",
    " for 3.5 percent",
    " of $1.2 billion",
    " at No. 4 Quay Road",
    " with J. R. Ebbesen",
    " and Carl F. Mott",
    ' said "no." and',
    ' asked "Why?" and',
    " waited... and",
    " (see Fig. 2)",
    " with pumps, hoses, etc. and",
    " for Brightwater Ltd. directors",
    " near Mt. Kosciuszko",
    " from the U.K. Treasury",
    " hired by Lund & Co. staff",
    " named Ph.D. students",
    " of 0.25 metres",
    " by 2 p.m. Oct. 9",
]
ENDS = [
    ".",
    "!",
    "?",
    " in the U.S.",
    " at 6 p.m.",
    " by 8 a.m.",
    " for Okoro Inc.",
    " with cranes, barges, etc.",
    ' "It is over."',
    ' "Why?"',
    ' "Enough!"',
    "...",
    " to Washington, D.C.",
    " of 4.5 metres.",
    " (page 3).",
]
SENTENCES = st.builds(
    lambda start, insides, end: start + "".join(insides) + end,
    st.sampled_from(STARTS),
    st.lists(st.sampled_from(INSIDES), max_size=4),
    st.sampled_from(ENDS),
)
LISTED = st.tuples(st.sampled_from(["", "", "1. ", "12. ", "b. ", "(iv). "]), SENTENCES).map("".join)
SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n"])


@st.composite
def passages(draw) -> tuple[str, list[str]]:
    """A passage and its sentences; a list marker starts only a line's first sentence."""
    sentences = [draw(LISTED)]
    text = sentences[0]
    for _ in range(draw(st.integers(0, 7))):
        separator = draw(SEPARATORS)
        sentences.append(draw(LISTED if "\n" in separator else SENTENCES))
        text += separator + sentences[-1]
    return text, sentences


@MANY
@given(passages())
@example(('It left at 6 p.m. "We docked at 9 a.m. Tuesday."', ["It left at 6 p.m.", '"We docked at 9 a.m. Tuesday."']))
@example(
    (
        "It sailed to the U.S. They paid Okoro Inc. \u201cWe won.\u201d",
        ["It sailed to the U.S.", "They paid Okoro Inc.", "\u201cWe won.\u201d"],
    )
)
def test_the_splitter_finds_the_sentences_written(passage):
    text, written = passage
    assert [text[s:e] for s, e, _ in sentence_spans(text)] == written


RANDOM = st.lists(
    st.one_of(
        st.sampled_from(
            STARTS + INSIDES + ENDS + ["\n", "\n\n", " ", ". ", "[1]", " [2]", "A.", "5.", "\u2026", "'", ")"]
        ),
        st.text(st.characters(codec="utf-8"), max_size=6),
    ),
    max_size=40,
).map("".join)


@MANY
@given(st.one_of(passages().map(lambda p: p[0]), RANDOM))
@example("He left at 7:15 p.m. Tuesday.  1. The council met Dr. Nwosu.")
def test_a_sentence_quoted_alone_is_one_sentence(text):
    for s, e, _ in sentence_spans(text):
        assert sentence_spans(text[s:e]) == [(0, e - s, 0)], text[s:e]


@MANY
@given(passages(), st.sampled_from([(" [1]", (1,)), (" [1][2]", (1, 2)), (" [3]", (3,))]))
def test_a_marker_after_a_quoted_sentence_binds_to_it(passage, citation):
    text, _ = passage
    marker, cited = citation
    spans = sentence_spans(text)
    for (s, e, _), following in zip(spans, spans[1:] + [None]):
        quote = text[s:e]
        assert split_sentences(quote + marker) == [(0, len(quote + marker), cited)]
        if following:  # with the next sentence after the marker, as a model writes an answer
            answer = f"{quote}{marker}{text[e : following[1]]}"
            assert split_sentences(answer)[0] == (0, len(quote + marker), cited), answer


# -- PDF line wraps


def test_wrapped_lines_join_and_headings_list_items_and_table_rows_stay_apart():
    long = "The survey of the eastern breakwater found cracks along most of its length, and the board asked"
    lines = [
        "Breakwater Survey 2024",
        long,
        "Capt. Ilse Varga to report by Friday. Divers inspected the footings at 6 a.m.",
        "Tuesday and found them sound; the crest, however, had lost",
        "three of its capping stones.",
        "Recommended work",
        "1. Replace the capping stones.",
        "2. Grout the cracks before winter.",
        "Item Cost",
        "Stones 41000",
        "Grout 9500",
    ]
    assert unwrap("\n".join(lines), set()).split("\n") == [
        "Breakwater Survey 2024",
        (
            f"{long} Capt. Ilse Varga to report by Friday. Divers inspected the footings at 6 a.m. Tuesday and found "
            "them sound; the crest, however, had lost three of its capping stones."
        ),
        "Recommended work",
        "1. Replace the capping stones.",
        "2. Grout the cracks before winter.",
        "Item Cost",
        "Stones 41000",
        "Grout 9500",
    ]


def test_a_line_that_ends_a_sentence_stays_apart_from_a_capitalised_next_line():
    long = "The divers surfaced at noon after checking every footing of the eastern breakwater for damage."
    assert unwrap(f"{long}\nThe crest was worse.", set()) == f"{long}\nThe crest was worse."
    assert unwrap(f"{long[:-1]} in the U.S.\nThey flew home.", set()) == f"{long[:-1]} in the U.S.\nThey flew home."
    assert unwrap("Paragraph one ends here\n\nparagraph two", set()) == "Paragraph one ends here\n\nparagraph two"


def test_hyphenated_breaks_drop_the_hyphen_before_lowercase_unless_the_document_writes_it():
    page = "the recon-\nstruction of the Anglo-\nFrench wall, a well-\nknown COVID-\n19 site, a self\u00ad\nless act"
    joined = "the reconstruction of the Anglo-French wall, a wellknown COVID-19 site, a selfless act"
    assert unwrap(page, set()) == joined
    assert "a well-known COVID" in unwrap(page, {"well-known"})
    assert unwrap("costs rose -\nsharply", set()) == "costs rose - sharply"  # a dash, not a broken word


# Columns that wrap after "p.m." "U.K." "St." and before "U.K." "Co." "Harlow".
@pytest.mark.parametrize("width", [68, 86])
def test_a_wrapped_pdf_paragraph_comes_back_as_the_sentences_written(width):
    from fpdf import FPDF

    paragraph = (
        "The tidal gauge at Port Elsen recorded 4.35 metres at 7:40 p.m. Saturday, the highest since "
        "records began. Dr. Ruth Amankwah of the U.K. Met Office said the surge was expected. "
        '"We warned the harbour master." Sea walls built by Harlow & Co. held, although two '
        "slipways on St. Kilda Road flooded."
    )
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 10, "Storm Surge Report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(width, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, "Actions", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0,
        6,
        "1. Inspect the slipways.\n2. Repaint the gauge.\nThe pumping sta-\ntion restarted at 9 p.m.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    text = extract_pdf(bytes(pdf.output()), "surge.pdf").text
    # A line that ends a sentence keeps its newline (pypdf marks no paragraphs; that one may end one).
    assert [text[s:e] for s, e, _ in sentence_spans(text)] == [
        "Storm Surge Report",
        "The tidal gauge at Port Elsen recorded 4.35 metres at 7:40 p.m. Saturday, the highest since records began.",
        "Dr. Ruth Amankwah of the U.K. Met Office said the surge was expected.",
        '"We warned the harbour master."',
        "Sea walls built by Harlow & Co. held, although two slipways on St. Kilda Road flooded.",
        "Actions",
        "1. Inspect the slipways.",
        "2. Repaint the gauge.",
        "The pumping station restarted at 9 p.m.",
    ]
