"""Honest evaluation: the clip split, clip voting, test accuracy, published figures beside ours."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import CourseError

__all__ = ["compare_with_published", "group_train_val_test_split", "split_summary", "vote",
           "clip_level", "evaluate"]


def compare_with_published(rows: Iterable[Sequence[Any] | Mapping[str, Any]], *,
                           decimals: int = 2) -> pd.DataFrame:
    """Published figures beside ours: difference and agreement to the published precision.

    ``rows``: ``(figure, published, ours)`` tuples or mappings with those keys; ``decimals``: that
    precision (``ours`` is rounded to it for ``match``). Returns a table indexed by ``figure``:
    ``published``, ``ours``, ``ours_rounded``, ``difference`` (ours - published), ``match``. A
    malformed row, a value not a finite number or a repeated figure raises :class:`CourseError`.

    Examples
    --------
    >>> compare_with_published([("accuracy", 0.88, 0.8776),
    ...                         ("recall", 0.54, 0.5617)])["match"].tolist()
    [True, False]
    """
    records = []
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            if missing := [k for k in ("figure", "published", "ours") if k not in row]:
                raise CourseError(f"compare_with_published: row {i} lacks key '{missing[0]}'; "
                                  "need 'figure', 'published', 'ours'")
            row = (row["figure"], row["published"], row["ours"])
        if len(row) != 3:
            raise CourseError(f"compare_with_published: row {i} has {len(row)} items; "
                              "need (figure, published, ours)")
        figure, published, ours = row
        try:
            published, ours = float(published), float(ours)
        except (TypeError, ValueError):
            raise CourseError(f"compare_with_published: row {i} ({figure!r}) has a non-numeric "
                              f"value: {row[1:]!r}") from None
        if not (np.isfinite(published) and np.isfinite(ours)):
            raise CourseError(f"compare_with_published: row {i} ({figure!r}) is not finite: "
                              f"{published}, {ours}")
        records.append({"figure": str(figure), "published": published, "ours": ours})
    if not records:
        raise CourseError("compare_with_published: no rows given")
    table = pd.DataFrame.from_records(records).set_index("figure")
    if dup := table.index[table.index.duplicated()].tolist():
        raise CourseError(f"compare_with_published: figure names repeat: {dup}")
    table["ours_rounded"] = table["ours"].round(decimals)
    table["difference"] = table["ours"] - table["published"]
    table["match"] = np.isclose(table["ours_rounded"], table["published"].round(decimals),
                                rtol=0, atol=1e-12)
    return table


def group_train_val_test_split(groups: Sequence, *, labels: Sequence | None = None,
                               val_size: float = 0.15, test_size: float = 0.25,
                               seed: int = 42) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split rows into train / validation / test so that each group (clip) stays on one side.

    As in ``python -m machinery.train`` and notebooks 07-09, 11: stratified by class, groups are
    shuffled and split, at least one per part once a class has three. The default 60/15/25 tests on
    a quarter of the clips, the most we can spare (20 of the 70-clip CI subset: one moves the figure
    5 points, 10 at 15 %); 15 % suffices for early stopping. ``groups``: each row's clip; ``labels``
    (optional): its class. Returns the parts' sorted row indices (disjoint, covering all rows).

    Examples
    --------
    >>> groups = np.repeat(np.arange(8), 3)
    >>> tr, va, te = group_train_val_test_split(groups, labels=groups % 2)
    >>> [len(set(groups[p])) for p in (tr, va, te)], set(groups[tr]) & set(groups[te])
    ([4, 2, 2], set())
    """
    groups = np.asarray(groups)
    if not 0 < val_size < 1 or not 0 < test_size < 1 or val_size + test_size >= 1:
        raise CourseError("val_size and test_size must be in (0, 1) and sum below 1, "
                          f"got {val_size}, {test_size}")
    first = pd.Series(np.zeros(len(groups)) if labels is None else np.asarray(labels)).groupby(
        groups, sort=False).first()
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    for label in pd.unique(first.values):
        members = np.array(first.index[first.values == label])
        members = members[rng.permutation(len(members))]
        n_test = max(1, round(test_size * len(members))) if len(members) >= 3 else 0
        n_val = max(1, round(val_size * len(members))) if len(members) >= 3 else 0
        parts["test"].extend(members[:n_test])
        parts["val"].extend(members[n_test:n_test + n_val])
        parts["train"].extend(members[n_test + n_val:])
    if not all(parts.values()):
        raise CourseError(f"too few groups ({len(first)}) for a three-way split; "
                          "each class needs at least 3")
    return tuple(  # type: ignore
        np.flatnonzero(np.isin(groups, np.array(parts[k], dtype=groups.dtype))) for k in parts)


