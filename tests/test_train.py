"""Tests of helpers.models and machinery.segments: feature specs, segment features, the cached segment data set, the two
models, the one training step (Normalization inside the model, early stopping) and evaluation."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import librosa
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from helpers import models  # noqa: E402
from helpers.errors import CourseError  # noqa: E402
from helpers.evaluation import evaluate  # noqa: E402
from helpers.models import (  # noqa: E402
    CNN_SPEC, MFCC_SPEC, TRANSFER_SPEC, build_cnn, build_lstm, check_spec, clip_segments, model_input, segment_features,
)
from machinery import segments, store  # noqa: E402
from machinery.segments import add_augmented_copies, segment_dataset  # noqa: E402
from machinery.train import fit_model  # noqa: E402

LOGMEL_SPEC = {"type": "logmel", "n_mels": 128, "n_fft": 2048, "hop_length": 512}  # dB log-mel, (128, frames)

from .conftest import SR, sine  # noqa: E402


def test_check_spec_defaults_and_errors():
    spec = check_spec({"type": "mfcc"})
    assert spec == {"type": "mfcc", "n_mfcc": 13, "n_mels": 128, "n_fft": 2048, "hop_length": 512, "top_db": 80.0}
    assert check_spec({"type": "logmel", "n_mels": 64})["n_mels"] == 64
    with pytest.raises(CourseError, match="'type' key"):
        check_spec({"type": "chroma"})
    with pytest.raises(CourseError, match="unknown key"):
        check_spec({"type": "logmel", "n_mfcc": 13})
    with pytest.raises(CourseError, match="hop_length must be a positive integer"):
        check_spec({"type": "mfcc", "hop_length": 0})
    with pytest.raises(CourseError, match="'type' key"):
        check_spec({"n_mfcc": 13})
    assert check_spec(TRANSFER_SPEC) == {"type": "musicnn", "n_mels": 96, "n_fft": 512, "hop_length": 256, "rms_dbfs": -20.0}
    assert "rms_dbfs" not in check_spec({"type": "musicnn"})  # optional: older transfer models have none
    for bad in ({"type": "musicnn", "rms_dbfs": 3.0}, {"type": "musicnn", "rms_dbfs": "loud"}):
        with pytest.raises(CourseError, match="rms_dbfs must be a level"):
            check_spec(bad)
    with pytest.raises(CourseError, match="unknown key"):
        check_spec({"type": "mfcc", "rms_dbfs": -20.0})


def test_feature_shapes_and_layout():
    x = np.stack([sine(440, 3.0), sine(880, 3.0)])
    assert segment_features(x, SR, MFCC_SPEC).shape == (2, 130, 13)  # (segments, frames, coefficients)
    logmel = segment_features(x, SR, LOGMEL_SPEC)
    assert logmel.shape == (2, 128, 130) and logmel.dtype == np.float32  # (segments, mel bands, frames)
    assert segment_features(x, SR, CNN_SPEC).shape == (2, 64, 130)
    assert segment_features(x[0], SR, MFCC_SPEC).shape == (1, 130, 13)  # one 1-D segment
    with pytest.raises(CourseError, match="shape"):
        segment_features(np.zeros((0, 100)), SR, MFCC_SPEC)


def test_mfcc_matches_librosa_per_segment():
    import librosa

    rng = np.random.default_rng(0)
    # very different loudness: a batch-wide dB floor would change the quiet row
    x = (rng.standard_normal((3, 3 * SR)) * np.array([[1.0], [1e-3], [0.3]])).astype(np.float32)
    ours = segment_features(x, SR, MFCC_SPEC)
    for i, row in enumerate(x):
        ref = librosa.feature.mfcc(y=row, sr=SR, n_mfcc=13, n_fft=2048, hop_length=512).T
        np.testing.assert_allclose(ours[i], ref, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(segment_features(x[1:2], SR, MFCC_SPEC)[0], ours[1], rtol=1e-5, atol=1e-4)


def test_logmel_of_a_440_hz_tone_peaks_in_the_440_hz_band():
    import librosa

    feats = segment_features(sine(440, 3.0), SR, LOGMEL_SPEC)[0]
    centres = librosa.mel_frequencies(n_mels=130, fmax=SR / 2)[1:-1]  # band centres of 128 bands
    assert abs(centres[feats[:, 10:-10].mean(axis=1).argmax()] - 440) < 30
    assert feats.min() == pytest.approx(feats.max() - 80.0, abs=1e-3)  # floored 80 dB below the loudest bin


def test_clip_segments_cuts_back_to_back(write_wav):
    assert clip_segments(write_wav(sine(220, 10.0), "ten.wav")).shape == (3, 3 * SR)


@pytest.fixture
def clip_table(write_wav, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    rows = [
        ("rock.00000", "rock", write_wav(sine(220, 10.0), "rock0.wav")),  # 10 s -> 3 segments
        ("rock.00001", "rock", write_wav(sine(330, 6.5), "rock1.wav")),  # 6.5 s -> 2 segments
        ("blues.00000", "blues", write_wav(sine(440, 3.2), "blues0.wav")),  # 3.2 s -> 1 segment
        ("blues.00001", "blues", write_wav(sine(550, 2.0), "blues1.wav")),  # 2 s -> too short, skipped
    ]
    empty = rows[0][2].parent / "empty.wav"
    empty.write_bytes(b"")
    rows.append(("blues.00002", "blues", empty))  # unreadable, skipped
    return pd.DataFrame(rows, columns=["clip_id", "genre", "path"])


def test_segment_dataset_segments_and_skips(clip_table):
    ds = segment_dataset(clip_table, MFCC_SPEC, cache=False)
    assert list(ds["genres"]) == ["blues", "rock"]  # GTZAN order, not table order
    assert ds["X"].shape == (6, 130, 13) and ds["X"].dtype == np.float32
    assert list(ds["clip_id"]) == ["rock.00000"] * 3 + ["rock.00001"] * 2 + ["blues.00000"]
    assert list(ds["y"]) == [1, 1, 1, 1, 1, 0]
    assert list(ds["row"]) == [0, 0, 0, 1, 1, 2]  # each segment's clip, as its position in the table
    assert "blues1.wav: " in ds["skipped"][0] and "shorter than one 3 s segment" in ds["skipped"][0]
    assert "empty.wav: " in ds["skipped"][1] and "empty" in ds["skipped"][1]
    # the third segment of rock.00000 is the features of seconds 6-9 of the clip
    y = clip_segments(clip_table.path[0])
    np.testing.assert_allclose(ds["X"][2], segment_features(y[2], SR, MFCC_SPEC)[0], atol=1e-4)
    parallel = segment_dataset(clip_table.iloc[:3], MFCC_SPEC, cache=False, n_jobs=2)
    np.testing.assert_allclose(parallel["X"], ds["X"][:6], rtol=1e-4, atol=1e-3)  # workers may sum in another order
    with pytest.raises(CourseError, match="none of the 2 clips"):
        segment_dataset(clip_table.iloc[3:], MFCC_SPEC, cache=False)
    with pytest.raises(CourseError, match="none of the 0 clips"):
        segment_dataset(clip_table.iloc[:0], MFCC_SPEC, cache=False, n_jobs=2)
    with pytest.raises(CourseError, match="lacks column"):
        segment_dataset(clip_table.drop(columns="path"), MFCC_SPEC)


def test_the_segments_cache_key_covers_the_feature_code(clip_table, monkeypatch):
    """Issue 31: an entry made by older feature code is never served (it once served stale augmented copies)."""
    from helpers.audio import augment, load_audio, segment
    from helpers.pretrained import musicnn_input, set_level
    from machinery import segments

    used = {f.__module__ for f in (augment, load_audio, segment, segment_features, musicnn_input, set_level,
                                   segments._clip_features)}
    assert used <= set(segments._FEATURE_CODE)
    key = segments._content_key(clip_table.iloc[:2], ["settings"])
    assert segments._content_key(clip_table.iloc[:2], ["settings"]) == key
    monkeypatch.setattr(segments, "_code_digest", lambda: "changed code")
    assert segments._content_key(clip_table.iloc[:2], ["settings"]) != key


def test_add_augmented_copies_adds_one_copy_per_kind_of_each_training_clip_only(clip_table):
    from helpers.audio import add_noise, augment

    clips = clip_table.iloc[:3]
    ds = segment_dataset(clips, LOGMEL_SPEC)
    parts = {"train": np.arange(5), "val": np.arange(5, 6)}  # rock.00000, rock.00001 | blues.00000
    X, y, out = add_augmented_copies(ds, clips, parts, seed=3, kinds=("noise", "tempo"))
    # rows 6-10: the noisy copies of rock.00000 (3 segments) and rock.00001 (2); then the tempo copies
    assert len(X) == len(y) and list(out["augmented"]) == list(range(6, len(X))) and set(y[6:]) == {1}
    np.testing.assert_array_equal(X[:6], ds["X"])
    assert out["train"] is parts["train"] and out["val"] is parts["val"]
    copied_from = ["rock.00000"] * 3 + ["rock.00001"] * 2
    assert list(out["augmented_clip_id"][:5]) == copied_from and set(out["augmented_clip_id"]) == set(copied_from)
    assert list(out["augmented_kind"][:5]) == ["noise"] * 5 and set(out["augmented_kind"][5:]) == {"tempo"}
    assert len(out["augmented_kind"]) == len(out["augmented"])
    rng = np.random.default_rng(3)  # with the seed, per kind: an amount per training clip, then a seed per clip
    snr, noise_seed = rng.uniform(0, 20, 2), rng.integers(2**31, size=2)
    rate = rng.uniform(0.85, 1.15, 2)
    y0, _ = models.load_audio(clips.path.iloc[0], sr=SR)
    noisy = add_noise(y0, snr_db=snr[0], seed=int(noise_seed[0]))
    np.testing.assert_allclose(X[6:9], segment_features(models.segment(noisy, sr=SR, seconds=3.0), SR, LOGMEL_SPEC), atol=1e-3)
    assert np.abs(X[6:9] - X[:3]).mean() > 1  # the noise shows
    faster = augment(y0, sr=SR, kind="tempo", amount=rate[0])
    n_tempo = len(models.segment(faster, sr=SR, seconds=3.0))
    np.testing.assert_allclose(X[11:11 + n_tempo], segment_features(models.segment(faster, sr=SR, seconds=3.0), SR, LOGMEL_SPEC),
                               atol=1e-3)
    again, _, _ = add_augmented_copies(ds, clips, parts, seed=3, kinds=("noise", "tempo"))  # the same copies (cached)
    other, _, _ = add_augmented_copies(ds, clips, parts, seed=4, kinds=("noise", "tempo"))
    np.testing.assert_array_equal(again, X)
    assert other.shape != X.shape or not np.array_equal(other, X)


def test_augment_changes_what_it_says(clip_table):
    from helpers.audio import augment

    sr = SR
    noise = np.random.default_rng(0).standard_normal(2 * sr).astype(np.float32) * 0.1
    power = lambda x: np.abs(np.fft.rfft(x)) ** 2  # noqa: E731
    high = np.fft.rfftfreq(len(noise), 1 / sr) > 4100
    band = augment(noise, sr=sr, kind="band", amount=8000)  # nothing above 4 kHz is left
    assert len(band) == len(noise) and power(band)[high].sum() < 1e-3 * power(noise)[high].sum()
    y, _ = models.load_audio(clip_table.path.iloc[0], sr=SR)
    y = y[: 5 * sr]
    assert len(augment(y, sr=sr, kind="tempo", amount=0.9)) == pytest.approx(len(y) / 0.9, abs=sr // 50)
    up = augment(y, sr=sr, kind="pitch", amount=12)  # an octave: the spectral centroid about doubles
    ratio = librosa.feature.spectral_centroid(y=up, sr=sr).mean() / librosa.feature.spectral_centroid(y=y, sr=sr).mean()
    assert len(up) == len(y) and 1.4 < ratio < 2.6
    coded = augment(noise, sr=sr, kind="mp3", amount=0.9)  # about 24 kbit/s: LAME keeps little above 6 kHz
    above = np.fft.rfftfreq(len(noise), 1 / sr) > 6500
    assert len(coded) == len(noise) and power(coded)[above].sum() < 0.05 * power(noise)[above].sum()
    tone = np.sin(2 * np.pi * 440 * np.arange(2 * sr) / sr).astype(np.float32) * 0.5
    kept = augment(tone, sr=sr, kind="mp3", amount=0.6)[sr // 2: -sr // 2]  # the start: shifted by the codec's delay
    assert 0.4 < np.abs(kept).max() < 0.6 and power(kept).argmax() == pytest.approx(440 * len(kept) / sr, abs=2)
    with pytest.raises(ValueError, match="kind must be"):
        augment(y, sr=sr, kind="reverb", amount=1)


def test_segment_dataset_computes_the_first_clip_here_before_workers_start(clip_table, monkeypatch):
    """A warm-up in the parent, as in extract_features: worker processes compiling librosa's numba code at the same
    time on a fresh install can crash (numba/numba#10128)."""
    here, original = [], segments._clip_features

    def recording(path, *args):
        here.append(path)  # the workers append to their own copies of the list
        return original(path, *args)

    monkeypatch.setattr(segments, "_clip_features", recording)
    parallel = segment_dataset(clip_table.iloc[:3], MFCC_SPEC, cache=False, n_jobs=2)
    assert here == [str(clip_table.path[0])]
    assert list(parallel["clip_id"]) == ["rock.00000"] * 3 + ["rock.00001"] * 2 + ["blues.00000"]
    here.clear()
    segment_dataset(clip_table.iloc[:3], MFCC_SPEC, cache=False, n_jobs=1)
    assert len(here) == 3  # without workers, every clip here, once


def test_segment_cache_is_keyed_by_content_and_rebuilt_when_corrupt(clip_table, tmp_path, monkeypatch):
    calls = []
    real = segments._clip_features
    monkeypatch.setattr(segments, "_clip_features", lambda *a: calls.append(a[0]) or real(*a))
    clips = clip_table.iloc[:3]
    first = segment_dataset(clips, MFCC_SPEC)
    assert len(calls) == 3 and len(list((tmp_path / "cache" / "segments").glob("*.npz"))) == 1
    again = segment_dataset(clips, MFCC_SPEC)
    assert len(calls) == 3 and np.array_equal(again["X"], first["X"]) and again["spec"] == first["spec"]
    assert not list((tmp_path / "cache" / "segments").glob(".*"))  # no temporary file left (atomic write)
    assert segment_dataset(clips, {"type": "mfcc", "n_mfcc": 20})["X"].shape[-1] == 20 and len(calls) == 6
    import soundfile as sf  # a clip changes on disk (same name, same length): the cache is not reused

    sf.write(clips.path[1], sine(660, 6.5), SR)
    changed = segment_dataset(clips, MFCC_SPEC)
    assert len(calls) == 9 and not np.allclose(changed["X"][3], first["X"][3])
    for cached in (tmp_path / "cache" / "segments").glob("*.npz"):
        cached.write_bytes(b"corrupt")
    np.testing.assert_array_equal(segment_dataset(clips, MFCC_SPEC)["X"], changed["X"])
    assert len(calls) == 12


@pytest.mark.parametrize("fault", ["cache folder is a file", "disk full"])
def test_an_unusable_cache_costs_a_warning_not_the_features(clip_table, tmp_path, monkeypatch, caplog, fault):
    """Issue 33: the computed features are returned whatever happens to the cache, with one warning."""
    clips = clip_table.iloc[:3]
    expected = segment_dataset(clips, MFCC_SPEC, cache=False)
    if fault == "cache folder is a file":
        (tmp_path / "not_a_folder").write_text("x")
        monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "not_a_folder"))
    else:
        def full(path, data):
            raise OSError(28, "No space left on device", str(path))

        monkeypatch.setattr(store, "write_atomic", full)
    ds = segment_dataset(clips, MFCC_SPEC)
    np.testing.assert_array_equal(ds["X"], expected["X"])
    assert ("cannot be used" if fault == "cache folder is a file" else "No space left on device") in caplog.text
    assert len(caplog.records) == 1


