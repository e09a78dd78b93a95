"""Exploratory data analysis of feature tables: skew, outliers, correlated groups, mean spectrograms.

Small, tested building blocks for meeting a new data set: which features are
skewed and whether a log transform helps (:func:`skew_table`), which values
are far outside the bulk (:func:`iqr_outliers`), which features say the same
thing (:func:`correlated_groups`), and what a class sounds like on average
(:func:`mean_log_mel`).
"""
from __future__ import annotations

import logging
import os
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import CourseError

__all__ = [
    "signed_log",
    "skew_table",
    "iqr_outliers",
    "correlated_groups",
    "log_mel",
    "mean_log_mel",
]

logger = logging.getLogger(__name__)


def signed_log(x: np.ndarray | pd.Series | pd.DataFrame):
    """``sign(x) * log1p(|x|)``: a log transform that accepts zeros and negative values.

    Examples
    --------
    >>> signed_log(np.array([-(np.e - 1), 0.0, np.e - 1])).round(6).tolist()
    [-1.0, 0.0, 1.0]
    """
    return np.sign(x) * np.log1p(np.abs(x))


def _columns(table: pd.DataFrame, columns: Iterable[str] | None) -> list[str]:
    if columns is None:
        return list(table.select_dtypes("number").columns)
    columns = list(columns)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise CourseError(f"the table lacks column(s) {missing}")
    return columns


def skew_table(table: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Skewness of each feature before and after a log transform.

    Strictly positive features get ``log(x)``; features with zeros or negative
    values get :func:`signed_log`.

    Parameters
    ----------
    table : pandas.DataFrame
        Feature table.
    columns : iterable of str, optional
        Features to measure (default: every numeric column).

    Returns
    -------
    pandas.DataFrame
        One row per feature, sorted by ``|skew|`` (most skewed first):
        ``skew``, ``skew_log`` (after the transform), ``transform``
        (``"log"`` or ``"signed_log"``) and ``min``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = pd.DataFrame({"lognormal": rng.lognormal(size=2000), "normal": rng.normal(size=2000)})
    >>> s = skew_table(t)
    >>> s.index[0], bool(abs(s.loc["lognormal", "skew_log"]) < 0.2)
    ('lognormal', True)
    """
    rows = {}
    for c in _columns(table, columns):
        x = table[c].astype(float)
        positive = bool((x > 0).all())
        logged = np.log(x) if positive else signed_log(x)
        rows[c] = {
            "skew": float(x.skew()),
            "skew_log": float(logged.skew()),
            "transform": "log" if positive else "signed_log",
            "min": float(x.min()),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "feature"
    return out.reindex(out["skew"].abs().sort_values(ascending=False, kind="stable").index)


def iqr_outliers(table: pd.DataFrame, columns: Iterable[str] | None = None, *, k: float = 3.0) -> pd.DataFrame:
    """Flag values outside ``[Q1 - k * IQR, Q3 + k * IQR]`` (Tukey's fences; ``k=3``: "far out").

    Parameters
    ----------
    table : pandas.DataFrame
        Feature table (one row per clip).
    columns : iterable of str, optional
        Features to check (default: every numeric column).
    k : float
        Fence distance in interquartile ranges.

    Returns
    -------
    pandas.DataFrame
        Boolean, same index as ``table``, one column per feature: True where
        the value is an outlier. ``.sum(axis=1)`` counts outlying features per
        clip, ``.sum()`` outlying clips per feature.

    Examples
    --------
    >>> t = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 100]})
    >>> iqr_outliers(t)["x"].tolist()
    [False, False, False, False, False, True]
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    cols = _columns(table, columns)
    x = table[cols].astype(float)
    q1, q3 = x.quantile(0.25), x.quantile(0.75)
    iqr = q3 - q1
    return (x < q1 - k * iqr) | (x > q3 + k * iqr)


def correlated_groups(corr: pd.DataFrame, *, threshold: float = 0.8) -> list[list[str]]:
    """Groups of features linked by strong correlation (``|r| >= threshold``).

    Two features are in one group when a chain of strong correlations joins
    them (connected components of the graph "``|r| >= threshold``").

    Parameters
    ----------
    corr : pandas.DataFrame
        A square correlation matrix with matching index and columns.
    threshold : float
        Minimum absolute correlation for a link, in (0, 1].

    Returns
    -------
    list of list of str
        Groups with at least two features, largest first; each group in the
        matrix's order.

    Examples
    --------
    >>> c = pd.DataFrame([[1, .9, .1], [.9, 1, .2], [.1, .2, 1]], index=list("abc"), columns=list("abc"))
    >>> correlated_groups(c)
    [['a', 'b']]
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if corr.shape[0] != corr.shape[1] or list(corr.index) != list(corr.columns):
        raise CourseError("correlated_groups needs a square matrix with the same labels on both axes")
    names = list(corr.columns)
    strong = np.abs(corr.to_numpy(dtype=float)) >= threshold
    seen: set[int] = set()
    groups = []
    for start in range(len(names)):
        if start in seen:
            continue
        stack, members = [start], set()
        while stack:
            i = stack.pop()
            if i in members:
                continue
            members.add(i)
            stack.extend(j for j in np.flatnonzero(strong[i]) if j not in members)
        seen |= members
        if len(members) > 1:
            groups.append([names[i] for i in sorted(members)])
    return sorted(groups, key=len, reverse=True)


def log_mel(
    y: np.ndarray,
    sr: int,
    *,
    n_mels: int = 128,
    n_fft: int = 2048,
    hop_length: int = 512,
) -> np.ndarray:
    """Log-mel spectrogram in dB relative to full scale (``ref=1.0``), shape ``(n_mels, frames)``.

    A fixed reference (not each clip's own maximum) keeps loud and quiet clips
    comparable, which matters when spectrograms are averaged.
    """
    from .basics import mel_db

    return mel_db(y, sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, ref=1.0, top_db=None)


def mean_log_mel(
    paths: Sequence[str | os.PathLike],
    *,
    sr: int = 22050,
    seconds: float = 15.0,
    n_mels: int = 128,
    hop_length: int = 512,
) -> np.ndarray:
    """Average log-mel spectrogram of the first ``seconds`` of several files.

    Every file is loaded (:func:`helpers.audio.load_audio`, mono, ``sr``),
    cut to exactly ``seconds`` so all spectrograms have the same shape, and
    turned into a log-mel spectrogram (:func:`log_mel`); the result is their
    element-wise mean in dB.

    Parameters
    ----------
    paths : sequence of path-like
        Audio files, each at least ``seconds`` long.
    sr : int
        Sample rate in Hz.
    seconds : float
        Length used from the start of every file.
    n_mels, hop_length : int
        Mel bands and hop in samples.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_mels, frames)``, dB.

    Raises
    ------
    CourseError
        If ``paths`` is empty.
    AudioError
        If a file cannot be read or is shorter than ``seconds``.
    """
    from .audio import load_audio

    paths = list(paths)
    if not paths:
        raise CourseError("mean_log_mel needs at least one file")
    length = int(round(seconds * sr))
    total = None
    for path in paths:
        y, rate = load_audio(path, sr=sr, duration=seconds + 0.1, min_duration=seconds)
        spec = log_mel(y[:length], rate, n_mels=n_mels, hop_length=hop_length)
        total = spec.astype(np.float64) if total is None else total + spec
    return total / len(paths)
