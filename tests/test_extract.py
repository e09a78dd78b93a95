"""Tests of helpers.extract: cache hits and invalidation, resuming, failures, Dask = local."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from helpers.errors import CourseError
from helpers.extract import (
    ExtractionResult,
    basic_features,
    extract_features,
    feature_cache_key,
    function_name,
)
from .conftest import SR, sine

CALLS: list[int] = []
INTERRUPT_AFTER: list[int] = []


def peak_and_level(y: np.ndarray, sr: int, *, scale: float = 1.0) -> dict[str, float]:
    """Known answers: the frequency of the strongest FFT bin (Hz) and the peak amplitude."""
    CALLS.append(len(y))
    if INTERRUPT_AFTER and len(CALLS) > INTERRUPT_AFTER[0]:
        raise KeyboardInterrupt  # what Ctrl-C does in the middle of a run
    spectrum = np.abs(np.fft.rfft(y))
    return {
        "peak_hz": float(np.argmax(spectrum) * sr / len(y)) * scale,
        "peak_amp": float(np.max(np.abs(y))),
    }


def broken(y: np.ndarray, sr: int) -> dict[str, float]:
    raise ZeroDivisionError("division by zero")


@pytest.fixture(autouse=True)
def _reset_counters():
    CALLS.clear()
    INTERRUPT_AFTER.clear()
    yield
    CALLS.clear()
    INTERRUPT_AFTER.clear()


@pytest.fixture
def tones(write_wav):
    """Four 1 s tones at 220, 330, 440, 550 Hz as a files table with extra columns."""
    rows = []
    for k, f in enumerate([220.0, 330.0, 440.0, 550.0]):
        path = write_wav(sine(f, seconds=1.0), name=f"tone{k}.wav")
        rows.append({"clip_id": f"tone{k}", "label": "low" if f < 400 else "high", "path": str(path)})
    return pd.DataFrame(rows)


def run(files, func=peak_and_level, params=None, **kwargs) -> ExtractionResult:
    kwargs.setdefault("n_jobs", 1)
    kwargs.setdefault("progress", False)
    return extract_features(files, func, params, **kwargs)


def test_known_answers_columns_and_order(tones, tmp_path):
    res = run(tones, cache=tmp_path / "c")
    assert list(res.table.columns) == ["clip_id", "label", "path", "peak_hz", "peak_amp"]
    np.testing.assert_allclose(res.table["peak_hz"], [220, 330, 440, 550], atol=1.0)
    np.testing.assert_allclose(res.table["peak_amp"], 0.5, atol=1e-3)
    assert res.table["clip_id"].tolist() == tones["clip_id"].tolist()
    assert res.failures.empty and list(res.failures.columns) == ["path", "reason"]
    assert (res.n_cached, res.n_computed) == (0, 4)
    assert res.table["peak_hz"].dtype == np.float64


def test_list_of_paths_and_params(tones):
    res = run(list(tones["path"]), params={"scale": 2.0}, cache=False)
    assert list(res.table.columns) == ["path", "peak_hz", "peak_amp"]
    np.testing.assert_allclose(res.table["peak_hz"], [440, 660, 880, 1100], atol=2.0)


def test_cache_used_on_second_call(tones, tmp_path):
    first = run(tones, cache=tmp_path)
    assert len(CALLS) == 4
    second = run(tones, cache=tmp_path)
    assert len(CALLS) == 4, "the second call must not compute anything"
    assert (second.n_cached, second.n_computed) == (4, 0)
    pd.testing.assert_frame_equal(first.table, second.table)
    entries = list(tmp_path.rglob("*.json"))
    assert len(entries) == 4
    assert not list(tmp_path.rglob("*.tmp")), "no temporary file may be left behind"


def test_cache_invalidated_by_parameters_and_settings(tones, tmp_path):
    run(tones, cache=tmp_path)
    res = run(tones, params={"scale": 3.0}, cache=tmp_path)
    assert res.n_computed == 4 and len(CALLS) == 8
    np.testing.assert_allclose(res.table["peak_hz"], [660, 990, 1320, 1650], atol=3.0)
    assert run(tones, cache=tmp_path, duration=0.5).n_computed == 4
    assert run(tones, cache=tmp_path, sr=16000).n_computed == 4
    assert run(tones, cache=tmp_path, segment_seconds=0.5).n_computed == 4
    # and every variant is now cached
    assert run(tones, params={"scale": 3.0}, cache=tmp_path).n_computed == 0


def test_cache_invalidated_when_file_changes(tones, tmp_path, write_wav):
    run(tones, cache=tmp_path / "c")
    path = write_wav(sine(880.0, seconds=1.0), name="tone2.wav")  # overwrite tone2 (was 440 Hz)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    res = run(tones, cache=tmp_path / "c")
    assert (res.n_cached, res.n_computed) == (3, 1)
    np.testing.assert_allclose(res.table["peak_hz"], [220, 330, 880, 550], atol=1.0)


def test_cache_key_parts(tones):
    path = tones["path"][0]
    base = feature_cache_key(path, peak_and_level)
    assert base == feature_cache_key(path, peak_and_level, {})
    assert base != feature_cache_key(path, peak_and_level, {"scale": 2.0})
    assert base != feature_cache_key(path, basic_features)
    assert base != feature_cache_key(tones["path"][1], peak_and_level)
    assert base != feature_cache_key(path, peak_and_level, segment_seconds=3.0)
    # the content key ignores where the file lies and when it was written
    assert feature_cache_key(path, peak_and_level, key_by="content") != base
    with pytest.raises(ValueError, match="key_by"):
        feature_cache_key(path, peak_and_level, key_by="guess")
    assert function_name(peak_and_level) == "tests.test_extract.peak_and_level"


def test_content_key_survives_touching(tones, tmp_path):
    run(tones, cache=tmp_path, key_by="content")
    for p in tones["path"]:
        st = os.stat(p)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
    assert run(tones, cache=tmp_path, key_by="content").n_computed == 0
    assert run(tones, cache=tmp_path, key_by="stat").n_computed == 4


def test_interrupted_run_resumes(tones, tmp_path):
    INTERRUPT_AFTER.append(2)
    with pytest.raises(KeyboardInterrupt):
        run(tones, cache=tmp_path)
    assert len(list(tmp_path.rglob("*.json"))) == 2
    assert not list(tmp_path.rglob("*.tmp"))
    INTERRUPT_AFTER.clear()
    CALLS.clear()
    res = run(tones, cache=tmp_path)
    assert (res.n_cached, res.n_computed) == (2, 2)
    assert len(CALLS) == 2, "finished files must not be recomputed"
    np.testing.assert_allclose(res.table["peak_hz"], [220, 330, 440, 550], atol=1.0)


def test_corrupt_cache_entry_is_recomputed(tones, tmp_path, caplog):
    run(tones, cache=tmp_path)
    entry = sorted(tmp_path.rglob("*.json"))[0]
    entry.write_text('{"rows": [{"peak_hz": 1')  # truncated
    res = run(tones, cache=tmp_path)
    assert (res.n_cached, res.n_computed) == (3, 1)
    np.testing.assert_allclose(res.table["peak_hz"], [220, 330, 440, 550], atol=1.0)
    assert "unreadable cache entry" in caplog.text
    json.loads(entry.read_text())  # rewritten whole


def test_unreadable_files_are_listed_not_fatal(tones, tmp_path, write_wav):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    missing = tmp_path / "missing.wav"
    short = write_wav(sine(440.0, seconds=0.2), name="short.wav")
    files = [tones["path"][0], str(empty), str(text), str(missing), tones["path"][1], str(short)]
    res = run(files, cache=tmp_path / "c", segment_seconds=0.5)
    assert res.table["path"].unique().tolist() == [tones["path"][0], tones["path"][1]]
    assert res.failures["path"].tolist() == [str(empty), str(text), str(missing), str(short)]
    reasons = res.failures["reason"].tolist()
    assert "empty" in reasons[0]
    assert "cannot be decoded" in reasons[1]
    assert "not found" in reasons[2]
    assert "shorter than one 0.5 s segment" in reasons[3]
    assert all(r.startswith(p) for p, r in zip(res.failures["path"], reasons)), "reasons name the file"
    # failures are not cached: a fixed file is picked up next time
    write_wav(sine(440.0, seconds=1.0), name="missing.wav")
    again = run(files, cache=tmp_path / "c", segment_seconds=0.5)
    assert len(again.failures) == 3 and again.n_cached == 2


def test_feature_function_errors(tones):
    res = run(tones, func=broken, cache=False)
    assert res.table.empty and len(res.failures) == 4
    assert "tests.test_extract.broken failed (ZeroDivisionError: division by zero)" in res.failures["reason"][0]
    with pytest.raises(ZeroDivisionError):
        run(tones, func=broken, cache=False, on_error="raise")


def test_segments(write_wav, tmp_path):
    path = write_wav(sine(440.0, seconds=7.2), name="long.wav")
    res = run(pd.DataFrame({"clip_id": ["a"], "path": [str(path)]}), segment_seconds=3.0, cache=tmp_path)
    assert res.table["segment"].tolist() == [0, 1]
    assert list(res.table.columns[:3]) == ["clip_id", "path", "segment"]
    assert set(CALLS) == {3 * SR}
    assert res.table["clip_id"].tolist() == ["a", "a"]
    cached = run(pd.DataFrame({"clip_id": ["a"], "path": [str(path)]}), segment_seconds=3.0, cache=tmp_path)
    pd.testing.assert_frame_equal(res.table, cached.table)


def test_bad_arguments(tones):
    with pytest.raises(CourseError, match="'path' column"):
        run(pd.DataFrame({"file": ["x.wav"]}))
    with pytest.raises(ValueError, match="backend"):
        run(tones, backend="spark")
    with pytest.raises(ValueError, match="segment_seconds"):
        run(tones, segment_seconds=0)
    with pytest.raises(CourseError, match="clash"):
        run(tones.rename(columns={"label": "peak_hz"}), cache=False)


def test_parquet_output(tones, tmp_path):
    out = tmp_path / "features"
    res = run(tones, cache=False, parquet_dir=out, rows_per_part=3)
    assert sorted(p.name for p in out.glob("*.parquet")) == ["part-00000.parquet", "part-00001.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(out), res.table)
    # rewriting replaces the old parts; partitioning by a column gives hive folders
    run(tones, cache=False, parquet_dir=out, partition_on="label")
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["label=high", "label=low"]
    assert len(pd.read_parquet(out)) == 4
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(CourseError, match="not written by extract_features"):
        run(tones, cache=False, parquet_dir=foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_process_pool_matches_in_process(tones, tmp_path):
    serial = run(tones, func=basic_features, cache=False)
    pooled = run(tones, func=basic_features, cache=tmp_path, n_jobs=2)
    pd.testing.assert_frame_equal(serial.table, pooled.table, check_exact=True)
    assert len(list(tmp_path.rglob("*.json"))) == 4, "worker processes write the cache"


def test_dask_matches_local_on_real_clips(data_root, tmp_path):
    distributed = pytest.importorskip("distributed")
    from helpers.datasets import gtzan_clips

    clips = gtzan_clips(data_root, genres=["blues", "metal"], per_genre=1)
    local = run(clips, func=basic_features, cache=False, duration=6.0, segment_seconds=3.0)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        res = extract_features(
            clips, basic_features, sr=22050, duration=6.0, segment_seconds=3.0, cache=tmp_path / "c",
            backend="dask", scheduler=cluster.scheduler_address, parquet_dir=tmp_path / "pq",
            batch_files=1, progress=False,
        )
    assert len(res.table) == 4 and res.failures.empty
    pd.testing.assert_frame_equal(local.table, res.table, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pq"), res.table)
    # the workers filled the same cache the local backend reads
    again = run(clips, func=basic_features, cache=tmp_path / "c", duration=6.0, segment_seconds=3.0)
    assert again.n_computed == 0


def _pid_feature(y, sr):
    """Which process computed this file (a feature function for the test below)."""
    return {"pid": float(os.getpid())}


def test_the_first_file_runs_in_this_process_before_workers_start(tones):
    """A warm-up in the parent, so that parallel workers never compile and cache numba code at once."""
    res = run(tones, func=_pid_feature, cache=False, n_jobs=2)
    pids = res.table["pid"].astype(int)
    assert (pids == os.getpid()).sum() == 1 and pids.nunique() >= 2
    assert res.n_computed == len(tones) and res.n_cached == 0  # the warm-up file counts as computed
