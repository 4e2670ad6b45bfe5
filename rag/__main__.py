"""python -m rag ask "QUESTION" [--history FILE.json] | chat  [--store DIR] [--backend NAME] [--json] …:
answer from the library, once or as a conversation in the terminal;
python -m rag serve [--store DIR] [--host H] [--port P] [--api-key KEY …]: the same over HTTP (OpenAI-compatible);
python -m rag mcp [--store DIR]: the library as tools for MCP clients, on stdio."""

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from rag import Answer, Assistant, DossierError, Filters
from rag.answer import named_libraries
from rag.cli import existing_store, quiet_broken_pipe
from rag.recency import day_label
from rag.settings import ANSWERS, CHUNKING, SERVER, STORE, Settings, add_flags, load_settings

HISTORY_SHAPE = '[{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]'
NEW, QUIT = ("/new", ":new"), ("/quit", ":quit", "/exit", ":exit", ":q")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        serving = args.command in ("serve", "mcp")
        history = read_history(args.history) if args.command == "ask" and args.history else []
        filters = None if serving else Filters(args.source, args.author, args.since, args.until, tuple(args.article),
                                                args.include_undated)  # fmt: skip
        settings = load_settings(args)
        if args.command != "serve":  # the HTTP server may start on an empty store: its clients add the articles
            existing_store(settings)
        assistant = Assistant(settings=settings)
        if args.command == "serve":
            return serve(assistant, settings)
        if args.command == "mcp":
            return mcp(assistant)
        if args.command == "chat":
            return chat(assistant, filters, args.json)
        show(assistant, args.question, history, filters, args.json)
    except DossierError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while the model loads or an answer streams
        print(file=sys.stderr)
        return 130
    return 0


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    add = options.add_argument
    add("--json", action="store_true", help="print one JSON object per answer instead of text")
    add("--source", help="only articles from this publisher, or whose path/URL contains this")
    add("--author", help="only articles whose author line contains this")
    add("--since", metavar="YYYY-MM-DD", help="only articles published on or after this date")
    add("--until", metavar="YYYY-MM-DD", help="only articles published on or before this date")
    add(
        "--include-undated",
        action="store_true",
        help="with dates (--since, --until, or in the question), also articles that have no date",
    )
    add(
        "--article",
        action="append",
        default=[],
        metavar="ID",
        help="only this article (repeatable; ids from `python -m ingest list`)",
    )
    add_flags(options, STORE + ANSWERS)
    top = argparse.ArgumentParser(prog="python -m rag", description="Ask the library a question.")
    commands = top.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", parents=[options], help="answer a question with cited passages")
    ask.add_argument("question")
    ask.add_argument(
        "--history", metavar="FILE.json", help=f"the conversation so far, for follow-up questions: {HISTORY_SHAPE}"
    )
    commands.add_parser(
        "chat",
        parents=[options],
        help="a conversation in the terminal: one question per line",
        description=f"Questions one per line; {NEW[0]} starts over, {QUIT[0]} or Ctrl-D leaves.",
    )
    serving = commands.add_parser(
        "serve",
        help="answer over HTTP: an OpenAI-compatible chat API and a library API",
        description="An HTTP server (FastAPI on uvicorn): POST /v1/chat/completions as OpenAI's, the library "
        "under /v1/articles and /v1/search, API docs at /docs. Without API keys it listens on loopback only.",
    )
    # It adds articles too (the library API): the chunk settings and private addresses count.
    add_flags(serving, STORE + CHUNKING + ("allow_private",) + ANSWERS + SERVER)
    mcp_server = commands.add_parser(
        "mcp",
        help="serve the library to MCP clients (Claude Desktop, editors, agents) on stdio",
        description="An MCP server on stdin/stdout, started by the client: the tools search_articles, ask, "
        "list_articles and get_article, and each article as the resource dossier://articles/ID. "
        "`serve` offers the same at /mcp over HTTP.",
    )
    add_flags(mcp_server, STORE + ANSWERS)
    return top


