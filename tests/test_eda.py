"""Tests of helpers.eda: known answers on synthetic tables and signals, error paths."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.eda import correlated_groups, iqr_outliers, log_mel, mean_log_mel, signed_log, skew_table
from helpers.errors import AudioError, CourseError
from tests.conftest import SR, sine


def test_signed_log_is_odd_and_monotonic():
    x = np.linspace(-100, 100, 201)
    y = signed_log(x)
    assert np.allclose(y, -signed_log(-x))
    assert np.all(np.diff(y) > 0)
    assert signed_log(np.array([0.0]))[0] == 0.0


def test_skew_table_log_removes_lognormal_skew():
    rng = np.random.default_rng(1)
    t = pd.DataFrame(
        {"normal": rng.normal(size=5000), "lognormal": rng.lognormal(sigma=1.0, size=5000), "label": "x"}
    )
    s = skew_table(t)
    assert s.index.tolist() == ["lognormal", "normal"]  # numeric columns only, most skewed first
    assert s.loc["lognormal", "skew"] > 3
    assert abs(s.loc["lognormal", "skew_log"]) < 0.15
    assert s.loc["lognormal", "transform"] == "log"
    assert s.loc["normal", "transform"] == "signed_log"  # has negative values
    assert abs(s.loc["normal", "skew"]) < 0.15


def test_skew_table_missing_column():
    with pytest.raises(CourseError, match="lacks column"):
        skew_table(pd.DataFrame({"a": [1.0, 2.0]}), ["b"])


def test_iqr_outliers_known_answer():
    t = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6, 7, 8, -50], "b": np.arange(9.0)})
    out = iqr_outliers(t)
    assert out["a"].tolist() == [False] * 8 + [True]
    assert not out["b"].any()
    # a closer fence flags more
    assert iqr_outliers(pd.DataFrame({"a": [1.0, 2, 3, 4, 20]}), k=1.5)["a"].tolist() == [False] * 4 + [True]
    with pytest.raises(ValueError, match="positive"):
        iqr_outliers(t, k=0)


def test_correlated_groups_follow_chains_and_sign():
    rng = np.random.default_rng(2)
    a = rng.normal(size=500)
    t = pd.DataFrame(
        {
            "a": a,
            "b": a + 0.3 * rng.normal(size=500),
            "c": -a + 0.3 * rng.normal(size=500),  # strongly anti-correlated still counts
            "d": rng.normal(size=500),
            "e": rng.normal(size=500),
        }
    )
    t["f"] = t["e"] * 2 + 0.1 * rng.normal(size=500)
    groups = correlated_groups(t.corr(), threshold=0.8)
    assert groups == [["a", "b", "c"], ["e", "f"]]
    assert correlated_groups(t.corr(), threshold=1.0) == []


def test_correlated_groups_errors():
    with pytest.raises(ValueError, match="threshold"):
        correlated_groups(pd.DataFrame([[1.0]]), threshold=0)
    bad = pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=["a", "b"], columns=["a", "c"])
    with pytest.raises(CourseError, match="square"):
        correlated_groups(bad)


def test_log_mel_of_a_sine_peaks_at_its_band():
    import librosa

    spec = log_mel(sine(1000.0, seconds=1.0, amp=1.0), SR)
    assert spec.shape[0] == 128
    peak_band = int(np.argmax(spec.mean(axis=1)))
    centres = librosa.mel_frequencies(n_mels=128, fmax=SR / 2)
    assert centres[peak_band] == pytest.approx(1000.0, rel=0.05)
    # fixed reference: halving the amplitude lowers every band by 20*log10(2) = 6 dB
    quieter = log_mel(sine(1000.0, seconds=1.0, amp=0.5), SR)
    assert np.median(spec - quieter) == pytest.approx(6.02, abs=0.05)


def test_mean_log_mel_averages_fixed_lengths(write_wav):
    from helpers.audio import load_audio

    a = write_wav(sine(500.0, seconds=2.5, amp=0.5), "a.wav")
    b = write_wav(sine(800.0, seconds=3.0, amp=0.25), "b.wav")
    mean = mean_log_mel([a, b], seconds=2.0)
    first = [log_mel(load_audio(p)[0][: 2 * SR], SR) for p in (a, b)]
    assert mean.shape == first[0].shape == (128, 87)  # 2 s whatever the file's length
    assert np.allclose(mean, (first[0] + first[1]) / 2, atol=1e-3)


def test_mean_log_mel_errors(write_wav):
    with pytest.raises(CourseError, match="at least one"):
        mean_log_mel([])
    short = write_wav(sine(500.0, seconds=1.0), "short.wav")
    with pytest.raises(AudioError, match="shorter than"):
        mean_log_mel([short], seconds=2.0)
