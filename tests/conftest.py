"""Shared fixtures: the real data directory, synthetic signals with known answers."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

SR = 22050


# The longest files (`--durations`), handed to the workers first: with --no-loadscope-reorder (Makefile) pytest-xdist's
# --dist loadfile gives out files in collection order, and a long file given out last would run alone at the end
# while the other worker idles (issue 31). The simulated Colab comes after notebook 11, whose features it then
# finds in the shared cache.
LONGEST_FIRST = ("notebooks/09_transfer_learning_and_raw_audio.ipynb", "notebooks/11_your_own_music.ipynb",
                 "tests/test_colab_simulated.py", "notebooks/08_cnn_on_spectrograms.ipynb",
                 "notebooks/07_lstm_mfcc_sequences.ipynb", "notebooks/06_classical_ml_on_features.ipynb")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


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
