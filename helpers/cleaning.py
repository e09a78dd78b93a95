"""Cleaning audio: mixing noise at a known SNR, noise reduction, trimming silence, saving.

The signal-to-noise ratio (SNR) used throughout is

    SNR = 10 log10( sum(clean^2) / sum((other - clean)^2) )  dB,

i.e. how much stronger the clean signal is than everything that differs
from it. For a mixture ``clean + noise`` the difference is the noise itself;
for a denoised estimate it is the residual noise plus any distortion the
denoiser introduced, so the same formula measures before and after fairly.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .config import build_dir
from .errors import AudioError

__all__ = ["snr_db", "mix_at_snr", "reduce_noise", "trim_silence", "save_wav"]

logger = logging.getLogger(__name__)


def _energy(x: np.ndarray) -> float:
    return float(np.sum(np.square(np.asarray(x, dtype=np.float64))))


def snr_db(clean: np.ndarray, other: np.ndarray) -> float:
    """SNR in dB of ``other`` (a noisy or denoised version) against the ``clean`` reference.

    Parameters
    ----------
    clean : numpy.ndarray
        The reference signal.
    other : numpy.ndarray
        The same signal with noise (or after denoising), same shape.

    Returns
    -------
    float
        ``10 log10(sum(clean^2) / sum((other - clean)^2))``; ``inf`` when the
        two are identical.

    Raises
    ------
    AudioError
        If the shapes differ or the reference is silent.

    Examples
    --------
    >>> import numpy as np
    >>> round(snr_db(np.ones(4), np.ones(4) * 1.1), 1)
    20.0
    """
    clean = np.asarray(clean)
    other = np.asarray(other)
    if clean.shape != other.shape:
        raise AudioError(f"snr_db: shapes differ ({clean.shape} vs {other.shape})")
    signal = _energy(clean)
    if signal == 0:
        raise AudioError("snr_db: the clean reference is silent (zero energy)")
    noise = _energy(other.astype(np.float64) - clean.astype(np.float64))
    return float("inf") if noise == 0 else 10.0 * np.log10(signal / noise)


def mix_at_snr(
    clean: np.ndarray, noise: np.ndarray, snr: float, *, offset: int = 0
) -> np.ndarray:
    """Add ``noise`` to ``clean`` scaled so that the mixture has exactly ``snr`` dB SNR.

    Parameters
    ----------
    clean : numpy.ndarray
        Mono clean signal.
    noise : numpy.ndarray
        Mono noise recording; starting at sample ``offset``, it is cropped to
        the length of ``clean``, or repeated if shorter.
    snr : float
        Target SNR in dB (``snr_db(clean, result) == snr``).
    offset : int
        First sample of ``noise`` to use.

    Returns
    -------
    numpy.ndarray
        ``clean + g * noise`` as float32, same length as ``clean``.

    Raises
    ------
    AudioError
        If either signal is not mono, is empty or silent, or ``snr`` is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s, n = rng.standard_normal(1000), rng.standard_normal(1000)
    >>> round(snr_db(s, mix_at_snr(s, n, 10.0)), 3)
    10.0
    """
    clean = np.asarray(clean, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    for name, x in (("clean", clean), ("noise", noise)):
        if x.ndim != 1 or x.size == 0:
            raise AudioError(f"mix_at_snr: {name} must be a non-empty mono signal, got shape {x.shape}")
    if not np.isfinite(snr):
        raise AudioError(f"mix_at_snr: the target SNR must be finite, got {snr}")
    if not 0 <= offset < len(noise):
        raise AudioError(f"mix_at_snr: offset {offset} is outside the noise ({len(noise)} samples)")
    noise = noise[offset:]
    if len(noise) < len(clean):
        noise = np.resize(noise, len(clean))  # repeats the noise
    noise = noise[: len(clean)]
    e_clean, e_noise = _energy(clean), _energy(noise)
    if e_clean == 0:
        raise AudioError("mix_at_snr: the clean signal is silent, so no SNR can be set")
    if e_noise == 0:
        raise AudioError("mix_at_snr: the noise is silent over the clean signal's length")
    gain = np.sqrt(e_clean / (e_noise * 10.0 ** (snr / 10.0)))
    return (clean + gain * noise).astype(np.float32)


def reduce_noise(
    y: np.ndarray,
    sr: int,
    *,
    stationary: bool,
    noise_clip: np.ndarray | None = None,
    prop_decrease: float = 1.0,
    **kwargs,
) -> np.ndarray:
    """Spectral-gating noise reduction with ``noisereduce.reduce_noise``.

    Parameters
    ----------
    y : numpy.ndarray
        Mono noisy signal.
    sr : int
        Sample rate in Hz.
    stationary : bool
        True: one noise threshold per frequency, estimated from ``noise_clip``
        (or the whole signal). False: thresholds that follow the noise over
        time (a smoothed running estimate), for noise that changes.
    noise_clip : numpy.ndarray, optional
        A stretch of noise alone, for the stationary mode.
    prop_decrease : float
        How much of the noise to remove (1.0 = all it finds).
    **kwargs
        Passed to ``noisereduce.reduce_noise``.

    Returns
    -------
    numpy.ndarray
        The cleaned signal, float32, same length as ``y``.
    """
    import noisereduce

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise AudioError(f"reduce_noise: expected a non-empty mono signal, got shape {y.shape}")
    out = noisereduce.reduce_noise(
        y=y, sr=sr, stationary=stationary, y_noise=noise_clip, prop_decrease=prop_decrease,
        n_jobs=1, **kwargs,
    )
    return np.asarray(out, dtype=np.float32)[: len(y)]


def trim_silence(
    y: np.ndarray, *, top_db: float = 60.0, frame_length: int = 2048, hop_length: int = 512
) -> tuple[np.ndarray, int, int]:
    """Remove leading and trailing silence (``librosa.effects.trim``).

    A frame counts as silence when its RMS is more than ``top_db`` dB below
    the loudest frame; a smaller ``top_db`` removes more.

    Returns
    -------
    trimmed : numpy.ndarray
        ``y[start:end]``.
    start, end : int
        Sample bounds of the kept part (frame-accurate: multiples of ``hop_length``).

    Raises
    ------
    AudioError
        If the signal is not mono or is entirely digital silence.
    """
    import librosa

    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise AudioError(f"trim_silence: expected a non-empty mono signal, got shape {y.shape}")
    if not np.any(y):
        raise AudioError("trim_silence: the signal is all zeros; nothing would be left")
    trimmed, (start, end) = librosa.effects.trim(
        y, top_db=top_db, frame_length=frame_length, hop_length=hop_length
    )
    return trimmed, int(start), int(end)


def save_wav(y: np.ndarray, sr: int, name: str | os.PathLike, *, folder: str = "audio") -> Path:
    """Write a signal as a 16-bit PCM WAV file under ``build/<folder>/`` (never the repository).

    Samples are clipped to [-1, 1] first. ``name`` may also be an absolute path.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    import soundfile as sf

    y = np.asarray(y, dtype=np.float32)
    if y.size == 0:
        raise AudioError(f"save_wav: {name}: nothing to write (no samples)")
    path = Path(name)
    if not path.is_absolute():
        path = build_dir(folder) / path
    if path.suffix.lower() != ".wav":
        path = path.with_suffix(".wav")
    sf.write(path, np.clip(y.T if y.ndim == 2 else y, -1.0, 1.0), int(sr), subtype="PCM_16")
    logger.info("wrote %s (%.2f s)", path, y.shape[-1] / sr)
    return path
