"""Tuning and honest evaluation of scikit-learn pipelines on feature tables.

Notebook 06 tunes four classical models (logistic regression, k-nearest
neighbours, Gaussian naive Bayes, an RBF support-vector machine) over one
pipeline shape, ``scale -> pca -> clf``, with a single
:class:`~sklearn.model_selection.GridSearchCV`. The pieces here build that
grid, turn ``cv_results_`` into a tidy table, plot training and validation
scores against a hyper-parameter for every scaler/PCA combination, and compare
a random split of segments with a split that keeps each clip on one side.

Examples
--------
>>> from sklearn.linear_model import LogisticRegression
>>> grid = build_param_grid({"logreg": (LogisticRegression(), {"C": [0.1, 1.0]})},
...                         scalers=make_scalers(), pca_options=pca_options())
>>> len(grid), sorted(grid[0])
(1, ['clf', 'clf__C', 'pca', 'scale'])
"""
from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PowerTransformer, QuantileTransformer, RobustScaler, StandardScaler

from collections.abc import Iterable
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import (
    average_precision_score,
    make_scorer,
    precision_recall_curve,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.utils.validation import check_is_fitted

from .errors import CourseError

__all__ = [
    "make_scalers",
    "pca_options",
    "log_grid",
    "make_pipeline",
    "build_param_grid",
    "step_label",
    "grid_size",
    "tidy_cv_results",
    "plot_score_vs_param",
    "compare_segment_splits",
    "summarise_split_comparison",
]

logger = logging.getLogger(__name__)

#: Columns of :func:`tidy_cv_results`, before the hyper-parameter columns.
TIDY_COLUMNS = ["rank", "model", "scaler", "pca"]
#: Score columns of :func:`tidy_cv_results`, after the hyper-parameter columns.
SCORE_COLUMNS = ["mean_test", "std_test", "mean_train", "std_train", "gap", "mean_fit_time"]


def make_scalers(*, random_state: int = 0, n_quantiles: int = 200) -> dict[str, Any]:
    """The three robust scalers the notebook compares, by short name.

    Parameters
    ----------
    random_state : int
        Seed of :class:`~sklearn.preprocessing.QuantileTransformer` (it
        subsamples large inputs).
    n_quantiles : int
        Quantiles the quantile transformer estimates (capped at the number of
        training rows by scikit-learn).

    Returns
    -------
    dict
        ``{"robust": RobustScaler(), "power": PowerTransformer(),
        "quantile": QuantileTransformer(output_distribution="normal")}``:
        median/IQR scaling, a Yeo-Johnson transform to a Gaussian shape (then
        standardised), and a rank-based map onto a standard normal.

    Examples
    --------
    >>> sorted(make_scalers())
    ['power', 'quantile', 'robust']
    """
    return {
        "robust": RobustScaler(),
        "power": PowerTransformer(method="yeo-johnson", standardize=True),
        "quantile": QuantileTransformer(
            n_quantiles=n_quantiles, output_distribution="normal", random_state=random_state
        ),
    }


def pca_options(variance: float = 0.95, *, random_state: int = 0) -> list[Any]:
    """PCA choices for the grid: none (``"passthrough"``) or keep ``variance`` of the variance.

    Parameters
    ----------
    variance : float
        Fraction of the variance the kept components explain, in (0, 1).
    random_state : int
        Seed of the PCA solver.

    Returns
    -------
    list
        ``["passthrough", PCA(n_components=variance, svd_solver="full")]``.

    Examples
    --------
    >>> options = pca_options(0.9)
    >>> options[0], options[1].n_components
    ('passthrough', 0.9)
    """
    if not 0 < variance < 1:
        raise CourseError(f"pca_options: variance must be a fraction in (0, 1), got {variance}")
    return ["passthrough", PCA(n_components=variance, svd_solver="full", random_state=random_state)]


def log_grid(low: float, high: float, per_decade: int = 1) -> np.ndarray:
    """Log-spaced values from ``low`` to ``high`` (both powers of ten), ``per_decade`` per decade.

    Parameters
    ----------
    low, high : float
        Smallest and largest value, ``0 < low < high``.
    per_decade : int
        Points per factor of ten (1: 0.01, 0.1, 1, ...; 2: 0.01, 0.0316, 0.1, ...).

    Returns
    -------
    numpy.ndarray
        The values, rounded to 6 significant digits so they print cleanly.

    Examples
    --------
    >>> log_grid(0.01, 100).tolist()
    [0.01, 0.1, 1.0, 10.0, 100.0]
    >>> len(log_grid(0.1, 10, per_decade=2))
    5
    """
    if not (0 < low < high) or per_decade < 1:
        raise CourseError(f"log_grid: need 0 < low < high and per_decade >= 1, got {low}, {high}, {per_decade}")
    decades = np.log10(high) - np.log10(low)
    num = int(round(decades * per_decade)) + 1
    values = np.logspace(np.log10(low), np.log10(high), num)
    return np.array([float(f"{v:.6g}") for v in values])


def make_pipeline(clf: Any, *, memory: Any = None) -> Pipeline:
    """The pipeline every model is tuned in: ``scale -> pca -> clf``.

    The scaler defaults to :class:`~sklearn.preprocessing.StandardScaler` and
    PCA to ``"passthrough"``; a grid search swaps both (see
    :func:`build_param_grid`).

    Parameters
    ----------
    clf : estimator
        The classifier (last step, named ``clf``).
    memory : str or joblib.Memory, optional
        Cache of fitted transformers: with it, a grid search fits each
        scaler/PCA combination once per fold instead of once per ``C``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps named ``scale``, ``pca``, ``clf``.
    """
    return Pipeline([("scale", StandardScaler()), ("pca", "passthrough"), ("clf", clf)], memory=memory)


def build_param_grid(
    models: Mapping[str, tuple[Any, Mapping[str, Sequence[Any]]]],
    *,
    scalers: Mapping[str, Any] | Sequence[Any],
    pca_options: Sequence[Any],
) -> list[dict[str, list[Any]]]:
    """A ``GridSearchCV`` parameter grid: each model x every scaler x every PCA option x its own values.

    Parameters
    ----------
    models : mapping
        Name -> ``(estimator, {parameter: values})``; the parameters are the
        estimator's own (``"C"``, ``"n_neighbors"``), prefixed with ``clf__``
        here. An empty mapping of values tunes only the scaler and PCA.
    scalers : mapping or sequence
        Scaler objects (the values of a mapping are used).
    pca_options : sequence
        E.g. ``["passthrough", PCA(0.95)]`` (see :func:`pca_options`).

    Returns
    -------
    list of dict
        One dict per model for the pipeline of :func:`make_pipeline`, keys
        ``scale``, ``pca``, ``clf`` and ``clf__<parameter>``.

    Raises
    ------
    CourseError
        If there are no models, no scalers, no PCA options, or a value list is empty.
    """
    scaler_list = list(scalers.values()) if isinstance(scalers, Mapping) else list(scalers)
    if not models or not scaler_list or not list(pca_options):
        raise CourseError("build_param_grid: need at least one model, one scaler and one PCA option")
    grid = []
    for name, (estimator, params) in models.items():
        entry: dict[str, list[Any]] = {"scale": scaler_list, "pca": list(pca_options), "clf": [estimator]}
        for key, values in params.items():
            values = list(values)
            if not values:
                raise CourseError(f"build_param_grid: model {name!r} has no values for {key!r}")
            entry[f"clf__{key}"] = values
        grid.append(entry)
    return grid


def grid_size(param_grid: Sequence[Mapping[str, Sequence[Any]]]) -> int:
    """Number of candidate settings in a list-of-dicts parameter grid.

    Examples
    --------
    >>> grid_size([{"a": [1, 2], "b": [1, 2, 3]}, {"a": [1]}])
    7
    """
    return int(sum(np.prod([len(v) for v in entry.values()]) for entry in param_grid))


def step_label(step: Any) -> str:
    """A short readable name for a pipeline step value.

    Examples
    --------
    >>> step_label("passthrough"), step_label(PCA(n_components=0.95)), step_label(RobustScaler())
    ('none', 'PCA 95%', 'RobustScaler')
    """
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return "none"
    if isinstance(step, PCA):
        n = step.n_components
        if isinstance(n, float) and 0 < n < 1:
            return f"PCA {n:.0%}"
        return f"PCA {n}"
    if isinstance(step, str):
        return step
    return type(step).__name__


def _short_scaler(step: Any) -> str:
    names = {"RobustScaler": "robust", "PowerTransformer": "power", "QuantileTransformer": "quantile",
             "StandardScaler": "standard", "MinMaxScaler": "minmax"}
    label = step_label(step)
    return names.get(label, label)


def _param_column(values: list[Any]) -> pd.Series:
    """Hyper-parameter values as a column: integers as ``Int64``, other numbers as float, else objects."""
    present = [v for v in values if v is not None]
    numeric = present and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                              for v in present)
    if numeric and all(float(v).is_integer() and isinstance(v, (int, np.integer)) for v in present):
        return pd.Series(values, dtype="Int64")
    if numeric:
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype=float)
    return pd.Series(values, dtype=object)


