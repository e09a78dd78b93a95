"""pytest, for every run in this repository (the unit tests, the notebooks, both profiles):

- with ``--durations``, also the time each file took (issue 31: where CI's minutes go, by file);
- ``--portable-too`` (with ``--nbval``; ``make ci``): every notebook is collected a second time,
  as ``<path>@portable``, and that copy's kernel starts under ``tools/portable_profile.py``'s
  profile. So one session runs the checks of both ``make test`` and ``make test-portable``, and
  two workers share one queue of files instead of each pass idling a worker at its end (issue 31).
  A notebook and its copy write the same files under ``build/`` (models, figures), so a worker
  holds a lock on the notebook (``build/locks/``) while it runs either one, and the other waits.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
# the suffix of a notebook's second node id: notebooks/NN_name.ipynb@portable::Cell 3
PORTABLE = "@portable"


def pytest_addoption(parser):
    parser.addoption("--portable-too", action="store_true",
                     help="with --nbval: run every notebook a second time, as <path>@portable, "
                          "its kernel under the portable profile (tools/portable_profile.py)")


def portable_environment() -> dict[str, str]:
    """``tools/portable_profile.py``'s profile for this machine (``make test-portable``'s)."""
    script = ROOT / "tools" / "portable_profile.py"
    spec = importlib.util.spec_from_file_location("portable_profile", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.profile()


def pytest_collect_file(file_path, parent):
    config = parent.config
    if file_path.suffix != ".ipynb" or not config.getoption("portable_too"):
        return None
    if not config.getoption("nbval", False):
        return None
    from nbval.plugin import IPyNbFile

    class PortableNotebook(IPyNbFile):
        """A notebook whose kernel starts with the portable profile's variables (the worker
        keeps its own)."""

        def setup(self):
            saved = dict(os.environ)
            os.environ.update(portable_environment())
            try:
                super().setup()  # starts the kernel, which takes a copy of os.environ
            finally:
                os.environ.clear()
                os.environ.update(saved)

    nodeid = file_path.relative_to(config.rootpath).as_posix() + PORTABLE
    return PortableNotebook.from_parent(parent, path=file_path, nodeid=nodeid)


_held: dict[str, object] = {}  # notebook path -> the open lock file this worker holds


def _notebook(item) -> str | None:
    """The notebook (``notebooks/NN_name.ipynb``) an nbval cell item belongs to, or its copy."""
    file = item.nodeid.split("::")[0].removesuffix(PORTABLE)
    return file if file.endswith(".ipynb") else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a notebook's first cell (and so before its kernel starts): wait for its lock."""
    name = _notebook(item)
    if name is None or name in _held or sys.platform == "win32":
        return
    import fcntl

    folder = ROOT / "build" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / (Path(name).stem + ".lock"), "w")
    fcntl.flock(handle, fcntl.LOCK_EX)  # waits while the other worker runs the notebook or its copy
    _held[name] = handle


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a notebook's last cell (its kernel shut down): let the other worker have it."""
    yield
    name, file = _notebook(item), item.nodeid.split("::")[0]
    if name in _held and (nextitem is None or nextitem.nodeid.split("::")[0] != file):
        _held.pop(name).close()  # closing the file releases the lock


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    """After ``--durations``' slowest tests, the 10 slowest files (setup, call and teardown of
    all their tests; with two workers, the sum of the time each worker spent on them)."""
    if not terminalreporter.config.getoption("durations", None):
        return
    seconds = Counter()
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) in ("setup", "call", "teardown"):
                seconds[report.nodeid.split("::")[0]] += report.duration
    if seconds:
        terminalreporter.write_sep("=", f"slowest 10 files (of {len(seconds)}), all their tests")
        for name, total in seconds.most_common(10):
            terminalreporter.write_line(f"{total:8.1f}s {name}")
