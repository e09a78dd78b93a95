"""Audio features for teaching: spectra, MFCCs by hand, f0, tempo, onsets, spectral summaries.

Small, pure functions around librosa with the course's defaults
(22,050 Hz, ``n_fft=2048``, ``hop_length=512``). Each takes a mono float
signal ``y`` and its sample rate ``sr`` and returns numbers, arrays or a
:class:`pandas.DataFrame`; none of them plots or prints.

For the parallel, cached extraction over a whole data set see
:mod:`helpers.extract`; for the reference 57-feature GTZAN set see
:mod:`helpers.gtzan_features`. :func:`feature_table` here is the simple,
sequential version used to teach what a per-clip feature table is.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .audio import DEFAULT_SR, is_silent, load_audio
from .errors import AudioError

__all__ = [
    "N_FFT",
    "HOP_LENGTH",
    "fft_magnitude",
    "stft_db",
    "mel_db",
    "mfcc_by_hand",
    "pyin_f0",
    "f0_stats",
    "f0_summary",
    "tempo_and_beats",
    "onset_times",
    "onset_rate",
    "spectral_summary",
    "feature_table",
]

logger = logging.getLogger(__name__)

#: FFT size the course uses by default (93 ms at 22,050 Hz).
N_FFT = 2048
#: Hop between frames in samples (23 ms at 22,050 Hz).
HOP_LENGTH = 512


def _mono(y: np.ndarray, what: str = "signal") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise AudioError(f"{what}: expected a mono signal of shape (n,), got shape {y.shape}")
    if y.size == 0:
        raise AudioError(f"{what}: the signal has no samples")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{what}: the signal contains NaN or infinite samples")
    return y.astype(np.float32, copy=False)


def fft_magnitude(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude spectrum of a whole signal: the positive-frequency half of its FFT.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    freqs : numpy.ndarray
        Bin frequencies in Hz, ``k * sr / n`` for ``k = 0 .. n // 2``
        (0 Hz up to the Nyquist frequency ``sr / 2``).
    magnitude : numpy.ndarray
        ``|FFT|`` of each bin, scaled by ``2 / n`` so that a sine of amplitude
        ``a`` peaks at about ``a`` (a Hann window is applied first, so the
        peak of a sine between bins is read with little leakage).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(22050) / 22050
    >>> f, m = fft_magnitude(np.sin(2 * np.pi * 440 * t), 22050)
    >>> float(f[np.argmax(m)])
    440.0
    """
    y = _mono(y, "fft_magnitude")
    n = len(y)
    window = np.hanning(n) if n > 1 else np.ones(1)
    spectrum = np.fft.rfft(y * window)
    freqs = np.fft.rfftfreq(n, d=1.0 / sr)
    magnitude = np.abs(spectrum) * 2.0 / window.sum()
    return freqs, magnitude


def stft_db(y: np.ndarray, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """STFT magnitude in dB relative to the loudest bin, shape ``(1 + n_fft // 2, frames)``."""
    import librosa

    y = _mono(y, "stft_db")
    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length))
    return librosa.amplitude_to_db(S, ref=np.max)


def mel_db(
    y: np.ndarray,
    sr: int,
    *,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    n_mels: int = 128,
    ref: float | Callable[[np.ndarray], float] = np.max,
    top_db: float | None = 80.0,
) -> np.ndarray:
    """Mel power spectrogram in dB, shape ``(n_mels, frames)``.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Sample rate in Hz.
    n_fft, hop_length, n_mels : int
        STFT size, hop in samples and number of mel bands.
    ref : float or callable
        0 dB reference: ``np.max`` (default) makes the loudest bin 0 dB, good for
        looking at one clip; ``1.0`` (full scale) keeps loud and quiet clips
        comparable, which matters when spectrograms are averaged.
    top_db : float or None
        Floor this many dB below the peak; ``None`` keeps every value.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(22050) / 22050
    >>> float(mel_db(np.sin(2 * np.pi * 440 * t), 22050).max())
    0.0
    """
    import librosa

    y = _mono(y, "mel_db")
    M = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    return librosa.power_to_db(M, ref=ref, amin=1e-10, top_db=top_db)