def tidy_cv_results(cv_results: Mapping[str, Any], *, decimals: int | None = None) -> pd.DataFrame:
    """``GridSearchCV.cv_results_`` as a tidy table, best setting first.

    Parameters
    ----------
    cv_results : mapping
        The ``cv_results_`` of a search over the pipeline of
        :func:`make_pipeline` (parameters ``scale``, ``pca``, ``clf``,
        ``clf__*``), run with ``return_train_score=True``.
    decimals : int, optional
        Round the score columns.

    Returns
    -------
    pandas.DataFrame
        One row per candidate, sorted by ``mean_test`` (best first; ties keep
        the search's order). Columns: ``rank`` (scikit-learn's
        ``rank_test_score``), ``model``, ``scaler``, ``pca``, one column per
        tuned classifier parameter (``C``, ``n_neighbors``, ...; integers as
        nullable ``Int64``, other numbers as float, missing where a model
        lacks the parameter), then ``mean_test``, ``std_test``, ``mean_train``,
        ``std_train``, ``gap`` (train minus validation) and ``mean_fit_time``
        (s). The index is the candidate's position in ``cv_results_``.

    Raises
    ------
    CourseError
        If the train scores are missing (search run without
        ``return_train_score=True``) or the results hold no test scores.
    """
    if "mean_test_score" not in cv_results:
        raise CourseError(
            "tidy_cv_results: no 'mean_test_score' in cv_results_ (single-metric search expected)"
        )
    if "mean_train_score" not in cv_results:
        raise CourseError("tidy_cv_results: no train scores; run GridSearchCV(..., return_train_score=True)")
    n = len(cv_results["mean_test_score"])

    def column(key: str, default: Any = None) -> list[Any]:
        if key not in cv_results:
            return [default] * n
        values = cv_results[key]
        mask = np.ma.getmaskarray(values) if isinstance(values, np.ma.MaskedArray) else np.zeros(n, bool)
        return [default if m else v for v, m in zip(list(np.ma.getdata(values)), mask)]

    table = pd.DataFrame(
        {
            "rank": np.asarray(cv_results["rank_test_score"], dtype=int),
            "model": [step_label(c) if c is not None else "" for c in column("param_clf")],
            "scaler": [_short_scaler(s) if s is not None else "standard" for s in column("param_scale")],
            "pca": [step_label(p) for p in column("param_pca", "passthrough")],
        }
    )
    for key in cv_results:
        if key.startswith("param_clf__"):
            table[key[len("param_clf__"):]] = _param_column(column(key, None))
    table["mean_test"] = np.asarray(cv_results["mean_test_score"], dtype=float)
    table["std_test"] = np.asarray(cv_results["std_test_score"], dtype=float)
    table["mean_train"] = np.asarray(cv_results["mean_train_score"], dtype=float)
    table["std_train"] = np.asarray(cv_results["std_train_score"], dtype=float)
    table["gap"] = table["mean_train"] - table["mean_test"]
    table["mean_fit_time"] = np.asarray(cv_results.get("mean_fit_time", np.full(n, np.nan)), dtype=float)
    table = table.sort_values("mean_test", ascending=False, kind="stable")
    if decimals is not None:
        table[SCORE_COLUMNS] = table[SCORE_COLUMNS].round(decimals)
    return table


