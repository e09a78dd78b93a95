"""Command line for the course data: ``python -m helpers.data {status,fetch} ...``.

``status`` prints which data sets are in the data directory, which copy each
is (the published one, checksum verified, or one built here) and where each
comes from, in the order ``fetch`` tries its sources; ``fetch NAME ...`` gets
them (``fetch --make-data`` gets everything ``make data`` should, building
``gtzan/features_30_sec.csv`` from the audio when there is no Kaggle copy).
Exit status: 0 when fine, 1 when a download failed, 2 for usage errors.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .config import data_dir
from .datasets import REGISTRY, fetch, status
from .errors import CourseError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m helpers.data", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="data directory (default: $COURSE_DATA_DIR or <repo>/data)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="show which data sets are present")
    f = sub.add_parser("fetch", help="download data sets")
    f.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(REGISTRY)}")
    f.add_argument("--make-data", action="store_true", help="every data set that 'make data' downloads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = args.data_dir or data_dir()

    if args.command == "status":
        table = status(root)
        print(f"data directory: {root}")
        print(table.drop(columns="sources").to_string())
        print("sources, in the order fetch tries them:")
        for name, sources in table["sources"].items():
            print(f"  {name}: {sources}")
        return 0
    names = list(args.names)
    if args.make_data:
        names += [n for n, d in REGISTRY.items() if d.in_make_data and n not in names]
    if not names:
        parser.error("name at least one data set, or use --make-data")
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    failed = 0
    for name in names:
        try:
            path = fetch(name, root)
            print(f"{name}: ready at {path}")
        except CourseError as exc:
            failed += 1
            print(f"{name}: FAILED: {exc}", file=sys.stderr)
    if args.make_data:
        for d in REGISTRY.values():
            if not d.in_make_data:
                print(f"note: {d.name} ({d.size}) is not part of 'make data': {d.manual or 'python -m helpers.data fetch ' + d.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
