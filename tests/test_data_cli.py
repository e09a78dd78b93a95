"""python -m machinery.data: status and fetch, offline."""
from __future__ import annotations

import subprocess
import sys

from machinery import data as mdata
from machinery.data import main


def test_status_lists_every_dataset(data_root, capsys):
    assert main(["--data-dir", str(data_root), "status"]) == 0
    out = capsys.readouterr().out
    for name in ("echonest", "gtzan", "gtzan-splits", "fma-metadata", "librosa"):
        assert name in out


def test_status_says_which_copy_and_which_sources(data_root, capsys, monkeypatch):
    monkeypatch.setattr(mdata, "_kaggle_unavailable", lambda: "kagglehub is not installed")
    assert main(["--data-dir", str(data_root), "status"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(map(len, lines)) <= 100, "fits a 100-column terminal (issue 33)"
    block = {}  # data set -> its lines joined (a wrapped line continues with four spaces)
    for line in lines[1:]:
        if not line.startswith(" ") and ": " in line and not line.startswith("make data"):
            name = line.split(":", 1)[0]
        block[name] = block.get(name, "") + " " + line.strip()
    assert block["gtzan-features"].startswith(" gtzan-features: present (GTZAN feature table")
    assert "copy: Kaggle copy, sha256 verified" in block["gtzan-features"]
    assert "copy: gtzan/genres_original: 70 of 1,000 clips (7 per genre), 30 of them 30 s long" in block["gtzan"]
    assert "sources: web.archive.org; huggingface.co; Kaggle andradaolteanu/gtzan-dataset-music-genre-classification " \
        "(kagglehub is not installed)" in block["gtzan"]
    assert "sources: Kaggle andradaolteanu/gtzan-dataset-music-genre-classification (kagglehub is not " \
        "installed); built from the GTZAN audio with the course's extractor" in block["gtzan-features"]
    assert "copy: fma/genres.csv: genres.csv of tracks.csv, genres.csv, echonest.csv, features.csv" in block["fma-metadata"]
    assert "fma-small: missing" in block["fma-small"] and "copy:" not in block["fma-small"]
    assert "make data has nothing to fetch" in out


def test_status_says_what_make_data_would_fetch_and_how_much_gtzan_is_there(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    for name in ("blues/blues.00000.wav", "blues/blues.00001.wav", "rock/rock.00000.wav"):
        (path := tmp_path / "gtzan" / "genres_original" / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.full(22050 * 30, 0.1, dtype=np.float32), 22050)
    assert main(["--data-dir", str(tmp_path), "status"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "gtzan/genres_original: 3 of 1,000 clips (blues 2, classical 0, country 0, disco 0, hiphop 0, jazz 0, " \
           "metal 0, pop 0, reggae 0, rock 1), 3 of them 30 s long" in out
    assert "make data would fetch: echonest (5.4 MB), gtzan-splits (20 KB)," in out and "fma-small" not in \
        out.split("make data would fetch:")[1]


def test_fetch_present_data_needs_no_network(data_root, capsys):
    assert main(["--data-dir", str(data_root), "fetch", "echonest", "gtzan-splits", "gtzan"]) == 0
    assert "echonest: ready at" in capsys.readouterr().out


def test_fetch_unknown_name_is_a_usage_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "machinery.data", "--data-dir", str(tmp_path), "fetch", "nope"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2 and "unknown data set(s) nope" in proc.stderr


def test_feature_table_without_audio_fails_with_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mdata, "_kaggle_unavailable", lambda: "kagglehub is not installed")
    assert main(["--data-dir", str(tmp_path), "fetch", "gtzan-features"]) == 1
    err = capsys.readouterr().err
    assert "gtzan-features: FAILED: data set 'gtzan-features' could not be fetched from any of its sources" in err
    assert "kagglehub is not installed" in err and "data set 'gtzan' (GTZAN genre collection (audio))" in err
