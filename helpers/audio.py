"""Loading audio safely and cutting it into segments (used by notebooks 00-10 and the command line).

Bad input (missing, empty, not audio, corrupt, silent, too short) raises
:class:`~helpers.errors.AudioError` naming the file, instead of failing deep inside a decoder."""
from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import soundfile as sf

from .errors import AudioError, one_line

__all__ = ["DEFAULT_SR", "MAX_SECONDS", "load_audio", "header_seconds", "segment", "n_segments",
           "add_noise", "augment"]

DEFAULT_SR = 22050  #: the sample rate the course works at (GTZAN's, and librosa's default)
#: what the course's models read of a file at most (its first 10 minutes; :func:`load_audio`'s
#: ``max_seconds``): memory stays bounded whatever a file's length or declared rate
#: (``benchmarks/memory.py``)
MAX_SECONDS, _MAX_RATE = 600.0, 48000


def load_audio(path: str | os.PathLike, *, sr: int | None = DEFAULT_SR, mono: bool = True,
               offset: float = 0.0, duration: float | None = None,
               min_duration: float | None = None, allow_silent: bool = True,
               max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Load audio with ``librosa.load`` as float32 samples ``(y, sr)`` (mono, 22,050 Hz by default).

    ``sr=None`` keeps the file's rate; ``mono=False`` keeps the channels, shape ``(channels, n)``;
    ``offset`` and ``duration`` (seconds) read a part; ``max_seconds`` bounds memory: at most that
    many seconds and no more samples than ``max_seconds`` at 48 kHz (a header declaring 2 kHz cannot
    make it decode hours). Raises :class:`AudioError` naming the file when it is missing, a folder,
    empty, not a regular file (a pipe or device: never opened), not decodable, without samples,
    shorter than ``min_duration`` seconds, or, with ``allow_silent=False``, silent (RMS below -80
    dBFS around the mean, so that a constant offset counts as silence).

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
    if not path.is_file():  # checked before opening: reading a pipe or a device can wait for ever
        raise AudioError(f"{path}: is not a regular file (a pipe, device or socket)")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")
    named = _utf8(path)  # libsndfile cannot open a non-UTF-8 name: then it reads the open file
    with contextlib.nullcontext(str(path)) if named else open(path, "rb") as source:
        info = _header(source)
        if info is not None and info.format == "RAW":  # libsndfile's guess for unknown .au/.raw
            raise AudioError(f"{path}: cannot be decoded as audio (no recognisable audio header)")
        if max_seconds is not None:  # m4a (no header libsndfile reads): at most max_seconds of it
            rate = info.samplerate if info is not None and info.samplerate > 0 else _MAX_RATE
            duration = min(duration or np.inf, max_seconds, max_seconds * _MAX_RATE / rate)
        if not named:
            source.seek(0)
        try:
            with warnings.catch_warnings():  # librosa warns if it falls back to audioread: expected
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", FutureWarning)
                y, sr_out = librosa.load(source, sr=sr, mono=mono, offset=offset, duration=duration)
        except Exception as exc:  # noqa: BLE001 - decoders raise many unrelated types
            if "not finite" in str(exc):  # librosa's check of a float file holding NaN or infinity
                raise AudioError(f"{path}: contains NaN or infinite samples"
                                 " (corrupt file)") from exc
            raise AudioError(f"{path}: cannot be decoded as audio ({one_line(exc)})") from exc
    if y.size == 0 or y.shape[-1] == 0:
        raise AudioError(f"{path}: contains no audio samples")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{path}: contains NaN or infinite samples (corrupt file)")
    length = y.shape[-1] / sr_out
    if min_duration is not None and length + 1e-9 < min_duration:
        raise AudioError(f"{path}: {length:.2f} s long, shorter than the required"
                         f" {min_duration:g} s")
    if not allow_silent and np.std(y, dtype=np.float64) < 1e-4:  # RMS minus any DC offset
        raise AudioError(f"{path}: is silent (below -80 dBFS once any constant offset is removed)")
    return y.astype(np.float32, copy=False), int(sr_out)


def header_seconds(path: str | os.PathLike) -> float | None:
    """A file's length in seconds as its header declares it, without decoding; None if libsndfile
    cannot tell (an m4a file, not audio, not a regular file).

    Examples
    --------
    >>> from helpers.datasets import librosa_example
    >>> round(header_seconds(librosa_example("trumpet")), 2)
    5.33
    """
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, "rb") as source:
        info = _header(source)
    return info.frames / info.samplerate if info is not None and info.samplerate > 0 else None


def _header(source: Any) -> Any:
    """libsndfile's ``sf.info`` of a name or an open file; None if it cannot read it (m4a)."""
    try:
        return sf.info(source)
    except (RuntimeError, sf.LibsndfileError):
        return None