def serve(assistant: Assistant, settings: Settings) -> int:
    import uvicorn

    from rag.server.app import create_app
    from rag.server.auth import READ, is_loopback, parse_keys

    keys = parse_keys(settings.api_keys)  # a malformed key is a one-line error before anything listens
    if not keys and not is_loopback(settings.host):
        raise DossierError(
            f"--host {settings.host} without an API key would let anyone who reaches it read and change the library; "
            "give --api-key KEY (or $DOSSIER_API_KEYS), or keep --host 127.0.0.1"
        )
    app = create_app(assistant, settings.api_keys)
    assistant.embedder.embed_batch(["warm up"])  # the model loads now, not during the first request
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    where = f"http://{host}:{settings.port}"
    print(f"Dossier serves {assistant.library.path} at {where}/v1 (API docs: {where}/docs)", file=sys.stderr)
    if keys:
        readers = sum(scope == READ for scope in keys.values())
        print(f"{len(keys)} API key{'s' * (len(keys) > 1)}, {readers} of them read-only", file=sys.stderr)
    else:
        print(
            "No API keys: listening on loopback only, and every caller may read and change the library; "
            "give --api-key KEY or $DOSSIER_API_KEYS to serve other machines",
            file=sys.stderr,
        )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


def mcp(assistant: Assistant) -> int:
    """Serve MCP on stdio. Stdout carries the protocol only: messages go to stderr, which clients log."""
    from rag.server.mcp_server import mcp_server

    server = mcp_server(assistant)
    assistant.embedder.embed_batch(["warm up"])  # the model loads now, not during the first call
    print(f"Dossier's MCP server on stdio, over {assistant.library.path}", file=sys.stderr)
    server.run("stdio")
    return 0


