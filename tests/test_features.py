"""Tests of helpers.features: the 57 GTZAN features (known answers, parity with the real table) and
machinery.extract.extract_features (known answers, cache round trip, stale files, corrupt entries, failures listed)."""
from __future__ import annotations

import io
import os
import pickle

import librosa
import numpy as np
import pandas as pd
import pytest
import scipy.ndimage

import helpers.features
from helpers.errors import AudioError, CourseError
from helpers.features import (
    FEATURE_COLUMNS,
    HOP_LENGTH,
    N_FFT,
    gtzan_feature_vector,
)
from machinery.extract import ExtractionResult, _function_name, extract_features
from tests.conftest import SR, click_track, sine

#: Parity tolerances against the reference table (measured: median ~1e-16, worst ~2e-4).
MEDIAN_TOLERANCE = 1e-5
FEATURE_TOLERANCE = 1e-3
#: Features whose reference value is near zero (mean of a zero-mean waveform): compared absolutely.
NEAR_ZERO = ("harmony_mean", "perceptr_mean")
NEAR_ZERO_ABS_TOLERANCE = 1e-7
#: Full-length clips (0-2 of each genre are 30 s in the CI subset) used for the parity test.
PARITY_CLIPS = ("blues.00000", "classical.00001", "hiphop.00000", "metal.00002")

CALLS: list[int] = []
INTERRUPT_AFTER: list[int] = []


# ----------------------------------------------------------------------------- the 57 features


@pytest.fixture(scope="module")
def sine_features():
    return gtzan_feature_vector(sine(440.0, seconds=3.0, amp=0.5), SR)


def test_feature_columns_are_the_57_reference_names_in_order():
    assert len(FEATURE_COLUMNS) == 57 == len(set(FEATURE_COLUMNS))
    assert FEATURE_COLUMNS[:4] == ("chroma_stft_mean", "chroma_stft_var", "rms_mean", "rms_var")
    assert FEATURE_COLUMNS[12:17] == ("harmony_mean", "harmony_var", "perceptr_mean", "perceptr_var", "tempo")
    assert FEATURE_COLUMNS[17] == "mfcc1_mean" and FEATURE_COLUMNS[-1] == "mfcc20_var"


def test_feature_columns_match_the_real_reference_header(data_root):
    from helpers.datasets import load_gtzan_features

    ref = load_gtzan_features(data_root)
    assert [c for c in ref.columns if c not in {"filename", "clip_id", "length", "label"}] == list(FEATURE_COLUMNS)


def test_returns_exactly_the_columns_as_finite_floats(sine_features):
    assert list(sine_features) == list(FEATURE_COLUMNS)
    assert all(isinstance(v, float) and np.isfinite(v) for v in sine_features.values())


def test_sine_known_answers(sine_features):
    f = sine_features
    assert f["zero_crossing_rate_mean"] == pytest.approx(2 * 440 / SR, rel=0.02)  # 880 crossings a second
    assert f["rms_mean"] == pytest.approx(0.5 / np.sqrt(2), rel=0.02)  # RMS of a sine of amplitude 0.5
    assert f["spectral_centroid_mean"] == pytest.approx(440, rel=0.05)
    assert f["rolloff_mean"] == pytest.approx(440, rel=0.1)
    assert f["harmony_var"] > 10 * f["perceptr_var"]  # a steady tone is harmonic, not percussive
    assert abs(f["harmony_mean"]) < 1e-3  # its waveform has zero mean


def test_click_track_known_answers(sine_features):
    clicks = gtzan_feature_vector(click_track(120.0, seconds=12.0), SR)
    # librosa's tempo grid near 120 BPM is 112.3, 117.5, 123.0: 117.45 is the closest value
    assert clicks["tempo"] == pytest.approx(120.0, rel=0.025)
    assert clicks["perceptr_var"] > clicks["harmony_var"]  # clicks are percussive
    # bursts then silence: loudness varies a lot relative to its mean; a steady tone's hardly at all
    assert clicks["rms_var"] / clicks["rms_mean"] ** 2 > 1
    assert sine_features["rms_var"] / sine_features["rms_mean"] ** 2 < 0.01


def test_deterministic_and_picklable():
    y = sine(220.0, seconds=1.0)
    again = pickle.loads(pickle.dumps(gtzan_feature_vector))
    assert again(y, SR) == gtzan_feature_vector(y, SR)


def test_float64_input_gives_the_same_features_within_float32_precision():
    y = sine(330.0, seconds=1.0)
    a, b = gtzan_feature_vector(y, SR), gtzan_feature_vector(y.astype(np.float64), SR)
    for name in FEATURE_COLUMNS:
        assert a[name] == pytest.approx(b[name], rel=1e-3, abs=1e-6), name


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros((2, 4096), dtype=np.float32), "mono"),
        (np.zeros(1000, dtype=np.float32), "at least 2048 samples"),
        (np.full(4096, np.nan, dtype=np.float32), "NaN or infinite"),
        (np.zeros(4096, dtype=np.int16), "floating-point"),
    ],
)
def test_bad_signals_raise_audio_error(y, match):
    with pytest.raises(AudioError, match=match):
        gtzan_feature_vector(y, SR)


def test_parity_with_the_reference_table(data_root):
    """Our features reproduce features_30_sec.csv on real full-length GTZAN clips."""
    from helpers.audio import load_audio
    from helpers.datasets import gtzan_clips, load_gtzan_features

    clips = gtzan_clips(data_root).set_index("clip_id")
    missing = [c for c in PARITY_CLIPS if c not in clips.index]
    if missing:
        pytest.skip(f"parity clips {missing} are not in {data_root}/gtzan")
    ref = load_gtzan_features(data_root).set_index("clip_id").loc[list(PARITY_CLIPS)]
    rows = []
    for clip_id in PARITY_CLIPS:
        y, sr = load_audio(clips.loc[clip_id, "path"], sr=22050)
        assert len(y) == int(ref.loc[clip_id, "length"]), clip_id
        rows.append(gtzan_feature_vector(y, sr))
    ours = pd.DataFrame(rows, index=list(PARITY_CLIPS))
    far = [c for c in FEATURE_COLUMNS if c not in NEAR_ZERO]
    rel = (ours[far] - ref[far]).abs() / ref[far].abs()
    assert float(np.median(rel.to_numpy())) <= MEDIAN_TOLERANCE
    worst = rel.max()
    assert (worst <= FEATURE_TOLERANCE).all(), worst[worst > FEATURE_TOLERANCE].to_dict()
    absolute = (ours[list(NEAR_ZERO)] - ref[list(NEAR_ZERO)]).abs()
    assert (absolute.to_numpy() <= NEAR_ZERO_ABS_TOLERANCE).all(), absolute
    np.testing.assert_allclose(ours["tempo"], ref["tempo"], rtol=1e-6)  # the same tempo, no octave error


# ----------------------------------------------------------------------------- the fast HPSS (issue 19)


def _median_by_numpy(x, axis, size=31):
    """The median of every window of ``size`` along ``axis``, the input padded by repeated reflection (SciPy's
    "reflect" is NumPy's "symmetric"): an odd window's median is its middle element, so this is exact."""
    pad = [(0, 0)] * x.ndim
    pad[axis] = (size // 2, size // 2)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, pad, mode="symmetric"), size, axis=axis)
    return np.median(windows, axis=-1).astype(x.dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5), (16, 31), (33, 4), (70, 123)])
def test_running_median_is_scipys_median_filter_bit_for_bit(shape, dtype):
    """Known answer: scipy.ndimage.median_filter, size 31 along one axis, mode "reflect", with many ties; and,
    on every line, the median of NumPy's windows. On lines shorter than half the window (the padding reflects
    more than once) only NumPy's: there SciPy 1.15-1.17 reads outside its buffer and returns NaN now and then
    (seen under pytest-xdist; scipy/scipy#23075 is the same family)."""
    rng = np.random.default_rng(sum(shape))
    for x in (rng.random(shape).astype(dtype), rng.integers(0, 4, shape).astype(dtype)):
        for axis, size in ((-1, (1, 31)), (-2, (31, 1))):
            got = helpers.features._median_filter(x, axis=axis)
            np.testing.assert_array_equal(got, _median_by_numpy(x, axis), err_msg=f"axis {axis}")
            if x.shape[axis] > 15:
                expected = scipy.ndimage.median_filter(x, size=size, mode="reflect")
                assert got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected, err_msg=f"axis {axis}")


def test_fast_hpss_is_librosas_bit_for_bit():
    rng = np.random.default_rng(19)
    stft = librosa.stft(rng.standard_normal(SR).astype(np.float32), n_fft=N_FFT, hop_length=HOP_LENGTH)
    stft[:, :5] = 0  # silence: the soft masks split zeros evenly
    for ours, theirs in zip(helpers.features._hpss(stft), librosa.decompose.hpss(stft)):
        assert ours.dtype == theirs.dtype == np.complex64
        np.testing.assert_array_equal(ours, theirs)


def beat_track_tempo(onset_envelope: np.ndarray, sr: int) -> float:
    """The slow path's tempo: librosa.beat.beat_track, which also tracks the beats."""
    tempo, _ = librosa.beat.beat_track(onset_envelope=onset_envelope, sr=sr, hop_length=HOP_LENGTH)
    return float(np.atleast_1d(tempo)[0])


def test_tempo_is_beat_tracks():
    onsets = librosa.onset.onset_strength(y=click_track(120.0, seconds=12.0), sr=SR, hop_length=HOP_LENGTH)
    noise = np.random.default_rng(5).random(400).astype(np.float32)
    for envelope in (onsets, noise, np.zeros(400, dtype=np.float32)):
        assert helpers.features._tempo(envelope, SR) == beat_track_tempo(envelope, SR)
    assert helpers.features._tempo(onsets, SR) == pytest.approx(120.0, rel=0.025)


def test_the_57_features_equal_the_slow_paths_on_a_real_clip(data_root, monkeypatch):
    """The whole vector, fast path (no SciPy median filter) against today's (librosa.decompose.hpss and
    librosa.beat.beat_track)."""
    from helpers.audio import load_audio
    from helpers.datasets import gtzan_clips

    clips = gtzan_clips(data_root).set_index("clip_id")
    if PARITY_CLIPS[0] not in clips.index:
        pytest.skip(f"clip {PARITY_CLIPS[0]} is not in {data_root}/gtzan")
    y, sr = load_audio(clips.loc[PARITY_CLIPS[0], "path"], sr=22050)
    with monkeypatch.context() as m:
        m.setattr(librosa.decompose, "median_filter", None)  # the fast path must not call it
        m.setattr(librosa.beat, "beat_track", None)
        fast = gtzan_feature_vector(y, sr)
    slow = gtzan_feature_vector(y, sr, reference=True)
    assert fast == slow, {k: (fast[k], slow[k]) for k in fast if fast[k] != slow[k]}


# ----------------------------------------------------------------------------- extract_features


def peak_and_level(y: np.ndarray, sr: int, *, scale: float = 1.0) -> dict[str, float]:
    """Known answers: the frequency of the strongest FFT bin (Hz) and the peak amplitude."""
    CALLS.append(len(y))
    if INTERRUPT_AFTER and len(CALLS) > INTERRUPT_AFTER[0]:
        raise KeyboardInterrupt  # what Ctrl-C does in the middle of a run
    spectrum = np.abs(np.fft.rfft(y))
    return {"peak_hz": float(np.argmax(spectrum) * sr / len(y)) * scale, "peak_amp": float(np.max(np.abs(y)))}


def broken(y: np.ndarray, sr: int) -> dict[str, float]:
    raise ZeroDivisionError("division by zero")


def _pid_feature(y, sr):
    """Which process computed this file."""
    return {"pid": float(os.getpid())}


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
    assert repr(res) == "ExtractionResult(table=4 rows x 5 columns, failures=0, cached=0, computed=4)"


def test_list_of_paths_and_params(tones):
    res = run(list(tones["path"]), params={"scale": 2.0}, cache=False)
    assert list(res.table.columns) == ["path", "peak_hz", "peak_amp"]
    np.testing.assert_allclose(res.table["peak_hz"], [440, 660, 880, 1100], atol=2.0)


def test_cache_round_trip(tones, tmp_path):
    first = run(tones, cache=tmp_path)
    assert len(CALLS) == 4
    second = run(tones, cache=tmp_path)
    assert len(CALLS) == 4, "the second call must not compute anything"
    assert (second.n_cached, second.n_computed) == (4, 0)
    pd.testing.assert_frame_equal(first.table, second.table, check_exact=True)
    assert len(list(tmp_path.rglob("*.npz"))) == 4
    assert not list(tmp_path.rglob("*.partial*")), "no temporary file may be left behind"


def test_cache_invalidated_by_parameters_and_settings(tones, tmp_path):
    run(tones, cache=tmp_path)
    res = run(tones, params={"scale": 3.0}, cache=tmp_path)
    assert res.n_computed == 4 and len(CALLS) == 8
    np.testing.assert_allclose(res.table["peak_hz"], [660, 990, 1320, 1650], atol=3.0)
    assert run(tones, cache=tmp_path, duration=0.5).n_computed == 4
    assert run(tones, cache=tmp_path, sr=16000).n_computed == 4
    assert run(tones, cache=tmp_path, segment_seconds=0.5).n_computed == 4
    assert run(tones, func=_pid_feature, cache=tmp_path).n_computed == 4
    assert run(tones, params={"scale": 3.0}, cache=tmp_path).n_computed == 0  # every variant is now cached


def test_a_replaced_file_is_never_served_stale(tones, tmp_path, write_wav):
    run(tones, cache=tmp_path / "c")
    path = write_wav(sine(880.0, seconds=1.0), name="tone2.wav")  # overwrite tone2 (was 440 Hz)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    res = run(tones, cache=tmp_path / "c")
    assert (res.n_cached, res.n_computed) == (3, 1)
    np.testing.assert_allclose(res.table["peak_hz"], [220, 330, 880, 550], atol=1.0)


def test_a_file_replaced_in_place_with_the_same_size_and_time_is_recomputed(tones, tmp_path):
    """Size and modification time are not enough: a copy over a file can keep both (cp -p, rsync)."""
    run(tones, cache=tmp_path / "c")
    target, source = tones["path"][2], tones["path"][0]  # 440 Hz replaced by the 220-Hz file's bytes
    st = os.stat(target)
    with open(source, "rb") as fh, open(target, "r+b") as out:
        out.write(fh.read())
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(target).st_size == st.st_size and os.stat(target).st_mtime_ns == st.st_mtime_ns
    res = run(tones, cache=tmp_path / "c")
    np.testing.assert_allclose(res.table["peak_hz"], [220, 330, 220, 550], atol=1.0)


def _rewritten(entry, change):
    """The entry's arrays changed by ``change``, saved with the entry's own checksum (a hand edit)."""
    with np.load(entry) as z:
        arrays = {k: z[k] for k in z.files}
    buffer = io.BytesIO()
    np.savez(buffer, **change(arrays))
    return buffer.getvalue()


def _one_digit_changed(entry, others):
    return _rewritten(entry, lambda a: a | {"values": a["values"] + np.eye(*a["values"].shape) * 1e-9})


def _row_removed(entry, others):
    return _rewritten(entry, lambda a: a | {"values": a["values"][1:]})


def _feature_missing(entry, others):
    return _rewritten(entry, lambda a: a | {"names": a["names"][:-1], "values": a["values"][:, :-1]})


def _another_files_entry(entry, others):
    return others[0].read_bytes()


@pytest.mark.parametrize("alter", [_one_digit_changed, _row_removed, _feature_missing, _another_files_entry])
def test_an_altered_cache_entry_is_logged_and_recomputed(tones, tmp_path, caplog, alter):
    """Well-formed but wrong entries (the probe's hand edits) must not be read back as valid."""
    first = run(tones, cache=tmp_path, segment_seconds=0.25)  # 4 rows per file, so a row can go
    entries = sorted(tmp_path.rglob("*.npz"))
    entries[1].write_bytes(alter(entries[1], [entries[0]]))
    again = run(tones, cache=tmp_path, segment_seconds=0.25)
    assert (again.n_cached, again.n_computed) == (3, 1)
    pd.testing.assert_frame_equal(again.table, first.table, check_exact=True)
    assert f"{entries[1]}: unreadable cache" in caplog.text


