"""Shared fixtures: the real data directory, synthetic signals with known answers."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

SR = 22050


# The longest files (`--durations`), handed to the workers first: with --no-loadscope-reorder (Makefile) pytest-xdist's
# --dist loadfile gives out files in this order, and a long file given out last would run alone at the end while the
# other worker idles (issue 31). Then the other notebooks, their portable copies (`make ci`, the root conftest.py),
# and the unit tests. A notebook and its portable copy write the same files under build/, so the root conftest.py
# lets only one of them run at a time; this order keeps the pair far apart, so that a worker seldom waits for the
# other: 08's copy first of all, 09's copy before 09, 11 before the simulated Colab (which then finds 11's features
# in the shared cache) and before 11's copy. Seconds on two workers (issue 31, fresh-clone runs of 2026-12-07):
# 09 portable 444, 08 portable 342, 11 282, 09 232, 11 portable 215, Colab 206, 08 192, 07 portable 110.
_NB = {"06": "06_classical_ml_on_features", "07": "07_lstm_mfcc_sequences", "08": "08_cnn_on_spectrograms",
       "09": "09_transfer_learning_and_raw_audio", "11": "11_your_own_music"}
LONGEST_FIRST = tuple(f"notebooks/{_NB[n[:2]]}.ipynb{n[2:]}" if n[:2] in _NB else n for n in (
    "09@portable", "08@portable", "11", "09", "tests/test_colab_simulated.py", "11@portable", "08", "07@portable", "06",
    "07", "06@portable", "tests/test_faults.py", "tests/test_unsure.py"))


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def order(item):
        file = item.nodeid.split("::")[0]
        if file in rank:
            return 0, rank[file]
        return (1 if not file.endswith("@portable") else 2) if file.startswith("notebooks/") else 3, 0

    items.sort(key=order)  # stable: within a group, collection order


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened (only if the test used pyplot at all)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def _shared_data() -> Path | None:
    env = os.environ.get("COURSE_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for c in candidates:
        if (c / "gtzan").is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The pre-downloaded data directory ($COURSE_DATA_DIR or ../shared/data)."""
    root = _shared_data()
    if root is None:
        pytest.skip("no pre-downloaded data: set COURSE_DATA_DIR (CI uses ../shared/data)")
    return root


@pytest.fixture
def sr() -> int:
    return SR


def sine(freq: float = 440.0, seconds: float = 2.0, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    """A pure tone."""
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def click_track(bpm: float = 120.0, seconds: float = 10.0, sr: int = SR) -> np.ndarray:
    """Short decaying noise bursts every beat."""
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    rng = np.random.default_rng(0)
    burst = (rng.standard_normal(int(0.01 * sr)) * np.exp(-np.linspace(0, 8, int(0.01 * sr)))).astype(np.float32)
    period = 60.0 / bpm
    for t in np.arange(0, seconds - 0.02, period):
        i = int(t * sr)
        y[i : i + len(burst)] += burst
    return y


@pytest.fixture
def write_wav(tmp_path):
    """Write a signal to a file in tmp_path and return its path."""
    import soundfile as sf

    def _write(y: np.ndarray, name: str = "x.wav", rate: int = SR, **kwargs) -> Path:
        path = tmp_path / name
        data = y.T if np.ndim(y) == 2 else y
        sf.write(path, data, rate, **kwargs)
        return path

    return _write


def dead_pid() -> int:
    """The process id of a process that has ended (what a writer killed with ``kill -9`` leaves behind)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def finishes(call, seconds: float = 20.0):
    """Run ``call`` in a daemon thread: what it returned or raised, or ``"hung"`` after ``seconds``."""
    import threading

    result = []

    def run():
        try:
            result.append(call())
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return result[0] if result else "hung"


def rewrite_metadata(path: Path, **changes) -> None:
    """Change a saved model file's course metadata in place (what a hand-edited file would say)."""
    import json
    import zipfile

    from machinery.modelio import _METADATA_ENTRY

    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    entries[_METADATA_ENTRY] = json.dumps(json.loads(entries[_METADATA_ENTRY]) | changes).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def load_script(path: Path, name: str | None = None):
    """Import a script that is not in a package (``tools/*.py``, ``benchmarks/*.py``) as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name or Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
