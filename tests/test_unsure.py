"""Issue 29: the transfer model hears the music, not the recording, and says when it is unsure.

One transfer model is trained here per test module by the command line (``python -m machinery.train transfer``)
on five genres of the shared GTZAN clips (35 clips, about 30 s on two cores); the tests classify held-out
clips, white noise and a LibriSpeech recording with it, and check ``--segments`` and ``--json``.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("tensorflow")
import soundfile as sf  # noqa: E402

from machinery import predict as predict_cli  # noqa: E402
from machinery import train as train_cli  # noqa: E402
from helpers.evaluation import group_train_val_test_split  # noqa: E402
from machinery.modelio import _METADATA_ENTRY, load_model  # noqa: E402
from machinery.predict import _format_result, is_unsure, predict_file  # noqa: E402
from helpers.pretrained import MUSICNN_SPEC  # noqa: E402
from helpers.audio import load_audio, segment  # noqa: E402
from helpers.models import TEST_SIZE, VAL_SIZE, mahalanobis, segment_features  # noqa: E402
from machinery.train import unsure_statistics  # noqa: E402

from .conftest import SR  # noqa: E402

GENRES = ("blues", "classical", "hiphop", "jazz", "metal")
SEED = 42


@pytest.fixture(scope="module")
def transfer(data_root, tmp_path_factory):
    """(model file, data folder, held-out test clip paths): trained by the command line on 5 x 7 GTZAN clips."""
    wheel = data_root / "musicnn" / "musicnn-0.1.0-py3-none-any.whl"
    if not wheel.is_file():
        pytest.skip(f"{wheel} is not in the data directory")
    root = tmp_path_factory.mktemp("data")
    for genre in GENRES:
        (root / "gtzan" / "genres_original" / genre).mkdir(parents=True)
        for clip in sorted((data_root / "gtzan" / "genres_original" / genre).glob("*.wav")):
            (root / "gtzan" / "genres_original" / genre / clip.name).symlink_to(clip)
    (root / "musicnn").mkdir()
    (root / "musicnn" / wheel.name).symlink_to(wheel)
    out = root / "transfer.keras"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_CACHE_DIR", str(root / "cache"))
        assert train_cli.main(["transfer", "--out", str(out), "--data-dir", str(root), "--seed", str(SEED)]) == 0
    clips = np.array(sorted(p.stem for p in root.glob("gtzan/genres_original/*/*.wav")))
    _, _, test = group_train_val_test_split(clips, labels=[c.split(".")[0] for c in clips], val_size=VAL_SIZE,
                                            test_size=TEST_SIZE, seed=SEED)
    paths = [root / "gtzan" / "genres_original" / c.split(".")[0] / f"{c}.wav" for c in clips[test]]
    return out, root, paths


@pytest.fixture(scope="module")
def loaded(transfer):
    return load_model(transfer[0])


@pytest.fixture(scope="module")
def odd(tmp_path_factory, data_root):
    """Recordings that are not music of the training genres: white noise and a LibriSpeech reading."""
    d = tmp_path_factory.mktemp("odd")
    sf.write(d / "noise.wav", (0.1 * np.random.default_rng(0).standard_normal(10 * SR)).astype(np.float32), SR)
    return {"noise": d / "noise.wav", "speech": data_root / "librosa" / "198-209-0000.ogg"}


def test_the_model_file_carries_the_level_and_the_unsure_statistics(loaded):
    _, meta = loaded
    assert meta["feature_spec"]["rms_dbfs"] == -20.0 and "white noise" in meta["augmentation"]
    stats = meta["unsure"]
    assert stats["quantile"] == 0.95 and stats["clips"] == 25  # the 4 training + 1 validation clips of each genre
    assert train_cli.FAMILIAR_COPIES == ("band",)
    assert np.shape(stats["center"]) == (1506,) and np.shape(stats["components"])[1] == 1506  # MSD_musicnn's pooled values
    assert 0 <= stats["false_alarms"] <= 0.1 and stats["min_top_probability"] == pytest.approx(0.4)


def test_training_again_takes_the_tagger_embeddings_from_the_cache(transfer, loaded, tmp_path, monkeypatch):
    """Issue 31: the same fit again (the notebooks' second profile) skips the tagger and gives the same model."""
    import keras

    _, root, _ = transfer
    ran, real = [], keras.Model.predict
    monkeypatch.setattr(keras.Model, "predict", lambda self, *a, **k: ran.append(self.name) or real(self, *a, **k))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(root / "cache"))
    again = tmp_path / "again.keras"
    assert train_cli.main(["transfer", "--out", str(again), "--data-dir", str(root), "--seed", str(SEED)]) == 0
    assert "msd_musicnn_embedding" not in ran and "msd_musicnn_transfer" in ran  # the test clips still go through the model
    from machinery.musicnn import load_musicnn, musicnn_embedding_model

    base, patches = musicnn_embedding_model(load_musicnn(root=root)), np.random.default_rng(0).random((2, 187, 96), np.float32)
    first = train_cli.tagger_embeddings(base, patches)  # new patches: the tagger runs, once
    assert ran.count("msd_musicnn_embedding") == 1 and first.shape == (2, 1506)
    np.testing.assert_array_equal(train_cli.tagger_embeddings(base, patches), first)
    assert ran.count("msd_musicnn_embedding") == 1
    for layer in ("normalise", "genre"):
        for a, b in zip(loaded[0].get_layer(layer).get_weights(), load_model(again)[0].get_layer(layer).get_weights()):
            np.testing.assert_array_equal(a, b)