def plot_score_vs_param(
    table: pd.DataFrame,
    *,
    model: str,
    param: str = "C",
    metric_label: str = "accuracy",
    panel_size: tuple[float, float] = (3.3, 2.6),
):
    """Training and validation score against one hyper-parameter, one panel per scaler/PCA combination.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`tidy_cv_results`.
    model : str
        Which model's rows to plot (the ``model`` column, e.g. ``"SVC"``).
    param : str
        The hyper-parameter on the x axis (a column of ``table``); drawn on a
        log scale when all its values are positive and span more than a
        factor of 10.
    metric_label : str
        Name of the score, for the y axis.
    panel_size : tuple of float
        Width and height of one panel, in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Rows: PCA options; columns: scalers. Each panel has a title
        (``"<scaler>, PCA: <option>"``), both axis labels, the mean training
        and validation curves with +-1 standard deviation bands, a marker at
        the best validation score, and a shared legend.

    Raises
    ------
    CourseError
        If the model has no rows or ``param`` is not a column with values for it.
    """
    import matplotlib.pyplot as plt

    rows = table[table["model"] == model]
    if rows.empty:
        raise CourseError(f"plot_score_vs_param: no rows for model {model!r}; models are {sorted(table['model'].unique())}")
    if param not in rows.columns or rows[param].isna().all():
        raise CourseError(f"plot_score_vs_param: model {model!r} has no values for parameter {param!r}")
    scalers = list(dict.fromkeys(rows["scaler"]))
    pcas = list(dict.fromkeys(rows["pca"]))
    x_all = rows[param].astype(float)
    log_x = bool((x_all > 0).all() and x_all.max() / x_all.min() > 10)
    fig, axes = plt.subplots(
        len(pcas), len(scalers), figsize=(panel_size[0] * len(scalers), panel_size[1] * len(pcas) + 0.6),
        sharex=True, sharey=True, squeeze=False, layout="constrained",
    )
    best = rows.loc[rows["mean_test"].idxmax()]
    for i, pca in enumerate(pcas):
        for j, scaler in enumerate(scalers):
            ax = axes[i, j]
            part = rows[(rows["pca"] == pca) & (rows["scaler"] == scaler)].copy()
            part["_x"] = part[param].astype(float)
            part = part.sort_values("_x")
            for kind, colour, label in (("train", "tab:orange", "training"), ("test", "tab:blue", "validation")):
                mean, std = part[f"mean_{kind}"], part[f"std_{kind}"]
                ax.plot(part["_x"], mean, marker="o", ms=3, color=colour, label=f"{label} (mean)")
                ax.fill_between(part["_x"], mean - std, mean + std, color=colour, alpha=0.2,
                                label=f"{label} (±1 std)")
            if best["scaler"] == scaler and best["pca"] == pca:
                ax.plot(float(best[param]), best["mean_test"], marker="*", ms=14, color="tab:red",
                        ls="none", label="best validation score")
            if log_x:
                ax.set_xscale("log")
            ax.set_title(f"{scaler}, PCA: {pca}", fontsize=10)
            ax.set_xlabel(f"{param}{' (log scale)' if log_x else ''}")
            ax.set_ylabel(metric_label)
            ax.grid(alpha=0.3)
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9)
    fig.suptitle(f"{model}: training and validation {metric_label} against {param}")
    return fig


