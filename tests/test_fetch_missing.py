"""On Colab (the setup cell calls machinery.data.fetch_when_missing), loaders fetch a missing data set on first use."""
from __future__ import annotations

import os
import shutil

import pytest

from helpers import datasets
from helpers.errors import DataNotFoundError
from machinery import data as mdata


@pytest.fixture
def fetched(monkeypatch, data_root):
    """Stand in for the download: record the call and copy the data set from the pre-downloaded folder."""
    calls = []

    def fake_fetch(name, root=None, **kwargs):
        calls.append(name)
        for rel in datasets.REGISTRY[name].layout[:1]:
            src = data_root / rel
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if src.is_dir() else shutil.copy)(src, root / rel)
        for f in datasets.REGISTRY[name].files:
            if not (root / f.path).exists():
                (root / f.path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(data_root / f.path, root / f.path)
        return root

    monkeypatch.setattr(mdata, "fetch", fake_fetch)
    monkeypatch.setattr(datasets, "_FETCHER", [])  # whatever another test turned on, and restored after this one
    monkeypatch.setenv("COURSE_FETCH_MISSING", "")  # recorded, so that what fetch_when_missing sets is undone after
    monkeypatch.delenv("COURSE_FETCH_MISSING")
    return calls


def test_off_by_default_nothing_is_downloaded(tmp_path, fetched):
    with pytest.raises(DataNotFoundError, match="echonest"):
        datasets.load_echonest(root=tmp_path)
    assert fetched == []


def test_on_colab_a_loader_fetches_only_the_data_set_it_needs(tmp_path, fetched):
    mdata.fetch_when_missing()  # what the Colab setup cell calls
    assert os.environ["COURSE_FETCH_MISSING"] == "1"  # other downloads (notebook 09's ImageNet weights) allowed too
    table = datasets.load_echonest(root=tmp_path)
    assert len(table) == 4802
    assert set(fetched) == {"echonest"}  # only the data set this loader needs
    splits = datasets.gtzan_split(root=tmp_path)
    assert len(splits) == 930 and set(fetched) == {"echonest", "gtzan-splits"}
    datasets.fetch_missing_with(None)
    with pytest.raises(DataNotFoundError, match="gtzan"):
        datasets.gtzan_clips(root=tmp_path)
    assert "gtzan" not in fetched
