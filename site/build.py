"""Build the course website into build/site/ from the committed, executed notebooks (nothing is run again).

    python site/build.py                 # what `make site` runs: build/site/index.html
    python site/build.py --out DIR       # somewhere else (the tests build into a temporary folder)

The pages are made by Sphinx with myst-nb and the book theme (``site/conf.py``; the ``docs`` extra of
pyproject.toml). This script lays out their sources in ``build/site-src/``: the home page from
``site/index.md`` with the notebook table filled in, the notebooks with their "Open in Colab" badge turned
into local links (no image is fetched from another site), ``notebooks/results.md`` and, when they exist,
``GLOSSARY.md`` and ``WORKSHOP.md``. The Colab and download addresses come from ``tools/colab_cell.py``,
the same address as the notebooks' Colab cells.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]
import colab_cell  # noqa: E402  (tools/ is not a package)
from machinery.store import write_atomic  # noqa: E402

OPTIONAL_PAGES = ("GLOSSARY.md", "WORKSHOP.md")
NOT_STATED = "not stated yet"


def links(*, repo: str, path: str) -> tuple[str, str]:
    """The "Open in Colab" and "Download notebook" addresses of the notebook at ``path`` (repository-relative)."""
    colab = colab_cell.badge(repo, path).rsplit("](", 1)[1].rstrip(")")
    return colab, f"https://github.com/{repo}/raw/main/{path}"


def _opening_field(text: str, name: str) -> str:
    """The text after ``**Name:**`` in a notebook's opening, up to the next bold label or blank line."""
    match = re.search(rf"\*\*{name}:\*\*\s*(.*?)(?=\s*\*\*[A-Z][a-z]+:\*\*|\n\s*\n|$)", text, flags=re.S)
    return " ".join(match.group(1).split()) if match else NOT_STATED


def notebook_rows(root: Path = ROOT) -> list[dict]:
    """Number, title, time and prerequisites of each notebook, read from its first markdown cells."""
    rows = []
    for path in colab_cell.notebooks(root):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        opening = "\n\n".join("".join(c["source"]) for c in cells[:4] if c["cell_type"] == "markdown")
        title = re.search(r"^# (.+)$", opening, flags=re.M)
        rows.append({"path": path, "number": path.name[:2], "title": title.group(1).strip() if title else path.stem,
                     "time": _opening_field(opening, "Time"),
                     "prerequisites": _opening_field(opening, "Prerequisites")})
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def home_page(root: Path, rows: list[dict], extra: list[str]) -> str:
    """site/index.md with its markers replaced by the notebook table, the workshop line and the table of contents."""
    repo = colab_cell.current_repo(root)
    table = ["| # | notebook | time | before this | |", "|---|---|---|---|---|"]
    for row in rows:
        colab, _ = links(repo=repo, path=f"notebooks/{row['path'].name}")
        title = row["title"].split("·", 1)[-1].strip()
        table.append(f"| {row['number']} | [{_cell(title)}](notebooks/{row['path'].name}) | {_cell(row['time'])} "
                     f"| {_cell(row['prerequisites'])} | [Colab]({colab}) |")
    workshop = ("The [workshop guide](WORKSHOP.md) says how a session runs and what to prepare."
                if "WORKSHOP.md" in extra else "")
    toc = ["```{toctree}", ":hidden:", ":caption: Notebooks", ""]
    toc += [f"notebooks/{row['path'].stem}" for row in rows] + ["```", "", "```{toctree}", ":hidden:",
                                                                 ":caption: Reference", "", "notebooks/results"]
    toc += [Path(page).stem for page in extra] + ["```"]
    text = (root / "site" / "index.md").read_text(encoding="utf-8")
    for marker, value in (("notebook-table", "\n".join(table)), ("workshop", workshop), ("toc", "\n".join(toc))):
        text = text.replace(f"<!-- {marker} -->", value)
    return text


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds it, so that Sphinx rebuilds only the pages that changed."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_atomic(path, text)


def stage(*, src: Path, root: Path = ROOT) -> list[str]:
    """Lay out the site's sources in ``src``; returns the optional pages that exist (GLOSSARY.md, WORKSHOP.md)."""
    repo = colab_cell.current_repo(root)
    rows = notebook_rows(root)
    extra = [name for name in OPTIONAL_PAGES if (root / name).is_file()]
    wanted = {"index.md", "notebooks/results.md", *extra, *(f"notebooks/{r['path'].name}" for r in rows)}
    for old in [p for p in src.rglob("*") if p.is_file()] if src.exists() else []:
        if old.relative_to(src).as_posix() not in wanted:
            old.unlink()
    _write_if_changed(src / "index.md", home_page(root, rows, extra))
    _write_if_changed(src / "notebooks" / "results.md", (root / "notebooks" / "results.md").read_text(encoding="utf-8"))
    for name in extra:
        _write_if_changed(src / name, (root / name).read_text(encoding="utf-8"))
    for row in rows:
        path = row["path"]
        colab, download = links(repo=repo, path=f"notebooks/{path.name}")
        nb = json.loads(path.read_text(encoding="utf-8"))
        first = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
        bar = f"[Open in Colab]({colab}){{.course-link}} [Download notebook]({download}){{.course-link}}"
        source = "".join(first["source"])
        first["source"] = colab_cell.BADGE_RE.sub(bar, source) if colab_cell.BADGE_RE.search(source) \
            else bar + "\n\n" + source
        _write_if_changed(src / "notebooks" / path.name, json.dumps(nb, ensure_ascii=False, indent=1) + "\n")
    return extra


def build(*, out: Path, src: Path | None = None, root: Path = ROOT, quiet: bool = True) -> int:
    """Stage the sources and run Sphinx's HTML builder into ``out``; returns Sphinx's exit status."""
    from sphinx.cmd.build import build_main

    src = src or out.parent / f"{out.name}-src"
    stage(src=src, root=root)
    args = ["-b", "html", "-c", str(root / "site"), "-d", str(src.parent / f"{out.name}-doctrees"), str(src), str(out)]
    return build_main((["-q"] if quiet else []) + args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the course website from the executed notebooks.")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="output folder (default build/site)")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError as exc:
        print(f"site/build.py: {exc.name} is missing; install the docs extra: pip install -e '.[docs]'", file=sys.stderr)
        return 2
    status = build(out=args.out.resolve(), quiet=not args.verbose)
    if status == 0:
        print(f"website: {args.out / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
