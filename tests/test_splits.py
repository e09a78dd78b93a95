"""helpers.evaluation: the clip split (group-aware, stratified three-way), split table, clip voting."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.errors import CourseError
from helpers.evaluation import clip_level, group_train_val_test_split, split_summary, vote


def _clips(n_classes=4, clips_per_class=10, segs=5):
    groups = np.repeat([f"c{i:03d}" for i in range(n_classes * clips_per_class)], segs)
    labels = np.repeat(np.arange(n_classes), clips_per_class * segs)
    return groups, labels


def test_split_keeps_clips_whole_and_covers_all_rows():
    groups, labels = _clips()
    tr, va, te = group_train_val_test_split(groups, labels=labels, val_size=0.2, test_size=0.2, seed=1)
    assert len(tr) + len(va) + len(te) == len(groups)
    sets = [set(groups[i]) for i in (tr, va, te)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    # stratified at clip level: every class is in every part, 2 test clips per class
    for idx in (tr, va, te):
        assert set(labels[idx]) == {0, 1, 2, 3}
    assert len(set(groups[te])) == 8


def test_split_is_seeded():
    groups, labels = _clips()
    a = group_train_val_test_split(groups, labels=labels, seed=3)
    b = group_train_val_test_split(groups, labels=labels, seed=3)
    c = group_train_val_test_split(groups, labels=labels, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_split_errors():
    with pytest.raises(CourseError, match="sum below 1"):
        group_train_val_test_split(["a", "b"], val_size=0.5, test_size=0.5)
    with pytest.raises(CourseError, match="too few groups"):
        group_train_val_test_split(["a", "a", "b"])


def test_split_summary_counts():
    groups, labels = _clips(n_classes=2, clips_per_class=3, segs=2)
    table = split_summary(labels, groups, {"all": np.arange(len(groups))})
    assert table.loc["total", ("all", "clips")] == 6
    assert table.loc[0, ("all", "segments")] == 6


def test_vote_mean_and_majority_disagree_on_known_case():
    p = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    groups = ["a", "a", "a", "b"]
    mean = vote(p, groups, method="mean")
    majority = vote(p, groups, method="majority")
    assert mean.index.tolist() == ["a", "b"]
    assert mean["pred"].tolist() == [0, 1]  # mean of a: [0.533, 0.467]
    assert majority["pred"].tolist() == [1, 1]  # a: two votes for class 1
    assert majority.loc["a", 1] == pytest.approx(2 / 3)


def test_vote_tie_broken_by_probability():
    p = np.array([[0.6, 0.4], [0.1, 0.9]])
    assert vote(p, ["x", "x"], method="majority")["pred"].tolist() == [1]


def test_clip_level_and_errors():
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    y, pred = clip_level(p, [0, 0, 1], ["a", "a", "b"])
    assert y.tolist() == [0, 1] and pred.tolist() == [0, 1]
    with pytest.raises(CourseError, match="method"):
        vote(p, ["a", "a", "b"], method="median")
    with pytest.raises(CourseError, match="one group per row"):
        vote(p, ["a"])


def test_default_split_is_60_15_25_by_clip():
    """The one set of proportions every model uses (notebook 07, ``python -m machinery.train``)."""
    groups, labels = _clips(n_classes=2, clips_per_class=20)
    parts = group_train_val_test_split(groups, labels=labels, seed=0)
    assert [len(set(groups[p])) for p in parts] == [24, 6, 10]
