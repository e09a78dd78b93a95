"""tools/numba_warmup.py: it calls every librosa function the course calls, and after it the course's own
feature code compiles nothing new (so parallel kernels only ever load numba's cache)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from .conftest import load_script

REPO = Path(__file__).resolve().parents[1]
warmup = load_script(REPO / "tools" / "numba_warmup.py")

CALL = re.compile(r"\blibrosa\.([a-z_]+(?:\.[a-z_]+)*)\(")


def _course_sources():
    for folder in ("helpers", "machinery", "benchmarks", "tools"):
        for path in sorted((REPO / folder).glob("*.py")):
            yield path, path.read_text(encoding="utf-8")
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        yield path, "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def test_the_warmup_calls_every_librosa_function_the_course_calls():
    called = {(path.name, name) for path, text in _course_sources() for name in CALL.findall(text)}
    assert len({name for _, name in called}) > 20  # the pattern finds the course's calls at all
    missing = sorted((name, where) for where, name in called if name not in warmup.CALLS)
    assert not missing, f"add these to tools/numba_warmup.py's CALLS: {missing}"


def test_the_pattern_would_catch_a_new_call():
    assert CALL.findall("S = librosa.feature.stack_memory(x)\nlibrosa.sequence.dtw(X=a)") == [
        "feature.stack_memory", "sequence.dtw"]
    assert "feature.stack_memory" not in warmup.CALLS


COURSE_CODE = """
import numpy as np
from helpers.features import gtzan_feature_vector
from helpers.models import BASELINE_SPEC, CNN_SPEC, MFCC_SPEC, TRANSFER_SPEC, segment_features
LOGMEL_SPEC = {"type": "logmel", "n_mels": 128}
from helpers.pretrained import MUSICNN_SR
rng = np.random.default_rng(0)
for dtype in (np.float32, np.float64):
    y = (0.1 * rng.standard_normal(3 * 22050)).astype(dtype)
    y[::11025] += 0.8
    gtzan_feature_vector(y, 22050)
    for spec in (MFCC_SPEC, LOGMEL_SPEC, CNN_SPEC, BASELINE_SPEC):
        segment_features(y[np.newaxis].astype(np.float32), 22050, spec)
    segment_features(y[np.newaxis, :47872].astype(np.float32), MUSICNN_SR, TRANSFER_SPEC)
"""


def _compiled(cache: Path) -> set[str]:
    return {str(p.relative_to(cache)) for p in cache.rglob("*.nbc")}


def test_after_the_warmup_the_course_code_compiles_nothing(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "tools" / "numba_warmup.py")], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.fullmatch(r"numba warm-up: \d+ librosa functions on float32 and float64 in \d+ s\n", done.stdout)
    before = _compiled(tmp_path / "numba")
    assert len(before) >= 10  # the warm-up really compiled into this cache (beat tracking, onsets, zero crossings...)

    again = subprocess.run([sys.executable, "-c", COURSE_CODE], env=env, cwd=REPO, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    new = sorted(_compiled(tmp_path / "numba") - before)
    assert not new, f"the course's code compiled numba functions the warm-up did not: {json.dumps(new)}"
