"""Faults that must never lose a model or waste a training run (issue: reliability of the command lines).

Each test injects one fault (a full disk, Ctrl-C at the save, a bad --out, data a classifier cannot learn
from) and asserts the exit code, the one-line message, and that no previous file changed.
"""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import soundfile as sf

keras = pytest.importorskip("keras")

from machinery import modelio  # noqa: E402
from machinery import train as train_cli  # noqa: E402
from helpers.config import seed_everything  # noqa: E402
from helpers.errors import CourseError  # noqa: E402
from machinery.train import _require_classes as require_classes  # noqa: E402
from helpers.models import MFCC_SPEC, build_lstm, check_spec  # noqa: E402
from machinery.segments import segment_dataset  # noqa: E402

from .conftest import SR, rewrite_metadata, sine  # noqa: E402
from .test_modelio import _metadata  # noqa: E402


@pytest.fixture(scope="module")
def model():
    import tensorflow  # noqa: F401

    seed_everything(0)
    return build_lstm((130, 13), 3)  # what _metadata()'s 3-s MFCC spec gives


@pytest.fixture
def good_file(model, tmp_path):
    path = modelio.save_model(model, tmp_path / "model.keras", _metadata())
    return path, path.read_bytes()


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if "partial" in p.name]


def test_a_full_disk_at_the_save_leaves_the_previous_model(model, good_file, monkeypatch):
    path, before = good_file

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    with pytest.raises(CourseError) as err:
        modelio.save_model(model, path, _metadata())
    assert str(err.value) == f"{path}: cannot write the model (No space left on device); the previous file is unchanged"
    assert path.read_bytes() == before and not _leftovers(path.parent)


def test_ctrl_c_at_the_save_leaves_the_previous_model(model, good_file, monkeypatch):
    path, before = good_file

    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "writestr", interrupt)
    with pytest.raises(KeyboardInterrupt):
        modelio.save_model(model, path, _metadata())
    assert path.read_bytes() == before and not _leftovers(path.parent)


def test_a_failed_first_save_writes_nothing(model, tmp_path, monkeypatch):
    monkeypatch.setattr(zipfile.ZipFile, "writestr", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only file system")))
    with pytest.raises(CourseError, match="nothing was written"):
        modelio.save_model(model, tmp_path / "new.keras", _metadata())
    assert list(tmp_path.iterdir()) == []


def test_metadata_must_name_as_many_genres_as_the_network_has_outputs(model, tmp_path):
    meta = _metadata() | {"genres": ["blues", "rock"]}
    with pytest.raises(CourseError, match="names 2 genres for a network with 3 outputs"):
        modelio.save_model(model, tmp_path / "m.keras", meta)
    assert not (tmp_path / "m.keras").exists()


@pytest.mark.parametrize("make_out, reason", [
    (lambda t: t / "a_folder.keras", "is a folder"),
    (lambda t: t / "a_file" / "m.keras", "is a file, not a folder"),
])
def test_a_bad_out_is_refused_before_any_work(tmp_path, capsys, monkeypatch, make_out, reason):
    (tmp_path / "a_folder.keras").mkdir()
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setattr(train_cli, "_run", lambda args: pytest.fail("training started"))
    with pytest.raises(SystemExit) as stop:
        train_cli.main(["lstm", "--out", str(make_out(tmp_path))])
    assert stop.value.code == 2
    assert reason in capsys.readouterr().err


@pytest.mark.parametrize("existed, message", [(False, "interrupted; nothing was written"),
                                              (True, "interrupted; the previous model is unchanged")])
def test_ctrl_c_during_training_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch, existed, message):
    out = tmp_path / "m.keras"
    if existed:
        out.write_bytes(b"a good model")

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_cli, "_run", interrupted)
    assert train_cli.main(["lstm", "--out", str(out)]) == 130
    assert capsys.readouterr().err == message + "\n"
    assert (out.read_bytes() == b"a good model") if existed else not out.exists()