def _utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def n_segments(n_samples: int, segment_length: int, hop_length: int | None = None) -> int:
    """How many ``segment_length``-sample segments, one every ``hop_length``, fit in ``n_samples``.

    The course's rule: a remainder shorter than a segment is dropped; length or hop < 1: AudioError.

    Examples
    --------
    >>> n_segments(int(30.013 * 22050), 3 * 22050), n_segments(int(17.97 * 22050), 3 * 22050)
    (10, 5)
    """
    hop = segment_length if hop_length is None else hop_length
    if segment_length <= 0 or hop <= 0:
        raise AudioError("n_segments: segment_length and hop_length must be positive, got "
                         f"{segment_length}, {hop}")
    return 0 if n_samples < segment_length else 1 + (n_samples - segment_length) // hop


def segment(y: np.ndarray, *, sr: int, seconds: float = 3.0, hop_seconds: float | None = None,
            source: str | os.PathLike | None = None) -> np.ndarray:
    """Cut a mono signal into segments of ``seconds`` (one every ``hop_seconds``, default adjacent).

    Returns an array of shape ``(n_segments, round(seconds * sr))`` (copies; the remainder is
    dropped, see :func:`n_segments`). Raises AudioError, naming ``source``, if ``y`` is not mono or
    is shorter than one segment.

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
        raise AudioError(f"{name}{len(y) / sr:.2f} s of audio is shorter than one {seconds:g} s"
                         " segment")
    return np.stack([y[s : s + length] for s in np.arange(count) * hop])


def add_noise(y: np.ndarray, *, snr_db: float, seed: int) -> np.ndarray:
    """``y`` plus Gaussian white noise at ``snr_db`` dB SNR (power over the whole signal), float32.

    Examples
    --------
    >>> y = np.sin(np.linspace(0, 2000, 100000)).astype(np.float32)
    >>> noisy = add_noise(y, snr_db=10.0, seed=0)
    >>> round(float(10 * np.log10(np.mean(y ** 2) / np.mean((noisy - y) ** 2))), 1)
    10.0
    """
    y = np.asarray(y, dtype=np.float32)
    noise = np.random.default_rng(seed).standard_normal(y.shape)
    noise *= np.sqrt(np.mean(np.square(y, dtype=np.float64)) / 10 ** (snr_db / 10)
                     / np.mean(noise ** 2))
    return (y + noise).astype(np.float32)


def augment(y: np.ndarray, *, sr: int, kind: str, amount: float, seed: int = 0) -> np.ndarray:
    """``y`` changed as recordings differ from GTZAN's, float32: ``"noise"``, white noise at
    ``amount`` dB SNR (:func:`add_noise`, ``seed``); ``"band"``, resampled to ``amount`` Hz and
    back, so nothing above ``amount / 2`` is left (a telephone: 8,000 Hz); ``"pitch"``, ``amount``
    semitones higher; ``"tempo"``, ``amount`` times as fast; ``"mp3"``, coded by libsndfile at the
    constant bit rate its ``compression_level`` ``amount`` sets (0.6 / 0.9 / 0.95: about 64 / 24 /
    16 kbit/s, mono at 16 or 22.05 kHz) and decoded, the start kept.

    Examples
    --------
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    >>> changes = [("band", 8000), ("pitch", 2), ("mp3", 0.9)]
    >>> [len(augment(y, sr=22050, kind=k, amount=a)) for k, a in changes]
    [22050, 22050, 22050]
    """
    y = np.asarray(y, dtype=np.float32)
    if kind == "noise":
        return add_noise(y, snr_db=amount, seed=seed)
    if kind == "band":
        low = librosa.resample(y, orig_sr=sr, target_sr=int(amount))
        return librosa.util.fix_length(librosa.resample(low, orig_sr=int(amount), target_sr=sr),
                                       size=len(y)).astype(np.float32)
    if kind == "pitch":
        return librosa.effects.pitch_shift(y, sr=sr, n_steps=amount).astype(np.float32)
    if kind == "tempo":
        return librosa.effects.time_stretch(y, rate=amount).astype(np.float32)
    if kind == "mp3":  # decoded, it starts with the codec's delay (about 1,100 samples)
        encoded = io.BytesIO()
        sf.write(encoded, y, sr, format="MP3", bitrate_mode="CONSTANT", compression_level=amount)
        decoded, _ = sf.read(io.BytesIO(encoded.getvalue()), dtype="float32")
        return librosa.util.fix_length(decoded, size=len(y))
    raise ValueError(f"augment: kind must be noise, band, pitch, tempo or mp3, not {kind!r}")
