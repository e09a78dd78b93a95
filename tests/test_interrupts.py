"""Ctrl-C at any moment of a command is one line and exit status 130, never a traceback (issue 33).

Most of a one-file prediction is start-up: importing NumPy, librosa and TensorFlow. Each command installs its
one-line handler before those imports (``machinery.on_interrupt``), and hands Ctrl-C back to Python once it
can clean up after itself. The tests start the real command and send SIGINT while a given shared library is being
loaded (watched in ``/proc/PID/maps``, so the moment is known, not guessed with a delay).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import load_script
from .test_modelio import _metadata

ROOT = Path(__file__).resolve().parents[1]
NUMPY, TENSORFLOW = "_multiarray_umath", "_pywrap_tensorflow_internal"

pytestmark = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")


def interrupted(args: list[str], loading: str, tmp_path: Path) -> tuple[int, str]:
    """Run ``python args...``, send SIGINT as soon as a mapped file's name contains ``loading``; (status, stderr)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COURSE_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if loading in Path(f"/proc/{proc.pid}/maps").read_text():
                    break
            except OSError:
                pass
            time.sleep(0.002)
        assert proc.poll() is None, f"the command ended before loading {loading}: {proc.communicate()}"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, err


def one_line(err: str, *words: str) -> None:
    assert err.count("\n") == 1 and "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert all(w in err for w in words), err


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    pytest.importorskip("keras")
    from machinery.modelio import save_model
    from helpers.models import build_lstm

    return save_model(build_lstm((130, 13), 3), tmp_path_factory.mktemp("model") / "m.keras", _metadata())


@pytest.mark.parametrize("loading", [NUMPY, TENSORFLOW])
def test_predict(model_file, loading, tmp_path, sr):
    wav = tmp_path / "a.wav"
    import numpy as np
    import soundfile as sf

    sf.write(wav, np.zeros(3 * sr, dtype=np.float32) + 0.1, sr)
    status, err = interrupted(["-m", "machinery.predict", str(wav), "--model", str(model_file)], loading, tmp_path)
    assert status == 130
    one_line(err, "interrupted")


@pytest.mark.parametrize("loading", [NUMPY, TENSORFLOW])
def test_train(loading, tmp_path, data_root):
    out = tmp_path / "m.keras"
    status, err = interrupted(["-m", "machinery.train", "lstm", "--out", str(out), "--data-dir", str(data_root)],
                              loading, tmp_path)
    assert status == 130 and not out.exists() and not list(tmp_path.glob(".*partial*"))
    one_line(err, "interrupted", "nothing was written")


def test_datasets(tmp_path):
    status, err = interrupted(["-m", "machinery.data", "--data-dir", str(tmp_path), "status"], NUMPY, tmp_path)
    assert status == 130
    one_line(err, "interrupted")


@pytest.mark.parametrize("command", ["create", "unpack"])
def test_bundle_at_any_point(command, tmp_path, monkeypatch, capsys):
    bundle = load_script(ROOT / "tools" / "bundle.py")

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle, command, ctrl_c)
    args = ["create", "--out", str(tmp_path / "b.tar")] if command == "create" else ["unpack", str(tmp_path / "b.tar")]
    assert bundle.main(["--data-dir", str(tmp_path), *args]) == 130
    one_line(capsys.readouterr().err, "interrupted")
