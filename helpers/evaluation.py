"""Evaluating classifiers honestly: cross-validation tables, published-vs-ours, curves.

Reusable pieces for the model-comparison notebooks:

* :func:`cv_results_table` turns the output of
  :func:`sklearn.model_selection.cross_validate` for several models into one
  table of mean and standard deviation per metric.
* :func:`compare_with_published` puts published figures beside ours, with the
  difference and whether they agree to the published number of decimals.
* :func:`per_class_recall_scoring` builds scorers for the recall of each class
  (plain accuracy hides a minority class that is never found).
* :class:`DownsampledClassifier` downsamples every class to the smallest one
  *inside* ``fit``, so downsampling can be cross-validated without leaking and
  the test folds keep their natural class balance.
* :func:`out_of_fold_predictions` and :func:`cv_permutation_importance` reuse
  the fitted estimators of ``cross_validate(..., return_estimator=True,
  return_indices=True)``: every prediction and every importance is computed on
  a fold the model never saw.
* :func:`plot_confusion_matrices` and :func:`plot_roc_pr` draw the usual
  figures with titles, labelled axes, colour bars and AUC / AP in the legend.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    make_scorer,
    precision_recall_curve,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.utils.validation import check_is_fitted

from .errors import CourseError

__all__ = [
    "cv_results_table",
    "compare_with_published",
    "per_class_recall_scoring",
    "DownsampledClassifier",
    "positive_scores",
    "out_of_fold_predictions",
    "cv_permutation_importance",
    "plot_confusion_matrices",
    "plot_roc_pr",
]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- tables
def cv_results_table(
    cv_results_by_model: Mapping[str, Mapping[str, Any]],
    *,
    metrics: Sequence[str] | None = None,
    sort_by: str | None = None,
    ddof: int = 0,
    decimals: int | None = None,
) -> pd.DataFrame:
    """Mean and standard deviation across folds of each test metric, one row per model.

    Parameters
    ----------
    cv_results_by_model : mapping of str to dict
        Model name -> the dict returned by
        :func:`sklearn.model_selection.cross_validate` (keys ``test_<metric>``
        holding one score per fold). Plain dicts ``{"<metric>": scores}`` work
        too when no key starts with ``test_``.
    metrics : sequence of str, optional
        Metrics to keep, in this order (names without ``test_``). Default: every
        test metric of the first model, in its order.
    sort_by : str, optional
        Sort the rows by this metric's mean, best (largest) first.
    ddof : int
        Delta degrees of freedom of the standard deviation: 0 (default) is
        numpy's ``scores.std()``, 1 the sample standard deviation.
    decimals : int, optional
        Round the table.

    Returns
    -------
    pandas.DataFrame
        Index: model names (named ``model``); columns: a MultiIndex
        ``(metric, "mean" | "std")``.

    Raises
    ------
    CourseError
        If there are no models, a model lacks a requested metric, the fold
        counts differ within a model, or ``sort_by`` is not a metric.

    Examples
    --------
    >>> t = cv_results_table({"a": {"test_acc": [0.5, 1.0]}, "b": {"test_acc": [1.0, 1.0]}})
    >>> t[("acc", "mean")].tolist(), t[("acc", "std")].tolist()
    ([0.75, 1.0], [0.25, 0.0])
    """
    if not cv_results_by_model:
        raise CourseError("cv_results_table: no models given (an empty mapping)")

    def _scores(name: str, result: Mapping[str, Any]) -> dict[str, np.ndarray]:
        keys = [k for k in result if str(k).startswith("test_")]
        if keys:
            return {k[len("test_"):]: np.asarray(result[k], dtype=float) for k in keys}
        return {
            str(k): np.asarray(v, dtype=float)
            for k, v in result.items()
            if np.ndim(v) == 1 and k not in {"fit_time", "score_time", "estimator", "indices"}
        }

    per_model = {name: _scores(name, res) for name, res in cv_results_by_model.items()}
    first = next(iter(per_model.values()))
    metrics = list(metrics) if metrics is not None else list(first)
    if not metrics:
        raise CourseError("cv_results_table: the first model has no test scores (keys 'test_<metric>')")
    rows = {}
    for name, scores in per_model.items():
        missing = [m for m in metrics if m not in scores]
        if missing:
            raise CourseError(
                f"cv_results_table: model {name!r} has no scores for {missing}; it has {sorted(scores)}"
            )
        lengths = {len(scores[m]) for m in metrics}
        if len(lengths) != 1:
            raise CourseError(f"cv_results_table: model {name!r} has different fold counts per metric: {lengths}")
        row = {}
        for m in metrics:
            s = scores[m]
            row[(m, "mean")] = float(np.mean(s))
            row[(m, "std")] = float(np.std(s, ddof=ddof)) if len(s) > ddof else float("nan")
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["metric", "statistic"])
    table.index.name = "model"
    if sort_by is not None:
        if sort_by not in metrics:
            raise CourseError(f"cv_results_table: cannot sort by {sort_by!r}; metrics are {metrics}")
        table = table.sort_values((sort_by, "mean"), ascending=False, kind="stable")
    if decimals is not None:
        table = table.round(decimals)
    return table


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


def per_class_recall_scoring(classes: Iterable[Any], *, prefix: str = "recall_") -> dict[str, Any]:
    """Scorers for the recall of each class, for ``cross_validate(scoring=...)``.

    Parameters
    ----------
    classes : iterable
        The class labels (e.g. ``["Hip-Hop", "Rock"]``).
    prefix : str
        Scorer names are ``prefix + str(label)``.

    Returns
    -------
    dict
        Name -> scorer computing ``recall_score(y, y_pred, pos_label=label,
        average="binary")`` for two classes, or that class's recall among many.
    """
    classes = list(classes)
    if len(classes) < 2:
        raise CourseError(f"per_class_recall_scoring: need at least two classes, got {classes}")
    if len(set(map(str, classes))) != len(classes):
        raise CourseError(f"per_class_recall_scoring: class names repeat: {classes}")

    def _recall_of(label: Any):
        def _score(y_true, y_pred):
            return recall_score(y_true, y_pred, labels=[label], average="macro", zero_division=0.0)

        return make_scorer(_score)

    return {f"{prefix}{c}": _recall_of(c) for c in classes}


# --------------------------------------------------------------------------- downsampling
class DownsampledClassifier(ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on a copy of the training data with every class downsampled.

    Downsampling happens in :meth:`fit` only, so inside cross-validation the
    test folds keep all their tracks and their natural class balance: the
    honest way to evaluate "throw away majority examples".

    Parameters
    ----------
    estimator : classifier
        Cloned and fitted on the downsampled data.
    random_state : int
        Seed of the draw (the same seed draws the same tracks for the same data).

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    classes_ : ndarray
        The class labels.
    n_per_class_ : int
        Training examples kept per class (the smallest class's count).
    sample_indices_ : ndarray
        Positions (into the training data) of the kept examples.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> clf = DownsampledClassifier(DummyClassifier(), random_state=0)
    >>> clf.fit([[0]] * 5 + [[1]] * 2, ["a"] * 5 + ["b"] * 2).n_per_class_
    2
    """

    def __init__(self, estimator: Any = None, random_state: int | None = 0):
        self.estimator = estimator
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> "DownsampledClassifier":
        """Downsample every class to the smallest class's size, then fit a clone."""
        if self.estimator is None:
            raise CourseError("DownsampledClassifier: no estimator given")
        y_arr = np.asarray(y)
        if len(y_arr) != (X.shape[0] if hasattr(X, "shape") else len(X)):
            raise CourseError(f"DownsampledClassifier: X and y differ in length ({len(y_arr)} labels)")
        classes, counts = np.unique(y_arr, return_counts=True)
        if len(classes) < 2:
            raise CourseError(f"DownsampledClassifier: need at least two classes, got {classes.tolist()}")
        n = int(counts.min())
        rng = np.random.default_rng(self.random_state)
        keep = np.sort(
            np.concatenate([rng.choice(np.flatnonzero(y_arr == c), size=n, replace=False) for c in classes])
        )
        X_sub = X.iloc[keep] if hasattr(X, "iloc") else np.asarray(X)[keep]
        y_sub = y.iloc[keep] if hasattr(y, "iloc") else y_arr[keep]
        self.estimator_ = clone(self.estimator).fit(X_sub, y_sub)
        self.classes_ = self.estimator_.classes_
        self.n_per_class_ = n
        self.sample_indices_ = keep
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        self.n_features_in_ = getattr(self.estimator_, "n_features_in_", np.shape(X_sub)[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)


# --------------------------------------------------------------------------- out of fold
def positive_scores(estimator: Any, X: Any, pos_label: Any) -> np.ndarray:
    """Scores that grow with the belief in ``pos_label``, for ROC and PR curves.

    Uses ``predict_proba`` when the estimator has it, else ``decision_function``
    (sign-flipped when ``pos_label`` is the first class).
    """
    classes = list(estimator.classes_)
    if pos_label not in classes:
        raise CourseError(f"positive_scores: pos_label {pos_label!r} is not one of the classes {classes}")
    if len(classes) != 2:
        raise CourseError(f"positive_scores: needs a binary classifier, got classes {classes}")
    if hasattr(estimator, "predict_proba"):
        try:
            return np.asarray(estimator.predict_proba(X))[:, classes.index(pos_label)]
        except AttributeError:  # e.g. SVC(probability=False) exposes the method but refuses
            pass
    if hasattr(estimator, "decision_function"):
        d = np.asarray(estimator.decision_function(X), dtype=float)
        return d if classes.index(pos_label) == 1 else -d
    raise CourseError(f"positive_scores: {type(estimator).__name__} has neither predict_proba nor decision_function")


def _check_cv_result(cv_result: Mapping[str, Any], where: str) -> tuple[list, list]:
    if "estimator" not in cv_result or "indices" not in cv_result:
        raise CourseError(
            f"{where}: the cross-validation result lacks 'estimator' or 'indices'; "
            "run cross_validate(..., return_estimator=True, return_indices=True)"
        )
    return list(cv_result["estimator"]), list(cv_result["indices"]["test"])


def out_of_fold_predictions(
    cv_result: Mapping[str, Any], X: Any, *, pos_label: Any | None = None
) -> pd.DataFrame:
    """Predictions for every example from the fold model that did not train on it.

    Parameters
    ----------
    cv_result : dict
        From ``cross_validate(..., return_estimator=True, return_indices=True)``
        with a cross-validator whose test folds partition the data (KFold,
        StratifiedKFold, ...).
    X : array-like or DataFrame
        The same features passed to ``cross_validate``.
    pos_label : optional
        If given, add a ``score`` column (see :func:`positive_scores`).

    Returns
    -------
    pandas.DataFrame
        One row per example, in the order of ``X``: ``fold``, ``prediction``
        and optionally ``score``.

    Raises
    ------
    CourseError
        If the test folds do not cover every example exactly once.
    """
    estimators, tests = _check_cv_result(cv_result, "out_of_fold_predictions")
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    fold = np.full(n, -1)
    pred = np.empty(n, dtype=object)
    score = np.full(n, np.nan)
    for k, (est, idx) in enumerate(zip(estimators, tests)):
        idx = np.asarray(idx)
        if np.any(fold[idx] >= 0):
            raise CourseError("out_of_fold_predictions: an example is in more than one test fold")
        fold[idx] = k
        X_k = X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]
        pred[idx] = est.predict(X_k)
        if pos_label is not None:
            score[idx] = positive_scores(est, X_k, pos_label)
    if np.any(fold < 0):
        raise CourseError(
            f"out_of_fold_predictions: {int(np.sum(fold < 0))} of {n} examples are in no test fold; "
            "use a cross-validator whose test folds partition the data"
        )
    out = pd.DataFrame({"fold": fold, "prediction": pred})
    if hasattr(X, "index"):
        out.index = X.index
    if pos_label is not None:
        out["score"] = score
    return out


