"""The pretrained musicnn tagger (issue 16): its weights as data, the Keras 3 port, its input features.

The parity test compares the port with outputs of the original ``musicnn`` 0.1.0 package, computed once by
``tools/musicnn_reference.py`` in a throwaway environment and committed as ``tests/data/musicnn_reference.npz``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from helpers.datasets import REGISTRY  # noqa: E402
from helpers.errors import ChecksumError, CourseError, DataNotFoundError  # noqa: E402
from helpers.pretrained import (_FRAMES, MSD_TAGS, MUSICNN_SPEC, PATCH_SECONDS, MUSICNN_SR, build_tagger, set_level,  # noqa: E402
                                embedding_model, musicnn_input)
from machinery.modelio import checkpoint, load_tagger  # noqa: E402
from machinery.musicnn import _build_musicnn, load_musicnn, musicnn_embedding_model  # noqa: E402

REFERENCE = Path(__file__).parent / "data" / "musicnn_reference.npz"
WHEEL = "musicnn/musicnn-0.1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def wheel(data_root) -> Path:
    path = data_root / WHEEL
    if not path.is_file():
        pytest.skip(f"{path} is not in the data directory")
    return path


@pytest.fixture
def wheel_copy(wheel, tmp_path, monkeypatch) -> Path:
    """A data directory with only the wheel, and a cache of its own."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "data" / "musicnn").mkdir(parents=True)
    shutil.copy(wheel, tmp_path / "data" / WHEEL)
    return tmp_path / "data"


def test_registry_entry_names_licence_citation_and_checksum():
    ds = REGISTRY["musicnn"]
    assert ds.licence.startswith("ISC") and "Pons & Serra" in ds.citation and "2019" in ds.citation
    (f,) = ds.files
    assert f.path == WHEEL and f.url.endswith("/musicnn-0.1.0-py3-none-any.whl")
    assert f.known_hash == "sha256:f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"


def reference_patches(data_root: Path, ref, model: str):
    """(clip, the original's patches) for the 3 reference clips: 187-frame cuts of the whole clip's float32 log-mel."""
    import librosa

    for clip in ("blues.00000.wav", "classical.00000.wav", "metal.00000.wav"):
        path = data_root / "gtzan" / "genres_original" / clip.split(".")[0] / clip
        assert hashlib.sha256(path.read_bytes()).hexdigest() == str(ref[f"{model}/{clip}/sha256"]), clip
        audio, _ = librosa.load(path, sr=MUSICNN_SR)
        mel = librosa.feature.melspectrogram(y=audio, sr=MUSICNN_SR, n_fft=512, hop_length=256, n_mels=96).T
        whole = np.log10(10000 * mel.astype(np.float32) + 1)
        yield clip, np.stack([whole[s:s + _FRAMES] for s in range(0, len(whole) - _FRAMES + 1, _FRAMES)])


def test_the_port_matches_the_original_package(data_root):
    """Tag probabilities and pool5 activations of the original (float32 log) on 3 clips, to 1e-4."""
    import keras

    tagger = load_tagger(root=data_root)
    pool5 = keras.Model(tagger.input, tagger.get_layer("pool5_flat").output)
    with np.load(REFERENCE) as ref:
        for clip, patches in reference_patches(data_root, ref, "MSD_vgg"):
            np.testing.assert_allclose(tagger.predict(patches, verbose=0), ref[f"MSD_vgg/{clip}/tags"], atol=1e-4)
            np.testing.assert_allclose(pool5.predict(patches, verbose=0), ref[f"MSD_vgg/{clip}/pool5"], atol=1e-4)


def test_the_musicnn_port_matches_the_original_package(data_root):
    """MSD_musicnn (the transfer model's tagger): tags and the pooled values of the original on 3 clips."""
    tagger = load_musicnn(root=data_root)
    pooled = musicnn_embedding_model(tagger)
    with np.load(REFERENCE) as ref:
        for clip, patches in reference_patches(data_root, ref, "MSD_musicnn"):
            tags = ref[f"MSD_musicnn/{clip}/tags"]
            np.testing.assert_allclose(tagger.predict(patches, verbose=0), tags, atol=1e-4)
            E = pooled.predict(patches, verbose=0)  # each value's maximum and mean over time, in turn
            np.testing.assert_allclose(E[:, 0::2], ref[f"MSD_musicnn/{clip}/max_pool"], rtol=1e-5, atol=1e-4)
            np.testing.assert_allclose(E[:, 1::2], ref[f"MSD_musicnn/{clip}/mean_pool"], rtol=1e-5, atol=1e-4)
    assert np.abs(_build_musicnn().predict(patches, verbose=0) - tags).max() > 1e-2  # untrained weights: far off


