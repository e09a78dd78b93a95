"""The 57 summary features of GTZAN's ``features_30_sec.csv``, reproduced.

The widely used GTZAN feature table (Kaggle, "GTZAN Dataset - Music Genre
Classification") holds, for every clip, the mean and variance over time of a
few librosa features, plus a tempo. It was made with an older librosa
(before 0.10), whose defaults differ from today's in two places that matter:

* STFTs padded the signal at both ends by *reflection* (``pad_mode="reflect"``);
  librosa 0.10 switched the default to zero padding (``"constant"``).
* ``librosa.effects.hpss`` inverted the harmonic and percussive STFTs without
  a target length and then zero-padded the result to the input's length, so
  the last few hundred samples of both parts are zeros.

:func:`gtzan_feature_vector` follows that recipe with librosa 0.11 and
reproduces the table to within float32 rounding on the full-length clips
(median relative difference about 1e-7). :func:`compare_with_reference` and
:func:`parity_summary` measure that.

Examples
--------
>>> import numpy as np
>>> y = 0.1 * np.sin(2 * np.pi * 440 * np.arange(22050 * 3) / 22050).astype(np.float32)
>>> features = gtzan_feature_vector(y, 22050)
>>> len(features), list(features)[:3]
(57, ['chroma_stft_mean', 'chroma_stft_var', 'rms_mean'])
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .errors import AudioError, CourseError

__all__ = [
    "FEATURE_COLUMNS",
    "FEATURE_GROUPS",
    "N_FFT",
    "HOP_LENGTH",
    "gtzan_feature_vector",
    "compare_with_reference",
    "parity_summary",
    "tempo_relation",
]

logger = logging.getLogger(__name__)

#: STFT size and hop of every frame-wise feature (librosa's defaults).
N_FFT = 2048
HOP_LENGTH = 512

_SUMMARISED = [
    "chroma_stft",
    "rms",
    "spectral_centroid",
    "spectral_bandwidth",
    "rolloff",
    "zero_crossing_rate",
    "harmony",
    "perceptr",
]

#: The 57 feature columns of ``features_30_sec.csv``, in the table's order.
FEATURE_COLUMNS: tuple[str, ...] = tuple(
    [f"{name}_{stat}" for name in _SUMMARISED for stat in ("mean", "var")]
    + ["tempo"]
    + [f"mfcc{i}_{stat}" for i in range(1, 21) for stat in ("mean", "var")]
)

#: Feature columns grouped by the librosa feature they summarise.
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    **{name: (f"{name}_mean", f"{name}_var") for name in _SUMMARISED},
    "tempo": ("tempo",),
    "mfcc": tuple(c for c in FEATURE_COLUMNS if c.startswith("mfcc")),
}


def _summarise(out: dict[str, float], name: str, values: np.ndarray) -> None:
    out[f"{name}_mean"] = float(np.mean(values))
    out[f"{name}_var"] = float(np.var(values))


def gtzan_feature_vector(y: np.ndarray, sr: int) -> dict[str, float]:
    """The 57 features of ``features_30_sec.csv`` for one mono signal.

    The recipe of the reference table (librosa defaults of the time, on the
    22,050 Hz clips): one STFT (``n_fft=2048``, ``hop_length=512``, Hann
    window, reflection padding) feeds chroma, spectral centroid, bandwidth,
    roll-off, a 128-band mel spectrogram (-> 20 MFCCs and the onset strength
    behind the tempo) and the median-filtering harmonic/percussive separation;
    RMS and zero-crossing rate are computed on frames of the waveform. Each
    frame-wise feature is summarised by its mean and (population) variance over
    time; for ``harmony`` and ``perceptr`` the mean and variance are over the
    *samples* of the separated waveforms. ``tempo`` is the global tempo (BPM)
    of ``librosa.beat.beat_track``.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal, shape ``(n,)``, at least ``N_FFT`` (2048) samples.
    sr : int
        Its sample rate in Hz (22,050 for GTZAN and the reference table).

    Returns
    -------
    dict of str to float
        Exactly :data:`FEATURE_COLUMNS`, in that order.

    Raises
    ------
    AudioError
        If ``y`` is not one-dimensional, shorter than one STFT frame, or holds
        NaN or infinite samples.

    Notes
    -----
    Deterministic and module-level, so it can be pickled to worker processes
    (``helpers.extract.extract_features``). About 1 s of CPU per 30 s clip,
    two thirds of it the harmonic/percussive separation.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> f = gtzan_feature_vector(rng.standard_normal(22050).astype(np.float32) * 0.1, 22050)
    >>> round(f["zero_crossing_rate_mean"], 1)  # white noise changes sign about every other sample
    0.5
    """
    import librosa

    y = np.asarray(y)
    if y.ndim != 1:
        raise AudioError(f"gtzan_feature_vector needs a mono signal of shape (n,), got shape {y.shape}")
    if y.shape[0] < N_FFT:
        raise AudioError(
            f"gtzan_feature_vector needs at least {N_FFT} samples (one STFT frame), got {y.shape[0]}"
        )
    if not np.all(np.isfinite(y)):
        raise AudioError("gtzan_feature_vector: the signal holds NaN or infinite samples")
    if not np.issubdtype(y.dtype, np.floating):
        raise AudioError(f"gtzan_feature_vector needs floating-point samples, got dtype {y.dtype}")
    sr = int(sr)

    # One complex STFT with the old default padding (reflection) feeds everything spectral.
    stft = librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH, pad_mode="reflect")
    magnitude = np.abs(stft)
    power = magnitude**2

    out: dict[str, float] = {}
    _summarise(out, "chroma_stft", librosa.feature.chroma_stft(S=power, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH))
    _summarise(
        out, "rms", librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP_LENGTH, pad_mode="reflect")
    )
    _summarise(
        out, "spectral_centroid",
        librosa.feature.spectral_centroid(S=magnitude, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH),
    )
    _summarise(
        out, "spectral_bandwidth",
        librosa.feature.spectral_bandwidth(S=magnitude, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH),
    )
    _summarise(
        out, "rolloff", librosa.feature.spectral_rolloff(S=magnitude, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH)
    )
    _summarise(
        out, "zero_crossing_rate",
        librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP_LENGTH),
    )

    # Harmonic / percussive separation, inverted the old way: istft without a
    # target length, then zero-padded to the input length.
    harmonic_stft, percussive_stft = librosa.decompose.hpss(stft)
    for name, part in (("harmony", harmonic_stft), ("perceptr", percussive_stft)):
        wave = librosa.istft(part, hop_length=HOP_LENGTH, n_fft=N_FFT, dtype=y.dtype)
        _summarise(out, name, librosa.util.fix_length(wave, size=y.shape[0]))

    log_mel = librosa.power_to_db(
        librosa.feature.melspectrogram(S=power, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH)
    )
    onset_envelope = librosa.onset.onset_strength(S=log_mel, sr=sr, hop_length=HOP_LENGTH, aggregate=np.median)
    tempo, _ = librosa.beat.beat_track(onset_envelope=onset_envelope, sr=sr, hop_length=HOP_LENGTH)
    out["tempo"] = float(np.atleast_1d(tempo)[0])

    mfcc = librosa.feature.mfcc(S=log_mel, sr=sr, n_mfcc=20)
    for i, row in enumerate(mfcc, start=1):
        _summarise(out, f"mfcc{i}", row)
    return {name: out[name] for name in FEATURE_COLUMNS}


def compare_with_reference(
    ours: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    on: str = "clip_id",
    columns: tuple[str, ...] | list[str] = FEATURE_COLUMNS,
) -> pd.DataFrame:
    """Per-clip, per-feature relative difference between our table and the reference.

    The relative difference of a value ``a`` against the reference value ``b``
    is ``|a - b| / |b|`` (``0`` where both are 0, ``inf`` where only ``b`` is).
    It is large for features whose reference value is close to zero
    (``harmony_mean``, ``perceptr_mean``: averages of a zero-mean waveform),
    however small the absolute difference.

    Parameters
    ----------
    ours, reference : pandas.DataFrame
        Tables with a key column ``on`` and the feature ``columns``, e.g. the
        ``table`` of :func:`helpers.extract.extract_features` and
        :func:`helpers.datasets.load_gtzan_features`.
    on : str
        The key column present in both (``"clip_id"``, e.g. ``"blues.00000"``).
    columns : sequence of str
        The features to compare (default: all 57).

    Returns
    -------
    pandas.DataFrame
        Indexed by the keys present in both tables (sorted), one column per
        feature, holding relative differences.

    Raises
    ------
    CourseError
        If a table lacks the key or a feature column, a key is duplicated, or
        the tables share no key.

    Examples
    --------
    >>> a = pd.DataFrame({"clip_id": ["x", "y"], "tempo": [120.0, 99.0]})
    >>> b = pd.DataFrame({"clip_id": ["x", "y"], "tempo": [120.0, 100.0]})
    >>> compare_with_reference(a, b, columns=["tempo"])["tempo"].tolist()
    [0.0, 0.01]
    """
    columns = list(columns)
    for label, table in (("our table", ours), ("reference table", reference)):
        missing = [c for c in [on, *columns] if c not in table.columns]
        if missing:
            raise CourseError(f"{label} lacks column(s) {missing}")
        if table[on].duplicated().any():
            dupes = table.loc[table[on].duplicated(), on].unique()[:5].tolist()
            raise CourseError(f"{label} has duplicated {on!r} values, e.g. {dupes}")
    a = ours.set_index(on)[columns].astype(float)
    b = reference.set_index(on)[columns].astype(float)
    common = a.index.intersection(b.index).sort_values()
    if len(common) == 0:
        raise CourseError(
            f"our table and the reference share no {on!r}; e.g. ours {a.index[:3].tolist()}, "
            f"reference {b.index[:3].tolist()}"
        )
    a, b = a.loc[common], b.loc[common]
    diff = (a - b).abs()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = diff / b.abs()
    rel = rel.mask((diff == 0) & (b == 0), 0.0)
    rel.index.name = on
    rel.columns.name = "feature"
    return rel


def parity_summary(relative: pd.DataFrame, *, tolerance: float = 1e-3) -> pd.DataFrame:
    """Summarise :func:`compare_with_reference` per feature.

    Parameters
    ----------
    relative : pandas.DataFrame
        Clips x features relative differences.
    tolerance : float
        Relative difference counted as agreement.

    Returns
    -------
    pandas.DataFrame
        One row per feature, sorted by ``max`` (worst first): ``median`` and
        ``max`` relative difference over clips and ``n_over`` (clips above
        ``tolerance``).

    Examples
    --------
    >>> rel = pd.DataFrame({"tempo": [0.0, 0.5], "rms_mean": [1e-7, 2e-7]})
    >>> parity_summary(rel)["n_over"].to_dict()
    {'tempo': 1, 'rms_mean': 0}
    """
    summary = pd.DataFrame(
        {
            "median": relative.median(),
            "max": relative.max(),
            "n_over": (relative > tolerance).sum().astype(int),
        }
    )
    summary.index.name = "feature"
    return summary.sort_values("max", ascending=False, kind="stable")


def tempo_relation(ours: float, reference: float, *, tolerance: float = 0.05) -> str:
    """Name how a tempo estimate relates to a reference tempo.

    Beat trackers often lock onto twice or half the tempo (or 3/2, 2/3 of it):
    an *octave error*, not a random one.

    Parameters
    ----------
    ours, reference : float
        Tempi in BPM.
    tolerance : float
        Relative tolerance for each ratio. The default, 5 %, allows for the
        coarse grid of librosa's tempo estimates (neighbouring values near
        120 BPM are 117.5 and 123.0).

    Returns
    -------
    str
        ``"same"``, ``"double"``, ``"half"``, ``"3/2"``, ``"2/3"`` or ``"other"``.

    Examples
    --------
    >>> tempo_relation(240.0, 120.0), tempo_relation(61.0, 120.0), tempo_relation(100.0, 120.0)
    ('double', 'half', 'other')
    """
    if not (ours > 0 and reference > 0):
        raise ValueError(f"tempi must be positive, got {ours} and {reference}")
    ratio = ours / reference
    for name, target in (("same", 1.0), ("double", 2.0), ("half", 0.5), ("3/2", 1.5), ("2/3", 2 / 3)):
        if abs(ratio / target - 1) <= tolerance:
            return name
    return "other"
