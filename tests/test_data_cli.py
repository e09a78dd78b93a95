"""python -m helpers.datasets: status and fetch, offline."""
from __future__ import annotations

import subprocess
import sys

from helpers import datasets
from helpers.datasets import main


def test_status_lists_every_dataset(data_root, capsys):
    assert main(["--data-dir", str(data_root), "status"]) == 0
    out = capsys.readouterr().out
    for name in ("echonest", "gtzan", "gtzan-splits", "fma-metadata", "librosa"):
        assert name in out


def test_status_says_which_copy_and_which_sources(data_root, capsys, monkeypatch):
    monkeypatch.setattr(datasets, "_kaggle_unavailable", lambda: "kagglehub is not installed")
    assert main(["--data-dir", str(data_root), "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("gtzan-features "))
    assert "Kaggle copy, sha256 verified" in row
    assert "gtzan/genres_original" in next(line for line in lines if line.startswith("gtzan "))
    assert "  gtzan: web.archive.org; huggingface.co; Kaggle andradaolteanu/gtzan-dataset-music-genre-classification " \
        "(kagglehub is not installed)" in lines
    assert "  gtzan-features: Kaggle andradaolteanu/gtzan-dataset-music-genre-classification (kagglehub is not " \
        "installed); built from the GTZAN audio with the course's extractor" in lines


def test_fetch_present_data_needs_no_network(data_root, capsys):
    assert main(["--data-dir", str(data_root), "fetch", "echonest", "gtzan-splits", "gtzan"]) == 0
    assert "echonest: ready at" in capsys.readouterr().out


def test_fetch_unknown_name_is_a_usage_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.datasets", "--data-dir", str(tmp_path), "fetch", "nope"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2 and "unknown data set(s) nope" in proc.stderr


def test_feature_table_without_audio_fails_with_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(datasets, "_kaggle_unavailable", lambda: "kagglehub is not installed")
    assert main(["--data-dir", str(tmp_path), "fetch", "gtzan-features"]) == 1
    err = capsys.readouterr().err
    assert "gtzan-features: FAILED: data set 'gtzan-features' could not be fetched from any of its sources" in err
    assert "kagglehub is not installed" in err and "data set 'gtzan' (GTZAN genre collection (audio))" in err