#: MagnaTagATune's 50 tags in MTT_musicnn's output order (musicnn 0.1.0's configuration.MTT_LABELS), the first ten
MTT_FIRST_TAGS = ("guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano")


def test_the_mtt_network_is_another_tagger_that_hears_a_classical_clip(data_root):
    """``load_musicnn(model="MTT_musicnn")``: the same network with MagnaTagATune's weights (benchmarks/taggers.py
    compares it): its strongest tags for a GTZAN classical clip include 'classical'; a name that is no musicnn
    network is one clear error."""
    from helpers.audio import load_audio, segment
    from helpers.pretrained import musicnn_input

    mtt = load_musicnn(model="MTT_musicnn", root=data_root)
    msd_kernel = load_musicnn(root=data_root).get_layer("timbral38").get_weights()[0]
    assert not np.allclose(mtt.get_layer("timbral38").get_weights()[0], msd_kernel)  # other weights, same shapes
    y, sr = load_audio(data_root / "gtzan" / "genres_original" / "classical" / "classical.00000.wav", sr=MUSICNN_SR)
    tags = mtt.predict(musicnn_input(segment(y, sr=sr, seconds=PATCH_SECONDS)), verbose=0).mean(axis=0)
    assert MTT_FIRST_TAGS.index("classical") in np.argsort(tags)[::-1][:3]
    with pytest.raises(CourseError, match="MSD_vgg.*is not a musicnn network"):
        load_musicnn(model="MSD_vgg", root=data_root)


def test_an_untrained_tagger_does_not_match(data_root):
    """The parity check can fail: the same network without the checkpoint's weights is far off."""
    with np.load(REFERENCE) as ref:
        expected = ref["MSD_vgg/metal.00000.wav/tags"]
    rng = np.random.default_rng(0)
    patches = rng.uniform(0, 3, (len(expected), _FRAMES, 96)).astype(np.float32)
    assert np.abs(build_tagger().predict(patches, verbose=0) - expected).max() > 1e-2


def test_architecture_sizes():
    tagger = build_tagger()
    assert tagger.count_params() == 607030 and tagger.output.shape == (None, len(MSD_TAGS)) == (None, 50)
    assert tagger.get_layer("pool5_flat").output.shape == (None, 256)
    assert embedding_model(tagger).output.shape == (None, 640)
    musicnn = _build_musicnn()  # 204 + 204 timbral and 3 x 51 temporal filters, 3 x 64 mid-end, 200 + 50 dense units
    assert musicnn.count_params() == 792079 and musicnn.get_layer("front_end").output.shape == (None, _FRAMES, 561)
    assert musicnn_embedding_model(musicnn).output.shape == (None, 2 * 753) and musicnn.output.shape == (None, 50)
    assert MSD_TAGS[0] == "rock" and MSD_TAGS[26] == "blues" and len(set(MSD_TAGS)) == 50


