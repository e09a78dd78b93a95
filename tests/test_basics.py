"""Known-answer tests for helpers.basics on synthetic signals (sine, click track, silence)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from .conftest import SR, click_track, sine
from helpers import basics as F
from helpers.errors import AudioError, CourseError

HOP_S = F.HOP_LENGTH / SR  # one frame in seconds


def _clicks(seconds: float, period: float) -> np.ndarray:
    """Sample index of each click of conftest.click_track."""
    return (np.arange(0, seconds - 0.02, period) * SR).astype(int)


def _frame_error(times: np.ndarray, click_samples: np.ndarray) -> np.ndarray:
    """For each detected time, the distance in frames to the nearest click's frame."""
    frames = np.round(np.asarray(times) * SR / F.HOP_LENGTH).astype(int)
    click_frames = np.round(click_samples / F.HOP_LENGTH).astype(int)
    return np.abs(frames[:, None] - click_frames[None, :]).min(axis=1)


def test_fft_magnitude_positive_half_and_peak():
    y = sine(440.0, seconds=1.0, amp=0.5)
    freqs, mag = F.fft_magnitude(y, SR)
    assert len(freqs) == len(y) // 2 + 1
    assert freqs[0] == 0 and freqs[-1] == pytest.approx(SR / 2)
    assert freqs[np.argmax(mag)] == pytest.approx(440.0)
    assert mag.max() == pytest.approx(0.5, rel=0.02)


def test_fft_magnitude_odd_length_axis():
    freqs, mag = F.fft_magnitude(sine(1000.0, seconds=0.5)[:11025], SR)
    assert freqs[1] == pytest.approx(SR / 11025)
    assert freqs[np.argmax(mag)] == pytest.approx(1000.0, abs=SR / 11025)