def split_summary(labels: Sequence, groups: Sequence, parts: dict[str, np.ndarray]) -> pd.DataFrame:
    """How many clips and segments of each class each part holds (``parts``: name -> row indices).

    Examples
    --------
    >>> split_summary(["a", "a", "b"], ["c1", "c1", "c2"],
    ...               {"train": [0, 1], "test": [2]}).loc["total"].tolist()
    [1, 2, 1, 1]
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
    """Combine segment class probabilities ``(n_segments, n_classes)`` into one prediction per clip.

    ``method="mean"`` averages the probabilities; ``"majority"`` counts each segment's top class,
    ties broken by the mean probability. Returns one row per clip (in order of first appearance): a
    column per class index (mean probability or vote share) and ``pred``, the winning class index.

    Examples
    --------
    >>> p = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    >>> (vote(p, ["a", "a", "a"], method="majority")["pred"].tolist(),
    ...  vote(p, ["a", "a", "a"])["pred"].tolist())
    ([1], [0])
    """
    proba, groups = np.asarray(proba, dtype=float), np.asarray(groups)
    if proba.ndim != 2 or len(proba) != len(groups):
        raise CourseError("vote: proba must be (n_segments, n_classes) with one group per row; "
                          f"got {proba.shape} and {len(groups)} groups")
    if method not in {"mean", "majority"}:
        raise CourseError(f"vote: method must be 'mean' or 'majority', got {method!r}")
    order = pd.unique(groups)
    mean = pd.DataFrame(proba).groupby(groups, sort=False).mean().reindex(order)
    scores = mean
    if method == "majority":
        scores = pd.DataFrame(np.eye(proba.shape[1])[proba.argmax(axis=1)]).groupby(
            groups, sort=False).mean().reindex(order)
    return scores.assign(pred=(scores.to_numpy() + (1e-6 * mean.to_numpy() if method == "majority"
                                                    else 0)).argmax(axis=1))


def clip_level(proba: np.ndarray, y_true: Sequence, groups: Sequence, *,
               method: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Clip-level true and predicted labels (one per clip, by first appearance); see :func:`vote`.

    Examples
    --------
    >>> clip_level(np.array([[0.9, 0.1], [0.3, 0.7]]), [0, 1], ["a", "b"])
    (array([0, 1]), array([0, 1]))
    """
    voted = vote(proba, groups, method=method)
    truth = pd.Series(np.asarray(y_true)).groupby(np.asarray(groups),
                                                  sort=False).first().reindex(voted.index)
    return truth.to_numpy(), voted["pred"].to_numpy()


def evaluate(model: Any, X: np.ndarray, y: np.ndarray, clip_id: np.ndarray) -> dict[str, Any]:
    """Test accuracies: ``segment_accuracy``, ``clip_accuracy_majority``, ``clip_accuracy_mean``,
    ``n_segments``, ``n_clips``, ``proba``, ``clip_true``, ``clip_pred`` (mean-probability vote).

    Examples
    --------
    >>> class Fixed:  # any object with a Keras-style predict
    ...     def predict(self, X, verbose=0): return np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> evaluate(Fixed(), np.zeros((3, 1)), [0, 0, 1], ["a", "a", "b"])["clip_accuracy_mean"]
    0.5
    """
    proba, y = np.asarray(model.predict(X, verbose=0), dtype=np.float64), np.asarray(y)
    true_m, pred_m = clip_level(proba, y, clip_id, method="majority")
    true_p, pred_p = clip_level(proba, y, clip_id, method="mean")
    return {"segment_accuracy": float(np.mean(proba.argmax(axis=1) == y)),
            "clip_accuracy_majority": float(np.mean(true_m == pred_m)),
            "clip_accuracy_mean": float(np.mean(true_p == pred_p)), "n_segments": int(len(y)),
            "n_clips": int(len(true_p)), "proba": proba, "clip_true": true_p, "clip_pred": pred_p}
