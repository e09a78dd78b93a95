"""helpers.config: data directory, build/cache folders, seeds, TensorFlow import, atomic writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import config
from machinery import extract, store

from .conftest import dead_pid


def test_data_dir_default_is_repo_data(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    assert config.data_dir() == config.REPO_ROOT / "data"


def test_data_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert config.data_dir() == tmp_path.resolve()


def test_data_dir_blank_environment_falls_back(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", "  ")
    assert config.data_dir() == config.REPO_ROOT / "data"


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "c"))
    path = store.cache_dir("features")
    assert path == (tmp_path / "c" / "features").resolve() and path.is_dir()


def test_digest_follows_content_dtype_and_shape():
    a = np.arange(6, dtype=np.float32)
    assert store.digest(a) == store.digest(a.copy()) == store.digest(np.arange(6, dtype=np.float32))
    assert len({store.digest(a), store.digest(a.astype(np.float64)), store.digest(a.reshape(2, 3)),
                store.digest(a + 1), store.digest("a"), store.digest("a", a)}) == 6
    assert store.digest(np.array(["x", "y"], dtype=object)) == store.digest(np.array(["x", "y"]))


def test_cached_computes_once_per_key_and_recomputes_what_is_damaged(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    calls = []

    def compute(n):
        calls.append(n)
        return {"x": np.arange(n, dtype=np.float32), "names": np.array(["a", "b"])}

    first = store.cached("demo", {"n": 3}, lambda: compute(3))
    again = store.cached("demo", {"n": 3}, lambda: compute(3))
    assert calls == [3] and np.array_equal(again["x"], first["x"]) and again["names"].tolist() == ["a", "b"]
    assert store.cached("demo", {"n": 4}, lambda: compute(4))["x"].shape == (4,) and calls == [3, 4]
    entries = sorted((tmp_path / "demo").glob("*.npz"))
    assert len(entries) == 2 and not list((tmp_path / "demo").glob(".*"))  # no partial file left
    other = entries[1].read_bytes()
    entries[0].write_bytes(other)  # a well-formed entry of another key
    entries[1].write_bytes(other[: len(other) // 2])  # cut short
    store.cached("demo", {"n": 3}, lambda: compute(3))
    store.cached("demo", {"n": 4}, lambda: compute(4))
    assert calls == [3, 4, 3, 4] and caplog.text.count("unreadable cache") == 2
    assert store.cached("demo", {"n": 3}, lambda: compute(3))["x"].shape == (3,) and len(calls) == 4  # rewritten


def test_cached_without_a_usable_folder_still_computes(monkeypatch, tmp_path, caplog):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "file"))
    assert store.cached("demo", 1, lambda: {"x": np.ones(2)})["x"].tolist() == [1.0, 1.0]
    assert "cannot be used" in caplog.text


def test_in_workers_runs_the_first_call_here_and_the_others_in_workers():
    """The warm-up before the workers (numba/numba#10128), and every call's result under its index."""
    calls = [(i,) for i in range(4)]
    pooled = dict(extract.in_workers(_pid_and_square, calls, n_jobs=2))
    assert sorted(pooled) == [0, 1, 2, 3] and [v[1] for _, v in sorted(pooled.items())] == [0, 1, 4, 9]
    assert pooled[0][0] == os.getpid() and all(pooled[i][0] != os.getpid() for i in (1, 2, 3))
    here = list(extract.in_workers(_pid_and_square, calls, n_jobs=1))
    assert [i for i, _ in here] == [0, 1, 2, 3] and {pid for _, (pid, _) in here} == {os.getpid()}
    assert list(extract.in_workers(_pid_and_square, [], n_jobs=2)) == []
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # no idle pool left behind to time out under a later test's jobs


def _pid_and_square(x):
    return os.getpid(), x * x


def test_full_run_flag(monkeypatch):
    monkeypatch.delenv("COURSE_FULL", raising=False)
    assert config.full_run() is False
    for value in ("1", "true", "YES"):
        monkeypatch.setenv("COURSE_FULL", value)
        assert config.full_run() is True
    monkeypatch.setenv("COURSE_FULL", "0")
    assert config.full_run() is False


def test_seed_everything_makes_numpy_repeatable():
    config.seed_everything(7)
    a = np.random.rand(3)
    config.seed_everything(7)
    assert np.array_equal(a, np.random.rand(3))


def test_import_helpers_has_no_side_effects(tmp_path):
    """A fresh interpreter: importing helpers (and every loader module) sets no environment variable,
    leaves librosa's example cache where librosa put it, and does not load TensorFlow."""
    code = (
        "import os, sys, importlib, json\n"
        "before = dict(os.environ)\n"
        "import librosa\n"
        "f = importlib.import_module('librosa.util.files'); path = str(getattr(f, '__GOODBOY').path)\n"
        "import helpers, helpers.datasets, helpers.audio, helpers.features\n"
        "print(json.dumps({'env': dict(os.environ) == before, 'librosa': str(getattr(f, '__GOODBOY').path) == path,\n"
        "                  'tensorflow': 'tensorflow' in sys.modules}))\n"
    )
    env = {"COURSE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"env": True, "librosa": True, "tensorflow": False}


def test_librosa_example_reads_the_data_dir_without_changing_anything(data_root, monkeypatch):
    from helpers.datasets import librosa_example

    monkeypatch.setenv("COURSE_DATA_DIR", str(data_root))
    before = dict(os.environ)
    path = librosa_example("trumpet")
    assert Path(path).is_file() and Path(path).parent == data_root / "librosa"
    assert dict(os.environ) == before


def _run_python(code: str, *, env_extra: dict | None = None, path: Path | None = None) -> subprocess.CompletedProcess:

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(env_extra or {})
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_import_tensorflow_keeps_start_up_lines_out(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("import os\nos.write(2, b'I0000 port.cc:153] oneDNN custom operations are on\\n')\n")
    plain = _run_python("import tensorflow", path=tmp_path)
    assert "oneDNN" in plain.stderr  # what a plain import lets through
    quiet = _run_python("from helpers.config import import_tensorflow\ntf = import_tensorflow()\n"
                        "import os, sys\nprint(tf.__name__, os.environ['TF_CPP_MIN_LOG_LEVEL'])\n"
                        "print('stderr still works', file=sys.stderr)", path=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.split() == ["tensorflow", "3"]
    assert quiet.stderr == "stderr still works\n"


def test_import_tensorflow_gives_back_what_a_failed_import_wrote(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("import os\nos.write(2, b'libtensorflow.so: cannot open shared object\\n')\n"
                                      "raise ImportError('broken install')\n")
    done = _run_python("from helpers.config import import_tensorflow\nimport_tensorflow()", path=tmp_path)
    assert done.returncode == 1
    assert "libtensorflow.so: cannot open shared object" in done.stderr and "ImportError: broken install" in done.stderr


def test_import_tensorflow_respects_a_log_level_already_set(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    done = _run_python("import os\nfrom helpers.config import import_tensorflow\nimport_tensorflow()\n"
                       "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])", env_extra={"TF_CPP_MIN_LOG_LEVEL": "1"}, path=tmp_path)
    assert done.stdout.strip() == "1"


def test_build_dir_is_created_under_the_repository():
    path = config.build_dir("test-config-probe")
    try:
        assert path == config.REPO_ROOT / "build" / "test-config-probe" and path.is_dir()
    finally:
        path.rmdir()


def test_write_atomic_replaces_whole_files_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "table.csv"
    assert store.write_atomic(target, "a,b\n") == target and target.read_text() == "a,b\n"
    store.write_atomic(target, b"c,d\n")
    assert target.read_bytes() == b"c,d\n"

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.write_atomic(target, "half")
    assert target.read_text() == "c,d\n"  # the previous file is untouched
    assert [p.name for p in target.parent.iterdir()] == ["table.csv"]


def test_atomic_path_renames_on_success_and_removes_on_error(tmp_path):
    """The one atomic write (issue 32): what a library writes to the temporary name appears whole, or not at all."""
    target = tmp_path / "new" / "model.keras"
    with store.atomic_path(target, suffix=".keras") as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".model.keras.") and tmp.name.endswith(".keras")
        assert not target.exists()
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    for fill in (lambda t: t.write_bytes(b"half"), lambda t: (t.mkdir(), (t / "inner").write_text("half"))):
        with pytest.raises(KeyboardInterrupt), store.atomic_path(target) as tmp:
            fill(tmp)
            raise KeyboardInterrupt
        assert target.read_bytes() == b"whole" and sorted(p.name for p in target.parent.iterdir()) == ["model.keras"]


def test_partial_files_of_killed_writers_are_removed_by_the_next_write(tmp_path):
    """A writer killed mid-write leaves .NAME.PID.partial*; the next write of NAME removes it (issue 33)."""
    target = tmp_path / "table.csv"
    gone = dead_pid()
    killed = tmp_path / f".table.csv.{gone}.partial-k1ll3d"
    running = tmp_path / f".table.csv.{os.getpid()}.partial-busy"  # a writer that still runs: left alone
    other = tmp_path / f".other.csv.{gone}.partial"  # another file's: not this write's business
    for p in (killed, running, other):
        p.write_text("half")
    assert store.partial_name(target).name == f".table.csv.{os.getpid()}.partial"
    store.write_atomic(target, "a,b\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, running.name, other.name])


def test_importing_helpers_loads_none_of_its_modules():
    """So that `python -m helpers.config` / `helpers.errors` run without runpy's half-imported-module warning;
    the package's names still resolve on first use."""
    code = ("import sys, helpers; print(sorted(m for m in sys.modules if m.startswith('helpers.')));"
            "print(helpers.CourseError.__module__, helpers.data_dir.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.splitlines() == ["[]", "helpers.errors helpers.config"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        import helpers

        helpers.nothing  # noqa: B018


def test_one_line_is_the_first_line_of_a_message_or_the_type():
    """The one way an exception becomes a one-line reason (issue 32): never a second line, never empty."""
    from helpers.errors import one_line

    assert one_line(OSError("disk full\nTraceback (most recent call last):")) == "disk full"
    assert one_line(ValueError("  bad  \n"), with_type=True) == "ValueError: bad"
    assert one_line(RuntimeError()) == one_line(RuntimeError(""), with_type=True) == "RuntimeError"
