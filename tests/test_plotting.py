"""Every plotting helper has a title, labelled axes with units, and a colour bar where there is colour."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import librosa  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import plotting as P  # noqa: E402
from helpers.errors import CourseError  # noqa: E402

from .conftest import SR, sine  # noqa: E402


@pytest.fixture(scope="module")
def tone():
    return sine(440.0, 1.0)


def _check(ax, x_unit: str, y_unit: str | None = None):
    assert ax.get_title()
    assert x_unit in ax.get_xlabel()
    if y_unit is not None:
        assert y_unit in ax.get_ylabel()


def _stft_db(y):
    return librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)


def test_waveform(tone):
    ax = P.plot_waveform(tone, SR, title="A tone")
    assert ax.get_title() == "A tone"
    _check(ax, "(s)", "Amplitude")
    assert 1.0 <= ax.get_xlim()[1] <= 1.1  # the whole second is shown


def test_waveform_into_given_axes(tone):
    fig, axes = plt.subplots(2)
    assert P.plot_waveform(tone, SR, ax=axes[1]) is axes[1]
    assert P.plot_waveform(tone, SR, ax=axes[0], offset=10.0).get_xlim()[0] == pytest.approx(10.0, abs=0.1)


def test_spectrum_log_axis(tone):
    freqs = np.fft.rfftfreq(len(tone), d=1 / SR)
    mag = np.abs(np.fft.rfft(tone))
    ax = P.plot_spectrum(freqs, mag)
    _check(ax, "(Hz)", "(dB")
    assert ax.get_xscale() == "log"
    assert ax.get_xlim()[1] == pytest.approx(SR / 2)
    line = ax.lines[0]
    assert line.get_xdata()[np.argmax(line.get_ydata())] == pytest.approx(440.0)
    assert np.max(line.get_ydata()) == pytest.approx(0.0)
    lin = P.plot_spectrum(freqs, mag, db=False, log_freq=False)
    assert lin.get_xscale() == "linear" and "linear" in lin.get_ylabel()


@pytest.mark.parametrize("y_axis", ["log", "linear", "mel"])
def test_spectrogram_has_colorbar(tone, y_axis):
    if y_axis == "mel":
        S = librosa.power_to_db(librosa.feature.melspectrogram(y=tone, sr=SR), ref=np.max)
    else:
        S = _stft_db(tone)
    ax = P.plot_spectrogram(S, SR, y_axis=y_axis, title="S")
    _check(ax, "(s)", "(Hz)")
    assert len(ax.figure.axes) == 2  # the plot and its colour bar
    assert "dB" in ax.colorbar.ax.get_ylabel()
    assert ax.get_yscale() == ("linear" if y_axis == "linear" else "symlog")


def test_spectrogram_offset_shifts_time_axis(tone):
    ax = P.plot_spectrogram(_stft_db(tone), SR, offset=10.0)
    assert ax.get_xlim()[0] == pytest.approx(10.0, abs=0.05)


def test_mfcc_has_colorbar_and_index_ticks(tone):
    mfcc = librosa.feature.mfcc(y=tone, sr=SR, n_mfcc=13)
    ax = P.plot_mfcc(mfcc, SR)
    _check(ax, "(s)", "coefficient")
    assert ax.colorbar.ax.get_ylabel() == "Coefficient value (dB-scaled)"
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "0"  # numbered from 0
    ax = P.plot_mfcc(mfcc, SR, label="Standardised value")
    assert ax.colorbar.ax.get_ylabel() == "Standardised value"


def test_confusion_matrices_titles_labels_colourbar_and_counts():
    y = np.array(["Rock"] * 6 + ["Hip-Hop"] * 4)
    fig = P.plot_confusion_matrices(y, {"perfect": y.copy(), "always Rock": np.array(["Rock"] * 10)},
                                    labels=["Hip-Hop", "Rock"], title="Toy")
    axes = fig.axes[:2]
    assert len(fig.axes) == 3  # two panels and a colour bar
    assert [ax.get_title() for ax in axes] == ["perfect", "always Rock"]
    assert all(ax.get_xlabel() == "Predicted genre" and ax.get_ylabel() == "True genre" for ax in axes)
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["Hip-Hop", "Rock"]
    assert fig.get_suptitle() == "Toy"
    # rows Hip-Hop, Rock; columns Hip-Hop, Rock
    assert [t.get_text() for t in axes[1].texts] == ["0\n(0.00)", "4\n(1.00)", "0\n(0.00)", "6\n(1.00)"]
    assert [t.get_text() for t in axes[0].texts] == ["4\n(1.00)", "0\n(0.00)", "0\n(0.00)", "6\n(1.00)"]
    assert fig.axes[-1].get_ylabel() == "share of true class"
    assert axes[0].images[0].get_clim() == (0, 1)
    counts = P.plot_confusion_matrices(y, {"m": y}, normalize=None)
    assert counts.axes[-1].get_ylabel() == "tracks" and counts.axes[0].images[0].get_clim() == (0, 6)


def test_confusion_matrices_errors():
    with pytest.raises(CourseError, match="no models"):
        P.plot_confusion_matrices(["a"], {})
    with pytest.raises(CourseError, match="2 predictions for 3 labels"):
        P.plot_confusion_matrices(["a", "b", "a"], {"m": ["a", "b"]})
    with pytest.raises(CourseError, match="normalize"):
        P.plot_confusion_matrices(["a"], {"m": ["a"]}, normalize="all")


def test_training_curves_train_solid_validation_dashed():
    class History:  # what keras.Model.fit returns: a .history dict
        history = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.9],
                   "accuracy": [0.4, 0.6, 0.8], "val_accuracy": [0.3, 0.5, 0.5]}

    fig = P.plot_training_curves({"a": History(), "b": {"loss": [2.0, 1.0], "accuracy": [0.1, 0.2]}}, title="T")
    loss, acc = fig.axes
    assert fig.get_suptitle() == "T"
    assert (loss.get_title(), loss.get_xlabel(), loss.get_ylabel()) == ("Loss", "epoch", "cross-entropy")
    assert (acc.get_title(), acc.get_ylabel()) == ("Accuracy", "segment accuracy")
    assert [line.get_linestyle() for line in loss.lines] == ["-", "--", "-"]
    assert list(loss.lines[1].get_xdata()) == [1, 2, 3] and list(loss.lines[1].get_ydata()) == [1.1, 0.8, 0.9]
    labels = [t.get_text() for t in acc.get_legend().get_texts()]
    assert labels == ["a: train", "a: validation", "b: train"]
