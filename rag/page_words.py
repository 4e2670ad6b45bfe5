"""The engine's messages in a web page's words (pure).

A DossierError says "what; fix; …" for the command lines. A web user has no terminal: a fix that names a
flag the chat page has a field for names the field instead, a fix only a terminal can do is handed to whoever
runs Dossier, and other fixes that need a terminal are left out.
"""

import re

SETTINGS = "under Answer settings in the sidebar"
PAGE_WORDS = (
    (r"pass --model (NAME|PATH/TO/MODEL\.gguf)", f"fill in Model, {SETTINGS}"),
    (r"--model and --base-url", f"Model and Server URL, {SETTINGS}"),
    (r"(or|check) --base-url", rf"\1 Server URL, {SETTINGS},"),
    (r"give --chroma-url http://HOST:PORT", f"give Chroma server as http://HOST:PORT, {SETTINGS}"),
    (
        r"(start it with chroma run or fix|check that the server is running \(chroma run\) and) --chroma-url",
        f"check that the server runs, and Chroma server {SETTINGS}",
    ),
    (
        r"add some with: python -m ingest PATH --store \S+( --library \S+)?",
        "load the sample library or add articles in the sidebar",
    ),
    (r"see `python -m ingest list`", "see the Library view"),
    (r"include undated articles with --include-undated", "tick Include undated articles under Filters"),
    # Chunk settings come from the environment the page was started in: the page has no field for them.
    (
        r"re-chunk it once (\([^()]*\)) with `python -m ingest rechunk[^`]*`, or use the settings it was built with",
        r"whoever runs Dossier can re-chunk it once from the command line \1 "
        r"or start the page again with the settings it was built with",
    ),
)
TERMINAL = re.compile(r"python -m |pip install |(?<![\w-])--[a-z]")


def page_message(message: str) -> str:
    """A DossierError's message in the page's words."""
    for pattern, words in PAGE_WORDS:
        message = re.sub(pattern, words, message)
    what, *fixes = message.split("; ")
    return "; ".join([what] + [fix for fix in fixes if not TERMINAL.search(fix)])
