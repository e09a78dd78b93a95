"""Compile, once and in one process, the numba code of every librosa function the course calls.

librosa marks its numba functions ``cache=True``: the first call compiles them and writes the machine code
next to librosa's sources (or under ``NUMBA_CACHE_DIR``). Several processes doing that first call at once,
such as notebook kernels started together by ``pytest -n 2``, race on those files (numba/numba#10128) and a
kernel can die. Run this first, in the same environment and CPU profile as the tests, and every later
process only loads the cache. (``make test`` runs its files one at a time, where the first kernel compiles
and the rest load; this is the step that makes ``pytest -n 2`` safe, issue 31.)

``CALLS`` lists the librosa functions that the notebooks, ``helpers/``, ``benchmarks/`` and ``tools/`` call
(``tests/test_numba_warmup.py`` fails when one is missing), each called here on a short synthetic signal in
float32 and in float64, the two dtypes the course passes.

Usage: ``python tools/numba_warmup.py`` (prints one line: how many calls, how long).
"""
from __future__ import annotations

import os
import sys
import time
import warnings

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

SR = 22050


def _signal(dtype) -> np.ndarray:
    """Two seconds of a 440 Hz tone with a click every half second (beats and onsets to find)."""
    t = np.arange(2 * SR) / SR
    y = 0.3 * np.sin(2 * np.pi * 440 * t)
    y[:: SR // 2] += 0.9
    return y.astype(dtype)


def _calls() -> dict:
    import librosa
    import librosa.display
    import matplotlib.pyplot as plt

    def show(draw):
        def call(y):
            fig, ax = plt.subplots()
            draw(y, ax)
            plt.close(fig)
        return call

    return {
        "stft": lambda y: librosa.stft(y),
        "istft": lambda y: librosa.istft(librosa.stft(y)),
        "magphase": lambda y: librosa.magphase(librosa.stft(y)),
        "amplitude_to_db": lambda y: librosa.amplitude_to_db(np.abs(librosa.stft(y))),
        "power_to_db": lambda y: librosa.power_to_db(np.abs(librosa.stft(y)) ** 2),
        "feature.melspectrogram": lambda y: librosa.feature.melspectrogram(y=y, sr=SR),
        "feature.mfcc": lambda y: librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20),
        "feature.chroma_stft": lambda y: librosa.feature.chroma_stft(y=y, sr=SR),
        "feature.rms": lambda y: librosa.feature.rms(y=y),
        "feature.spectral_centroid": lambda y: librosa.feature.spectral_centroid(y=y, sr=SR),
        "feature.spectral_bandwidth": lambda y: librosa.feature.spectral_bandwidth(y=y, sr=SR),
        "feature.spectral_rolloff": lambda y: librosa.feature.spectral_rolloff(y=y, sr=SR),
        "feature.zero_crossing_rate": lambda y: librosa.feature.zero_crossing_rate(y),
        "feature.tempo": lambda y: librosa.feature.tempo(y=y, sr=SR),
        "onset.onset_strength": lambda y: librosa.onset.onset_strength(y=y, sr=SR),
        "onset.onset_detect": lambda y: librosa.onset.onset_detect(y=y, sr=SR),
        "beat.beat_track": lambda y: librosa.beat.beat_track(y=y, sr=SR),
        "effects.hpss": lambda y: librosa.effects.hpss(y),
        "decompose.hpss": lambda y: librosa.decompose.hpss(librosa.stft(y)),
        "util.softmask": lambda y: librosa.util.softmask(np.abs(librosa.stft(y)), np.abs(librosa.stft(y)) + 1),
        "effects.trim": lambda y: librosa.effects.trim(y),
        "effects.pitch_shift": lambda y: librosa.effects.pitch_shift(y, sr=SR, n_steps=2),
        "effects.time_stretch": lambda y: librosa.effects.time_stretch(y, rate=1.1),
        "pyin": lambda y: librosa.pyin(y[: SR // 2], fmin=100, fmax=1000, sr=SR),
        "resample": lambda y: librosa.resample(y, orig_sr=SR, target_sr=16000),
        "util.fix_length": lambda y: librosa.util.fix_length(y, size=SR),
        "clicks": lambda y: librosa.clicks(times=[0.5, 1.0], sr=SR, length=len(y)),
        "times_like": lambda y: librosa.times_like(librosa.stft(y), sr=SR),
        "fft_frequencies": lambda y: librosa.fft_frequencies(sr=SR),
        "mel_frequencies": lambda y: librosa.mel_frequencies(n_mels=64),
        "filters.mel": lambda y: librosa.filters.mel(sr=SR, n_fft=2048),
        "filters.get_window": lambda y: librosa.filters.get_window("hann", 2048),
        "hz_to_mel": lambda y: librosa.hz_to_mel(440.0),
        "hz_to_note": lambda y: librosa.hz_to_note([440.0, 261.6]),
        "note_to_hz": lambda y: librosa.note_to_hz(["A4", "C4"]),
        "display.specshow": show(lambda y, ax: librosa.display.specshow(np.abs(librosa.stft(y)), sr=SR, ax=ax)),
        "display.waveshow": show(lambda y, ax: librosa.display.waveshow(y, sr=SR, ax=ax)),
        "load": lambda y: None,  # decoding (soundfile) and resampling (soxr): no numba code of their own
        "ex": lambda y: None,    # a file name: nothing to compile
    }


#: the librosa functions this tool calls (the names after ``librosa.``)
CALLS = ("stft", "istft", "magphase", "amplitude_to_db", "power_to_db", "feature.melspectrogram", "feature.mfcc",
         "feature.chroma_stft", "feature.rms", "feature.spectral_centroid", "feature.spectral_bandwidth",
         "feature.spectral_rolloff", "feature.zero_crossing_rate", "feature.tempo", "onset.onset_strength",
         "onset.onset_detect", "beat.beat_track", "effects.hpss", "decompose.hpss", "util.softmask", "effects.trim",
         "effects.pitch_shift", "effects.time_stretch", "pyin", "resample", "util.fix_length", "clicks",
         "times_like", "fft_frequencies", "mel_frequencies", "filters.mel", "filters.get_window", "hz_to_mel",
         "hz_to_note", "note_to_hz", "display.specshow", "display.waveshow", "load", "ex")


def main() -> int:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyin on a short tone, trim of a loud signal: harmless notes
        calls = _calls()
        assert set(calls) == set(CALLS), sorted(set(calls) ^ set(CALLS))
        for dtype in (np.float32, np.float64):
            y = _signal(dtype)
            for name in CALLS:
                calls[name](y)
    print(f"numba warm-up: {len(CALLS)} librosa functions on float32 and float64 in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
