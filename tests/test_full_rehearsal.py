"""benchmarks/full_rehearsal.py (issue 19): the GTZAN-shaped stand-in it builds, and its measuring loop."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .conftest import SR, load_script, sine

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rehearsal():
    return load_script(REPO / "benchmarks" / "full_rehearsal.py")


@pytest.fixture
def source(tmp_path):
    """Two genres of three short real-looking clips, plus a linked data set and the feature table."""
    root = tmp_path / "source"
    for genre, base in (("blues", 220.0), ("rock", 330.0)):
        folder = root / "gtzan" / "genres_original" / genre
        folder.mkdir(parents=True)
        for i in range(3):
            sf.write(folder / f"{genre}.{i:05d}.wav", sine(base * (i + 1), 1.5 + i), SR, subtype="PCM_16")
    (root / "echonest").mkdir()
    (root / "echonest" / "table.csv").write_text("a\n1\n")
    (root / "gtzan" / "features_30_sec.csv").write_text("filename\n")
    return root


def test_the_stand_in_has_gtzan_names_lengths_and_no_two_files_alike(rehearsal, source, tmp_path):
    target = rehearsal.build_stand_in(source, tmp_path / "stand-in", per_genre=5, seconds=2.0)
    wavs = sorted((target / "gtzan" / "genres_original").glob("*/*.wav"))
    assert [p.name for p in wavs] == [f"{g}.{i:05d}.wav" for g in ("blues", "rock") for i in range(5)]
    real = [p for p in wavs if p.is_symlink()]
    assert [p.name for p in real] == [f"{g}.{i:05d}.wav" for g in ("blues", "rock") for i in range(3)]
    assert all(p.resolve() == source / "gtzan" / "genres_original" / p.parent.name / p.name for p in real)
    wavs = [p for p in wavs if not p.is_symlink()]  # the mixes
    for path in wavs:
        info = sf.info(path)
        assert (info.samplerate, info.frames, info.channels, info.subtype) == (SR, 2 * SR, 1, "PCM_16")
        y, _ = sf.read(path)
        assert 0.5 < np.abs(y).max() <= 0.91, "mixed to a peak of 0.9"
    assert len({hashlib.sha256(p.read_bytes()).hexdigest() for p in wavs}) == len(wavs)
    assert (target / "echonest").is_symlink() and (target / "gtzan" / "features_30_sec.csv").is_symlink()
    assert not list(target.rglob(".*.tmp")), "no temporary file left"
    # resumable: a second build keeps what exists and writes nothing new
    before = {p: p.stat().st_mtime_ns for p in wavs}
    rehearsal.build_stand_in(source, target, per_genre=5, seconds=2.0)
    assert {p: p.stat().st_mtime_ns for p in wavs} == before


def test_a_mixed_clip_comes_from_its_two_sources(rehearsal):
    rng = np.random.default_rng(0)
    a, b = sine(440.0, 1.0), sine(1000.0, 0.7)
    mix = rehearsal.mixed_clip(a, b, rng, seconds=3.0)
    assert mix.shape == (3 * SR,) and mix.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(mix))
    freqs = np.fft.rfftfreq(len(mix), 1 / SR)
    top = set(np.round(freqs[np.argsort(spectrum)[-2:]], -1))
    assert top == {440.0, 1000.0}


def test_a_notebook_is_measured_and_its_failure_recorded(rehearsal, tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A test\n\nThis one needs a GPU at full size."),
        nbformat.v4.new_code_cell("import os\nassert os.environ['COURSE_FULL'] == '1'\nx = bytearray(50 * 2**20)\n"
                                  "cache = os.environ['COURSE_CACHE_DIR']  # a new, empty cache, removed afterwards\n"
                                  "assert os.path.isdir(cache) and not os.listdir(cache)\n"
                                  "open(os.path.join(cache, 'entry'), 'w').close()"),
    ])
    good = tmp_path / "99_good.ipynb"
    nbformat.write(nb, good)
    row = rehearsal.run_notebook(good, tmp_path, tmp_path / "out", timeout=300)
    assert row["status"] == "ok" and row["needs_gpu"] is True
    assert row["peak_mib"] >= 50 and row["wall_s"] > 0 and row["cpu_s"] > 0
    assert not list(tmp_path.glob("cache-*"))
    nb.cells[1].source = "raise ValueError('broken on purpose')"
    nb.cells[0].source = "# A test"
    bad = tmp_path / "98_bad.ipynb"
    nbformat.write(nb, bad)
    row = rehearsal.run_notebook(bad, tmp_path, tmp_path / "out", timeout=300)
    assert row["status"] == "ok, 1 cell(s) raised" and row["needs_gpu"] is False


def test_a_notebook_that_needs_a_gpu_is_skipped_without_one(rehearsal, tmp_path, monkeypatch):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A test\n\nAt full size this notebook needs a GPU (about 1 minute with one)."),
        nbformat.v4.new_code_cell("print('ran')"),
    ])
    path = tmp_path / "97_gpu.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setattr(rehearsal, "gpu_here", lambda: False)
    row = rehearsal.measure(path, tmp_path, tmp_path / "out", timeout=300)
    assert row["status"].startswith("skipped") and row["needs_gpu"] is True and row["wall_s"] == ""
    assert not (tmp_path / "out" / path.name).exists()  # not run
    row = rehearsal.measure(path, tmp_path, tmp_path / "out", timeout=300, include_gpu=True)
    assert row["status"] == "ok" and row["wall_s"] > 0 and (tmp_path / "out" / path.name).exists()
    monkeypatch.setattr(rehearsal, "gpu_here", lambda: True)
    assert rehearsal.measure(path, tmp_path, tmp_path / "out", timeout=300)["status"] == "ok"


def test_cpu_time_counts_each_process_once(rehearsal, tmp_path):
    """A notebook whose child process burns 6 s of CPU costs about 6 s more than an idle one (not 12 or 18: a reaped
    child's time also appears in its parent's children times, and must not be added again)."""
    import nbformat

    burn = ("import subprocess, sys\n"
            "subprocess.run([sys.executable, '-c', 'import time\\nt = time.process_time()\\n"
            "while time.process_time() - t < 6: pass'], check=True)")
    cpu = {}
    for name, code in (("idle", "x = 1"), ("burn", burn)):
        path = tmp_path / f"95_{name}.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), path)
        row = rehearsal.run_notebook(path, tmp_path, tmp_path / "out", timeout=300)
        assert row["status"] == "ok"
        cpu[name] = row["cpu_s"]
    assert 5 <= cpu["burn"] - cpu["idle"] <= 9.5, cpu  # a kernel's start-up costs a second or two, give or take


def test_a_notebook_that_writes_much_to_stderr_is_not_held_up_and_a_failed_run_says_why(rehearsal, tmp_path):
    """The kernel inherits the rehearsal's standard error: 256 KiB written there must not fill a pipe nobody reads
    (the run would hang until its timeout), and when nbconvert itself fails, its last error line is the status."""
    import nbformat

    loud = tmp_path / "94_loud.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nfor _ in range(64):\n    os.write(2, b'x' * 4095 + b'\\n')")]), loud)
    row = rehearsal.run_notebook(loud, tmp_path, tmp_path / "out", timeout=60)
    assert row["status"] == "ok" and row["wall_s"] < 50, row
    broken = tmp_path / "93_broken.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")],
                                            metadata={"kernelspec": {"name": "no-such-kernel", "display_name": "?"}}),
                   broken)
    row = rehearsal.run_notebook(broken, tmp_path, tmp_path / "out", timeout=60)
    assert row["status"].startswith("failed: ") and "no-such-kernel" in row["status"], row