def read_history(path: str) -> list[dict]:
    """The turns of a --history file: a JSON list of {"role", "content"}, or the chat page's JSON export."""
    fix = f"give a JSON list of turns such as {HISTORY_SHAPE}"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DossierError(f"--history {path}: no such file; {fix}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DossierError(f"--history {path}: cannot read it ({getattr(e, 'strerror', None) or e}); {fix}") from None
    except json.JSONDecodeError as e:
        where = f"line {e.lineno}, column {e.colno}"
        raise DossierError(f"--history {path}: not valid JSON ({where}: {e.msg}); {fix}") from None
    if isinstance(data, dict) and "conversation" in data:
        data = data["conversation"]
    if not isinstance(data, list):
        raise DossierError(f"--history {path}: holds a JSON {type(data).__name__}, not a list; {fix}")
    for n, turn in enumerate(data, 1):
        if not (
            isinstance(turn, dict)
            and turn.get("role") in ("user", "assistant")
            and isinstance(turn.get("content"), str)
        ):
            raise DossierError(
                f'--history {path}: turn {n} is not {{"role": "user" or "assistant", "content": text}}; {fix}'
            )
    return [{"role": turn["role"], "content": turn["content"]} for turn in data]


def chat(assistant: Assistant, filters: Filters, as_json: bool) -> int:
    """Questions from stdin, one a line, each answered with the conversation so far."""
    interactive = sys.stdin.isatty()
    if interactive:
        import readline  # noqa: F401 — line editing, and ↑ brings back earlier questions

        print(f"Ask about the library. {NEW[0]} starts a new conversation; {QUIT[0]} or Ctrl-D leaves.")
    history: list[dict] = []
    try:
        while True:
            try:
                question = input("> " if interactive else "").strip()
            except EOFError:
                if interactive:  # the shell's prompt on a line of its own
                    print()
                return 0
            if not question:
                continue
            if question.lower() in QUIT:
                return 0
            if question.lower() in NEW:
                history = []
                if not as_json:
                    print("(new conversation)\n")
                continue
            if re.fullmatch(r"[/:][a-z]+", question.lower()):
                print(f"error: unknown command {question}; type {NEW[0]} or {QUIT[0]}", file=sys.stderr, flush=True)
                continue
            if not interactive and not as_json:  # a transcript that reads like the terminal session
                print(f"> {question}")
            try:
                answer = show(assistant, question, history, filters, as_json)
            except DossierError as e:
                print(f"error: {e}", file=sys.stderr, flush=True)
                continue
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
            if not as_json:
                print(flush=True)
    except KeyboardInterrupt:  # Ctrl-C leaves, as Ctrl-D does
        print()
        return 0


def show(assistant: Assistant, question: str, history: list[dict], filters: Filters, as_json: bool) -> Answer:
    """Print the checked answer once. On a terminal the answer streams as it is written and
    is then replaced in place by the checked text, when checking changed it."""
    if as_json:
        answer = assistant.ask(question, history, filters)
        print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        return answer
    live = sys.stdout.isatty()
    streamed = ""
    for piece in assistant.stream(question, history, filters):
        if isinstance(piece, Answer):
            answer = piece
        elif live:
            streamed += piece
            print(piece, end="", flush=True)
    if live and answer.text == streamed:
        print()
    else:
        if live:
            print(erase(streamed, shutil.get_terminal_size().columns), end="")
        print(answer.text)
    print_checks(answer)
    print_sources(answer)
    return answer


def erase(text: str, columns: int) -> str:
    """The ANSI codes that take the cursor back to where `text` began printing, at the start of a
    line, and clear from there down: up over the terminal rows its lines filled."""
    rows = sum(max(1, -(-len(line) // max(columns, 1))) for line in text.split("\n"))
    return (f"\x1b[{rows - 1}A" if rows > 1 else "") + "\r\x1b[J"


def print_checks(answer: Answer) -> None:
    """What checking found, one plain line each, and the passages' own answer when the model's falls short."""
    for s in answer.sentences:
        if not s.supported:
            print(f"\nunverified: “{s.text}” — {s.reason}")
        elif s.recited:
            print(f"\nre-cited: “{s.text}” ({s.reason})")
    if answer.dropped:
        print(f"\ndropped {answer.dropped} unverified sentence{'s' if answer.dropped > 1 else ''}")
    if answer.removed_markers:
        removed = ", ".join(f"[{n}]" for n in answer.removed_markers)
        print(f"\nremoved citations to passages that do not exist: {removed}")
    if answer.off_question:
        print("\nThis answer does not address what the question asks.")
    if answer.refusal_contradicted:
        print("\nThe model said the articles don't answer this, but a passage does.")
    if answer.repeated:
        print("\nThe model began repeating itself; its answer was cut at the first repeat.")
    if left_out := answer.trace.get("undated_left_out"):
        print(f"\n{left_out} undated article{'s' * (left_out > 1)} left out by the date: add --include-undated")
    for c in answer.conflicts:
        # Beside a model's answer, what Dossier found; its own answer already says it.
        if f"on {c.about}: " not in answer.text and f"on {c.about} was corrected" not in answer.text:
            sides = "; ".join(f"{v.value} {''.join(f'[{n}]' for n in v.citations)}" for v in c.values)
            print(f"\n{'corrected' if c.correction else 'sources disagree'} on {c.about}: {sides}")
    if answer.from_passages:
        print(f"\nFrom the passages:\n{answer.from_passages.text}")


def print_sources(answer: Answer) -> None:
    citations = list(answer.citations)
    shown = {(c.article_id, c.start, c.end) for c in citations}
    if answer.from_passages:  # its passages not already among the answer's
        citations += [c for c in answer.from_passages.citations if (c.article_id, c.start, c.end) not in shown]
    libraries = named_libraries([c.library for c in citations], answer.trace.get("libraries", []))
    for c in citations:
        # Who reported it and when, then where it is: what a reader weighs a source by, and how to check it.
        credit = " · ".join(filter(None, (c.outlet, c.author, day_label(c.published_at) if c.published_at else None)))
        named = " — ".join(filter(None, (c.title, credit)))
        where = f", library {c.library}" if libraries else ""
        print(f"\n[{c.n}] {named or c.source} — {c.source} (characters {c.start}–{c.end}{where})")
        print("    " + c.text.replace("\n", "\n    "))


if __name__ == "__main__":
    with quiet_broken_pipe():
        sys.exit(main())