def test_one_genre_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "data" / "gtzan" / "genres_original" / "rock"
    folder.mkdir(parents=True)
    for i in range(4):
        sf.write(folder / f"rock.{i:05d}.wav", sine(220.0 * (1 + 0.1 * i), 6.5), SR)
    monkeypatch.setattr(train_cli, "fit_model", lambda *a, **k: pytest.fail("training started"))
    out = tmp_path / "m.keras"
    assert train_cli.main(["lstm", "--out", str(out), "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err  # the fake clips bear recorded names: a warning first (issue 33), one line
    assert err.startswith("warning: 4 GTZAN clip(s) differ from the course's record") and "; and 1 more\n" in err
    assert err.splitlines()[1:] == ["error: only one genre (rock) in the data: a classifier needs at least two genres "
                                    "to learn from"]
    assert not out.exists()


def test_too_few_clips_of_a_genre_are_named():
    groups = ["a", "b", "c", "d", "e"]
    with pytest.raises(CourseError, match=r"too few clips .*: rock \(2\); each genre needs at least 3"):
        require_classes(groups, [0, 0, 0, 1, 1], names=["blues", "rock"])
    require_classes(groups + ["f"], [0, 0, 0, 1, 1, 1])  # three of each: fine
    with pytest.raises(CourseError, match="only one genre"):
        require_classes(np.array(["a", "b", "c"]), np.array([1, 1, 1]))


# ----------------------------------------------------------------------------- model files that lie


def test_a_model_whose_metadata_names_other_genres_is_refused_once(good_file, tmp_path, capsys):
    from machinery import predict as predict_cli

    path, _ = good_file
    rewrite_metadata(path, genres=["a", "b", "c", "d", "e"])
    with pytest.raises(CourseError, match="names 5 genres but the network has 3 outputs"):
        modelio.load_model(path)
    clip = tmp_path / "x.wav"
    sf.write(clip, sine(330.0, 4.0), SR)
    assert predict_cli.main([str(clip), str(clip), "--model", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[1].endswith("names 5 genres but the network has 3 outputs")  # usage + one line


@pytest.mark.parametrize("changes", [{"feature_spec": {"type": "mfcc", "n_mfcc": 20}}, {"segment_seconds": 6.0},
                                     {"feature_spec": {"type": "logmel"}}, {"feature_spec": {"type": "mfcc", "n_fft": 0}},
                                     {"sample_rate": -22050}, {"segment_seconds": "long"}])
def test_a_model_whose_feature_spec_disagrees_with_its_input_is_refused_once(good_file, tmp_path, capsys, changes):
    from machinery import predict as predict_cli

    path, _ = good_file
    rewrite_metadata(path, **changes)
    with pytest.raises(CourseError, match=str(path)):
        modelio.load_model(path)
    clip = tmp_path / "x.wav"
    sf.write(clip, sine(330.0, 7.0), SR)
    assert predict_cli.main([str(clip), str(clip), "--model", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[1].startswith(f"python -m machinery.predict: error: {path}: "), err
    assert any(w in err[1] for w in ("network takes (130, 13)", "must be a positive integer", "negative", "float",
                                  "must be a whole number", "must be a number")), err


def test_a_model_with_nan_weights_is_refused(model, tmp_path):
    broken = keras.models.clone_model(model)
    weights = model.get_weights()
    weights[0] = np.full_like(weights[0], np.nan)
    broken.set_weights(weights)
    path = modelio.save_model(broken, tmp_path / "nan.keras", _metadata())
    with pytest.raises(CourseError, match="weights are not all finite"):
        modelio.load_model(path)


def test_predict_json_into_a_closed_pipe_ends_quietly(tmp_path):
    """`python -m machinery.predict a b --json | head -1`: no BrokenPipeError traceback."""
    import subprocess
    import sys

    seed_everything(0)
    path = modelio.save_model(build_lstm((130, 13), 3), tmp_path / "m.keras",
                              _metadata() | {"feature_spec": check_spec(MFCC_SPEC)})
    clips = []
    for i in range(40):
        clips.append(tmp_path / f"c{i}.wav")
        sf.write(clips[-1], sine(220.0 + 10 * i, 3.5), SR)
    cmd = f"{sys.executable} -m machinery.predict {' '.join(map(str, clips))} --model {path} --json | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.stdout.count("\n") == 1 and '"genre"' in done.stdout
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_an_error_is_the_only_line_on_stderr(good_file, tmp_path):
    """TensorFlow's start-up lines (oneDNN notice, forced on here) must not come before the one-line error."""
    import subprocess
    import sys

    path, _ = good_file
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    done = subprocess.run([sys.executable, "-m", "machinery.predict", str(bad), "--model", str(path)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: cannot be decoded as audio"), done.stderr


# ----------------------------------------------------------------------------- every python -m helpers.X / machinery.X

def _modules():
    root = Path(__file__).parent.parent
    return sorted(f"{d}.{p.stem}" for d in ("helpers", "machinery") for p in (root / d).glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("module", _modules())
def test_every_module_is_a_command_with_help_or_refuses_to_run(module):
    """`python -m helpers.X --help`: a command prints its usage (exit 0); a library module says in one line
    that it is not a command (exit 2, `helpers.errors.not_a_command`) instead of exiting 0 in silence."""
    run = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parent.parent)
    if module in {"machinery.data", "machinery.train", "machinery.predict"}:
        assert run.returncode == 0 and run.stdout.startswith(f"usage: python -m {module}"), run.stderr
    else:
        assert run.returncode == 2 and run.stdout == ""
        assert run.stderr.splitlines() == [f"python -m {module}: a library module, not a command; the "
                                           "commands are python -m machinery.data, machinery.train and "
                                           "machinery.predict (each has --help)"]


# ----------------------------------------------------------------------------- workers of a killed run

_KILLED_RUN = """
import os, sys, time
from machinery.extract import extract_features

def slow(y, sr):
    if os.getpid() != int(os.environ["RUN_PARENT"]):  # the parent's warm-up file goes fast
        with open(os.path.join(sys.argv[1], f"worker-{os.getpid()}"), "w"):
            pass
        time.sleep(60)
    return {"n": float(len(y))}

if __name__ == "__main__":
    os.environ["RUN_PARENT"] = str(os.getpid())
    extract_features(sys.argv[2:], slow, n_jobs=2, cache=False, progress=False)
"""


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has finished
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")
def test_workers_stop_when_their_parent_is_killed(tmp_path, write_wav):
    """SIGKILL cannot be caught, so the parent cannot stop its workers: they must notice and exit
    (`machinery.extract.in_workers`, which runs the tasks of extract_features and segment_dataset)."""
    import signal
    import time

    files = [str(write_wav(sine(440, 0.5), name=f"t{i}.wav")) for i in range(4)]
    script = tmp_path / "killed_run.py"
    script.write_text(_KILLED_RUN)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), *files], cwd=Path(__file__).parent.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(workers := [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "the workers never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if _alive(pid)], "worker processes outlived the killed run"
    finally:
        proc.kill()


# ----------------------------------------------------------------------------- one list of faulty clips

def test_every_list_of_faulty_clips_says_the_same(tmp_path, caplog):
    """Dataset loading, extraction, the segment dataset, the training command and the feature-table build
    name the same broken clips with the same reason (the probe: extraction reported none of four)."""
    import warnings

    from helpers import datasets
    from machinery import data as mdata
    from machinery.extract import extract_features

    rock, blues = tmp_path / "gtzan" / "genres_original" / "rock", tmp_path / "gtzan" / "genres_original" / "blues"
    for folder in (rock, blues):
        folder.mkdir(parents=True)
        for i in range(2):
            sf.write(folder / f"{folder.name}.0000{i}.wav", sine(220 * (i + 1), 4.0), SR)
    (rock / "rock.00002.wav").write_bytes(b"")  # empty
    good = (rock / "rock.00000.wav").read_bytes()
    (rock / "rock.00003.wav").write_bytes(good[:60])  # truncated to 60 bytes
    (blues / "blues.00002.wav").write_text("this is not audio")  # text
    sf.write(blues / "blues.00003.wav", sine(330, 2.3), SR)  # 2.3 s: readable, too short for a 3-s segment
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        clips = datasets.gtzan_clips(tmp_path)
    listed = clips.attrs["unreadable"]
    assert sorted(Path(p).name for p in listed) == ["blues.00002.wav", "rock.00002.wav", "rock.00003.wav"]
    assert all(why.startswith(f"{p}: ") for p, why in listed.items())

    extracted = extract_features(clips, _length, cache=False, n_jobs=1, progress=False)
    assert dict(zip(extracted.failures["path"], extracted.failures["reason"])) == listed
    assert len(extracted.table) == 5  # the 2.3-s clip has whole-clip features

    ds = segment_dataset(clips, MFCC_SPEC, cache=False)
    assert ds["skipped"][:3] == list(listed.values())
    assert len(ds["skipped"]) == 4 and "blues.00003.wav: 2.30 s of audio is shorter than one 3 s segment" in ds["skipped"][3]

    with caplog.at_level("WARNING"):
        mdata.build_gtzan_features(tmp_path, n_jobs=1, cache=False)
    import json

    record = json.loads((tmp_path / "gtzan" / "features_30_sec.built.json").read_text())
    assert record["skipped"] == list(listed.values()) and record["n_clips"] == 5


def _length(y, sr):
    return {"seconds": len(y) / sr}


# ----------------------------------------------------------------------------- odd names, odd samples

@pytest.mark.skipif(sys.platform != "linux", reason="a file name that is not UTF-8 needs a byte-named file system")
def test_a_file_name_that_is_not_utf8_is_read_and_printed(good_file, tmp_path):
    """libsndfile cannot open such a name (it encodes the name strictly), and a lone surrogate cannot be printed
    or be strict JSON: the file is read through an open file object and its name shown with U+FFFD."""
    from helpers.audio import load_audio

    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.wav")
    sf.write(tmp_path / "plain.wav", sine(440, 4.0), SR)
    os.rename(tmp_path / "plain.wav", raw)
    y, sr = load_audio(os.fsdecode(raw))
    assert sr == SR and len(y) == 4 * SR
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}  # strict, as on a UTF-8 terminal
    for extra in ([], ["--json"]):
        run = subprocess.run([sys.executable, "-m", "machinery.predict", raw, "--model", str(good_file[0]), *extra],
                             capture_output=True, env=env, timeout=300, cwd=Path(__file__).parent.parent)
        assert run.returncode == 0, run.stderr.decode(errors="replace")
        line = run.stdout.decode("utf-8")  # strict: valid UTF-8
        shown = str(tmp_path / "caf\ufffd.wav")
        if extra:
            import json

            assert json.loads(line)["file"] == shown and "\\udc" not in line
        else:
            assert line.startswith(f"{shown}: ")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_wav_with_nan_or_inf_samples_says_so(tmp_path, bad):
    from helpers.audio import load_audio
    from helpers.errors import AudioError

    y = sine(440, 1.0)
    y[100] = bad
    sf.write(tmp_path / "broken.wav", y, SR, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"broken\.wav: contains NaN or infinite samples \(corrupt file\)"):
        load_audio(tmp_path / "broken.wav")