def mfcc_by_hand(
    y: np.ndarray,
    sr: int,
    *,
    n_mfcc: int = 20,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    n_mels: int = 128,
) -> dict[str, np.ndarray]:
    """MFCCs computed one step at a time, returning every intermediate result.

    power spectrum ``|STFT|^2`` -> mel filterbank -> log (dB) -> DCT-II
    (orthonormal), keeping the first ``n_mfcc`` coefficients. With the same
    settings this equals ``librosa.feature.mfcc`` to float32 precision.

    Returns
    -------
    dict
        ``power`` (``(1 + n_fft // 2, frames)``), ``filterbank``
        (``(n_mels, 1 + n_fft // 2)``), ``mel`` (``(n_mels, frames)``),
        ``log_mel`` (dB) and ``mfcc`` (``(n_mfcc, frames)``).
    """
    import librosa
    import scipy.fft

    y = _mono(y, "mfcc_by_hand")
    power = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length)) ** 2
    filterbank = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    mel = filterbank @ power
    log_mel = librosa.power_to_db(mel)  # 10 * log10(mel), floored at 80 dB below the maximum
    mfcc = scipy.fft.dct(log_mel, axis=0, type=2, norm="ortho")[:n_mfcc]
    return {"power": power, "filterbank": filterbank, "mel": mel, "log_mel": log_mel, "mfcc": mfcc}


def pyin_f0(
    y: np.ndarray,
    sr: int,
    *,
    fmin: float = 65.0,
    fmax: float = 2093.0,
    frame_length: int = 2048,
    hop_length: int = HOP_LENGTH,
) -> pd.DataFrame:
    """Fundamental frequency per frame with pYIN (``librosa.pyin``).

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Sample rate in Hz.
    fmin, fmax : float
        Search range in Hz (default C2 to C7). A narrower range is faster.
    frame_length, hop_length : int
        Analysis frame and hop in samples.

    Returns
    -------
    pandas.DataFrame
        One row per frame: ``time`` (s), ``f0`` (Hz, NaN where unvoiced),
        ``voiced`` (bool) and ``voiced_prob``.

    Raises
    ------
    AudioError
        If the signal is not mono, has no samples, or is silent.
    """
    import librosa

    y = _mono(y, "pyin_f0")
    if is_silent(y):
        raise AudioError("pyin_f0: the signal is silent (RMS below -80 dBFS); it has no pitch")
    f0, voiced, prob = librosa.pyin(
        y, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length, hop_length=hop_length
    )
    times = librosa.times_like(f0, sr=sr, hop_length=hop_length)
    return pd.DataFrame({"time": times, "f0": f0, "voiced": voiced.astype(bool), "voiced_prob": prob})


def f0_stats(f0: np.ndarray | pd.DataFrame, voiced: np.ndarray | None = None) -> dict[str, float]:
    """Summary statistics of the voiced frames of an f0 track.

    Parameters
    ----------
    f0 : numpy.ndarray or pandas.DataFrame
        f0 in Hz per frame (NaN for unvoiced frames), or the table returned
        by :func:`pyin_f0`.
    voiced : numpy.ndarray of bool, optional
        Which frames are voiced; default: the frames where ``f0`` is finite.

    Returns
    -------
    dict
        ``mean``, ``median``, ``std``, ``p5``, ``p95`` (Hz) over voiced
        frames, ``voiced_fraction`` (0-1) and ``n_voiced``. When no frame is
        voiced the five statistics are NaN (documented, not an error), so
        the result can still go into a feature table.

    Examples
    --------
    >>> f0_stats([440.0, float("nan"), 442.0])["median"]
    441.0
    """
    if isinstance(f0, pd.DataFrame):
        if voiced is None:
            voiced = f0["voiced"].to_numpy()
        f0 = f0["f0"].to_numpy()
    f0 = np.asarray(f0, dtype=float)
    if f0.ndim != 1 or f0.size == 0:
        raise AudioError(f"f0_stats: expected a non-empty 1-D f0 track, got shape {f0.shape}")
    mask = np.isfinite(f0) if voiced is None else (np.asarray(voiced, dtype=bool) & np.isfinite(f0))
    values = f0[mask]
    out = {"voiced_fraction": float(mask.mean()), "n_voiced": int(mask.sum())}
    if values.size == 0:
        stats = dict.fromkeys(["mean", "median", "std", "p5", "p95"], float("nan"))
    else:
        stats = {
            "mean": float(np.mean(values)),
            "median": float(np.median(values)),
            "std": float(np.std(values)),
            "p5": float(np.percentile(values, 5)),
            "p95": float(np.percentile(values, 95)),
        }
    return {**stats, **out}


