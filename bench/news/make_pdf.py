"""Builds articles/riib-interim-report.pdf, the news set's PDF report.

    .venv/bin/python bench/news/make_pdf.py

The text is laid out the way real reports are: sentences wrap across lines of a
fixed-width multi_cell, a long word that would overflow a line is broken with a
hyphen at one of its marked break points, and a running header and page footer
land between the paragraphs when the text is extracted. The lines are wrapped
here, not by fpdf2, because fpdf2 prefers a space to a soft hyphen and so never
hyphenates this text. The core Helvetica font is Latin-1 only: no curly quotes or dashes.
"""

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

OUT = Path(__file__).parent / "articles" / "riib-interim-report.pdf"
WIDTH = 120  # mm: narrow enough that most paragraphs wrap four or five times
# Where long words may be broken at a line end, as a typesetter's hyphenation dictionary would allow.
HYPHENATED = (
    "em-bank-ment",
    "em-bank-ments",
    "Infra-struc-ture",
    "in-ves-ti-ga-tion",
    "rec-om-men-da-tions",
    "main-te-nance",
    "trans-mit-ting",
    "sat-u-rated",
    "ex-am-i-na-tion",
    "man-u-fac-tur-er",
    "ac-cord-ance",
    "de-rail-ment",
    "over-night",
    "Mon-i-tor-ing",
    "con-fig-ured",
    "block-age",
    "es-tab-lished",
    "pas-sen-gers",
    "pas-sen-ger",
    "emer-gency",
    "in-stru-ment",
    "pre-vi-ous",
    "in-spec-tors",
    "con-sid-ers",
    "di-am-e-ter",
    "con-tin-u-ing",
    "pres-sure",
    "sched-uled",
    "re-cord-ing",
    "re-cord-er",
    "trav-el-ling",
    "col-lapsed",
    "In-spec-tor",
    "ap-plied",
    "high-est",
    "stand-ard",
    "up-stream",
    "an-nounced",
    "de-scribe",
    "know-ing",
    "be-cause",
    "re-port-ing",
    "be-neath",
    "de-fects",
    "line-side",
    "con-trol",
    "com-pa-ny's",
    "in-stalled",
)
BREAKS = {h.replace("-", ""): h.split("-") for h in HYPHENATED}

TITLE = "Derailment of a passenger train near Saltings Junction, 11 March 2025"

