"""The Colab setup cell, the same in every notebook, and the "Open in Colab" badges made from one address.

    python tools/colab_cell.py                           # write the cell and the badges (after editing CELL)
    python tools/colab_cell.py --repo OWNER/NAME         # point everything at a fork (make fork REPO=OWNER/NAME)
    python tools/colab_cell.py --check                   # exit 1 if a notebook or the README is out of step

The repository address is written once, in the cell (``COURSE_REPO_URL`` overrides it at run time); the
badges in the README's notebook table and in each notebook's first markdown cell are made from it.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPO = "waveforms-to-genres/course"
MARKER = "# Colab setup, the same cell in every notebook"
CELL = '''\
# Colab setup, the same cell in every notebook: on Google Colab it installs the course and its dependencies
# (keeping Colab's own TensorFlow) and lets the loaders download each data set the first time this notebook
# needs it, into one folder for the whole runtime. Anywhere else it does nothing.
import os, subprocess, sys
if "google.colab" in sys.modules:
    REPO = os.environ.get("COURSE_REPO_URL", "https://github.com/{repo}")
    HOME = os.environ.get("COURSE_HOME", "/content/course")

    def _setup_step(what, command, advice):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise SystemExit(f"Colab setup: {{what}} failed ({{reason}}). {{advice}}")

    if not os.path.isdir(os.path.join(HOME, "helpers")):
        _setup_step(f"cloning {{REPO}} into {{HOME}}", ["git", "clone", "--depth", "1", "--quiet", REPO, HOME],
                    "Check the address (set COURSE_REPO_URL for a fork) and that the runtime is online, then run this cell again.")
    _setup_step("installing the course", [sys.executable, "-m", "pip", "install", "--quiet", "-e", HOME],
                "Run this cell again; if it fails twice, use Runtime > Disconnect and delete runtime, and start over.")
    sys.path.insert(0, HOME)
    os.chdir(os.path.join(HOME, "notebooks"))
    os.environ.setdefault("COURSE_DATA_DIR", os.path.join(HOME, "data"))  # one data folder for every notebook
    from machinery.data import fetch_when_missing
    fetch_when_missing()  # from here a loader downloads a missing data set (checksums verified) once\
'''
BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
                      r"\(https://colab\.research\.google\.com/github/[^)\s]+\)")


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def current_repo(root: Path = ROOT) -> str:
    """The OWNER/NAME written in the Colab cell of notebook 00."""
    nb = nbformat.read(notebooks(root)[0], as_version=4)
    cell = next((c for c in nb.cells if c.cell_type == "code" and c.source.startswith(MARKER)), None)
    match = re.search(r'"COURSE_REPO_URL", "https://github\.com/([^"]+)"', cell.source) if cell else None
    return match.group(1) if match else DEFAULT_REPO


def badge(repo: str, path: str) -> str:
    return f"{BADGE}(https://colab.research.google.com/github/{repo}/blob/main/{path})"


def render(root: Path, repo: str) -> dict[Path, str]:
    """The new text of every file the address appears in."""
    out = {}
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        setup = next((c for c in code if c.source.startswith(("# Colab setup", MARKER))), None)
        if setup is None:
            raise SystemExit(f"{path.name}: no Colab setup cell (a code cell starting with '# Colab setup')")
        setup.source = CELL.format(repo=repo)
        first = next(c for c in nb.cells if c.cell_type == "markdown")
        line = badge(repo, f"notebooks/{path.name}")
        first.source = BADGE_RE.sub(line, first.source) if BADGE_RE.search(first.source) else line + "\n\n" + first.source
        out[path] = nbformat.writes(nb) + "\n"
    readme = (root / "README.md").read_text()
    def _row(m: re.Match) -> str:
        name = m.group(2)
        return f"| {m.group(1)} | `{name}` | {badge(repo, f'notebooks/{name}.ipynb')} |"
    readme = re.sub(r"^\| (\d\d) \| `([0-9]{2}_\w+)` \|(?: \[!\[Open In Colab\][^|]*\|)?", _row, readme, flags=re.M)
    readme = re.sub(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/main/notebooks/",
                    f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/", readme)
    out[root / "README.md"] = readme
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="OWNER/NAME on GitHub (default: the address in the cell now)")
    parser.add_argument("--check", action="store_true", help="only check that every file is in step")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repo = (args.repo or current_repo(args.root)).removeprefix("https://github.com/").removesuffix(".git").strip("/")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        print(f"error: {repo!r} is not OWNER/NAME", file=sys.stderr)
        return 2
    stale = [p for p, text in render(args.root, repo).items() if p.read_text() != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(args.root)}: Colab cell or badge out of step (run python tools/colab_cell.py)")
        return 1 if stale else 0
    for p, text in render(args.root, repo).items():
        if p in stale:
            p.write_text(text)
    print(f"Colab cell and badges point at https://github.com/{repo} ({len(stale)} file(s) changed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
