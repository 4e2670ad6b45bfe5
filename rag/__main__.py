"""python -m rag ask "QUESTION" [--store DIR] [--backend NAME] [--json]: answer from the library."""

import argparse
import json
import sys

from rag import Answer, Assistant, DossierError, Filters
from rag.backends import BACKENDS
from rag.settings import STORE_ENV, quiet_broken_pipe, settings_from_env, store_from_env
from vectorstore.embedder import RUNTIMES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Ask the library a question.")
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question")
    ask.add_argument("--store", default=store_from_env(), help=f"store folder (default: ${STORE_ENV} or data/store)")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ask.add_argument("--source", help="only articles from this publisher, or whose path/URL contains this")
    ask.add_argument("--author", help="only articles whose author line contains this")
    ask.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on or after this date")
    ask.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published on or before this date")
    ask.add_argument("--article", action="append", default=[], metavar="ID", help="only this article (repeatable; ids from `python -m ingest list`)")
    ask.add_argument("--backend", choices=BACKENDS, help="who writes the answer (default: $DOSSIER_BACKEND or extractive)")
    ask.add_argument("--model", help="model name on the server (openai), or a .gguf file (llamacpp); default: $DOSSIER_MODEL")
    ask.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 (default: $DOSSIER_BASE_URL or OpenAI); key in $OPENAI_API_KEY")
    ask.add_argument("--timeout", type=float, help="seconds the model may take (default: 120)")
    ask.add_argument("--strict", action="store_true", help="drop sentences that no cited passage supports")
    ask.add_argument("--encoder", choices=RUNTIMES, help="MiniLM's runtime (default: $DOSSIER_ENCODER or auto: ONNX for questions)")
    ask.add_argument("--chroma-url", metavar="URL", help="a Chroma server holding the library (default: $DOSSIER_CHROMA_URL or none: the store folder)")
    args = parser.parse_args(argv)
    try:
        filters = Filters(args.source, args.author, args.since, args.until, tuple(args.article))
        settings = settings_from_env(backend=args.backend, model=args.model, base_url=args.base_url, timeout=args.timeout, strict=args.strict or None,
                                    encoder=args.encoder, chroma_url=args.chroma_url)
        assistant = Assistant(args.store, settings)
        if args.json:
            print(json.dumps(assistant.ask(args.question, filters=filters).to_dict(), ensure_ascii=False))
            return 0
        streamed = ""
        for piece in assistant.stream(args.question, filters=filters):
            if isinstance(piece, Answer):
                if piece.text != streamed:  # citations Dossier added to sentences the model left uncited
                    print(f"\n\nWith citations checked:\n{piece.text}", end="")
                print_sources(piece)
            else:
                streamed += piece
                print(piece, end="", flush=True)
    except DossierError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def print_sources(answer: Answer) -> None:
    print()
    for i in answer.unsupported:
        print(f"\nunverified: “{answer.sentences[i].text}” — {answer.sentences[i].reason}")
    if answer.removed_markers:
        print(f"\nremoved citations to passages that do not exist: {', '.join(f'[{n}]' for n in answer.removed_markers)}")
    for c in answer.citations:
        print(f"\n[{c.n}] {c.title or c.source} — {c.source} (characters {c.start}–{c.end})")
        print("    " + c.text.replace("\n", "\n    "))


if __name__ == "__main__":
    with quiet_broken_pipe():
        sys.exit(main())
