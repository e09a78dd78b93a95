"""Every plotting helper returns Axes with a title, labelled axes with units, and a colour bar where there is colour."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import basics as F  # noqa: E402
from helpers import plotting as P  # noqa: E402

from .conftest import SR, click_track, sine  # noqa: E402


@pytest.fixture(scope="module")
def tone():
    return sine(440.0, 1.0)


def _check(ax, x_unit: str, y_unit: str | None = None):
    assert ax.get_title()
    assert x_unit in ax.get_xlabel()
    if y_unit is not None:
        assert y_unit in ax.get_ylabel()


def test_waveform(tone):
    ax = P.plot_waveform(tone, SR, title="A tone")
    assert ax.get_title() == "A tone"
    _check(ax, "(s)", "Amplitude")
    assert 1.0 <= ax.get_xlim()[1] <= 1.1  # the whole second is shown


def test_waveform_into_given_axes(tone):
    fig, axes = plt.subplots(2)
    assert P.plot_waveform(tone, SR, ax=axes[1]) is axes[1]


def test_samples_one_dot_per_sample(tone):
    ax = P.plot_samples(tone, SR, start=0.1, milliseconds=2.0)
    _check(ax, "(ms)", "Amplitude")
    dots = ax.collections[0].get_offsets()
    assert len(dots) == round(0.002 * SR)
    assert dots[0, 0] == pytest.approx(100.0, abs=1000 / SR)
    assert "44 samples" in ax.get_title()


def test_spectrum_log_axis(tone):
    freqs, mag = F.fft_magnitude(tone, SR)
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
    S = F.mel_db(tone, SR) if y_axis == "mel" else F.stft_db(tone)
    ax = P.plot_spectrogram(S, SR, y_axis=y_axis, title="S")
    _check(ax, "(s)", "(Hz)")
    assert len(ax.figure.axes) == 2  # the plot and its colour bar
    assert "dB" in ax.colorbar.ax.get_ylabel()
    assert ax.get_yscale() == ("linear" if y_axis == "linear" else "symlog")


def test_spectrogram_offset_shifts_time_axis(tone):
    ax = P.plot_spectrogram(F.stft_db(tone), SR, offset=10.0)
    assert ax.get_xlim()[0] == pytest.approx(10.0, abs=0.05)


def test_mfcc_and_chroma_have_colorbars(tone):
    import librosa

    ax = P.plot_mfcc(librosa.feature.mfcc(y=tone, sr=SR, n_mfcc=13), SR)
    _check(ax, "(s)", "coefficient")
    assert ax.colorbar.ax.get_ylabel() == "Coefficient value (dB-scaled)"
    ax = P.plot_mfcc(librosa.feature.mfcc(y=tone, sr=SR, n_mfcc=13), SR, label="Standardised value")
    assert ax.colorbar.ax.get_ylabel() == "Standardised value"
    ax = P.plot_chroma(librosa.feature.chroma_stft(y=tone, sr=SR), SR)
    _check(ax, "(s)", "Pitch class")
    assert ax.colorbar.ax.get_ylabel()


def test_f0_over_spectrogram(tone):
    times = np.arange(10) * 0.1
    f0 = np.r_[np.full(8, 440.0), np.nan, np.nan]
    ax = P.plot_f0_over_spectrogram(F.stft_db(tone), SR, times, f0, fmax=2000)
    _check(ax, "(s)", "(Hz)")
    assert ax.colorbar is not None
    assert ax.get_ylim()[1] == pytest.approx(2000)
    assert ax.get_legend().get_texts()[0].get_text() == "f0 (pYIN)"
    np.testing.assert_array_equal(ax.lines[-1].get_ydata(), f0)


def test_events_on_waveform():
    y = click_track(120.0, 4.0)
    ax = P.plot_events(y, SR, {"onsets": [0.5, 1.0, 1.5], "beats": np.array([1.0, 2.0]), "none": []})
    _check(ax, "(s)", "Amplitude")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "onsets (3)" in labels and "beats (2)" in labels
    assert not any(label.startswith("none") for label in labels)
