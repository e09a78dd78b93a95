"""GTZAN without the web archive: the Kaggle copy through kagglehub (a stand-in module, no
network), and features_30_sec.csv built from the audio with the course's extractor."""
from __future__ import annotations

import json
import logging
import sys
import types
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import datasets
from machinery import data as mdata
from helpers.datasets import GTZAN_GENRES, REGISTRY
from machinery.data import main
from helpers.errors import DownloadError
from helpers.features import FEATURE_COLUMNS, gtzan_feature_vector

HANDLE = "andradaolteanu/gtzan-dataset-music-genre-classification"
REFUSED = "http://127.0.0.1:9/genres.tar.gz"  # nothing listens on the discard port
#: The course's parity tolerance between our features and Kaggle's (relative).
PARITY_RTOL = 1e-4
#: Full-length clips (0-2 of each genre are 30 s in the CI subset).
BUILD_CLIPS = ("blues.00000", "blues.00001", "classical.00000", "classical.00001")


# ----------------------------------------------------------------------------- Kaggle (stand-in kagglehub)


@pytest.fixture
def kaggle(tmp_path, monkeypatch, data_root):
    """A stand-in ``kagglehub`` serving a small Kaggle-layout copy from tmp_path, and a GTZAN
    registry entry whose only download address refuses and whose Kaggle copy has 2 clips per genre.

    The copy holds Data/genres_original/<genre>/ (2 short WAV files each; jazz.00054.wav cannot be
    decoded, as in the full Kaggle copy) and the real Data/features_30_sec.csv. Returns
    ``(copy folder, calls to dataset_download, credentials setter)``.
    """
    import soundfile as sf

    copy = tmp_path / "kagglehub"
    for genre in GTZAN_GENRES:
        folder = copy / "Data/genres_original" / genre
        folder.mkdir(parents=True)
        for i in range(2):
            sf.write(folder / f"{genre}.0000{i}.wav", np.full(2205, 0.1, dtype=np.float32), 22050, subtype="PCM_16")
    (copy / "Data/genres_original/jazz/jazz.00001.wav").unlink()
    (copy / "Data/genres_original/jazz/jazz.00054.wav").write_bytes(b"RIFF" + b"\0" * 40)
    (copy / "Data/features_30_sec.csv").write_bytes((data_root / "gtzan/features_30_sec.csv").read_bytes())

    calls: list[tuple[str, str | None]] = []
    credentials = {"value": object()}

    def dataset_download(handle, path=None, **kwargs):
        calls.append((handle, path))
        return str(copy / path if path else copy)

    config = types.ModuleType("kagglehub.config")
    config.get_kaggle_credentials = lambda: credentials["value"]
    module = types.ModuleType("kagglehub")
    module.dataset_download, module.config = dataset_download, config
    monkeypatch.setitem(sys.modules, "kagglehub", module)
    monkeypatch.setitem(sys.modules, "kagglehub.config", config)

    gtzan = REGISTRY["gtzan"]
    monkeypatch.setitem(REGISTRY, "gtzan", replace(
        gtzan,
        archive=replace(gtzan.archive, url=REFUSED, mirrors=()),
        kaggle=replace(gtzan.kaggle, counts=tuple((pattern, 2) for pattern, _ in gtzan.kaggle.counts)),
    ))
    return copy, calls, lambda value: credentials.update(value=value)


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_gtzan_from_kaggle_when_the_downloads_fail(kaggle, tmp_path, caplog):
    _, calls, _ = kaggle
    root = tmp_path / "data"
    assert mdata.fetch("gtzan", root, progressbar=False) == root / "gtzan/genres_original"
    assert calls == [(HANDLE, "Data/genres_original"), (HANDLE, "Data/features_30_sec.csv")]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"gtzan/genres.tar.gz: source {REFUSED} failed: connection refused"]
    assert len(_files(root / "gtzan/genres_original")) == 20
    with pytest.warns(UserWarning, match="jazz.00054.wav"):  # the loaders skip the clip that cannot be decoded
        clips = datasets.gtzan_clips(root)
    assert len(clips) == 19 and clips.groupby("genre").size().to_dict()["jazz"] == 1
    assert datasets.load_gtzan_features(root).shape == (1000, 61)
    assert mdata.status(root).loc["gtzan-features", "copy"] == "Kaggle copy, sha256 verified"


@pytest.mark.parametrize("damage, why", [
    ("missing clip", "holds 1 files matching gtzan/genres_original/rock/rock.*.wav, expected 2; nothing was placed"),
    ("altered table", "features_30_sec.csv: sha256 checksum mismatch"),
])
def test_kaggle_copy_that_does_not_verify_is_not_used(kaggle, tmp_path, damage, why):
    copy, _, _ = kaggle
    if damage == "missing clip":
        (copy / "Data/genres_original/rock/rock.00001.wav").unlink()
    else:
        table = copy / "Data/features_30_sec.csv"
        table.write_text(table.read_text().replace("blues", "bluez", 1))
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match=why):
        mdata.fetch("gtzan", root, progressbar=False)
    assert _files(root) == []  # neither the clips nor the table were placed


