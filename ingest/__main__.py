"""python -m ingest PATH... [--store DIR]: add articles to the library."""

import argparse
import sys
from collections import Counter

from rag import Assistant, DossierError
from rag.settings import STORE_ENV, store_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description="Add .txt, .md and .html articles (files or folders) to the library.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (searched recursively)")
    parser.add_argument("--store", default=store_from_env(), help=f"store folder (default: ${STORE_ENV} or data/store)")
    args = parser.parse_args(argv)
    try:
        assistant = Assistant(args.store)
        tally = Counter()
        for r in assistant.iter_ingest(args.paths):
            tally[r.status] += 1
            detail = r.error if r.status == "failed" else f"{r.source} ({r.chunks} chunks)"
            print(f"{r.status:<9} {detail}", flush=True)
    except DossierError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    total = sum(tally.values())
    print(f"{total} files: " + ", ".join(f"{tally[s]} {s}" for s in ("added", "unchanged", "replaced", "failed")))
    return 1 if tally["failed"] or not total else 0


if __name__ == "__main__":
    sys.exit(main())
