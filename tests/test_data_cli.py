"""python -m helpers.data: status and fetch, offline."""
from __future__ import annotations

import subprocess
import sys

from helpers.data import main


def test_status_lists_every_dataset(data_root, capsys):
    assert main(["--data-dir", str(data_root), "status"]) == 0
    out = capsys.readouterr().out
    for name in ("echonest", "gtzan", "gtzan-splits", "fma-metadata", "librosa"):
        assert name in out


def test_fetch_present_data_needs_no_network(data_root, capsys):
    assert main(["--data-dir", str(data_root), "fetch", "echonest", "gtzan-splits", "gtzan"]) == 0
    assert "echonest: ready at" in capsys.readouterr().out


def test_fetch_unknown_name_is_a_usage_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.data", "--data-dir", str(tmp_path), "fetch", "nope"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2 and "unknown data set(s) nope" in proc.stderr


def test_fetch_manual_dataset_fails_with_reason(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "fetch", "gtzan-features"]) == 1
    assert "gtzan-features: FAILED" in capsys.readouterr().err
