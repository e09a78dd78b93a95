"""helpers.audio: loading any format safely, counting and cutting segments."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from helpers.audio import _MAX_RATE, header_seconds, load_audio, n_segments, segment
from helpers.errors import AudioError, CourseError

from .conftest import SR, finishes, sine


@pytest.mark.parametrize(
    "name,fmt",
    [("a.wav", "WAV"), ("a.flac", "FLAC"), ("a.ogg", "OGG"), ("a.au", "AU"), ("a.mp3", "MP3")],
)
def test_load_every_format_to_mono_float32(write_wav, name, fmt):
    if fmt not in sf.available_formats():
        pytest.skip(f"libsndfile here cannot write {fmt}")
    path = write_wav(sine(440, 1.0), name, format=fmt)
    y, rate = load_audio(path)
    assert rate == SR and y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - SR) < 0.06 * SR  # mp3 adds encoder padding
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * SR / len(y) - 440) < 5


def test_stereo_is_mixed_down_and_resampled(write_wav):
    left, right = sine(440, 1.0, sr=44100), sine(880, 1.0, sr=44100)
    path = write_wav(np.stack([left, right]), "st.wav", rate=44100)
    y, rate = load_audio(path, sr=22050)
    assert rate == 22050 and y.shape == (22050,)
    y2, rate2 = load_audio(path, sr=None, mono=False)
    assert rate2 == 44100 and y2.shape == (2, 44100)


def test_duration_offset_and_min_duration(write_wav):
    path = write_wav(sine(440, 2.0))
    y, _ = load_audio(path, offset=0.5, duration=1.0)
    assert len(y) == SR
    with pytest.raises(AudioError, match=r"x\.wav: 2\.00 s long, shorter than the required 3 s"):
        load_audio(path, min_duration=3)


@pytest.mark.parametrize("rate, expected", [(SR, 4.0), (2000, 4.0), (2 * _MAX_RATE, 2.0)])
def test_max_seconds_bounds_seconds_and_samples(tmp_path, rate, expected):
    """At most max_seconds, and no more samples than max_seconds * _MAX_RATE (issue 33); the header still tells the
    whole length."""
    path = tmp_path / "long.wav"
    sf.write(path, sine(330, 10.0, sr=rate), rate)
    y, out_rate = load_audio(path, sr=None, max_seconds=4.0)
    assert out_rate == rate and len(y) == int(expected * rate)
    assert header_seconds(path) == 10.0
    assert len(load_audio(path, sr=None, duration=1.0, max_seconds=4.0)[0]) == rate  # the shorter of the two
    (tmp_path / "text.wav").write_text("not audio " * 50)
    assert header_seconds(tmp_path / "text.wav") is None and header_seconds(tmp_path / "none.wav") is None


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: None, "file not found"),
        (lambda p: p.write_bytes(b""), "file is empty"),
        (lambda p: p.write_text("this is not audio at all " * 20), "cannot be decoded as audio"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_bad_files_raise_audio_error_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=message) as info:
        load_audio(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, CourseError)


def test_headerless_bytes_are_not_taken_for_raw_audio(tmp_path):
    path = tmp_path / "noise.au"
    path.write_bytes(b"garbage" * 10)  # libsndfile would read this as header-less u-law
    with pytest.raises(AudioError, match="noise.au: cannot be decoded as audio .no recognisable audio header"):
        load_audio(path)


def test_truncated_wav_is_reported_as_corrupt(write_wav, tmp_path):
    good = write_wav(sine(440, 1.0), "good.wav")
    bad = tmp_path / "cut.wav"
    bad.write_bytes(good.read_bytes()[:30])  # header cut in the middle
    with pytest.raises(AudioError, match="cut.wav"):
        load_audio(bad)


def test_silence(write_wav):
    path = write_wav(np.zeros(SR, dtype=np.float32), "quiet.wav")
    y, _ = load_audio(path)  # allowed by default
    assert not np.any(y)
    with pytest.raises(AudioError, match="quiet.wav: is silent"):
        load_audio(path, allow_silent=False)


def test_a_constant_offset_is_silence(write_wav):
    """A file holding only a DC offset (issue 33: it was classified as jazz with 0.9998) has no sound in it."""
    path = write_wav(np.full(SR, 0.5, dtype=np.float32), "offset.wav")
    with pytest.raises(AudioError, match=r"offset.wav: is silent \(below -80 dBFS once any constant offset"):
        load_audio(path, allow_silent=False)
    load_audio(write_wav(0.5 + sine(440, 1.0, amp=0.01), "offset_tone.wav"), allow_silent=False)  # sound on top


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_pipe_is_refused_without_waiting_for_it(tmp_path):
    """A FIFO named like a clip: opening it waits for a writer for ever (issue 33); refused before opening."""
    fifo = tmp_path / "blues.00000.wav"
    os.mkfifo(fifo)
    outcome = finishes(lambda: load_audio(fifo))
    assert isinstance(outcome, AudioError), outcome
    assert str(outcome) == f"{fifo}: is not a regular file (a pipe, device or socket)"


def test_quiet_but_not_silent_is_allowed(write_wav):
    path = write_wav(sine(440, 0.5, amp=0.01), "quiet_tone.wav")  # -43 dBFS
    y, _ = load_audio(path, allow_silent=False)
    assert len(y) == SR // 2


def test_n_segments_rule():
    assert n_segments(int(30.013 * SR), 3 * SR) == 10
    assert n_segments(int(17.97 * SR), 3 * SR) == 5
    assert n_segments(3 * SR - 1, 3 * SR) == 0
    assert n_segments(10, 4, hop_length=2) == 4
    with pytest.raises(AudioError, match="must be positive"):
        n_segments(10, 0)
    with pytest.raises(AudioError, match="must be positive"):
        n_segments(10, 4, hop_length=0)


def test_segment_shapes_and_content():
    y = np.arange(10 * SR, dtype=np.float32)
    segs = segment(y, sr=SR, seconds=3.0)
    assert segs.shape == (3, 3 * SR)
    assert segs[1, 0] == 3 * SR and segs[2, -1] == 9 * SR - 1
    overlapping = segment(y, sr=SR, seconds=3.0, hop_seconds=1.5)
    assert overlapping.shape == (5, 3 * SR) and overlapping[1, 0] == 1.5 * SR


def test_segment_errors_name_the_source():
    with pytest.raises(AudioError, match="song.wav: 1.00 s of audio is shorter than one 3 s segment"):
        segment(np.zeros(SR), sr=SR, seconds=3.0, source="song.wav")
    with pytest.raises(AudioError, match="mono"):
        segment(np.zeros((2, 10 * SR)), sr=SR)


def test_real_gtzan_clip(data_root):
    path = data_root / "gtzan/genres_original/blues/blues.00000.wav"
    y, rate = load_audio(path)
    assert rate == 22050 and len(y) == 661794
    assert segment(y, sr=rate).shape == (10, 66150)
