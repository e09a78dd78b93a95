"""The course's plotting conventions: every figure has a title, labelled axes with units,
and a colour bar wherever colour carries a value.

The functions for one signal draw into ``ax`` (a new figure when None) and return the
:class:`matplotlib.axes.Axes`; those with a colour bar store it as ``ax.colorbar``. The figure-level
functions (confusion matrices, training curves) return the figure. None calls ``plt.show()``.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import librosa.display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .errors import CourseError

__all__ = ["plot_waveform", "plot_spectrum", "plot_spectrogram", "plot_mfcc",
           "plot_confusion_matrices", "plot_training_curves"]


def _axes(ax, figsize=(10, 3)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _colorbar(ax, mappable, label: str):
    cbar = ax.figure.colorbar(mappable, ax=ax, format="%+2.0f" if "dB" in label else None)
    cbar.set_label(label)
    ax.colorbar = cbar
    return cbar


def plot_waveform(y: np.ndarray, sr: int, *, ax=None, title: str = "Waveform", offset: float = 0.0,
                  color: str | None = None, alpha: float = 1.0, label: str | None = None):
    """Waveform with ``librosa.display.waveshow`` (an envelope when zoomed out).

    ``offset`` (s) shifts the time axis, e.g. for an excerpt.

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_waveform(np.zeros(22050, dtype=np.float32), 22050, title="Silence")
    >>> ax.get_title(), ax.get_xlabel()
    ('Silence', 'Time (s)')
    """
    ax = _axes(ax)
    librosa.display.waveshow(y, sr=sr, ax=ax, offset=offset, color=color, alpha=alpha, label=label)
    ax.set(title=title, xlabel="Time (s)", ylabel="Amplitude (full scale = 1)")
    return ax


def plot_spectrum(freqs: np.ndarray, magnitude: np.ndarray, *, ax=None,
                  title: str = "Magnitude spectrum", db: bool = True, log_freq: bool = True,
                  fmin: float = 20.0, label: str | None = None):
    """Magnitude spectrum (e.g. ``np.abs(np.fft.rfft(y))``) against frequency in Hz
    (``np.fft.rfftfreq``).

    ``db=True`` plots ``20 log10(magnitude / max)``; ``log_freq=True`` uses a
    logarithmic frequency axis from ``fmin`` Hz to the last bin (Nyquist).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    >>> ax = plot_spectrum(np.fft.rfftfreq(len(y), d=1 / 22050), np.abs(np.fft.rfft(y)))
    >>> ax.get_xscale(), ax.get_ylabel()
    ('log', 'Magnitude (dB re max)')
    """
    ax = _axes(ax)
    magnitude = np.asarray(magnitude, dtype=float)
    values = (20 * np.log10(np.maximum(magnitude, 1e-12) / max(magnitude.max(), 1e-12)) if db
              else magnitude)
    keep = freqs >= (fmin if log_freq else 0)
    ax.plot(freqs[keep], values[keep], lw=0.7, label=label)
    if log_freq:
        ax.set_xscale("log")
    ax.set_xlim(freqs[keep][0], freqs[-1])
    ax.set(title=title, xlabel="Frequency (Hz)",
           ylabel="Magnitude (dB re max)" if db else "Magnitude (linear)")
    return ax


def plot_spectrogram(S_db: np.ndarray, sr: int, *, hop_length: int = 512, n_fft: int | None = None,
                     y_axis: str = "log", ax=None, title: str = "Spectrogram",
                     colorbar_label: str = "Level (dB re max)", offset: float = 0.0,
                     cmap: str = "magma"):
    """A spectrogram in dB (STFT or mel), ``(bins, frames)``, with ``librosa.display.specshow``.

    Time in s, frequency in Hz and a colour bar. ``y_axis`` is "log", "linear" or "mel" (for mel
    spectrograms; ticks still in Hz); ``offset`` is the time of the first frame in s (for excerpts).

    Examples
    --------
    >>> import librosa, numpy as np
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    >>> ax = plot_spectrogram(librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max), 22050)
    >>> ax.get_ylabel(), ax.colorbar.ax.get_ylabel()
    ('Frequency (Hz)', 'Level (dB re max)')
    """
    ax = _axes(ax)
    img = librosa.display.specshow(
        S_db, sr=sr, hop_length=hop_length, n_fft=n_fft, x_axis="time", y_axis=y_axis, ax=ax,
        cmap=cmap,
        x_coords=None if offset == 0 else offset + np.arange(S_db.shape[1]) * hop_length / sr,
    )
    ax.set(title=title, xlabel="Time (s)", ylabel="Frequency (Hz)")
    _colorbar(ax, img, colorbar_label)
    return ax


def plot_mfcc(mfcc: np.ndarray, sr: int, *, hop_length: int = 512, ax=None, title: str = "MFCCs",
              label: str = "Coefficient value (dB-scaled)"):
    """MFCC matrix ``(n_mfcc, frames)``: coefficient index (from 0) against time, with a colour bar.

    ``label`` names the colour bar's units: pass e.g. ``"Standardised value"`` for MFCCs scaled per
    coefficient (raw coefficient 0, the overall loudness, is far larger and swamps the rest).

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_mfcc(np.zeros((13, 44)), 22050)
    >>> ax.get_ylabel(), ax.colorbar.ax.get_ylabel()
    ('MFCC coefficient (index)', 'Coefficient value (dB-scaled)')
    """
    ax = _axes(ax)
    img = librosa.display.specshow(mfcc, sr=sr, hop_length=hop_length, x_axis="time", ax=ax,
                                   cmap="coolwarm")
    n = mfcc.shape[0]
    ax.set_yticks(np.arange(0, n, max(1, n // 5)) + 0.5, labels=np.arange(0, n, max(1, n // 5)))
    ax.set(title=title, xlabel="Time (s)", ylabel="MFCC coefficient (index)")
    _colorbar(ax, img, label)
    return ax


def plot_confusion_matrices(y_true: Any, predictions_by_model: Mapping[str, Any], *,
                            labels: Sequence[Any] | None = None, normalize: str | None = "true",
                            title: str = "Confusion matrices", cmap: str = "Blues",
                            panel_size: float = 3.4):
    """One ``sklearn.metrics.ConfusionMatrixDisplay`` per model, counts and row shares written in.

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
    cmap : str
        Colour map.
    panel_size : float
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(predictions_by_model)`` panels titled by model, axes labelled
        "Predicted genre" / "True genre", and one colour bar.

    Examples
    --------
    >>> fig = plot_confusion_matrices(["rock", "pop", "rock"], {"always rock": ["rock"] * 3},
    ...                               title="Toy")
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['0\\n(0.00)', '1\\n(1.00)', '0\\n(0.00)', '2\\n(1.00)']
    """
    # imported here: scikit-learn's import sets environment variables (KMP_*); helpers' must not
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    if not predictions_by_model:
        raise CourseError("plot_confusion_matrices: no models given")
    if normalize not in ("true", None):
        raise CourseError("plot_confusion_matrices: normalize must be 'true' or None, got"
                          f" {normalize!r}")
    y_true = np.asarray(y_true)
    labels = list(labels) if labels is not None else sorted(pd.unique(y_true))
    n = len(predictions_by_model)
    fig, axes = plt.subplots(1, n, figsize=(panel_size * n + 1.2, panel_size + 0.4), squeeze=False,
                             layout="constrained")
    for ax, (name, y_pred) in zip(axes[0], predictions_by_model.items()):
        if len(y_pred) != len(y_true):
            raise CourseError(f"plot_confusion_matrices: model {name!r} has {len(y_pred)}"
                              f" predictions for {len(y_true)} labels")
        counts = confusion_matrix(y_true, np.asarray(y_pred), labels=labels)
        shares = confusion_matrix(y_true, np.asarray(y_pred), labels=labels, normalize="true")
        display = ConfusionMatrixDisplay(shares if normalize == "true" else counts,
                                         display_labels=[str(c) for c in labels])
        display.plot(ax=ax, cmap=cmap, colorbar=False, text_kw={"fontsize": 9},
                     im_kw={"vmin": 0, "vmax": 1 if normalize == "true" else counts.max()})
        for (i, j), text in np.ndenumerate(display.text_):
            text.set_text(f"{counts[i, j]}\n({shares[i, j]:.2f})")
        ax.set(xlabel="Predicted genre", ylabel="True genre", title=str(name))
    fig.colorbar(display.im_, ax=axes[0].tolist(),
                 label="share of true class" if normalize == "true" else "tracks")
    fig.suptitle(title)
    return fig


def plot_training_curves(histories: Mapping[str, Any], *, title: str = "Training curves"):
    """Loss and accuracy per epoch (training solid, validation dashed) of one or more Keras fits.

    Parameters
    ----------
    histories : mapping of str to History or dict
        Label -> ``keras.callbacks.History`` (or its ``.history`` dict of per-epoch lists).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: "Loss" (cross-entropy) and "Accuracy" (segment accuracy) against the epoch.

    Examples
    --------
    >>> fig = plot_training_curves({"toy": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.9]}},
    ...                            title="Toy")
    >>> [ax.get_title() for ax in fig.axes], len(fig.axes[0].lines)
    (['Loss', 'Accuracy'], 2)
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for i, (label, hist) in enumerate(histories.items()):
        h = getattr(hist, "history", hist)
        epochs = np.arange(1, len(h["loss"]) + 1)
        for ax, key in zip(axes, ("loss", "accuracy")):
            if key in h:
                ax.plot(epochs, h[key], color=f"C{i}", label=f"{label}: train")
            if f"val_{key}" in h:
                ax.plot(epochs, h[f"val_{key}"], color=f"C{i}", linestyle="--",
                        label=f"{label}: validation")
    axes[0].set(title="Loss", xlabel="epoch", ylabel="cross-entropy")
    axes[1].set(title="Accuracy", xlabel="epoch", ylabel="segment accuracy")
    (axes[1] if axes[1].lines else axes[0]).legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
