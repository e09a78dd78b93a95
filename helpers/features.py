"""The 57-feature GTZAN table: one clip's features, as Kaggle's ``features_30_sec.csv`` has them.

The widely used GTZAN feature table (Kaggle's ``features_30_sec.csv``) holds, for every clip, the
mean and variance over time of a few librosa features, plus a tempo. It was made with an older
librosa (before 0.10), whose defaults differ from today's in two places that matter:

* STFTs padded the signal at both ends by *reflection* (``pad_mode="reflect"``);
  librosa 0.10 switched the default to zero padding (``"constant"``).
* ``librosa.effects.hpss`` inverted the harmonic and percussive STFTs without
  a target length and then zero-padded the result to the input's length.

:func:`gtzan_feature_vector` follows that recipe with librosa 0.11 and reproduces the table to
within float32 rounding on the full-length clips (notebook 04 measures it); its harmonic/percussive
separation gives ``librosa.decompose.hpss``'s numbers bit for bit with running medians
(``bottleneck``), 3-4 times faster. :func:`machinery.extract.extract_features` runs such a function
over many files (in parallel, cached, listing failures).
"""
from __future__ import annotations

import logging

import bottleneck
import librosa
import numpy as np

from .errors import AudioError

__all__ = ["FEATURE_COLUMNS", "N_FFT", "HOP_LENGTH", "gtzan_feature_vector"]

logger = logging.getLogger(__name__)

#: STFT size and hop of every frame-wise feature (librosa's defaults).
N_FFT = 2048
HOP_LENGTH = 512

#: Width (frames, bins) of the harmonic/percussive separation's median filters (librosa's default).
_HPSS_KERNEL = 31


_SUMMARISED = (
    "chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth",
    "rolloff", "zero_crossing_rate", "harmony", "perceptr",
)

#: The 57 feature columns of ``features_30_sec.csv``, in the table's order (MFCCs numbered from 1).
FEATURE_COLUMNS: tuple[str, ...] = tuple(
    [f"{name}_{stat}" for name in _SUMMARISED for stat in ("mean", "var")]
    + ["tempo"]
    + [f"mfcc{i}_{stat}" for i in range(1, 21) for stat in ("mean", "var")]
)