SECTIONS = [
    (
        "Summary",
        [
            (
                "At 8:47 a.m. on Tuesday 11 March 2025, the 7:58 a.m. Northvale Rail passenger service from Harwick "
                "Cross to Oldmere derailed about 1.2 miles east of Saltings Junction, where the line runs on an "
                "embankment beside the River Averly. The train ran onto a section of track whose embankment had "
                "been washed away beneath it. Three people died and 27 were injured."
            ),
            (
                "This interim report sets out what the Board has established so far. Our investigation is continuing "
                "and our final report, which will include further recommendations, is expected by the end of October "
                "2025."
            ),
        ],
    ),
    (
        "Foreword by the Chief Inspector",
        [
            (
                "Dr Helena Okafor, Chief Inspector of the Rail Incident Inquiry Board, writes: The embankment at "
                "Saltings did not fail because of one thing. It failed because a drain was allowed to block, because "
                "the instrument meant to warn of that blockage had stopped working without anyone knowing, and "
                "because heavy rain arrived before either was noticed. I would describe it as a chain of small "
                "omissions, none of which would have caused this accident alone."
            ),
        ],
    ),
    (
        "1. Rainfall and the river",
        [
            (
                "The Saltings Marsh rain gauge recorded 48.6 mm of rain in the 12 hours to 6:00 a.m. on 11 March, the "
                "highest 12-hour total there since the gauge was installed in 1994. The River Averly rose by 1.3 "
                "metres overnight. An amber rain warning had been in force since the previous evening."
            ),
        ],
    ),
    (
        "2. The embankment and culvert AVC/17",
        [
            (
                "The embankment at the site was built in 1867 and is about 7 metres high. A brick culvert, reference "
                "AVC/17, 900 mm in diameter and 38 metres long, carries a drainage stream beneath it from north to "
                "south. When the Board's inspectors examined the culvert on 12 March they found it about 70 per cent "
                "blocked by silt, branches and a collapsed section of fencing."
            ),
            (
                "Water ponded against the north side of the embankment to a depth of about 2.1 metres. The Board "
                "considers that the water saturated the fill, raising the pore-water pressure within it, until a "
                "section of embankment about 14 metres long was washed out beneath the track. The washout was up to "
                "3.5 metres deep."
            ),
            (
                "The culvert's last detailed examination took place on 14 August 2019. Vale Infrastructure's "
                "own maintenance standard requires culverts of this type to be examined every three years. At the "
                "time of the accident the examination was therefore about two years and seven months overdue."
            ),
        ],
    ),
    (
        "3. The water-level sensor",
        [
            (
                "In 2021 Vale Infrastructure installed a Kestrel Monitoring Systems TideMark 4 water-level sensor at "
                "the upstream mouth of the culvert. It was configured to raise an alarm in the company's control "
                "centre if the water reached 1.2 metres. The sensor stopped transmitting at 11:06 p.m. on 9 March, "
                "about 34 hours before the derailment. Its final message reported a scheduled maintenance state, "
                "and no alarm was raised. The sensor was running firmware version 3.2.1."
            ),
            (
                "The Board passed its findings on the sensor to the manufacturer on 17 March. Kestrel Monitoring "
                "Systems announced a recall of the affected sensors on 25 March."
            ),
        ],
    ),
    (
        "4. The train and its crew",
        [
            (
                "The train was a four-carriage diesel multiple unit carrying 112 passengers and three crew. Data from "
                "the on-train recorder show that it was travelling at 61 mph, within the line's 70 mph limit. The "
                "driver applied the emergency brake 2.4 seconds before the leading wheels reached the washout. "
                "Because of the curve of the line, the washout could not be seen from the cab until the train was "
                "about 160 metres from it. The Board has found that the driver could not have stopped the train in "
                "time, and that the crew's actions after the derailment were in accordance with the rules."
            ),
        ],
    ),
    (
        "5. Interim recommendations",
        [
            (
                "The Board issued urgent safety advice to Vale Infrastructure on 14 March. It now makes six interim "
                "recommendations, including that Vale Infrastructure should examine every culvert whose "
                "examination is overdue, starting with those beneath embankments on lines carrying passenger trains, "
                "and that owners of TideMark 4 sensors should treat any unit reporting a scheduled maintenance state "
                "that they did not schedule as faulty. The other recommendations concern rainfall alerts, "
                "lineside monitoring and the recording of drainage defects."
            ),
        ],
    ),
]


class Report(FPDF):
    def header(self):
        self.set_font("Helvetica", "I", 8)
        self.cell(
            0, 5, "Rail Incident Inquiry Board  |  Interim report IR 03/2025", align="R", new_x="LMARGIN", new_y="NEXT"
        )
        self.ln(4)

    def footer(self):
        self.set_y(-15)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")


def wrap(pdf: FPDF, text: str) -> list[str]:
    """Greedy line filling; a word with break points that overflows is split at the last point that fits."""
    width = WIDTH - 2 * pdf.c_margin - 1  # 1 mm spare so that multi_cell never wraps a line again
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if pdf.get_string_width(candidate) <= width:
            line = candidate
            continue
        core = word.rstrip(".,:;")
        parts = list(BREAKS.get(core, [core]))
        parts[-1] += word[len(core) :]
        for cut in range(len(parts) - 1, 0, -1):
            head = "".join(parts[:cut]) + "-"
            if line and pdf.get_string_width(f"{line} {head}") <= width:
                lines.append(f"{line} {head}")
                word = "".join(parts[cut:])
                break
        else:
            lines.append(line)
        line = word
    return lines + [line]


def build() -> None:
    pdf = Report(format="A4")
    pdf.set_creation_date(datetime(2025, 4, 2, tzinfo=UTC))  # fixed: a rebuild gives the same bytes
    pdf.set_title(TITLE)
    pdf.set_author("Rail Incident Inquiry Board")
    pdf.set_margins(30, 20, 30)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(WIDTH, 7, "RAIL INCIDENT INQUIRY BOARD\nInterim report IR 03/2025", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(WIDTH, 6, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(WIDTH, 5, "Published 2 April 2025", new_x="LMARGIN", new_y="NEXT")
    for heading, paragraphs in SECTIONS:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 11)
        pdf.multi_cell(WIDTH, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for text in paragraphs:
            pdf.multi_cell(WIDTH, 5, "\n".join(wrap(pdf, text)), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.output(str(OUT))


if __name__ == "__main__":
    build()