def f0_summary(y: np.ndarray, sr: int, **pyin_kwargs) -> dict[str, float]:
    """:func:`pyin_f0` followed by :func:`f0_stats` (raises AudioError on silence)."""
    return f0_stats(pyin_f0(y, sr, **pyin_kwargs))


def tempo_and_beats(
    y: np.ndarray,
    sr: int,
    *,
    hop_length: int = HOP_LENGTH,
    start_bpm: float = 120.0,
    refine: bool = True,
) -> tuple[float, np.ndarray]:
    """Global tempo (``librosa.feature.tempo``) and beat times (``librosa.beat.beat_track``).

    Both are computed from the same onset-strength envelope; the beat tracker
    is told the estimated tempo so the two agree.

    ``librosa.feature.tempo`` can only return ``60 * sr / (hop_length * lag)``
    for a whole number of frames ``lag``: at 22,050 Hz and a 512-sample hop the
    values near 120 BPM are 117.5 and 123.0. With ``refine=True`` (and at
    least 4 beats) the tempo is instead ``60 / period``, where ``period`` is
    the slope of a straight line fitted to the beat times (beat index ->
    seconds), which is not tied to that grid.

    Returns
    -------
    tempo : float
        Beats per minute.
    beat_times : numpy.ndarray
        Beat positions in seconds.

    Raises
    ------
    AudioError
        If the signal is silent (no onsets, so no tempo).
    """
    import librosa

    y = _mono(y, "tempo_and_beats")
    if is_silent(y):
        raise AudioError("tempo_and_beats: the signal is silent; it has no beat")
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop_length)
    tempo = float(librosa.feature.tempo(onset_envelope=env, sr=sr, hop_length=hop_length, start_bpm=start_bpm)[0])
    _, beats = librosa.beat.beat_track(
        onset_envelope=env, sr=sr, hop_length=hop_length, bpm=tempo, units="time"
    )
    beats = np.asarray(beats, dtype=float)
    if refine and beats.size >= 4:
        period = np.polyfit(np.arange(beats.size), beats, 1)[0]
        if period > 0:
            tempo = 60.0 / float(period)
    return tempo, beats


def onset_times(
    y: np.ndarray, sr: int, *, hop_length: int = HOP_LENGTH, backtrack: bool = False
) -> np.ndarray:
    """Onset times in seconds (``librosa.onset.onset_detect``); empty for silence.

    With ``backtrack=True`` each onset is moved back to the preceding energy
    minimum, which is closer to where the note physically starts.
    """
    import librosa

    y = _mono(y, "onset_times")
    if is_silent(y):
        return np.zeros(0)
    return librosa.onset.onset_detect(
        y=y, sr=sr, hop_length=hop_length, backtrack=backtrack, units="time"
    ).astype(float)


def onset_rate(y: np.ndarray, sr: int, *, hop_length: int = HOP_LENGTH) -> float:
    """Onsets per second over the whole signal."""
    y = _mono(y, "onset_rate")
    return len(onset_times(y, sr, hop_length=hop_length)) / (len(y) / sr)


