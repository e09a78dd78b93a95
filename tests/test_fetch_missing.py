"""COURSE_FETCH_MISSING=1 (set by the Colab setup cell): loaders fetch a missing data set on first use."""
from __future__ import annotations

import shutil

import pytest

from helpers import datasets
from helpers.errors import DataNotFoundError


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

    monkeypatch.setattr(datasets, "fetch", fake_fetch)
    return calls


def test_off_by_default_nothing_is_downloaded(tmp_path, fetched, monkeypatch):
    monkeypatch.delenv("COURSE_FETCH_MISSING", raising=False)
    with pytest.raises(DataNotFoundError, match="echonest"):
        datasets.load_echonest(root=tmp_path)
    assert fetched == []


def test_on_colab_a_loader_fetches_only_the_data_set_it_needs(tmp_path, fetched, monkeypatch):
    monkeypatch.setenv("COURSE_FETCH_MISSING", "1")
    table = datasets.load_echonest(root=tmp_path)
    assert len(table) == 4802
    assert set(fetched) == {"echonest"}  # only the data set this loader needs
    splits = datasets.gtzan_split(root=tmp_path)
    assert len(splits) == 930 and set(fetched) == {"echonest", "gtzan-splits"}