def test_stft_and_mel_db_shapes_and_ref():
    y = sine(440.0, seconds=1.0)
    S = F.stft_db(y, n_fft=1024, hop_length=256)
    M = F.mel_db(y, SR, n_mels=64)
    assert S.shape == (513, 1 + len(y) // 256)
    assert M.shape == (64, 1 + len(y) // 512)
    assert S.max() == pytest.approx(0.0) and M.max() == pytest.approx(0.0)
    # the loudest STFT bin is the one holding 440 Hz
    assert np.argmax(S.mean(axis=1)) == round(440 * 1024 / SR)


def test_mel_db_reference_and_floor():
    y = sine(440.0, seconds=1.0, amp=0.5)
    relative = F.mel_db(y, SR, n_mels=64)
    full_scale = F.mel_db(y, SR, n_mels=64, ref=1.0, top_db=None)
    # same spectrogram, only the 0 dB point moves: the difference is one constant
    shift = full_scale - relative
    assert np.ptp(shift[relative > -80.0]) < 1e-3
    assert relative.min() >= -80.0 - 1e-4  # floored 80 dB below the peak
    assert full_scale.min() < -80.0  # no floor: the empty bands go far lower
    # halving the amplitude lowers a full-scale spectrogram by 20*log10(2) = 6.02 dB
    quieter = F.mel_db(y / 2, SR, n_mels=64, ref=1.0, top_db=None)
    assert full_scale.max() - quieter.max() == pytest.approx(6.02, abs=0.01)


def test_mfcc_by_hand_matches_librosa():
    import librosa

    rng = np.random.default_rng(1)
    y = (sine(300.0, 1.0) + 0.05 * rng.standard_normal(SR)).astype(np.float32)
    for n in (13, 20):
        steps = F.mfcc_by_hand(y, SR, n_mfcc=n)
        ref = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=n)
        assert steps["mfcc"].shape == ref.shape == (n, 44)
        np.testing.assert_allclose(steps["mfcc"], ref, atol=1e-3)
    assert steps["filterbank"].shape == (128, 1025)


def test_pyin_sine_f0_440():
    stats = F.f0_summary(sine(440.0, seconds=1.0), SR, fmin=200.0, fmax=1000.0)
    assert stats["median"] == pytest.approx(440.0, rel=0.01)
    assert stats["mean"] == pytest.approx(440.0, rel=0.01)
    assert stats["voiced_fraction"] > 0.9


def test_pyin_table_columns():
    table = F.pyin_f0(sine(220.0, seconds=0.5), SR, fmin=100.0, fmax=500.0)
    assert list(table.columns) == ["time", "f0", "voiced", "voiced_prob"]
    assert table["time"].diff().dropna().round(6).eq(round(HOP_S, 6)).all()


def test_pyin_silence_raises():
    with pytest.raises(AudioError, match="silent"):
        F.pyin_f0(np.zeros(SR, dtype=np.float32), SR)


def test_f0_stats_known_values():
    f0 = np.array([100.0, np.nan, 200.0, 300.0, 400.0, 500.0])
    s = F.f0_stats(f0)
    assert s["mean"] == 300.0 and s["median"] == 300.0
    assert s["std"] == pytest.approx(np.std([100, 200, 300, 400, 500]))
    assert s["p5"] == pytest.approx(120.0) and s["p95"] == pytest.approx(480.0)
    assert s["voiced_fraction"] == pytest.approx(5 / 6) and s["n_voiced"] == 5
    # an explicit voiced mask wins over finiteness
    s2 = F.f0_stats(f0, voiced=[True, False, False, False, False, True])
    assert s2["mean"] == 300.0 and s2["n_voiced"] == 2


def test_f0_stats_from_table_and_no_voiced_gives_nan():
    table = pd.DataFrame({"f0": [np.nan, np.nan], "voiced": [False, False]})
    s = F.f0_stats(table)
    assert np.isnan(s["mean"]) and np.isnan(s["p95"])
    assert s["voiced_fraction"] == 0.0 and s["n_voiced"] == 0


def test_f0_stats_rejects_empty():
    with pytest.raises(CourseError, match="non-empty"):
        F.f0_stats([])


def test_click_track_tempo_120():
    tempo, beats = F.tempo_and_beats(click_track(120.0, seconds=10.0), SR)
    assert tempo == pytest.approx(120.0, rel=0.02)
    assert len(beats) >= 15
    # every beat falls on a click within one frame (frame indices on the 512-sample grid)
    assert _frame_error(beats, _clicks(10.0, 0.5)).max() <= 1


def test_unrefined_tempo_is_on_the_lag_grid():
    tempo, _ = F.tempo_and_beats(click_track(120.0, seconds=10.0), SR, refine=False)
    lag = 60 * SR / (F.HOP_LENGTH * tempo)
    assert lag == pytest.approx(round(lag))
    assert tempo == pytest.approx(120.0, rel=0.05)


def test_tempo_silence_raises():
    with pytest.raises(AudioError, match="silent"):
        F.tempo_and_beats(np.zeros(SR * 2, dtype=np.float32), SR)


def test_onsets_at_clicks():
    y = click_track(120.0, seconds=10.0)
    clicks = _clicks(10.0, 0.5)
    onsets = F.onset_times(y, SR)
    # the click at t = 0 has no frame before it, so it cannot show as a rise
    assert len(onsets) == len(clicks) - 1
    assert _frame_error(onsets, clicks).max() <= 1
    assert _frame_error(F.onset_times(y, SR, backtrack=True), clicks).max() <= 1
    assert F.onset_rate(y, SR) == pytest.approx(len(onsets) / 10.0)
    assert 1.8 <= F.onset_rate(y, SR) <= 2.0


def test_onsets_of_silence_are_empty():
    silence = np.zeros(SR, dtype=np.float32)
    assert F.onset_times(silence, SR).size == 0
    assert F.onset_rate(silence, SR) == 0.0


def test_spectral_summary_sine():
    s = F.spectral_summary(sine(440.0, seconds=1.0), SR)
    assert s["centroid_mean"] == pytest.approx(440.0, rel=0.05)
    assert s["rolloff_mean"] == pytest.approx(440.0, rel=0.1)
    # a sine crosses zero twice per period: 2 * 440 / 22050 crossings per sample
    assert s["zcr_mean"] == pytest.approx(2 * 440 / SR, rel=0.1)
    assert s["chroma_top"] == 9  # A
    assert s["harmonic_share"] > 0.95
    assert s["rms_mean"] == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


def test_spectral_summary_centroid_follows_frequency():
    low = F.spectral_summary(sine(300.0, 0.5), SR, hpss=False)
    high = F.spectral_summary(sine(3000.0, 0.5), SR, hpss=False)
    assert "harmonic_share" not in low
    assert high["centroid_mean"] == pytest.approx(3000.0, rel=0.05)
    assert high["centroid_mean"] > 5 * low["centroid_mean"]


@pytest.mark.parametrize("bad", [np.zeros((2, 100), np.float32), np.zeros(0, np.float32), np.array([0.0, np.nan])])
def test_bad_signals_raise(bad):
    with pytest.raises(AudioError):
        F.spectral_summary(bad, SR)


def test_feature_table(write_wav):
    paths = [write_wav(sine(440.0, 2.0) + click_track(120.0, 2.0), "a.wav"),
             write_wav(sine(880.0, 2.0), "b.wav")]
    table = F.feature_table(paths, labels=["x", "y"], hpss=False)
    assert list(table.index) == ["a", "b"] and table.index.name == "clip_id"
    assert list(table["label"]) == ["x", "y"]
    assert table.loc["a", "duration"] == pytest.approx(2.0)
    assert table.loc["b", "centroid_mean"] > table.loc["a", "centroid_mean"] * 0.9
    assert {"tempo", "onset_rate", "zcr_mean", "rms_mean"} <= set(table.columns)


def test_feature_table_errors(write_wav, tmp_path):
    path = write_wav(sine(440.0, 1.0), "a.wav")
    with pytest.raises(AudioError, match="2 labels for 1 files"):
        F.feature_table([path], labels=["x", "y"])
    silent = write_wav(np.zeros(SR, dtype=np.float32), "silent.wav")
    with pytest.raises(AudioError, match="silent"):
        F.feature_table([silent])
    with pytest.raises(AudioError, match="not found"):
        F.feature_table([tmp_path / "missing.wav"])


def test_real_trumpet_f0_in_range(data_root):
    from helpers.audio import load_audio
    from helpers.datasets import librosa_example

    y, sr = load_audio(librosa_example("trumpet"), duration=2.0)
    s = F.f0_summary(y, sr, fmin=130.0, fmax=1050.0)
    # the trumpet plays around G4-C5 (~390-525 Hz)
    assert 300 < s["median"] < 600 and s["voiced_fraction"] > 0.5