@pytest.mark.parametrize("damage", ["truncated", "one byte flipped"])
def test_a_damaged_segment_cache_is_rebuilt_not_fatal(clip_table, tmp_path, caplog, damage):
    """A cache cut short by a kill or changed on disk (a zip with a bad CRC) is rebuilt with a warning."""
    clips = clip_table.iloc[:3]
    first = segment_dataset(clips, MFCC_SPEC)
    (cached,) = (tmp_path / "cache" / "segments").glob("*.npz")
    data = bytearray(cached.read_bytes())
    if damage == "truncated":
        del data[len(data) // 2:]
    else:
        data[len(data) // 3] ^= 0xFF
    cached.write_bytes(bytes(data))
    np.testing.assert_array_equal(segment_dataset(clips, MFCC_SPEC)["X"], first["X"])
    assert "unreadable cache" in caplog.text


def test_real_gtzan_clips_give_floor_duration_over_3_segments(data_root):
    from helpers.datasets import gtzan_clips

    clips = gtzan_clips(data_root, genres=["jazz"], per_genre=7)
    pick = pd.concat([clips[clips.duration > 29].head(1), clips[clips.duration < 21].head(1)])
    ds = segment_dataset(pick, MFCC_SPEC, cache=False)
    counts = pd.Series(ds["clip_id"]).value_counts()
    for _, row in pick.iterrows():
        assert counts[row.clip_id] == int(row.duration // 3)


def test_build_lstm_is_the_classic_architecture():
    model = build_lstm((130, 13), 10)
    kinds = [(type(layer).__name__, getattr(layer, "units", None)) for layer in model.layers]
    assert kinds == [("LSTM", 64), ("LSTM", 64), ("Dense", 64), ("Dropout", None), ("Dense", 10)]
    assert model.layers[0].return_sequences and not model.layers[1].return_sequences
    assert model.input_shape == (None, 130, 13) and model.output_shape == (None, 10)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3) and model.loss == "sparse_categorical_crossentropy"


def test_build_cnn_layers_and_a_normalization_layer_first():
    import keras

    model = build_cnn((64, 130, 1), 10)
    names = [type(layer).__name__ for layer in model.layers]
    assert names[:5] == ["InputLayer", "Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D"]
    assert names.count("Conv2D") == 3 and names[-4:] == ["Dropout", "GlobalAveragePooling2D", "Dropout", "Dense"]
    assert model.output_shape == (None, 10) and model.count_params() == 24282
    norm = keras.layers.Normalization(axis=-1)
    norm.adapt(np.arange(2 * 64 * 130, dtype="float32").reshape(2, 64, 130, 1))
    with_norm = build_cnn((64, 130, 1), 10, norm=norm)
    assert type(with_norm.layers[1]).__name__ == "Normalization" and with_norm.count_params() == 24282 + 3
    assert type(build_lstm((130, 13), 3, norm=keras.layers.Normalization()).layers[0]).__name__ == "Normalization"


def test_model_input_adds_a_channel_for_the_cnn_only():
    assert model_input(np.zeros((2, 64, 130)), "cnn").shape == (2, 64, 130, 1)
    assert model_input(np.zeros((2, 130, 13)), "lstm").shape == (2, 130, 13)


def test_evaluate_votes_per_clip():
    class Fixed:
        def predict(self, X, verbose=0):  # clip a: votes 0, 1, 1 (majority 1) but mean probability 0
            return np.array([[0.95, 0.05], [0.45, 0.55], [0.45, 0.55], [0.2, 0.8], [0.3, 0.7]])

    out = evaluate(Fixed(), np.zeros((5, 1)), np.array([0, 0, 0, 1, 1]), ["a", "a", "a", "b", "b"])
    assert out["segment_accuracy"] == pytest.approx(3 / 5) and out["clip_accuracy_majority"] == pytest.approx(1 / 2)
    assert out["clip_accuracy_mean"] == 1.0 and out["n_clips"] == 2 and out["clip_pred"].tolist() == [0, 1]


def _toy(n_clips=12, per_clip=4, frames=10, seed=0):
    """Two classes of short sequences that differ by 4 standard deviations in their first feature."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_clips) % 2, per_clip)
    X = 100 + 30 * rng.standard_normal((n_clips * per_clip, frames, 3)).astype(np.float32)  # far from standardised
    X[:, :, 0] += np.where(y == 1, 60.0, -60.0)[:, None]
    return X, y, np.repeat([f"c{i:02d}" for i in range(n_clips)], per_clip)


def test_fit_model_normalises_inside_the_model_with_training_statistics_only():
    X, y, cid = _toy()
    parts = {"train": np.arange(24), "val": np.arange(24, 36)}
    a, hist_a = fit_model("lstm", X, y, parts, epochs=8, seed=3, batch_size=4)
    b, hist_b = fit_model("lstm", X, y, parts, epochs=8, seed=3, batch_size=4)
    assert hist_a == hist_b  # seeded and deterministic
    norm = a.layers[0]
    assert type(norm).__name__ == "Normalization"
    np.testing.assert_allclose(np.ravel(norm.mean), X[:24].mean(axis=(0, 1)), rtol=1e-4)
    np.testing.assert_allclose(np.ravel(norm.variance), X[:24].var(axis=(0, 1)), rtol=1e-3)
    assert evaluate(a, X[36:], y[36:], cid[36:])["clip_accuracy_mean"] == 1.0


def test_fit_model_stops_early_and_keeps_the_best_epoch():
    X, y, _ = _toy()
    # validation labels are the opposite of the training ones: the better the fit, the worse val_loss
    Xv, yv = np.concatenate([X, X[:24]]), np.concatenate([y, 1 - y[:24]])
    model, hist = fit_model("lstm", Xv, yv, {"train": np.arange(24), "val": np.arange(48, 72)},
                            epochs=20, patience=2, batch_size=4, seed=0)
    assert hist["best_epoch"] == [1] and len(hist["loss"]) == 3
    assert set(hist) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert model.evaluate(Xv[48:], yv[48:], verbose=0)[0] == pytest.approx(hist["val_loss"][0], rel=1e-4)  # restored