def compare_segment_splits(
    estimator: Any,
    X: Any,
    y: Sequence,
    groups: Sequence,
    *,
    n_splits: int = 5,
    n_repeats: int = 3,
    random_state: int = 0,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Accuracy of one model under a random split of segments and under a split that keeps clips whole.

    For every repeat ``r``, the rows (segments) are split into ``n_splits``
    folds twice: by :class:`~sklearn.model_selection.StratifiedKFold`
    (shuffled, segments of one clip land on both sides: leakage) and by
    :class:`~sklearn.model_selection.StratifiedGroupKFold` (shuffled, all
    segments of a clip in one fold), both seeded with ``random_state + r``.

    Parameters
    ----------
    estimator : estimator
        Cloned for every fit.
    X, y, groups : array-like
        Segment features, labels and clip ids.
    n_splits, n_repeats : int
        Folds per repeat and number of repeats.
    random_state : int
        Seed of the first repeat.
    n_jobs : int, optional
        Passed to :func:`~sklearn.model_selection.cross_val_score`.

    Returns
    -------
    pandas.DataFrame
        One row per (scheme, repeat, fold): ``scheme`` ("random segments" or
        "grouped by clip"), ``repeat``, ``fold``, ``accuracy``.

    Raises
    ------
    CourseError
        If the lengths differ or there are fewer clips per class than folds.
    """
    y, groups = np.asarray(y), np.asarray(groups)
    if len(y) != len(groups) or len(y) != len(X):
        raise CourseError(f"compare_segment_splits: X, y and groups differ in length ({len(X)}, {len(y)}, {len(groups)})")
    clips_per_class = pd.Series(groups).groupby(y).nunique()
    if clips_per_class.min() < n_splits:
        raise CourseError(
            f"compare_segment_splits: class {clips_per_class.idxmin()!r} has {clips_per_class.min()} clips, "
            f"fewer than n_splits={n_splits}"
        )
    records = []
    for r in range(n_repeats):
        seed = random_state + r
        schemes = {
            "random segments": (StratifiedKFold(n_splits, shuffle=True, random_state=seed), None),
            "grouped by clip": (StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed), groups),
        }
        for scheme, (cv, g) in schemes.items():
            scores = cross_val_score(clone(estimator), X, y, groups=g, cv=cv, n_jobs=n_jobs)
            records += [{"scheme": scheme, "repeat": r, "fold": k, "accuracy": float(s)} for k, s in enumerate(scores)]
    return pd.DataFrame.from_records(records)


def summarise_split_comparison(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean, spread and range of the accuracies of :func:`compare_segment_splits`, per scheme.

    Returns
    -------
    pandas.DataFrame
        Indexed by scheme (in order of appearance): ``mean``, ``std`` (over all
        folds of all repeats), ``min``, ``max``, ``n_folds``, and
        ``overstatement``: the scheme's mean minus the "grouped by clip" mean.

    Examples
    --------
    >>> s = pd.DataFrame({"scheme": ["random segments"] * 2 + ["grouped by clip"] * 2,
    ...                   "accuracy": [0.9, 0.8, 0.6, 0.5]})
    >>> summarise_split_comparison(s)["overstatement"].round(2).tolist()
    [0.3, 0.0]
    """
    if not {"scheme", "accuracy"} <= set(scores.columns):
        raise CourseError("summarise_split_comparison: need columns 'scheme' and 'accuracy'")
    order = list(dict.fromkeys(scores["scheme"]))
    grouped = scores.groupby("scheme", sort=False)["accuracy"]
    table = pd.DataFrame(
        {
            "mean": grouped.mean(),
            "std": grouped.std(ddof=0),
            "min": grouped.min(),
            "max": grouped.max(),
            "n_folds": grouped.size(),
        }
    ).reindex(order)
    if "grouped by clip" in table.index:
        table["overstatement"] = table["mean"] - table.loc["grouped by clip", "mean"]
    return table


# ------------------------------------------- moved from evaluation.py (notebook 05)

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
