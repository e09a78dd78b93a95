"""tools/seed_sweep.py: the CPU profiles it runs under and the summary behind notebooks/results.md."""
from __future__ import annotations

import platform
from pathlib import Path

import pytest
from .conftest import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "seed_sweep.py"


@pytest.fixture(scope="module")
def sweep():
    return load_script(SCRIPT)


def test_native_changes_nothing_and_portable_is_make_test_portables(sweep):
    assert sweep.profile_env("native") == {}
    assert sweep.profile_env("portable")["MPLBACKEND"] == "Agg"


@pytest.mark.skipif(platform.machine().lower() not in {"x86_64", "amd64"}, reason="the x86 ladder only")
def test_the_sse41_profiles_differ_only_in_onednn(sweep):
    on, off = sweep.profile_env("sse41-on"), sweep.profile_env("sse41-off")
    assert on["TF_ENABLE_ONEDNN_OPTS"] == "1" and off["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert {k: v for k, v in on.items() if k != "TF_ENABLE_ONEDNN_OPTS"} == \
        {k: v for k, v in off.items() if k != "TF_ENABLE_ONEDNN_OPTS"}


def test_the_summary_gives_ranges_and_counts_values_outside_the_band(sweep, tmp_path):
    csv = tmp_path / "runs.csv"
    csv.write_text("notebook,seed,threads,profile,labels,what,value,low,high,seconds\n"
                   "09_x,1,1,native,true,acc,0.40,0.3,0.75,10\n"
                   "09_x,2,1,sse41-on,true,acc,0.25,0.3,0.75,10\n"
                   "09_x,3,1,sse41-on,true,acc,0.60,0.3,0.75,10\n"
                   "09_x,1,1,native,shuffled,acc,0.10,0.3,0.75,10\n")
    lines = sweep.summary([csv]).splitlines()
    assert len(lines) == 4
    true_row, shuffled_row = lines[2].split(" | "), lines[3].split(" | ")
    assert true_row[3] == "3" and true_row[4].startswith("0.250-0.600") and true_row[6] == "1"  # 0.25 is outside
    assert "native 0.40-0.40; sse41-on 0.25-0.60" in lines[2]
    assert shuffled_row[2] == "shuffled" and shuffled_row[6] == "1"


def test_shuffled_labels_come_from_a_data_directory_of_permuted_genre_folders(sweep, data_root, tmp_path):
    """--shuffle-labels: the loaders read a linked copy of the data directory whose clips sit in permuted genre
    folders (nothing in the package is patched); every other data set is there as it is."""
    from helpers.datasets import dataset_path, gtzan_clips, load_echonest

    target = sweep.shuffled_data_dir(data_root, tmp_path / "data", seed=1)
    real, shuffled = gtzan_clips(data_root), gtzan_clips(target)
    assert shuffled["clip_id"].tolist() == real["clip_id"].tolist()
    assert shuffled["genre"].value_counts().to_dict() == real["genre"].value_counts().to_dict()  # 7 per genre
    assert (shuffled["genre"] != real["genre"]).mean() > 0.7
    assert shuffled["split"].tolist() == real["split"].tolist()  # the splits file is linked
    assert len(load_echonest(target)) == 4802 and dataset_path("musicnn", target).is_file()
    again = sweep.shuffled_data_dir(data_root, tmp_path / "again", seed=1)
    assert gtzan_clips(again)["genre"].tolist() == shuffled["genre"].tolist()  # the seed decides