def test_kaggle_without_credentials_is_skipped(kaggle, tmp_path, caplog):
    _, calls, set_credentials = kaggle
    set_credentials(None)
    with pytest.raises(DownloadError, match=r"\(kagglehub\): skipped: no Kaggle credentials configured"):
        mdata.fetch("gtzan", tmp_path / "data", progressbar=False)
    assert calls == []
    skipped = f"gtzan: source Kaggle {HANDLE} (kagglehub) failed: skipped: no Kaggle credentials configured"
    assert skipped in caplog.messages
    assert "no Kaggle credentials configured" in mdata.status(tmp_path).loc["gtzan", "sources"]


def test_feature_table_from_kaggle(kaggle, tmp_path):
    _, calls, _ = kaggle
    root = tmp_path / "data"
    assert mdata.fetch("gtzan-features", root, progressbar=False) == root / "gtzan/features_30_sec.csv"
    assert calls == [(HANDLE, "Data/features_30_sec.csv")]
    assert _files(root) == ["gtzan/features_30_sec.csv"]


# ----------------------------------------------------------------------------- built from the audio


@pytest.fixture
def small_gtzan(data_root, tmp_path, monkeypatch):
    """A data directory with 2 genres x 2 full-length real clips (links) and one clip that cannot be
    decoded; an empty feature cache; a registry reduced to gtzan and gtzan-features; no Kaggle."""
    root = tmp_path / "data"
    for clip_id in BUILD_CLIPS:
        genre = clip_id.split(".")[0]
        (root / "gtzan/genres_original" / genre).mkdir(parents=True, exist_ok=True)
        (root / "gtzan/genres_original" / genre / f"{clip_id}.wav").symlink_to(
            data_root / "gtzan/genres_original" / genre / f"{clip_id}.wav")
    (root / "gtzan/genres_original/classical/classical.00054.wav").write_bytes(b"not audio")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    for name in [n for n in REGISTRY if n not in {"gtzan", "gtzan-features"}]:
        monkeypatch.delitem(REGISTRY, name)
    monkeypatch.setattr(mdata, "_kaggle_unavailable", lambda: "kagglehub is not installed")
    return root


def test_make_data_builds_the_feature_table_from_the_audio(small_gtzan, data_root, caplog, capsys):
    root = small_gtzan
    caplog.set_level(logging.INFO, logger="machinery.data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the scan's warning about classical.00054.wav
        assert main(["--data-dir", str(root), "fetch", "--make-data"]) == 0
    assert "gtzan-features: ready at" in capsys.readouterr().out
    assert ("built gtzan/features_30_sec.csv from the audio with the course's extractor (4 clips); "
            "the Kaggle copy is checksum-verified when present") in caplog.messages
    assert any("left out 1 clip(s)" in m and "classical.00054.wav" in m for m in caplog.messages)

    built = pd.read_csv(root / "gtzan/features_30_sec.csv")
    kaggle_path = data_root / "gtzan/features_30_sec.csv"
    assert built.columns.tolist() == pd.read_csv(kaggle_path, nrows=0).columns.tolist()
    assert built["filename"].tolist() == [f"{c}.wav" for c in BUILD_CLIPS]
    reference = pd.read_csv(kaggle_path).set_index("filename").loc[built["filename"]].reset_index()
    assert built["label"].tolist() == reference["label"].tolist()
    assert built["length"].tolist() == reference["length"].tolist()
    ours, theirs = built[list(FEATURE_COLUMNS)].to_numpy(), reference[list(FEATURE_COLUMNS)].to_numpy()
    worst = np.abs(ours - theirs) / np.abs(theirs)
    assert worst.max() <= PARITY_RTOL, dict(zip(FEATURE_COLUMNS, worst.max(axis=0)))

    record = json.loads((root / "gtzan/features_30_sec.built.json").read_text())
    built_by = f"{gtzan_feature_vector.__module__}.{gtzan_feature_vector.__qualname__}"
    assert record["n_clips"] == 4 and record["built_by"] == built_by
    assert record["helpers_version"] and record["librosa_version"] and record["sample_rate"] == 22050
    assert [Path(s.split(": ")[0]).name for s in record["skipped"]] == ["classical.00054.wav"]
    assert datasets.load_gtzan_features(root)["clip_id"].tolist() == list(BUILD_CLIPS)
    assert sorted(p.name for p in (root / "gtzan").iterdir()) == [  # no temporary file left
        "features_30_sec.built.json", "features_30_sec.csv", "genres_original"]

    assert main(["--data-dir", str(root), "status"]) == 0
    out = capsys.readouterr().out
    assert f"built here from 4 clips by {built_by}" in out
    assert "sources: Kaggle " in out and "built from the GTZAN audio with the course's extractor" in out

    # the Kaggle copy, once placed, is what the loader and the status see
    (root / "gtzan/features_30_sec.csv").write_bytes(kaggle_path.read_bytes())
    assert datasets.load_gtzan_features(root).shape == (1000, 61)
    assert mdata.status(root).loc["gtzan-features", "copy"] == "Kaggle copy, sha256 verified"
