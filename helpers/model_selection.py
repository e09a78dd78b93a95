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