def test_held_out_music_is_not_unsure_but_noise_and_speech_are(loaded, transfer, odd):
    model, meta = loaded
    held_out = [predict_file(p, model, meta) for p in transfer[2]]
    assert not held_out[0]["unsure"], held_out[0]
    assert sum(r["unsure"] for r in held_out) <= 2, [r["unsure_reason"] for r in held_out]
    assert np.mean([r["genre"] == r["file"].split("/")[-2] for r in held_out]) >= 0.7
    for name, path in odd.items():
        result = predict_file(path, model, meta)
        assert result["unsure"] is True and "not like the music it was trained on" in result["unsure_reason"], (name, result)


def test_a_quieter_copy_gets_the_same_answer(loaded, transfer, tmp_path):
    model, meta = loaded
    y, sr = sf.read(transfer[2][0], dtype="float32")
    sf.write(tmp_path / "quiet.wav", y * 0.1, sr)  # 20 dB quieter
    loud, quiet = predict_file(transfer[2][0], model, meta), predict_file(tmp_path / "quiet.wav", model, meta)
    assert quiet["genre"] == loud["genre"] and quiet["unsure"] == loud["unsure"]
    for g, p in loud["probabilities"].items():
        assert abs(quiet["probabilities"][g] - p) < 0.01


@pytest.mark.parametrize("after", ["digital silence", "faint noise"])
def test_silence_after_the_music_is_left_out_of_the_answer(loaded, transfer, tmp_path, after):
    """A recording that ends in 15 s of silence or of noise at -70 dBFS. The models answer such segments with a genre
    of their own (jazz, metal): with 30 s of silence after the music, 3 of notebook 11's 20 test clips were right
    (17 before); now those segments do not count."""
    model, meta = loaded
    y, sr = sf.read(transfer[2][0], dtype="float32")
    tail = np.zeros(15 * sr, np.float32) if after == "digital silence" else \
        np.random.default_rng(0).standard_normal(15 * sr).astype(np.float32) * 10 ** (-70 / 20)
    sf.write(tmp_path / "padded.wav", np.r_[y, tail], sr)
    clean = predict_file(transfer[2][0], model, meta)
    padded = predict_file(tmp_path / "padded.wav", model, meta, segments=True)
    quiet = [s for s in padded["timeline"] if s.get("quiet")]
    assert len(quiet) >= 4 and all(s["start"] >= len(y) / sr - 3 for s in quiet)  # the tail's segments, none before
    assert padded["genre"] == clean["genre"] and padded["unsure"] == clean["unsure"], (padded, clean)
    assert padded["segments"] == clean["segments"] + 1  # the music's last part, now a whole segment with the tail
    assert f"{sum(s.get('quiet', False) for s in padded['timeline'][:-1])} quiet segment(s), over 40 dB" in padded["note"]
    assert "(quiet: not counted)" in _format_result(padded).splitlines()[-1]
    counted = predict_file(tmp_path / "padded.wav", model, meta, quiet_db=None)  # as before: every segment
    assert counted["segments"] == padded["segments"] + len(quiet) - 1 and "note" not in counted
    assert "note" not in clean and all("quiet" not in s for s in predict_file(transfer[2][0], model, meta,
                                                                              segments=True)["timeline"])