def test_log_mel_known_answers():
    n = round(PATCH_SECONDS * MUSICNN_SR)
    assert n == 47872 and MUSICNN_SPEC["hop_length"] * _FRAMES == n
    silence = musicnn_input(np.zeros((1, n), dtype=np.float32))
    assert silence.shape == (1, _FRAMES, 96) and silence.dtype == np.float32 and not silence.any()  # log10(1) = 0
    t = np.arange(n) / MUSICNN_SR
    tone = musicnn_input(np.sin(2 * np.pi * 1000 * t)[None].astype(np.float32))[0]
    import librosa
    centres = librosa.mel_frequencies(n_mels=96 + 2, fmax=MUSICNN_SR / 2)[1:-1]
    assert abs(centres[tone[_FRAMES // 2].argmax()] - 1000) < 60  # the loudest band is the one around 1 kHz
    loud = musicnn_input(np.ones((1, n), dtype=np.float32) * 0.9 * np.sign(np.sin(2 * np.pi * 100 * t)))
    assert np.isfinite(loud).all() and loud.max() > np.log10(10000 * 6.55 + 1)  # float16 would be infinite here


def test_set_level_scales_each_segment_to_the_target_rms_and_keeps_silence_silent():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4000)) * np.array([[0.5], [1e-3], [0.0]])
    out = set_level(x, rms_dbfs=-20.0)
    rms_db = 20 * np.log10(np.sqrt(np.mean(np.square(out[:2], dtype=np.float64), axis=1)))
    np.testing.assert_allclose(rms_db, [-20.0, -20.0], atol=1e-4)
    assert out.dtype == np.float32 and not out[2].any()
    np.testing.assert_allclose(out[0] / x[0], out[0, 0] / x[0, 0], rtol=1e-5)  # a gain, not a distortion
    near_silence = set_level(np.full((1, 100), 1e-6), rms_dbfs=-20.0)  # -120 dBFS: at most 60 dB of gain
    assert np.isclose(near_silence.max(), 1e-3)


def test_log_mel_with_rms_dbfs_does_not_depend_on_the_level():
    n = round(PATCH_SECONDS * MUSICNN_SR)
    y = (np.random.default_rng(1).standard_normal((2, n)) * 0.1).astype(np.float32)
    spec = {**MUSICNN_SPEC, "rms_dbfs": -20.0}
    np.testing.assert_allclose(musicnn_input(y * 0.01, spec=spec), musicnn_input(y, spec=spec), rtol=1e-4, atol=1e-4)
    assert np.abs(musicnn_input(y * 0.01) - musicnn_input(y)).max() > 1  # without it the level shows
    np.testing.assert_array_equal(musicnn_input(y, spec=MUSICNN_SPEC), musicnn_input(y))  # no key: the raw level, as before


def test_checkpoint_is_extracted_once_into_the_data_directory(wheel_copy):
    prefix = Path(checkpoint(root=wheel_copy))
    assert prefix == wheel_copy / "musicnn" / "MSD_vgg" / "model"
    files = sorted(p.name for p in prefix.parent.iterdir())
    assert files == ["model.data-00000-of-00001", "model.index"]
    stamp = prefix.with_suffix(".index").stat().st_mtime_ns
    assert Path(checkpoint(root=wheel_copy)) == prefix and prefix.with_suffix(".index").stat().st_mtime_ns == stamp
    import tensorflow as tf
    assert tf.train.load_checkpoint(str(prefix)).get_variable_to_shape_map()["5CNN/kernel"] == [3, 3, 128, 128]


@pytest.mark.parametrize("damage", ["truncated", "flipped bit", "another model", "index missing"])
def test_a_damaged_checkpoint_is_extracted_again(wheel_copy, damage):
    """The extracted files are checked against the wheel's RECORD (size and sha256) on every call (issue 33)."""
    import zipfile

    prefix = Path(checkpoint(root=wheel_copy))
    data, index = prefix.with_suffix(".data-00000-of-00001"), prefix.with_suffix(".index")
    good = data.read_bytes(), index.read_bytes()
    if damage == "truncated":
        data.write_bytes(good[0][: len(good[0]) // 2])
    elif damage == "flipped bit":
        data.write_bytes(good[0][:1000] + bytes([good[0][1000] ^ 1]) + good[0][1001:])
    elif damage == "another model":  # MTT_vgg: a valid checkpoint with the same layer names, other weights
        with zipfile.ZipFile(wheel_copy / WHEEL) as z:
            data.write_bytes(z.read("musicnn/MTT_vgg/.data-00000-of-00001"))
            index.write_bytes(z.read("musicnn/MTT_vgg/.index"))
    else:
        index.unlink()
    with pytest.warns(UserWarning, match="differs from the wheel's record.*extracting it again"):
        assert Path(checkpoint(root=wheel_copy)) == prefix
    assert (data.read_bytes(), index.read_bytes()) == good


def test_checkpoint_works_when_the_cache_folder_is_a_file(wheel_copy, tmp_path, monkeypatch):
    (tmp_path / "cache_file").write_text("x")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache_file"))
    assert Path(checkpoint(root=wheel_copy)) == wheel_copy / "musicnn" / "MSD_vgg" / "model"


def test_checkpoint_goes_to_the_cache_when_the_data_directory_is_read_only(wheel_copy, tmp_path, monkeypatch):
    import machinery.modelio as modelio

    real = modelio.write_atomic

    def read_only_data(path, data):
        if Path(path).is_relative_to(wheel_copy):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, data)

    monkeypatch.setattr(modelio, "write_atomic", read_only_data)
    prefix = Path(checkpoint(root=wheel_copy))
    assert prefix == tmp_path / "cache" / "musicnn" / "MSD_vgg" / "model" and prefix.with_suffix(".index").is_file()
    assert not (wheel_copy / "musicnn" / "MSD_vgg").exists()
    assert Path(checkpoint(root=wheel_copy)) == prefix  # found there next time


def test_checkpoint_errors(wheel_copy, tmp_path):
    with pytest.raises(CourseError, match="has no model 'MSD_big'.*MSD_vgg"):
        checkpoint(model="MSD_big", root=wheel_copy)
    with pytest.raises(DataNotFoundError, match="musicnn"):
        checkpoint(root=tmp_path / "empty")
    broken = wheel_copy / WHEEL
    broken.write_bytes(broken.read_bytes()[:1000])  # a truncated download: the checksum catches it
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        checkpoint(root=wheel_copy)