def spectral_summary(
    y: np.ndarray, sr: int, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, hpss: bool = True
) -> dict[str, float]:
    """Mean and standard deviation over frames of the classic frame-level features.

    Features: spectral centroid, bandwidth and 85 % roll-off (Hz),
    zero-crossing rate (crossings per sample), RMS (linear), mean chroma
    energy and the pitch class with the most chroma energy (0 = C ... 11 = B),
    and (``hpss=True``) the share of energy in the harmonic part of a
    harmonic/percussive separation.

    Returns
    -------
    dict
        Keys such as ``centroid_mean``, ``centroid_std``, ``bandwidth_mean``,
        ``rolloff_mean``, ``zcr_mean``, ``rms_mean``, ``chroma_mean``,
        ``chroma_top``, ``harmonic_share``.
    """
    import librosa

    y = _mono(y, "spectral_summary")
    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length))
    frames = {
        "centroid": librosa.feature.spectral_centroid(S=S, sr=sr, n_fft=n_fft, hop_length=hop_length)[0],
        "bandwidth": librosa.feature.spectral_bandwidth(S=S, sr=sr, n_fft=n_fft, hop_length=hop_length)[0],
        "rolloff": librosa.feature.spectral_rolloff(
            S=S, sr=sr, n_fft=n_fft, hop_length=hop_length, roll_percent=0.85
        )[0],
        "zcr": librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop_length)[0],
        "rms": librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop_length)[0],
    }
    out: dict[str, float] = {}
    for name, values in frames.items():
        out[f"{name}_mean"] = float(np.mean(values))
        out[f"{name}_std"] = float(np.std(values))
    chroma = librosa.feature.chroma_stft(S=S**2, sr=sr, n_fft=n_fft, hop_length=hop_length)
    out["chroma_mean"] = float(chroma.mean())
    out["chroma_top"] = int(np.argmax(chroma.mean(axis=1)))
    if hpss:
        D = librosa.stft(y, n_fft=n_fft, hop_length=hop_length)
        H, P = librosa.decompose.hpss(D)
        h, p = float(np.sum(np.abs(H) ** 2)), float(np.sum(np.abs(P) ** 2))
        out["harmonic_share"] = h / (h + p) if h + p > 0 else float("nan")
    return out


def feature_table(
    paths: Sequence[str | os.PathLike],
    *,
    labels: Iterable[str] | None = None,
    ids: Iterable[str] | None = None,
    sr: int = DEFAULT_SR,
    duration: float | None = None,
    hpss: bool = True,
    progress: bool | None = None,
) -> pd.DataFrame:
    """One row of summary features per audio file (simple, sequential).

    Each file is loaded with :func:`helpers.audio.load_audio` (mono, ``sr``,
    at most ``duration`` seconds); the row holds :func:`spectral_summary`,
    the tempo from :func:`tempo_and_beats` and the :func:`onset_rate`.

    Parameters
    ----------
    paths : sequence of path-like
        The audio files.
    labels : iterable of str, optional
        A label per file (e.g. the genre), stored in a ``label`` column.
    ids : iterable of str, optional
        An identifier per file, used as the index (default: the file name
        without extension).
    sr : int
        Sample rate to load at.
    duration : float, optional
        Read at most this many seconds of each file.
    hpss : bool
        Include the harmonic share (the slowest feature).
    progress : bool, optional
        Show a tqdm progress bar (default: for 5 files or more).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``clip_id``; columns ``duration`` (s), the spectral
        features, ``tempo`` (BPM), ``onset_rate`` (1/s) and ``label`` if given.

    Raises
    ------
    AudioError
        If a file cannot be read, is silent, or the number of labels/ids
        differs from the number of paths.
    """
    from pathlib import Path

    from tqdm.auto import tqdm

    paths = list(paths)
    labels = None if labels is None else list(labels)
    ids = [Path(p).stem for p in paths] if ids is None else list(ids)
    for name, values in (("labels", labels), ("ids", ids)):
        if values is not None and len(values) != len(paths):
            raise AudioError(f"feature_table: {len(values)} {name} for {len(paths)} files")
    rows = []
    for path in tqdm(paths, desc="features", disable=(len(paths) < 5) if progress is None else not progress):
        y, rate = load_audio(path, sr=sr, duration=duration, allow_silent=False)
        row = {"duration": len(y) / rate}
        row.update(spectral_summary(y, rate, hpss=hpss))
        row["tempo"], _ = tempo_and_beats(y, rate)
        row["onset_rate"] = onset_rate(y, rate)
        rows.append(row)
    table = pd.DataFrame(rows, index=pd.Index(ids, name="clip_id"))
    if labels is not None:
        table["label"] = labels
    return table
