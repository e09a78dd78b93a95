"""The Colab setup cell: identical in every notebook, inert off Colab, badges made from its one address."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from .conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "colab_cell.py"


@pytest.fixture(scope="module")
def cc():
    return load_script(SCRIPT)


def setup_cells(root: Path) -> dict[str, str]:
    cells = {}
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found = [c.source for c in nb.cells if c.cell_type == "code" and "google.colab" in c.source]
        assert len(found) == 1, f"{path.name}: {len(found)} Colab setup cells"
        cells[path.name] = found[0]
    return cells


def test_one_identical_setup_cell_in_every_notebook(cc):
    cells = setup_cells(ROOT)
    assert len(cells) == 12
    assert set(cells.values()) == {cc.CELL.format(repo=cc.current_repo())}


def test_badges_and_cells_are_in_step():
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_notebook_and_the_readme_table_have_a_badge(cc):
    repo = cc.current_repo()
    readme = (ROOT / "README.md").read_text()
    for path in cc.notebooks():
        link = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{path.name}"
        assert link in readme, f"README has no Colab badge for {path.name}"
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        assert first.source.startswith(cc.BADGE) and link in first.source.splitlines()[0]


def test_a_fork_gets_every_address_rewritten(tmp_path, cc):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("*.md"))
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    old = cc.current_repo()
    done = subprocess.run([sys.executable, str(SCRIPT), "--repo", "https://github.com/someone/my-course.git",
                           "--root", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "13 file(s) changed" in done.stdout
    texts = [p.read_text() for p in [tmp_path / "README.md", *(tmp_path / "notebooks").glob("*.ipynb")]]
    assert not any(old in t for t in texts)
    assert set(setup_cells(tmp_path).values()) == {cc.CELL.format(repo="someone/my-course")}
    again = subprocess.run([sys.executable, str(SCRIPT), "--check", "--root", str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0


def test_a_bad_repository_name_is_refused():
    done = subprocess.run([sys.executable, str(SCRIPT), "--repo", "not a repo", "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "is not OWNER/NAME" in done.stderr


def test_the_cell_does_nothing_off_colab(cc, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    before, cwd = dict(os.environ), os.getcwd()
    exec(cc.CELL.format(repo="x/y"), {})
    assert calls == [] and dict(os.environ) == before and os.getcwd() == cwd


def test_a_failed_step_stops_with_one_sentence(cc, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    monkeypatch.setenv("COURSE_HOME", str(tmp_path / "course"))
    monkeypatch.setenv("COURSE_REPO_URL", str(tmp_path / "no-such-repo"))
    with pytest.raises(SystemExit) as stop:
        exec(cc.CELL.format(repo="x/y"), {})
    message = str(stop.value)
    assert message.startswith(f"Colab setup: cloning {tmp_path / 'no-such-repo'} into {tmp_path / 'course'} failed (")
    assert "set COURSE_REPO_URL for a fork" in message and "\n" not in message