def test_text_json_and_segments_of_the_command_line(transfer, odd, capsys):
    model_file, _, held_out = transfer
    assert predict_cli.main([str(odd["noise"]), str(held_out[0]), "--model", str(model_file)]) == 0
    noise_line, music_line = capsys.readouterr().out.strip().splitlines()
    assert noise_line.startswith(f"{odd['noise']}: ") and " unsure: not like the music it was trained on" in noise_line
    assert "unsure" not in music_line and music_line.endswith("segments)")
    assert predict_cli.main([str(held_out[0]), "--model", str(model_file), "--json", "--segments"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"file", "genre", "probabilities", "segments", "error", "unsure", "unsure_reason", "timeline"}
    assert isinstance(result["unsure"], bool) and isinstance(result["unsure_reason"], str) and "\n" not in result["unsure_reason"]
    timeline, duration = result["timeline"], sf.info(held_out[0]).duration
    assert timeline[0]["start"] == 0 and abs(timeline[-1]["end"] - duration) < 0.01  # the whole file
    assert len(timeline) == result["segments"] + 1  # back-to-back segments, then the file's last 2.992 s
    for a, b in zip(timeline, timeline[1:-1]):
        assert b["start"] == a["end"]
    for s in timeline:
        assert set(s) == {"start", "end", "genre", "probabilities"} and isinstance(s["start"], float)
        assert s["end"] - s["start"] == pytest.approx(2.992, abs=1e-3) and s["genre"] in GENRES
        assert s["genre"] == max(s["probabilities"], key=s["probabilities"].get)
        assert abs(sum(s["probabilities"].values()) - 1) < 1e-4
    assert predict_cli.main([str(held_out[0]), "--model", str(model_file), "--segments"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + len(timeline) and lines[1].startswith("  0.00-2.99 s: ")


def test_bad_inputs_are_reported_as_before(transfer, tmp_path, capsys):
    model_file = transfer[0]
    sf.write(tmp_path / "short.wav", np.zeros(SR, dtype=np.float32) + 0.1, SR)
    status = predict_cli.main([str(tmp_path / "none.wav"), str(tmp_path / "short.wav"), "--model", str(model_file), "--json", "--segments"])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1 and [r["error"].split(": ")[1] for r in results] == ["file not found", "1.00 s long, shorter than the required 2.992 s"]
    assert all(r["unsure"] is None and r["unsure_reason"] is None and r["timeline"] is None for r in results)
    assert predict_cli.main([str(tmp_path / "none.wav"), "--model", str(model_file)]) == 1
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'none.wav'}: file not found"


def test_a_transfer_model_without_the_new_metadata_predicts_as_before(transfer, loaded, tmp_path, capsys):
    """Before issue 29: no rms_dbfs (the raw level) and no unsure statistics. It loads, and its answer is the
    network's on the raw-level log-mel, with the JSON keys of before."""
    old = tmp_path / "old.keras"
    with zipfile.ZipFile(transfer[0]) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == _METADATA_ENTRY:
                meta = json.loads(data)
                meta.pop("unsure"), meta.pop("augmentation")
                data = json.dumps({**meta, "feature_spec": MUSICNN_SPEC}).encode()
            dst.writestr(item, data)
    clip = transfer[2][0]
    assert predict_cli.main([str(clip), "--model", str(old), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"file", "genre", "probabilities", "segments", "error"}
    model = loaded[0]
    y, _ = load_audio(clip, sr=16000)
    raw = model.predict(segment_features(segment(y, sr=16000, seconds=2.992), 16000, MUSICNN_SPEC), verbose=0)
    np.testing.assert_allclose(list(result["probabilities"].values()), raw.mean(axis=0), atol=1e-5)
    assert predict_cli.main([str(clip), "--model", str(old)]) == 0
    assert "unsure" not in capsys.readouterr().out


def test_lstm_and_cnn_models_give_segments_but_no_unsure(tmp_path, capsys):
    from machinery.modelio import save_model
    from helpers.models import MFCC_SPEC, build_lstm, check_spec

    meta = {"kind": "lstm", "genres": ["a", "b"], "sample_rate": SR, "segment_seconds": 3.0, "feature_spec": check_spec(MFCC_SPEC)}
    model_file = save_model(build_lstm((130, 13), 2), tmp_path / "lstm.keras", meta)
    t = np.arange(int(7.5 * SR)) / SR
    sf.write(tmp_path / "tone.wav", (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), SR)
    assert predict_cli.main([str(tmp_path / "tone.wav"), "--model", str(model_file), "--json", "--segments"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "unsure" not in result and result["segments"] == 2
    assert [(s["start"], s["end"]) for s in result["timeline"]] == [(0.0, 3.0), (3.0, 6.0), (4.5, 7.5)]


def test_unsure_statistics_are_ledoit_wolf_mahalanobis_with_a_held_out_threshold():
    from sklearn.covariance import LedoitWolf

    rng = np.random.default_rng(0)
    Z = rng.standard_normal((120, 30)) @ rng.standard_normal((30, 30))
    groups = np.repeat(np.arange(60), 2)
    stats = unsure_statistics(Z, groups, quantile=0.9)
    M = Z.reshape(60, 2, 30).mean(axis=1)
    lw = LedoitWolf().fit(M)
    x = rng.standard_normal((5, 30)) * 3
    np.testing.assert_allclose(mahalanobis(x, stats) ** 2, lw.mahalanobis(x), rtol=1e-6)
    assert stats["threshold"] > np.quantile(mahalanobis(M, stats), 0.9)  # held-out clips lie further than fitted ones
    assert 0.05 <= stats["false_alarms"] <= 0.15 and stats["clips"] == 60
    far = M.mean(axis=0) + 50 * rng.standard_normal(30)
    assert is_unsure(far[None], np.array([0.9, 0.1]), {**stats, "min_top_probability": 0.5})[0]
    near = {**stats, "min_top_probability": 0.5}
    assert is_unsure(M[:1], np.array([0.4, 0.3, 0.3]), near) == (True, "no genre stands out (top probability 0.40 < 0.50)")
    assert not is_unsure(M.mean(axis=0)[None], np.array([0.9, 0.1]), near)[0]


def test_a_copy_is_held_out_with_its_clip_and_only_clips_set_the_threshold():
    """Issue 29: the unsure statistics may count changed copies as familiar (machinery.train.FAMILIAR_COPIES). A copy
    scored by a fit that saw its own clip would lie close and pull the threshold in; so a clip and its copies are held
    out together, and only the clips' distances set the threshold."""
    rng = np.random.default_rng(1)
    clips = rng.standard_normal((60, 100)) @ rng.standard_normal((100, 100))  # few clips for their values, as in a model
    Z = np.concatenate([clips, clips + 0.01 * rng.standard_normal(clips.shape)])  # each clip, then a near copy of it
    clip = np.tile(np.arange(60).astype(str), 2)
    names = np.concatenate([clip[:60], np.char.add(clip[60:], "~band")])
    grouped = unsure_statistics(Z, names, origins=clip, quantile=0.9)
    leaky = unsure_statistics(Z, names, quantile=0.9)  # every copy its own clip: folds split clips from their copies
    assert grouped["clips"] == 60 and leaky["clips"] == 120
    assert grouped["threshold"] > 1.25 * leaky["threshold"]
    assert 0.05 <= grouped["false_alarms"] <= 0.15
    only_clips = unsure_statistics(clips, clip[:60], quantile=0.9)  # the copies barely move the fit
    assert grouped["threshold"] == pytest.approx(only_clips["threshold"], rel=0.25)
    names_out, origins_out = train_cli.familiar_recordings(clip[:2], ["0", "1", "0"], ["band", "noise", "mp3"])
    assert list(names_out) == ["0", "1", "0~band", "", ""] and list(origins_out) == ["0", "1", "0", "1", "0"]


def test_transfer_head_standardises_as_the_model_does_and_describes_only_the_named_rows():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1, 2], 20)
    E = rng.standard_normal((60, 6)) + 3 * np.eye(3, 6)[labels]
    E[:, 5] = 7.0  # a value that never varies: left out of the fit, a variance of 1 in the model
    groups = np.array([f"c{i // 2}" for i in range(40)] + [""] * 20, dtype=object)  # 20 clips; 20 rows not counted
    head = train_cli.transfer_head(E, labels, n_classes=3, groups=groups)
    kept = head["pipe"][0].get_support()
    assert list(kept) == [True] * 5 + [False] and head["variance"][5] == 1.0 and head["mean"][5] == 7.0
    z = (E - head["mean"]) / np.sqrt(head["variance"])
    np.testing.assert_allclose(head["pipe"][1].transform(head["pipe"][0].transform(E)), z[:, kept], atol=1e-12)
    expected = unsure_statistics(z[:40], groups[:40])
    assert head["unsure"]["clips"] == 20 and head["unsure"]["threshold"] == pytest.approx(expected["threshold"])
    assert head["unsure"]["min_top_probability"] == 0.5  # twice chance is 2/3 with three genres: at most 0.5
    assert "unsure" not in train_cli.transfer_head(E, labels, n_classes=3)


def test_format_result_marks_unsure_and_prints_a_timeline():
    result = {"file": "a.wav", "genre": "jazz", "probabilities": {"jazz": 0.8, "rock": 0.2}, "segments": 1, "error": None,
              "unsure": True, "unsure_reason": "not like the music it was trained on (distance 9.0 > 3.0)",
              "timeline": [{"start": 0.0, "end": 2.992, "genre": "jazz", "probabilities": {"jazz": 0.8, "rock": 0.2}}]}
    assert _format_result(result) == ("a.wav: jazz (jazz 0.800, rock 0.200; 1 segment) unsure: not like the music it was "
                                     "trained on (distance 9.0 > 3.0)\n  0.00-2.99 s: jazz 0.80")
    assert _format_result({**result, "unsure": False, "timeline": None}) == "a.wav: jazz (jazz 0.800, rock 0.200; 1 segment)"