def cv_permutation_importance(
    cv_result: Mapping[str, Any],
    X: pd.DataFrame,
    y: Any,
    *,
    scoring: Any = None,
    n_repeats: int = 5,
    random_state: int = 0,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Permutation importance of each feature, measured on each held-out fold.

    Parameters
    ----------
    cv_result : dict
        From ``cross_validate(..., return_estimator=True, return_indices=True)``.
    X : pandas.DataFrame
        The features passed to ``cross_validate`` (column names name the features).
    y : array-like
        The labels.
    scoring : str or callable, optional
        Metric whose drop measures importance (e.g. ``"balanced_accuracy"``).
    n_repeats, random_state, n_jobs
        Passed to :func:`sklearn.inspection.permutation_importance`.

    Returns
    -------
    pandas.DataFrame
        Indexed by feature, sorted by decreasing ``mean``: ``mean`` and ``std``
        of the fold-level mean drops, and one column per fold.
    """
    from sklearn.inspection import permutation_importance

    if not hasattr(X, "columns"):
        raise CourseError("cv_permutation_importance: X must be a DataFrame (its columns name the features)")
    estimators, tests = _check_cv_result(cv_result, "cv_permutation_importance")
    y_arr = np.asarray(y)
    cols = {}
    for k, (est, idx) in enumerate(zip(estimators, tests)):
        idx = np.asarray(idx)
        r = permutation_importance(
            est, X.iloc[idx], y_arr[idx], scoring=scoring, n_repeats=n_repeats,
            random_state=random_state + k, n_jobs=n_jobs,
        )
        cols[f"fold_{k}"] = r.importances_mean
    folds = pd.DataFrame(cols, index=pd.Index(X.columns, name="feature"))
    table = pd.DataFrame({"mean": folds.mean(axis=1), "std": folds.std(axis=1, ddof=0)})
    return pd.concat([table, folds], axis=1).sort_values("mean", ascending=False, kind="stable")


# --------------------------------------------------------------------------- plots
def plot_confusion_matrices(
    y_true: Any,
    predictions_by_model: Mapping[str, Any],
    *,
    labels: Sequence[Any] | None = None,
    normalize: str | None = "true",
    title: str = "Confusion matrices",
    cmap: str = "Blues",
    panel_size: float = 3.4,
):
    """One confusion-matrix panel per model, with counts and row shares written in.

    Parameters
    ----------
    y_true : array-like
        True labels.
    predictions_by_model : mapping of str to array-like
        Model name -> predicted labels (same order as ``y_true``).
    labels : sequence, optional
        Class order; default sorted unique labels.
    normalize : {"true", None}
        Colour by the share of each true class (rows sum to 1; the diagonal is
        each class's recall) or by raw counts.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(predictions_by_model)`` panels titled by model, axes labelled
        "Predicted genre" / "True genre", and one colour bar.
    """
    import matplotlib.pyplot as plt

    if not predictions_by_model:
        raise CourseError("plot_confusion_matrices: no models given")
    if normalize not in ("true", None):
        raise CourseError(f"plot_confusion_matrices: normalize must be 'true' or None, got {normalize!r}")
    y_true = np.asarray(y_true)
    labels = list(labels) if labels is not None else sorted(pd.unique(y_true))
    n = len(predictions_by_model)
    fig, axes = plt.subplots(1, n, figsize=(panel_size * n + 1.2, panel_size + 0.4), squeeze=False, layout="constrained")
    image = None
    for ax, (name, y_pred) in zip(axes[0], predictions_by_model.items()):
        y_pred = np.asarray(y_pred)
        if len(y_pred) != len(y_true):
            raise CourseError(
                f"plot_confusion_matrices: model {name!r} has {len(y_pred)} predictions for {len(y_true)} labels"
            )
        counts = confusion_matrix(y_true, y_pred, labels=labels)
        rows = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
        shown = shares if normalize == "true" else counts
        image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1 if normalize == "true" else counts.max())
        for i in range(len(labels)):
            for j in range(len(labels)):
                dark = shown[i, j] > (0.5 if normalize == "true" else counts.max() / 2)
                ax.text(j, i, f"{counts[i, j]}\n({shares[i, j]:.2f})", ha="center", va="center",
                        color="white" if dark else "black", fontsize=9)
        ax.set_xticks(range(len(labels)), [str(c) for c in labels])
        ax.set_yticks(range(len(labels)), [str(c) for c in labels])
        ax.set_xlabel("Predicted genre")
        ax.set_ylabel("True genre")
        ax.set_title(str(name))
    fig.colorbar(image, ax=axes[0].tolist(), label="share of true class" if normalize == "true" else "tracks")
    fig.suptitle(title)
    return fig


def plot_roc_pr(
    y_true: Any,
    scores_by_model: Mapping[str, Any],
    *,
    pos_label: Any,
    title: str | None = None,
):
    """ROC and precision-recall curves side by side, AUC and AP in the legends.

    Parameters
    ----------
    y_true : array-like
        True labels.
    scores_by_model : mapping of str to array-like
        Model name -> scores that grow with the belief in ``pos_label``
        (probabilities or decision values, e.g. from :func:`out_of_fold_predictions`).
    pos_label
        The positive class (the minority class is the interesting one).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: ROC (false vs true positive rate, chance diagonal) and
        precision-recall (with the prevalence of ``pos_label`` as the chance level).
    """
    import matplotlib.pyplot as plt

    if not scores_by_model:
        raise CourseError("plot_roc_pr: no models given")
    y_true = np.asarray(y_true)
    positive = y_true == pos_label
    if positive.all() or not positive.any():
        raise CourseError(f"plot_roc_pr: y_true must contain {pos_label!r} and at least one other label")
    fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    for name, s in scores_by_model.items():
        s = np.asarray(s, dtype=float)
        if len(s) != len(y_true) or not np.all(np.isfinite(s)):
            raise CourseError(f"plot_roc_pr: model {name!r} needs one finite score per label")
        fpr, tpr, _ = roc_curve(positive, s)
        ax_roc.plot(fpr, tpr, label=f"{name} (AUC = {roc_auc_score(positive, s):.3f})")
        precision, recall, _ = precision_recall_curve(positive, s)
        ax_pr.plot(recall, precision, drawstyle="steps-post",
                   label=f"{name} (AP = {average_precision_score(positive, s):.3f})")
    ax_roc.plot([0, 1], [0, 1], "k--", lw=1, label="chance (AUC = 0.500)")
    prevalence = float(positive.mean())
    ax_pr.axhline(prevalence, color="k", ls="--", lw=1, label=f"chance (AP = {prevalence:.3f})")
    ax_roc.set(xlabel=f"False positive rate (non-{pos_label} called {pos_label})",
               ylabel=f"True positive rate (recall of {pos_label})",
               title="ROC curve", xlim=(0, 1), ylim=(0, 1.01))
    ax_pr.set(xlabel=f"Recall of {pos_label}", ylabel=f"Precision of {pos_label}",
              title="Precision-recall curve", xlim=(0, 1), ylim=(0, 1.01))
    for ax in (ax_roc, ax_pr):
        ax.legend(loc="lower right" if ax is ax_roc else "lower left", fontsize=9)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig
