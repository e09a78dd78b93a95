"""Tests of helpers.sequences: feature specs, segment features, the segment data set and its archive."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.errors import CourseError
from helpers.sequences import (
    LOGMEL_SPEC,
    MFCC_SPEC,
    build_segment_dataset,
    check_spec,
    load_dataset,
    load_or_build_dataset,
    n_frames,
    save_dataset,
    segment_features,
)

from .conftest import SR, sine


def test_check_spec_defaults_and_errors():
    spec = check_spec({"type": "mfcc"})
    assert spec == {"type": "mfcc", "n_mfcc": 13, "n_mels": 128, "n_fft": 2048, "hop_length": 512, "top_db": 80.0}
    assert check_spec({"type": "logmel", "n_mels": 64})["n_mels"] == 64
    with pytest.raises(CourseError, match="unknown feature type 'chroma'"):
        check_spec({"type": "chroma"})
    with pytest.raises(CourseError, match="unknown key"):
        check_spec({"type": "logmel", "n_mfcc": 13})
    with pytest.raises(CourseError, match="hop_length must be a positive integer"):
        check_spec({"type": "mfcc", "hop_length": 0})
    with pytest.raises(CourseError, match="'type' key"):
        check_spec({"n_mfcc": 13})


def test_n_frames_of_a_3_second_segment_is_130():
    assert n_frames(3 * 22050, 512) == 130
    assert n_frames(512, 512) == 2


def test_feature_shapes_and_layout():
    x = np.stack([sine(440, 3.0), sine(880, 3.0)])
    mfcc = segment_features(x, SR, MFCC_SPEC)
    logmel = segment_features(x, SR, LOGMEL_SPEC)
    assert mfcc.shape == (2, 130, 13) and mfcc.dtype == np.float32  # (segments, frames, coefficients)
    assert logmel.shape == (2, 128, 130) and logmel.dtype == np.float32  # (segments, mel bands, frames)
    assert segment_features(x[0], SR, MFCC_SPEC).shape == (1, 130, 13)  # one 1-D segment
    with pytest.raises(CourseError, match="shape"):
        segment_features(np.zeros((0, 100)), SR, MFCC_SPEC)


def test_mfcc_matches_librosa_per_segment():
    import librosa

    rng = np.random.default_rng(0)
    # very different loudness: a batch-wide dB floor would change the quiet row
    x = (rng.standard_normal((3, 3 * SR)) * np.array([[1.0], [1e-3], [0.3]])).astype(np.float32)
    ours = segment_features(x, SR, MFCC_SPEC)
    for i, row in enumerate(x):
        ref = librosa.feature.mfcc(y=row, sr=SR, n_mfcc=13, n_fft=2048, hop_length=512).T
        np.testing.assert_allclose(ours[i], ref, rtol=1e-4, atol=1e-3)
    # a segment's features do not depend on the other segments in the batch
    np.testing.assert_allclose(segment_features(x[1:2], SR, MFCC_SPEC)[0], ours[1], rtol=1e-5, atol=1e-4)


def test_logmel_of_a_440_hz_tone_peaks_in_the_440_hz_band():
    import librosa

    feats = segment_features(sine(440, 3.0), SR, LOGMEL_SPEC)[0]
    centres = librosa.mel_frequencies(n_mels=130, fmax=SR / 2)[1:-1]  # band centres of 128 bands
    peak = centres[feats[:, 10:-10].mean(axis=1).argmax()]
    assert abs(peak - 440) < 30
    # dB (10 log10 power), floored 80 dB below the segment's loudest bin: empty bands sit on the floor
    assert feats.min() == pytest.approx(feats.max() - 80.0, abs=1e-3)


@pytest.fixture
def clip_table(write_wav):
    rows = [
        ("rock.00000", "rock", write_wav(sine(220, 10.0), "rock0.wav")),  # 10 s -> 3 segments
        ("rock.00001", "rock", write_wav(sine(330, 6.5), "rock1.wav")),  # 6.5 s -> 2 segments
        ("blues.00000", "blues", write_wav(sine(440, 3.2), "blues0.wav")),  # 3.2 s -> 1 segment
        ("blues.00001", "blues", write_wav(sine(550, 2.0), "blues1.wav")),  # 2 s -> too short, skipped
    ]
    empty = rows[0][2].parent / "empty.wav"
    empty.write_bytes(b"")
    rows.append(("blues.00002", "blues", empty))  # unreadable, skipped
    return pd.DataFrame(rows, columns=["clip_id", "genre", "path"])


def test_build_segment_dataset_segments_and_skips(clip_table):
    ds = build_segment_dataset(clip_table, MFCC_SPEC, progress=False)
    assert list(ds["genres"]) == ["blues", "rock"]  # GTZAN order, not table order
    assert ds["X"].shape == (6, 130, 13)
    assert list(ds["clip_id"]) == ["rock.00000"] * 3 + ["rock.00001"] * 2 + ["blues.00000"]
    assert list(ds["y"]) == [1, 1, 1, 1, 1, 0]
    assert list(ds["segment_index"]) == [0, 1, 2, 0, 1, 0]
    assert len(ds["skipped"]) == 2
    assert ds["skipped"][0].startswith("blues.00001: ") and "shorter than one 3 s segment" in ds["skipped"][0]
    assert ds["skipped"][1].startswith("blues.00002: ") and "empty" in ds["skipped"][1]
    # the third segment of rock.00000 is the features of seconds 6-9 of the clip
    from helpers.audio import load_audio

    y, _ = load_audio(clip_table.path[0])
    np.testing.assert_allclose(ds["X"][2], segment_features(y[6 * SR : 9 * SR], SR, MFCC_SPEC)[0], atol=1e-4)


def test_build_segment_dataset_parallel_equals_serial(clip_table):
    serial = build_segment_dataset(clip_table.iloc[:3], MFCC_SPEC, progress=False, n_jobs=1)
    parallel = build_segment_dataset(clip_table.iloc[:3], MFCC_SPEC, progress=False, n_jobs=2)
    np.testing.assert_allclose(serial["X"], parallel["X"], rtol=1e-4, atol=1e-3)  # workers may sum in another order
    assert list(serial["clip_id"]) == list(parallel["clip_id"])


def test_build_segment_dataset_errors(clip_table):
    with pytest.raises(CourseError, match="none of the 2 clips"):
        build_segment_dataset(clip_table.iloc[3:], MFCC_SPEC, progress=False)
    with pytest.raises(CourseError, match="not in genres"):
        build_segment_dataset(clip_table, MFCC_SPEC, genres=["rock"], progress=False)
    with pytest.raises(CourseError, match="lacks column"):
        build_segment_dataset(clip_table.drop(columns="path"), MFCC_SPEC, progress=False)


def test_save_load_round_trip(clip_table, tmp_path):
    ds = build_segment_dataset(clip_table.iloc[:3], LOGMEL_SPEC, progress=False)
    path = save_dataset(tmp_path / "ds", ds)
    assert path.name == "ds.npz"
    back = load_dataset(path)
    for key in ("X", "y", "genres", "clip_id", "segment_index"):
        np.testing.assert_array_equal(back[key], ds[key])
    assert back["spec"] == ds["spec"] and back["sample_rate"] == SR and back["segment_seconds"] == 3.0
    assert back["X"].dtype == np.float32


def test_load_dataset_errors(tmp_path):
    with pytest.raises(CourseError, match="not found"):
        load_dataset(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_text("not an archive")
    with pytest.raises(CourseError, match="bad.npz: not a segment data set"):
        load_dataset(bad)
    other = tmp_path / "other.npz"
    np.savez_compressed(other, a=np.zeros(3))
    with pytest.raises(CourseError, match="needs X, y, genres, clip_id"):
        load_dataset(other)


def test_load_or_build_uses_the_cache_only_when_it_matches(clip_table, tmp_path, monkeypatch):
    import helpers.sequences as seq

    path = tmp_path / "cache.npz"
    first = load_or_build_dataset(path, clip_table.iloc[:3], MFCC_SPEC, progress=False)
    calls = []
    real = seq.build_segment_dataset
    monkeypatch.setattr(seq, "build_segment_dataset", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = load_or_build_dataset(path, clip_table.iloc[:3], MFCC_SPEC, progress=False)
    assert calls == [] and np.array_equal(again["X"], first["X"])
    changed = load_or_build_dataset(path, clip_table.iloc[:3], {"type": "mfcc", "n_mfcc": 20}, progress=False)
    assert calls == [1] and changed["X"].shape[-1] == 20


def test_real_gtzan_clips_give_floor_duration_over_3_segments(data_root):
    from helpers.datasets import gtzan_clips

    clips = gtzan_clips(data_root, genres=["jazz"], per_genre=7)
    pick = pd.concat([clips[clips.duration > 29].head(1), clips[clips.duration < 21].head(1)])
    ds = build_segment_dataset(pick, MFCC_SPEC, progress=False)
    counts = pd.Series(ds["clip_id"]).value_counts()
    for _, row in pick.iterrows():
        assert counts[row.clip_id] == int(row.duration // 3)
    assert ds["X"].shape[1:] == (130, 13)
