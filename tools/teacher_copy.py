"""Write the teacher's copy of the notebooks: every solution inline, as a code cell before its check, executed.

The committed notebooks are the learner's copy: each exercise has a cell to fill in, a check that says "no
answer yet" until then, and the solution collapsed below the check (a markdown block, never run by Run All).
For the person running a workshop this writes ``build/teacher/NN_*.ipynb`` with each solution turned back into a
code cell just before its check, so Run All answers every exercise ("right"), and the outputs are stored.

    python tools/teacher_copy.py                       # every notebook with exercises, executed
    python tools/teacher_copy.py notebooks/02_*.ipynb --no-execute
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.check import SOLUTION_CODE  # noqa: E402
from machinery.store import atomic_path  # noqa: E402


def teacher_copy(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """The notebook with each collapsed solution as a code cell just before its check; and how many there were."""
    cells, moved = [], 0
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "solution" in cell.metadata.get("tags", []):
            code = SOLUTION_CODE.search(cell.source)
            check = cells.pop()  # the check cell comes just before its solution block
            if code is None or not check.source.startswith("check.exercise("):
                raise ValueError(f"a solution block without code or without its check before it: {cell.source[:80]!r}")
            solution = nbformat.v4.new_code_cell(code.group(1).rstrip("\n"), metadata={"tags": ["solution"]})
            cells += [solution, check]
            moved += 1
        else:
            cells.append(cell)
    copy = nbformat.from_dict(dict(nb))
    copy.cells = cells
    return copy, moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "teacher")
    parser.add_argument("--no-execute", action="store_true", help="write the copies without running them")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        try:
            copy, moved = teacher_copy(nbformat.read(path, as_version=4))
        except (OSError, ValueError) as exc:
            print(f"teacher_copy: {path}: {exc}", file=sys.stderr)
            return 1
        if not moved:
            continue
        if not args.no_execute:
            from nbclient import NotebookClient

            os.environ.setdefault("COURSE_NO_WIDGETS", "1")  # nbclient can hang on an interact cell
            NotebookClient(copy, timeout=1800, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        target = args.out / path.name
        with atomic_path(target) as partial:  # never a half-written copy
            nbformat.write(copy, partial)
        print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: {moved} solutions inline"
              + ("" if args.no_execute else ", executed"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
