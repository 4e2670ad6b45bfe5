"""python -m rag ask "QUESTION" [--store DIR] [--json]: answer from the library."""

import argparse
import json
import sys

from rag import Answer, Assistant, DossierError, Filters
from rag.settings import STORE_ENV, quiet_broken_pipe, store_from_env


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
    args = parser.parse_args(argv)
    try:
        filters = Filters(args.source, args.author, args.since, args.until, tuple(args.article))
        assistant = Assistant(args.store)
        if args.json:
            print(json.dumps(assistant.ask(args.question, filters=filters).to_dict(), ensure_ascii=False))
            return 0
        for piece in assistant.stream(args.question, filters=filters):
            if isinstance(piece, Answer):
                print_sources(piece)
            else:
                print(piece, end="", flush=True)
    except DossierError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def print_sources(answer: Answer) -> None:
    print()
    for c in answer.citations:
        print(f"\n[{c.n}] {c.title or c.source} — {c.source} (characters {c.start}–{c.end})")
        print("    " + c.text.replace("\n", "\n    "))


if __name__ == "__main__":
    with quiet_broken_pipe():
        sys.exit(main())
