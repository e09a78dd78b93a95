"""Tests for helpers.cleaning: exact SNR mixing, noise reduction, trimming silence, saving WAVs."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from helpers import cleaning as C
from helpers.errors import AudioError

from .conftest import SR, sine

TOL = 1024 + 512  # frame_length / 2 + hop_length, in samples


def test_snr_db_known_value():
    clean = np.ones(100)
    assert C.snr_db(clean, clean * 1.1) == pytest.approx(20.0)
    assert C.snr_db(clean, clean + 1.0) == pytest.approx(0.0)
    assert C.snr_db(clean, clean) == float("inf")


def test_snr_db_errors():
    with pytest.raises(AudioError, match="shapes differ"):
        C.snr_db(np.ones(3), np.ones(4))
    with pytest.raises(AudioError, match="silent"):
        C.snr_db(np.zeros(3), np.ones(3))


@pytest.mark.parametrize("snr", [-5.0, 0.0, 5.0, 12.5, 30.0])
def test_mix_at_snr_is_exact(snr):
    rng = np.random.default_rng(0)
    clean = sine(440.0, 1.0)
    noise = rng.standard_normal(3 * SR).astype(np.float32) * 7.0
    mix = C.mix_at_snr(clean, noise, snr)
    assert mix.dtype == np.float32 and mix.shape == clean.shape
    assert C.snr_db(clean, mix) == pytest.approx(snr, abs=1e-3)


def test_mix_at_snr_uses_offset_and_repeats_short_noise():
    clean = sine(440.0, 0.5)
    noise = np.r_[np.zeros(100), np.ones(50)]
    mix = C.mix_at_snr(clean, noise, 10.0, offset=100)  # constant noise, repeated
    residual = mix - clean
    assert np.allclose(residual, residual[0], atol=1e-6) and residual[0] > 0
    assert C.snr_db(clean, mix) == pytest.approx(10.0, abs=1e-3)


def test_mix_at_snr_errors():
    clean = sine(440.0, 0.1)
    with pytest.raises(AudioError, match="noise is silent"):
        C.mix_at_snr(clean, np.zeros(SR), 10.0)
    with pytest.raises(AudioError, match="clean signal is silent"):
        C.mix_at_snr(np.zeros(100), np.ones(100), 10.0)
    with pytest.raises(AudioError, match="mono"):
        C.mix_at_snr(np.ones((2, 10)), np.ones(10), 10.0)
    with pytest.raises(AudioError, match="finite"):
        C.mix_at_snr(clean, np.ones(10), float("nan"))
    with pytest.raises(AudioError, match="offset"):
        C.mix_at_snr(clean, np.ones(10), 0.0, offset=10)


@pytest.mark.parametrize("stationary", [True, False])
def test_reduce_noise_improves_snr_of_tone_in_white_noise(stationary):
    rng = np.random.default_rng(1)
    clean = sine(440.0, 2.0, amp=0.3)
    noise = rng.standard_normal(len(clean)).astype(np.float32)
    noisy = C.mix_at_snr(clean, noise, 0.0)
    kwargs = {"noise_clip": 0.1 * noise[:SR]} if stationary else {}
    cleaned = C.reduce_noise(noisy, SR, stationary=stationary, **kwargs)
    assert cleaned.shape == noisy.shape and cleaned.dtype == np.float32
    # measured: about +4.5 dB (stationary) and +1.5 dB (non-stationary) for this tone
    assert C.snr_db(clean, cleaned) > C.snr_db(clean, noisy) + 1.0


def test_reduce_noise_rejects_stereo():
    with pytest.raises(AudioError, match="mono"):
        C.reduce_noise(np.zeros((2, 100), np.float32), SR, stationary=True)


def test_trim_silence_returns_the_tone():
    silence = np.zeros(SR, dtype=np.float32)
    y = np.concatenate([silence, sine(440.0, 1.0), silence])
    trimmed, start, end = C.trim_silence(y, top_db=40)
    # bounds land on the frame grid; centred 2048-sample frames reach half a frame past an
    # edge, so each bound is within frame_length / 2 + hop_length of the true one
    assert abs(start - SR) <= TOL and abs(end - 2 * SR) <= TOL
    assert start <= SR and end >= 2 * SR  # nothing of the tone is cut
    assert start % 512 == 0 and end % 512 == 0
    assert len(trimmed) == end - start
    np.testing.assert_array_equal(trimmed, y[start:end])


def test_trim_silence_smaller_top_db_removes_more():
    # a loud tone, then a quiet tone 30 dB lower, then silence
    y = np.concatenate([sine(440.0, 1.0, amp=0.5), sine(440.0, 1.0, amp=0.5 * 10 ** (-30 / 20)),
                        np.zeros(SR, np.float32)])
    _, _, end_loose = C.trim_silence(y, top_db=60)
    _, _, end_strict = C.trim_silence(y, top_db=20)
    assert abs(end_loose - 2 * SR) <= TOL  # keeps the quiet tone
    assert abs(end_strict - SR) <= TOL  # treats the quiet tone as silence


def test_trim_silence_errors():
    with pytest.raises(AudioError, match="all zeros"):
        C.trim_silence(np.zeros(SR, dtype=np.float32))
    with pytest.raises(AudioError, match="mono"):
        C.trim_silence(np.ones((2, 10), dtype=np.float32))


def test_save_wav_round_trip(tmp_path):
    y = sine(440.0, 0.5)
    path = C.save_wav(y, SR, tmp_path / "tone")
    assert path.suffix == ".wav" and path.is_file()
    back, rate = sf.read(path, dtype="float32")
    assert rate == SR and sf.info(path).subtype == "PCM_16"
    np.testing.assert_allclose(back, y, atol=1 / 2**15)


def test_save_wav_relative_goes_under_build(monkeypatch, tmp_path):
    monkeypatch.setattr(C, "build_dir", lambda *parts: tmp_path.joinpath("build", *parts))
    (tmp_path / "build" / "audio").mkdir(parents=True)
    path = C.save_wav(np.full(10, 2.0, np.float32), SR, "loud.wav")
    assert path == tmp_path / "build" / "audio" / "loud.wav"
    assert sf.read(path)[0].max() == pytest.approx(1.0, abs=1e-4)  # clipped to full scale
    with pytest.raises(AudioError, match="no samples"):
        C.save_wav(np.zeros(0, np.float32), SR, "empty.wav")
