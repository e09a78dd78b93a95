"""Plots of audio the course's way: every figure has a title, labelled axes with units,
and a colour bar wherever colour carries a value.

Each function draws into ``ax`` (a new figure when None) and returns the
:class:`matplotlib.axes.Axes`; functions with a colour bar store it as
``ax.colorbar`` as well. None of them calls ``plt.show()``.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from .errors import CourseError

__all__ = [
    "plot_waveform",
    "plot_samples",
    "plot_spectrum",
    "plot_spectrogram",
    "plot_mfcc",
    "plot_chroma",
    "plot_f0_over_spectrogram",
    "plot_events",
]


def _axes(ax, figsize=(10, 3)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def _colorbar(ax, mappable, label: str):
    cbar = ax.figure.colorbar(mappable, ax=ax, format="%+2.0f" if "dB" in label else None)
    cbar.set_label(label)
    ax.colorbar = cbar
    return cbar


def plot_waveform(
    y: np.ndarray,
    sr: int,
    *,
    ax=None,
    title: str = "Waveform",
    offset: float = 0.0,
    color: str | None = None,
    alpha: float = 1.0,
    label: str | None = None,
):
    """Waveform with ``librosa.display.waveshow`` (an envelope when zoomed out).

    ``offset`` (s) shifts the time axis, e.g. for an excerpt.
    """
    import librosa.display

    ax = _axes(ax)
    librosa.display.waveshow(y, sr=sr, ax=ax, offset=offset, color=color, alpha=alpha, label=label)
    ax.set(title=title, xlabel="Time (s)", ylabel="Amplitude (full scale = 1)")
    return ax


def plot_samples(
    y: np.ndarray, sr: int, *, start: float = 0.0, milliseconds: float = 5.0, ax=None, title: str | None = None
):
    """A few milliseconds of a signal with each sample drawn as a dot.

    Parameters
    ----------
    start : float
        Start of the window in seconds.
    milliseconds : float
        Window length in ms.
    """
    ax = _axes(ax)
    i0 = int(round(start * sr))
    n = max(2, int(round(milliseconds / 1000 * sr)))
    seg = np.asarray(y)[i0 : i0 + n]
    t_ms = (i0 + np.arange(len(seg))) / sr * 1000.0
    ax.plot(t_ms, seg, color="0.7", lw=1, zorder=1)
    ax.scatter(t_ms, seg, s=12, zorder=2)
    ax.axhline(0, color="0.3", lw=0.5)
    if title is None:
        title = f"{len(seg)} samples ({milliseconds:g} ms at {sr} Hz)"
    ax.set(title=title, xlabel="Time (ms)", ylabel="Amplitude (full scale = 1)")
    return ax


def plot_spectrum(
    freqs: np.ndarray,
    magnitude: np.ndarray,
    *,
    ax=None,
    title: str = "Magnitude spectrum",
    db: bool = True,
    log_freq: bool = True,
    fmin: float = 20.0,
    label: str | None = None,
):
    """Magnitude spectrum (e.g. from :func:`helpers.basics.fft_magnitude`).

    ``db=True`` plots ``20 log10(magnitude / max)``; ``log_freq=True`` uses a
    logarithmic frequency axis from ``fmin`` Hz to the last bin (Nyquist).
    """
    ax = _axes(ax)
    magnitude = np.asarray(magnitude, dtype=float)
    values = 20 * np.log10(np.maximum(magnitude, 1e-12) / max(magnitude.max(), 1e-12)) if db else magnitude
    keep = freqs >= (fmin if log_freq else 0)
    ax.plot(freqs[keep], values[keep], lw=0.7, label=label)
    if log_freq:
        ax.set_xscale("log")
    ax.set_xlim(freqs[keep][0], freqs[-1])
    ax.set(
        title=title,
        xlabel="Frequency (Hz)",
        ylabel="Magnitude (dB re max)" if db else "Magnitude (linear)",
    )
    return ax


def plot_spectrogram(
    S_db: np.ndarray,
    sr: int,
    *,
    hop_length: int = 512,
    n_fft: int | None = None,
    y_axis: str = "log",
    ax=None,
    title: str = "Spectrogram",
    colorbar_label: str = "Level (dB re max)",
    offset: float = 0.0,
    cmap: str = "magma",
):
    """A spectrogram already in dB (STFT or mel) with time in s, frequency in Hz and a colour bar.

    Parameters
    ----------
    S_db : numpy.ndarray
        ``(bins, frames)`` in dB.
    y_axis : {"log", "linear", "mel"}
        Frequency scale; "mel" for mel spectrograms (ticks still in Hz).
    offset : float
        Time of the first frame in seconds (for excerpts).
    """
    import librosa.display

    ax = _axes(ax)
    img = librosa.display.specshow(
        S_db, sr=sr, hop_length=hop_length, n_fft=n_fft, x_axis="time", y_axis=y_axis, ax=ax, cmap=cmap,
        x_coords=None if offset == 0 else offset + np.arange(S_db.shape[1]) * hop_length / sr,
    )
    ax.set(title=title, xlabel="Time (s)", ylabel="Frequency (Hz)")
    _colorbar(ax, img, colorbar_label)
    return ax


def plot_mfcc(mfcc: np.ndarray, sr: int, *, hop_length: int = 512, ax=None, title: str = "MFCCs",
              label: str = "Coefficient value (dB-scaled)"):
    """MFCC matrix ``(n_mfcc, frames)``: coefficient index (from 0) against time, with a colour bar.

    ``label`` names the colour bar's units: pass e.g. ``"Standardised value"`` for MFCCs scaled per
    coefficient (raw coefficient 0, the overall loudness, is far larger than the rest and swamps them).
    """
    import librosa.display

    ax = _axes(ax)
    img = librosa.display.specshow(mfcc, sr=sr, hop_length=hop_length, x_axis="time", ax=ax, cmap="coolwarm")
    n = mfcc.shape[0]
    ax.set_yticks(np.arange(0, n, max(1, n // 5)) + 0.5, labels=np.arange(0, n, max(1, n // 5)))
    ax.set(title=title, xlabel="Time (s)", ylabel="MFCC coefficient (index)")
    _colorbar(ax, img, label)
    return ax


def plot_chroma(chroma: np.ndarray, sr: int, *, hop_length: int = 512, ax=None, title: str = "Chromagram"):
    """Chroma ``(12, frames)``: pitch class against time, colour bar = relative energy (0-1)."""
    import librosa.display

    ax = _axes(ax)
    img = librosa.display.specshow(
        chroma, sr=sr, hop_length=hop_length, x_axis="time", y_axis="chroma", ax=ax, cmap="viridis"
    )
    ax.set(title=title, xlabel="Time (s)", ylabel="Pitch class")
    _colorbar(ax, img, "Relative energy (max = 1)")
    return ax


def plot_f0_over_spectrogram(
    S_db: np.ndarray,
    sr: int,
    times: np.ndarray,
    f0: np.ndarray,
    *,
    hop_length: int = 512,
    ax=None,
    title: str = "Fundamental frequency (pYIN) over the spectrogram",
    fmax: float | None = None,
):
    """A log-frequency spectrogram with an f0 track (Hz; NaN where unvoiced) drawn on top."""
    ax = plot_spectrogram(S_db, sr, hop_length=hop_length, y_axis="log", ax=ax, title=title)
    ax.plot(times, f0, color="cyan", lw=2.5, label="f0 (pYIN)")
    if fmax is not None:
        ax.set_ylim(top=fmax)
    ax.legend(loc="upper right")
    return ax


def plot_events(
    y: np.ndarray,
    sr: int,
    events: Mapping[str, Iterable[float]],
    *,
    ax=None,
    title: str = "Events on the waveform",
    offset: float = 0.0,
):
    """Waveform with vertical lines at event times (s), one colour and legend entry per kind.

    ``events`` maps a name to times, e.g. ``{"onsets": onset_s, "beats": beat_s}``.
    """
    ax = plot_waveform(y, sr, ax=ax, title=title, offset=offset, alpha=0.6)
    styles = [("tab:red", "--"), ("tab:green", "-"), ("tab:purple", ":")]
    for (name, times), (color, ls) in zip(events.items(), styles * 4):
        times = np.asarray(list(times), dtype=float)
        if times.size:
            ax.vlines(times, 0, 1, colors=color, linestyles=ls, lw=1, label=f"{name} ({times.size})",
                      transform=ax.get_xaxis_transform())
    if events:
        ax.legend(loc="upper right")
    return ax


def plot_confusion_matrices(
    y_true: Any,
    predictions_by_model: Mapping[str, Any],
    *,
    labels: Sequence[Any] | None = None,
    normalize: str | None = "true",
    title: str = "Confusion matrices",
    cmap: str = "Blues",
    panel_size: float = 3.4,
):
    """One confusion-matrix panel per model, with counts and row shares written in.

    Parameters
    ----------
    y_true : array-like
        True labels.
    predictions_by_model : mapping of str to array-like
        Model name -> predicted labels (same order as ``y_true``).
    labels : sequence, optional
        Class order; default sorted unique labels.
    normalize : {"true", None}
        Colour by the share of each true class (rows sum to 1; the diagonal is
        each class's recall) or by raw counts.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(predictions_by_model)`` panels titled by model, axes labelled
        "Predicted genre" / "True genre", and one colour bar.
    """
    import matplotlib.pyplot as plt

    if not predictions_by_model:
        raise CourseError("plot_confusion_matrices: no models given")
    if normalize not in ("true", None):
        raise CourseError(f"plot_confusion_matrices: normalize must be 'true' or None, got {normalize!r}")
    y_true = np.asarray(y_true)
    labels = list(labels) if labels is not None else sorted(pd.unique(y_true))
    n = len(predictions_by_model)
    fig, axes = plt.subplots(1, n, figsize=(panel_size * n + 1.2, panel_size + 0.4), squeeze=False, layout="constrained")
    image = None
    for ax, (name, y_pred) in zip(axes[0], predictions_by_model.items()):
        y_pred = np.asarray(y_pred)
        if len(y_pred) != len(y_true):
            raise CourseError(
                f"plot_confusion_matrices: model {name!r} has {len(y_pred)} predictions for {len(y_true)} labels"
            )
        counts = confusion_matrix(y_true, y_pred, labels=labels)
        rows = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
        shown = shares if normalize == "true" else counts
        image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1 if normalize == "true" else counts.max())
        for i in range(len(labels)):
            for j in range(len(labels)):
                dark = shown[i, j] > (0.5 if normalize == "true" else counts.max() / 2)
                ax.text(j, i, f"{counts[i, j]}\n({shares[i, j]:.2f})", ha="center", va="center",
                        color="white" if dark else "black", fontsize=9)
        ax.set_xticks(range(len(labels)), [str(c) for c in labels])
        ax.set_yticks(range(len(labels)), [str(c) for c in labels])
        ax.set_xlabel("Predicted genre")
        ax.set_ylabel("True genre")
        ax.set_title(str(name))
    fig.colorbar(image, ax=axes[0].tolist(), label="share of true class" if normalize == "true" else "tracks")
    fig.suptitle(title)
    return fig


def plot_training_curves(histories: dict, *, title: str = "Training curves"):
    """Loss and accuracy per epoch (training solid, validation dashed) of one or more fits.

    Parameters
    ----------
    histories : dict
        Label -> ``keras.callbacks.History`` (or its ``.history`` dict).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for i, (label, hist) in enumerate(histories.items()):
        h = getattr(hist, "history", hist)
        colour = f"C{i}"
        epochs = np.arange(1, len(h["loss"]) + 1)
        for ax, key in zip(axes, ("loss", "accuracy")):
            if key in h:
                ax.plot(epochs, h[key], color=colour, label=f"{label}: train")
            if f"val_{key}" in h:
                ax.plot(epochs, h[f"val_{key}"], color=colour, linestyle="--", label=f"{label}: validation")
    axes[0].set(title="Loss", xlabel="epoch", ylabel="cross-entropy")
    axes[1].set(title="Accuracy", xlabel="epoch", ylabel="segment accuracy")
    axes[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