def gtzan_feature_vector(y: np.ndarray, sr: int, *, reference: bool = False) -> dict[str, float]:
    """The 57 features of ``features_30_sec.csv`` for one mono signal.

    One STFT (``n_fft=2048``, ``hop_length=512``, Hann window, reflection padding) feeds chroma,
    spectral centroid, bandwidth, roll-off, a 128-band mel spectrogram (-> 20 MFCCs and the onset
    strength behind the tempo) and the harmonic/percussive separation; RMS and zero-crossing rate
    are computed on frames of the waveform. Each frame-wise feature is summarised by its mean and
    (population) variance over time; for ``harmony`` and ``perceptr`` over the *samples* of the
    separated waveforms. ``tempo`` is the global tempo (BPM) ``librosa.beat.beat_track`` reports.

    ``y``: mono floating-point samples, at least ``N_FFT`` of them, at ``sr`` Hz (22,050 for GTZAN
    and the reference table). ``reference=True`` separates with ``librosa.decompose.hpss`` and takes
    the tempo from ``librosa.beat.beat_track``, as the classic code does: the same numbers, 3-4
    times slower. Returns a dict with exactly :data:`FEATURE_COLUMNS`, in that order. Raises
    :class:`AudioError` if ``y`` is not one-dimensional, shorter than one STFT frame, not floating
    point, or holds NaN or infinite samples.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = gtzan_feature_vector(rng.standard_normal(22050).astype(np.float32) * 0.1, 22050)
    >>> round(f["zero_crossing_rate_mean"], 1)  # white noise changes sign about every other sample
    0.5
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise AudioError("gtzan_feature_vector needs a mono signal of shape (n,), got shape"
                         f" {y.shape}")
    if y.shape[0] < N_FFT:
        raise AudioError(f"gtzan_feature_vector needs at least {N_FFT} samples (one STFT frame),"
                         f" got {y.shape[0]}")
    if not np.issubdtype(y.dtype, np.floating):
        raise AudioError(f"gtzan_feature_vector needs floating-point samples, got dtype {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise AudioError("gtzan_feature_vector: the signal holds NaN or infinite samples")
    sr = int(sr)
    frames = {"n_fft": N_FFT, "hop_length": HOP_LENGTH}

    stft = librosa.stft(y, **frames, pad_mode="reflect")  # the old default padding
    magnitude = np.abs(stft)
    power = magnitude**2
    log_mel = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, **frames))
    onset_envelope = librosa.onset.onset_strength(S=log_mel, sr=sr, hop_length=HOP_LENGTH,
                                                  aggregate=np.median)
    if reference:
        tracked, _ = librosa.beat.beat_track(onset_envelope=onset_envelope, sr=sr,
                                             hop_length=HOP_LENGTH)
    tempo = float(np.atleast_1d(tracked)[0]) if reference else _tempo(onset_envelope, sr)
    # harmonic/percussive separation inverted the old way: istft with no target length, then padded
    harmonic, percussive = (
        librosa.util.fix_length(librosa.istft(part, **frames, dtype=y.dtype), size=y.shape[0])
        for part in (librosa.decompose.hpss(stft) if reference else _hpss(stft))
    )
    series = {
        "chroma_stft": librosa.feature.chroma_stft(S=power, sr=sr, **frames),
        "rms": librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP_LENGTH,
                                   pad_mode="reflect"),
        "spectral_centroid": librosa.feature.spectral_centroid(S=magnitude, sr=sr, **frames),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(S=magnitude, sr=sr, **frames),
        "rolloff": librosa.feature.spectral_rolloff(S=magnitude, sr=sr, **frames),
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(y, frame_length=N_FFT,
                                                                 hop_length=HOP_LENGTH),
        "harmony": harmonic,
        "perceptr": percussive,
    }
    mfcc = librosa.feature.mfcc(S=log_mel, sr=sr, n_mfcc=20)
    series.update({f"mfcc{i}": row for i, row in enumerate(mfcc, start=1)})
    out = {"tempo": tempo}
    for name, values in series.items():
        out[f"{name}_mean"] = float(np.mean(values))
        out[f"{name}_var"] = float(np.var(values))
    return {name: out[name] for name in FEATURE_COLUMNS}


def _median_filter(x: np.ndarray, *, axis: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(x, mode="reflect")`` of size ``_HPSS_KERNEL`` along ``axis`` as
    a running median (``bottleneck.move_median``, O(n log w)): the same padding (scipy's "reflect"
    is NumPy's "symmetric") and centring, hence the same order statistic, bit for bit (for lines of
    3 or more values)."""
    half, axis = _HPSS_KERNEL // 2, axis % x.ndim
    padded = np.pad(x, [(half, half) if a == axis else (0, 0) for a in range(x.ndim)],
                    mode="symmetric")
    # moved[i] = median of padded[i-2h..i]
    moved = bottleneck.move_median(padded, window=_HPSS_KERNEL, axis=axis)
    return moved[(slice(None),) * axis + (slice(2 * half, None),)]


def _tempo(onset_envelope: np.ndarray, sr: int) -> float:
    """The tempo (BPM) ``librosa.beat.beat_track`` returns, without tracking the beats: its numba
    code compiles in every new process (seconds per worker) and the beats are not used."""
    if not onset_envelope.any():  # no onsets: beat_track's answer
        return 0.0
    return float(librosa.feature.tempo(onset_envelope=onset_envelope, sr=sr,
                                       hop_length=HOP_LENGTH)[0])


def _hpss(stft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``librosa.decompose.hpss(stft)`` (kernel 31, margin 1, soft masks of power 2), the same
    numbers in a fraction of the time: its two median filters (80 % of the features' time) by
    :func:`_median_filter`."""
    magnitude, phase = librosa.magphase(stft)
    harmonic = _median_filter(magnitude, axis=-1)  # median over time keeps steady tones
    percussive = _median_filter(magnitude, axis=-2)  # median over frequency keeps broadband clicks
    masks = (librosa.util.softmask(harmonic, percussive, power=2.0, split_zeros=True),
             librosa.util.softmask(percussive, harmonic, power=2.0, split_zeros=True))
    return (magnitude * masks[0]) * phase, (magnitude * masks[1]) * phase
