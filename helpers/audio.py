"""Loading audio safely, cutting it into segments, padding or cropping it.

Every function names the file and what is wrong when the input is bad
(missing, empty, not audio, corrupt, silent, too short) by raising
:class:`~helpers.errors.AudioError`, instead of failing deep inside a decoder.
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from .errors import AudioError

__all__ = [
    "DEFAULT_SR",
    "AUDIO_EXTENSIONS",
    "load_audio",
    "is_silent",
    "segment",
    "n_segments",
    "pad_or_crop",
    "rms_db",
]

logger = logging.getLogger(__name__)

#: The sample rate the course works at (GTZAN's, and librosa's default).
DEFAULT_SR = 22050

#: File types the course reads (anything libsndfile or audioread decodes works too).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".au", ".aiff", ".aif", ".m4a")


def load_audio(
    path: str | os.PathLike,
    *,
    sr: int | None = DEFAULT_SR,
    mono: bool = True,
    offset: float = 0.0,
    duration: float | None = None,
    min_duration: float | None = None,
    allow_silent: bool = True,
) -> tuple[np.ndarray, int]:
    """Load an audio file as float32 samples, mono and resampled by default.

    Decodes wav, flac, ogg, mp3 and au (libsndfile, with audioread as
    librosa's fallback), mixes stereo down to mono and resamples to ``sr``.

    Parameters
    ----------
    path : path-like
        The audio file.
    sr : int or None
        Target sample rate in Hz; None keeps the file's own rate.
    mono : bool
        Mix multi-channel audio down to one channel.
    offset : float
        Start reading this many seconds into the file.
    duration : float, optional
        Read at most this many seconds.
    min_duration : float, optional
        Raise if the loaded audio is shorter than this many seconds.
    allow_silent : bool
        When False, raise if the signal is digital silence (all samples zero
        or below -80 dBFS RMS).

    Returns
    -------
    y : numpy.ndarray
        float32 samples, shape ``(n,)`` (mono) or ``(channels, n)``.
    sr : int
        The sample rate of ``y`` in Hz.

    Raises
    ------
    AudioError
        Naming the file and saying what is wrong: missing, a folder, empty,
        not decodable as audio, no samples, shorter than ``min_duration``, or
        silent.

    Examples
    --------
    >>> from helpers.datasets import librosa_example
    >>> y, sr = load_audio(librosa_example("trumpet"))
    >>> sr, y.dtype
    (22050, dtype('float32'))
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")

    import librosa
    import soundfile as sf

    try:
        if sf.info(str(path)).format == "RAW":
            # libsndfile guesses "header-less u-law" for unknown .au/.raw bytes: that is not audio
            raise AudioError(f"{path}: cannot be decoded as audio (no recognisable audio header)")
    except (RuntimeError, sf.LibsndfileError):
        pass  # not readable by libsndfile: librosa falls back to audioread below (mp3, m4a)
    try:
        with warnings.catch_warnings():
            # librosa warns when it falls back to audioread (e.g. some mp3s); that is expected
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            y, sr_out = librosa.load(path, sr=sr, mono=mono, offset=offset, duration=duration)
    except Exception as exc:  # noqa: BLE001 - decoders raise many unrelated types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AudioError(f"{path}: cannot be decoded as audio ({reason})") from exc
    if y.size == 0 or y.shape[-1] == 0:
        raise AudioError(f"{path}: contains no audio samples")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{path}: contains NaN or infinite samples (corrupt file)")
    y = y.astype(np.float32, copy=False)
    length = y.shape[-1] / sr_out
    if min_duration is not None and length + 1e-9 < min_duration:
        raise AudioError(f"{path}: {length:.2f} s long, shorter than the required {min_duration:g} s")
    if not allow_silent and is_silent(y):
        raise AudioError(f"{path}: is silent (no sample above -80 dBFS)")
    return y, int(sr_out)


def rms_db(y: np.ndarray) -> float:
    """Root-mean-square level of a signal in dB relative to full scale (1.0).

    Returns ``-inf`` for an all-zero signal.
    """
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if np.size(y) else 0.0
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def is_silent(y: np.ndarray, *, threshold_db: float = -80.0) -> bool:
    """Whether a signal is (digital) silence: its RMS level is below ``threshold_db`` dBFS."""
    return rms_db(y) < threshold_db


def n_segments(n_samples: int, segment_length: int, hop_length: int | None = None) -> int:
    """How many whole segments of ``segment_length`` samples fit in ``n_samples``.

    The rule the course uses everywhere: segments start every ``hop_length``
    samples (default: back to back), and a remainder shorter than a segment is
    dropped. A 30.013 s GTZAN clip gives 10 segments of 3 s; a 17.97 s clip gives 5.
    """
    if segment_length <= 0:
        raise ValueError(f"segment_length must be positive, got {segment_length}")
    hop = segment_length if hop_length is None else hop_length
    if hop <= 0:
        raise ValueError(f"hop_length must be positive, got {hop}")
    if n_samples < segment_length:
        return 0
    return 1 + (n_samples - segment_length) // hop


def segment(
    y: np.ndarray,
    *,
    sr: int,
    seconds: float = 3.0,
    hop_seconds: float | None = None,
    source: str | os.PathLike | None = None,
) -> np.ndarray:
    """Cut a mono signal into equal-length segments.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal, shape ``(n,)``.
    sr : int
        Its sample rate in Hz.
    seconds : float
        Segment length in seconds.
    hop_seconds : float, optional
        Distance between segment starts (default: ``seconds``, no overlap).
    source : path-like, optional
        The file ``y`` came from, named in error messages.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_segments, round(seconds * sr))``; a remainder shorter than a
        segment is dropped (see :func:`n_segments`). The rows are copies.

    Raises
    ------
    AudioError
        If ``y`` is not mono or is shorter than one segment.

    Examples
    --------
    >>> import numpy as np
    >>> segment(np.zeros(22050 * 10, dtype=np.float32), sr=22050, seconds=3.0).shape
    (3, 66150)
    """
    name = f"{source}: " if source is not None else ""
    y = np.asarray(y)
    if y.ndim != 1:
        raise AudioError(f"{name}segment() needs a mono signal, got shape {y.shape}")
    length = int(round(seconds * sr))
    hop = length if hop_seconds is None else int(round(hop_seconds * sr))
    count = n_segments(len(y), length, hop)
    if count == 0:
        raise AudioError(
            f"{name}{len(y) / sr:.2f} s of audio is shorter than one {seconds:g} s segment"
        )
    starts = np.arange(count) * hop
    return np.stack([y[s : s + length] for s in starts])


def pad_or_crop(y: np.ndarray, length: int, *, mode: str = "constant", align: str = "start") -> np.ndarray:
    """Make a signal exactly ``length`` samples long.

    Parameters
    ----------
    y : numpy.ndarray
        Signal; the last axis is time.
    length : int
        Target number of samples.
    mode : {"constant", "wrap", "reflect"}
        How to pad: zeros, repeat the signal, or mirror it (numpy.pad modes).
    align : {"start", "center"}
        Keep the start of a long signal (crop the end; pad at the end) or its
        centre (crop/pad both ends equally).

    Returns
    -------
    numpy.ndarray
        Same dtype, last axis of size ``length``.
    """
    if length <= 0:
        raise ValueError(f"length must be positive, got {length}")
    if align not in {"start", "center"}:
        raise ValueError(f"align must be 'start' or 'center', got {align!r}")
    n = y.shape[-1]
    if n >= length:
        start = 0 if align == "start" else (n - length) // 2
        return y[..., start : start + length].copy()
    if n == 0:
        raise ValueError("cannot pad an empty signal")
    missing = length - n
    before = 0 if align == "start" else missing // 2
    widths = [(0, 0)] * (y.ndim - 1) + [(before, missing - before)]
    return np.pad(y, widths, mode=mode)