def test_interrupted_run_resumes(tones, tmp_path):
    INTERRUPT_AFTER.append(2)
    with pytest.raises(KeyboardInterrupt):
        run(tones, cache=tmp_path)
    assert len(list(tmp_path.rglob("*.npz"))) == 2
    assert not list(tmp_path.rglob("*.partial*"))
    INTERRUPT_AFTER.clear()
    CALLS.clear()
    res = run(tones, cache=tmp_path)
    assert (res.n_cached, res.n_computed) == (2, 2)
    assert len(CALLS) == 2, "finished files must not be recomputed"


@pytest.mark.parametrize("garbage", [b"", b"[1, 2]", b"PK\x03\x04 not a zip", "half"])
def test_corrupt_cache_entry_is_recomputed(tones, tmp_path, caplog, garbage):
    run(tones, cache=tmp_path)
    entry = sorted(tmp_path.rglob("*.npz"))[0]
    whole = entry.read_bytes()
    with np.load(entry) as z:
        stored = {k: z[k] for k in z.files}
    entry.write_bytes(whole[: len(whole) // 2] if garbage == "half" else garbage)
    res = run(tones, cache=tmp_path)
    assert (res.n_cached, res.n_computed) == (3, 1)
    np.testing.assert_allclose(res.table["peak_hz"], [220, 330, 440, 550], atol=1.0)
    assert "unreadable cache" in caplog.text
    with np.load(entry) as z:  # rewritten whole
        assert sorted(z.files) == sorted(stored) and all(np.array_equal(z[k], v) for k, v in stored.items())


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


def test_feature_function_errors_are_listed(tones):
    res = run(tones, func=broken, cache=False)
    assert res.table.empty and len(res.failures) == 4
    assert "tests.test_features.broken failed (ZeroDivisionError: division by zero)" in res.failures["reason"][0]


def test_segments(write_wav, tmp_path):
    path = write_wav(sine(440.0, seconds=7.2), name="long.wav")
    files = pd.DataFrame({"clip_id": ["a"], "path": [str(path)]})
    res = run(files, segment_seconds=3.0, cache=tmp_path)
    assert res.table["segment"].tolist() == [0, 1] and res.table["segment"].dtype == np.int64
    assert list(res.table.columns[:3]) == ["clip_id", "path", "segment"]
    assert set(CALLS) == {3 * SR}
    pd.testing.assert_frame_equal(res.table, run(files, segment_seconds=3.0, cache=tmp_path).table)


def test_bad_arguments(tones):
    with pytest.raises(CourseError, match="'path' column"):
        run(pd.DataFrame({"file": ["x.wav"]}))
    with pytest.raises(ValueError, match="segment_seconds"):
        run(tones, segment_seconds=0)
    with pytest.raises(CourseError, match="clash"):
        run(tones.rename(columns={"label": "peak_hz"}), cache=False)


def test_worker_processes_match_this_process_and_fill_the_cache(tones, tmp_path):
    serial = run(tones, func=gtzan_feature_vector, cache=False, duration=0.5)
    pooled = run(tones, func=gtzan_feature_vector, cache=tmp_path, n_jobs=2, duration=0.5)
    pd.testing.assert_frame_equal(serial.table, pooled.table, check_exact=True)
    assert len(list(tmp_path.rglob("*.npz"))) == 4, "worker processes write the cache"


def test_the_first_file_runs_in_this_process_before_workers_start(tones):
    """A warm-up in the parent, so that parallel workers never compile and cache numba code at once."""
    res = run(tones, func=_pid_feature, cache=False, n_jobs=2)
    pids = res.table["pid"].astype(int)
    assert (pids == os.getpid()).sum() == 1 and pids.nunique() >= 2
    assert res.n_computed == len(tones) and res.n_cached == 0  # the warm-up file counts as computed


def test_function_name():
    assert _function_name(peak_and_level) == "tests.test_features.peak_and_level"
    assert _function_name(gtzan_feature_vector) == "helpers.features.gtzan_feature_vector"
