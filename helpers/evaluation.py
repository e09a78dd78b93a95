"""Honest evaluation: splits that keep a clip's segments together, clip-level voting, published-vs-ours."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import CourseError

logger = logging.getLogger(__name__)


def compare_with_published(
    rows: Iterable[Sequence[Any] | Mapping[str, Any]],
    *,
    decimals: int = 2,
) -> pd.DataFrame:
    """Published figures beside ours: difference and agreement to the published precision.

    Parameters
    ----------
    rows : iterable
        Each row either ``(figure, published, ours)`` or a mapping with keys
        ``"figure"``, ``"published"``, ``"ours"``.
    decimals : int
        Number of decimals the published figures were given to; ``ours`` is
        rounded to as many decimals for the ``match`` column.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``figure``; columns ``published``, ``ours`` (unrounded),
        ``ours_rounded``, ``difference`` (``ours - published``) and ``match``
        (``ours_rounded == published``).

    Raises
    ------
    CourseError
        If a row is malformed, a value is not a finite number, or a figure
        name repeats.

    Examples
    --------
    >>> t = compare_with_published([("accuracy", 0.88, 0.8776), ("recall", 0.54, 0.5617)])
    >>> t["match"].tolist()
    [True, False]
    """
    records = []
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            try:
                figure, published, ours = row["figure"], row["published"], row["ours"]
            except KeyError as exc:
                raise CourseError(
                    f"compare_with_published: row {i} lacks key {exc}; need 'figure', 'published', 'ours'"
                ) from None
        else:
            if len(row) != 3:
                raise CourseError(
                    f"compare_with_published: row {i} has {len(row)} items; need (figure, published, ours)"
                )
            figure, published, ours = row
        try:
            published, ours = float(published), float(ours)
        except (TypeError, ValueError):
            raise CourseError(
                f"compare_with_published: row {i} ({figure!r}) has a non-numeric value: "
                f"published={published!r}, ours={ours!r}"
            ) from None
        if not (np.isfinite(published) and np.isfinite(ours)):
            raise CourseError(f"compare_with_published: row {i} ({figure!r}) is not finite: {published}, {ours}")
        records.append({"figure": str(figure), "published": published, "ours": ours})
    if not records:
        raise CourseError("compare_with_published: no rows given")
    table = pd.DataFrame.from_records(records)
    dup = table["figure"][table["figure"].duplicated()].tolist()
    if dup:
        raise CourseError(f"compare_with_published: figure names repeat: {dup}")
    table = table.set_index("figure")
    table["ours_rounded"] = table["ours"].round(decimals)
    table["difference"] = table["ours"] - table["published"]
    table["match"] = np.isclose(table["ours_rounded"], table["published"].round(decimals), rtol=0, atol=1e-12)
    return table



__all__ = ["require_classes", "group_train_val_test_split", "split_summary", "vote", "clip_level"]


def require_classes(groups: Sequence, labels: Sequence, *, min_groups: int = 3, names: Sequence | None = None) -> None:
    """Refuse data that a classifier cannot learn from and be tested on, before any training.

    Parameters
    ----------
    groups : sequence
        Group (clip id) of every row.
    labels : sequence
        Class of every row.
    min_groups : int
        Fewest groups (clips) a class needs: 3 gives it one clip each in
        training, validation and test.
    names : sequence, optional
        Display names of the classes (``names[label]``), for the message.

    Raises
    ------
    CourseError
        With fewer than two classes ("cannot learn genres from one genre"),
        or when a class has fewer than ``min_groups`` groups (naming them).

    Examples
    --------
    >>> require_classes(["a", "b", "c", "d", "e", "f"], [0, 0, 0, 1, 1, 1])
    >>> require_classes(["a", "b", "c"], [0, 0, 0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    helpers.errors.CourseError: only one genre (0) in the data: ...
    """
    per_class = pd.Series(np.asarray(labels)).groupby(np.asarray(groups), sort=False).first().value_counts()
    show = (lambda c: names[c]) if names is not None else (lambda c: c)
    if len(per_class) < 2:
        only = show(per_class.index[0]) if len(per_class) else "none"
        raise CourseError(f"only one genre ({only}) in the data: a classifier needs at least two genres to learn from")
    few = per_class[per_class < min_groups]
    if len(few):
        listed = ", ".join(f"{show(c)} ({n})" for c, n in few.items())
        raise CourseError(f"too few clips for a train/validation/test split: {listed}; "
                          f"each genre needs at least {min_groups} clips")


def group_train_val_test_split(
    groups: Sequence,
    *,
    labels: Sequence | None = None,
    val_size: float = 0.15,
    test_size: float = 0.2,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split rows into train / validation / test so that each group stays on one side.

    Parameters
    ----------
    groups : sequence
        Group (clip id) of every row; all rows of a group go to the same part.
    labels : sequence, optional
        Class of every row. When given, the split is stratified by class at
        the group level (each class's groups are split in the same proportions),
        which keeps every genre in every part even on small data.
    val_size, test_size : float
        Fractions of the groups for validation and test.
    seed : int
        Random seed.

    Returns
    -------
    train_idx, val_idx, test_idx : numpy.ndarray
        Row indices (sorted) of each part; disjoint, covering all rows.

    Examples
    --------
    >>> groups = np.repeat(np.arange(10), 3)
    >>> tr, va, te = group_train_val_test_split(groups, val_size=0.2, test_size=0.2)
    >>> set(groups[tr]) & set(groups[te])
    set()
    """
    groups = np.asarray(groups)
    if not 0 < val_size < 1 or not 0 < test_size < 1 or val_size + test_size >= 1:
        raise ValueError(f"val_size and test_size must be in (0, 1) and sum below 1, got {val_size}, {test_size}")
    unique = pd.unique(groups)
    rng = np.random.default_rng(seed)
    if labels is None:
        strata = {None: np.array(unique)}
    else:
        labels = np.asarray(labels)
        group_label = pd.Series(labels).groupby(groups, sort=False).first()
        strata = {lab: np.array(group_label.index[group_label.values == lab]) for lab in pd.unique(group_label.values)}
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    for members in strata.values():
        members = members[rng.permutation(len(members))]
        n = len(members)
        n_test = max(1, int(round(test_size * n))) if n >= 3 else 0
        n_val = max(1, int(round(val_size * n))) if n >= 3 else 0
        parts["test"].extend(members[:n_test])
        parts["val"].extend(members[n_test : n_test + n_val])
        parts["train"].extend(members[n_test + n_val :])
    if not (parts["train"] and parts["val"] and parts["test"]):
        raise ValueError(f"too few groups ({len(unique)}) for a three-way split; each class needs at least 3")
    out = []
    for name in ("train", "val", "test"):
        out.append(np.flatnonzero(np.isin(groups, np.array(parts[name], dtype=groups.dtype))))
    return tuple(out)  # type: ignore[return-value]


def split_summary(labels: Sequence, groups: Sequence, parts: dict[str, np.ndarray]) -> pd.DataFrame:
    """A table of how many clips and segments of each class are in each part.

    Parameters
    ----------
    labels, groups : sequence
        Class and group (clip id) of every row.
    parts : dict
        Part name -> row indices, e.g. ``{"train": tr, "val": va, "test": te}``.

    Returns
    -------
    pandas.DataFrame
        Rows: classes plus "total"; columns: ``(part, "clips")`` and ``(part, "segments")``.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    cols = {}
    for name, idx in parts.items():
        frame = pd.DataFrame({"label": labels[idx], "group": groups[idx]})
        cols[(name, "clips")] = frame.groupby("label")["group"].nunique()
        cols[(name, "segments")] = frame.groupby("label").size()
    table = pd.DataFrame(cols).fillna(0).astype(int)
    table.loc["total"] = table.sum()
    return table


def vote(proba: np.ndarray, groups: Sequence, *, method: str = "mean") -> pd.DataFrame:
    """Combine per-segment class probabilities into one prediction per clip.

    Parameters
    ----------
    proba : numpy.ndarray
        Shape ``(n_segments, n_classes)``: each segment's class probabilities.
    groups : sequence
        Clip id of every segment.
    method : {"mean", "majority"}
        ``"mean"`` averages the probabilities; ``"majority"`` counts each
        segment's top class, ties broken by the mean probability.

    Returns
    -------
    pandas.DataFrame
        Indexed by clip id (in order of first appearance), one column per
        class index holding the clip's score (mean probability, or vote share),
        and ``pred``: the winning class index.

    Examples
    --------
    >>> p = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    >>> vote(p, ["a", "a", "a"], method="majority")["pred"].tolist()
    [1]
    >>> vote(p, ["a", "a", "a"], method="mean")["pred"].tolist()
    [0]
    """
    proba = np.asarray(proba, dtype=float)
    groups = np.asarray(groups)
    if proba.ndim != 2 or len(proba) != len(groups):
        raise ValueError(f"proba must be (n_segments, n_classes) with one group per row; got {proba.shape} and {len(groups)} groups")
    if method not in {"mean", "majority"}:
        raise ValueError(f"method must be 'mean' or 'majority', got {method!r}")
    order = pd.unique(groups)
    mean = pd.DataFrame(proba).groupby(groups, sort=False).mean().reindex(order)
    if method == "mean":
        scores = mean
        pred = scores.to_numpy().argmax(axis=1)
    else:
        onehot = np.eye(proba.shape[1])[proba.argmax(axis=1)]
        scores = pd.DataFrame(onehot).groupby(groups, sort=False).mean().reindex(order)
        # break ties between equally voted classes with the mean probability
        pred = (scores.to_numpy() + 1e-6 * mean.to_numpy()).argmax(axis=1)
    out = scores.copy()
    out["pred"] = pred
    return out


def clip_level(proba: np.ndarray, y_true: Sequence, groups: Sequence, *, method: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Clip-level true and predicted labels from per-segment probabilities.

    Parameters
    ----------
    proba : numpy.ndarray
        ``(n_segments, n_classes)`` probabilities.
    y_true : sequence
        True class index of every segment (constant within a clip).
    groups : sequence
        Clip id of every segment.
    method : {"mean", "majority"}
        See :func:`vote`.

    Returns
    -------
    y_clip, pred_clip : numpy.ndarray
        One entry per clip, in order of first appearance.
    """
    voted = vote(proba, groups, method=method)
    truth = pd.Series(np.asarray(y_true)).groupby(np.asarray(groups), sort=False).first().reindex(voted.index)
    return truth.to_numpy(), voted["pred"].to_numpy()


# re-exports while notebooks 05/06 move these into their cells (issue 15)
from .model_selection import (  # noqa: E402,F401
    DownsampledClassifier, cv_permutation_importance, cv_results_table, out_of_fold_predictions,
    per_class_recall_scoring, plot_roc_pr, positive_scores,
)
from .plotting import plot_confusion_matrices  # noqa: E402,F401
