"""Tests of helpers.gtzan_features: known answers on synthetic signals, error paths,
and parity with the real reference table features_30_sec.csv."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from helpers.errors import AudioError, CourseError
from helpers.gtzan_features import (
    FEATURE_COLUMNS,
    FEATURE_GROUPS,
    compare_with_reference,
    gtzan_feature_vector,
    parity_summary,
    tempo_relation,
)
from tests.conftest import SR, click_track, sine

#: Parity tolerances against the reference table (measured: median ~1e-16, worst ~2e-4).
MEDIAN_TOLERANCE = 1e-5
FEATURE_TOLERANCE = 1e-3
#: Features whose reference value is near zero (mean of a zero-mean waveform): compared absolutely.
NEAR_ZERO = ("harmony_mean", "perceptr_mean")
NEAR_ZERO_ABS_TOLERANCE = 1e-7
#: Full-length clips (0-2 of each genre are 30 s in the CI subset) used for the parity test.
PARITY_CLIPS = ("blues.00000", "classical.00001", "hiphop.00000", "metal.00002")


@pytest.fixture(scope="module")
def sine_features():
    return gtzan_feature_vector(sine(440.0, seconds=3.0, amp=0.5), SR)


@pytest.fixture(scope="module")
def click_features():
    return gtzan_feature_vector(click_track(120.0, seconds=12.0), SR)


# ----------------------------------------------------------------------------- columns


def test_feature_columns_are_the_57_reference_names_in_order():
    assert len(FEATURE_COLUMNS) == 57
    assert len(set(FEATURE_COLUMNS)) == 57
    assert FEATURE_COLUMNS[:4] == ("chroma_stft_mean", "chroma_stft_var", "rms_mean", "rms_var")
    assert FEATURE_COLUMNS[12:17] == ("harmony_mean", "harmony_var", "perceptr_mean", "perceptr_var", "tempo")
    assert FEATURE_COLUMNS[17] == "mfcc1_mean" and FEATURE_COLUMNS[-1] == "mfcc20_var"
    grouped = [c for cols in FEATURE_GROUPS.values() for c in cols]
    assert sorted(grouped) == sorted(FEATURE_COLUMNS)


def test_feature_columns_match_the_real_reference_header(data_root):
    from helpers.datasets import load_gtzan_features

    ref = load_gtzan_features(data_root)
    assert [c for c in ref.columns if c not in {"filename", "clip_id", "length", "label"}] == list(FEATURE_COLUMNS)


# ----------------------------------------------------------------------------- known answers


def test_returns_exactly_the_columns_as_finite_floats(sine_features):
    assert list(sine_features) == list(FEATURE_COLUMNS)
    assert all(isinstance(v, float) and np.isfinite(v) for v in sine_features.values())


def test_sine_known_answers(sine_features):
    f = sine_features
    # a 440 Hz sine crosses zero 880 times a second
    assert f["zero_crossing_rate_mean"] == pytest.approx(2 * 440 / SR, rel=0.02)
    # RMS of a sine of amplitude 0.5 is 0.5 / sqrt(2)
    assert f["rms_mean"] == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    assert f["spectral_centroid_mean"] == pytest.approx(440, rel=0.05)
    assert f["rolloff_mean"] == pytest.approx(440, rel=0.1)
    # a steady tone is harmonic, not percussive
    assert f["harmony_var"] > 10 * f["perceptr_var"]
    # its waveform has zero mean
    assert abs(f["harmony_mean"]) < 1e-3


def test_click_track_known_answers(click_features, sine_features):
    # librosa's tempo grid near 120 BPM is 112.3, 117.5, 123.0: 117.45 is the closest value
    assert click_features["tempo"] == pytest.approx(120.0, rel=0.025)
    assert tempo_relation(click_features["tempo"], 120.0) == "same"
    # clicks are percussive
    assert click_features["perceptr_var"] > click_features["harmony_var"]
    # bursts then silence: loudness varies a lot relative to its mean; a steady tone's hardly at all
    assert click_features["rms_var"] / click_features["rms_mean"] ** 2 > 1
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


# ----------------------------------------------------------------------------- errors


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


# ----------------------------------------------------------------------------- comparison


def test_compare_with_reference_known_answers():
    ours = pd.DataFrame({"clip_id": ["b", "a", "z"], "tempo": [99.0, 0.0, 1.0], "rms_mean": [2.0, 0.5, 1.0]})
    ref = pd.DataFrame({"clip_id": ["a", "b", "c"], "tempo": [0.0, 100.0, 1.0], "rms_mean": [0.0, 1.0, 1.0]})
    rel = compare_with_reference(ours, ref, columns=["tempo", "rms_mean"])
    assert rel.index.tolist() == ["a", "b"]  # only shared clips, sorted
    assert rel.loc["b", "tempo"] == pytest.approx(0.01)
    assert rel.loc["b", "rms_mean"] == pytest.approx(1.0)
    assert rel.loc["a", "tempo"] == 0.0  # 0 against 0 agrees
    assert np.isinf(rel.loc["a", "rms_mean"])  # anything against 0 is infinitely far


def test_compare_with_reference_errors():
    good = pd.DataFrame({"clip_id": ["a"], "tempo": [1.0]})
    with pytest.raises(CourseError, match="lacks column"):
        compare_with_reference(good, good.drop(columns="tempo"), columns=["tempo"])
    with pytest.raises(CourseError, match="duplicated"):
        compare_with_reference(pd.concat([good, good]), good, columns=["tempo"])
    with pytest.raises(CourseError, match="share no"):
        compare_with_reference(good, good.assign(clip_id="b"), columns=["tempo"])


def test_parity_summary_counts_and_sorts():
    rel = pd.DataFrame({"rms_mean": [1e-7, 2e-7, 3e-7], "tempo": [0.0, 0.5, 1.0]})
    s = parity_summary(rel, tolerance=0.1)
    assert s.index.tolist() == ["tempo", "rms_mean"]
    assert s.loc["tempo", "n_over"] == 2 and s.loc["rms_mean", "n_over"] == 0
    assert s.loc["tempo", "median"] == pytest.approx(0.5)


def test_tempo_relation():
    assert tempo_relation(120.0, 120.5) == "same"
    assert tempo_relation(234.9, 117.45) == "double"
    assert tempo_relation(58.7, 117.45) == "half"
    assert tempo_relation(180.0, 120.0) == "3/2"
    assert tempo_relation(80.0, 120.0) == "2/3"
    assert tempo_relation(100.0, 120.0) == "other"
    with pytest.raises(ValueError, match="positive"):
        tempo_relation(0.0, 120.0)


# ----------------------------------------------------------------------------- parity with the real table


def test_parity_with_the_reference_table(data_root):
    """Our features reproduce features_30_sec.csv on real full-length GTZAN clips."""
    from helpers.audio import load_audio
    from helpers.datasets import gtzan_clips, load_gtzan_features

    clips = gtzan_clips(data_root).set_index("clip_id")
    missing = [c for c in PARITY_CLIPS if c not in clips.index]
    if missing:
        pytest.skip(f"parity clips {missing} are not in {data_root}/gtzan")
    ref = load_gtzan_features(data_root)
    rows = []
    for clip_id in PARITY_CLIPS:
        y, sr = load_audio(clips.loc[clip_id, "path"], sr=22050)
        assert len(y) == int(ref.loc[ref["clip_id"] == clip_id, "length"].iloc[0]), clip_id
        rows.append({"clip_id": clip_id, **gtzan_feature_vector(y, sr)})
    ours = pd.DataFrame(rows)
    rel = compare_with_reference(ours, ref)
    assert rel.index.tolist() == sorted(PARITY_CLIPS)
    assert float(np.median(rel.to_numpy())) <= MEDIAN_TOLERANCE
    far = [c for c in FEATURE_COLUMNS if c not in NEAR_ZERO]
    worst = rel[far].max()
    assert (worst <= FEATURE_TOLERANCE).all(), worst[worst > FEATURE_TOLERANCE].to_dict()
    absolute = (ours.set_index("clip_id")[list(NEAR_ZERO)] - ref.set_index("clip_id").loc[sorted(PARITY_CLIPS), list(NEAR_ZERO)]).abs()
    assert (absolute.to_numpy() <= NEAR_ZERO_ABS_TOLERANCE).all(), absolute
    merged = ours.merge(ref[["clip_id", "tempo"]], on="clip_id", suffixes=("", "_ref"))
    relations = [tempo_relation(a, b, tolerance=1e-6) for a, b in zip(merged["tempo"], merged["tempo_ref"])]
    assert relations == ["same"] * len(PARITY_CLIPS)
