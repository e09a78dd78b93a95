"""Known-answer tests for helpers.model_selection on small synthetic tables."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import PowerTransformer, QuantileTransformer, RobustScaler

from helpers.errors import CourseError
from helpers.model_selection import (
    build_param_grid,
    compare_segment_splits,
    grid_size,
    log_grid,
    make_pipeline,
    make_scalers,
    pca_options,
    plot_score_vs_param,
    step_label,
    summarise_split_comparison,
    tidy_cv_results,
)


def blobs(n_per_class: int = 30, n_features: int = 4, seed: int = 0):
    """Three well separated Gaussian classes."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * n_features, [4.0] * n_features, [-4.0] + [4.0] * (n_features - 1)])
    X = np.vstack([c + rng.standard_normal((n_per_class, n_features)) for c in centres])
    y = np.repeat(["a", "b", "c"], n_per_class)
    return X, y


@pytest.fixture(scope="module")
def search():
    X, y = blobs()
    models = {
        "logreg": (LogisticRegression(max_iter=500), {"C": [0.001, 1.0, 100.0]}),
        "knn": (KNeighborsClassifier(), {"n_neighbors": [1, 5]}),
        "nb": (GaussianNB(), {}),
    }
    grid = build_param_grid(models, scalers=make_scalers(n_quantiles=20), pca_options=pca_options(0.9))
    gs = GridSearchCV(make_pipeline(LogisticRegression()), grid, cv=StratifiedKFold(3, shuffle=True, random_state=0),
                      return_train_score=True)
    return gs.fit(X, y)


# ----------------------------------------------------------------------------- grid builders


def test_make_scalers_names_and_types():
    s = make_scalers(random_state=3)
    assert list(s) == ["robust", "power", "quantile"]
    assert isinstance(s["robust"], RobustScaler)
    assert isinstance(s["power"], PowerTransformer)
    assert isinstance(s["quantile"], QuantileTransformer)
    assert s["quantile"].output_distribution == "normal" and s["quantile"].random_state == 3


def test_pca_options_and_error():
    options = pca_options(0.95)
    assert options[0] == "passthrough"
    assert isinstance(options[1], PCA) and options[1].n_components == 0.95
    for bad in (0, 1, 1.5):
        with pytest.raises(CourseError, match="fraction"):
            pca_options(bad)


def test_log_grid_known_values():
    assert log_grid(0.01, 100).tolist() == [0.01, 0.1, 1.0, 10.0, 100.0]
    g = log_grid(0.1, 10, per_decade=2)
    assert g.tolist() == [0.1, 0.316228, 1.0, 3.16228, 10.0]
    with pytest.raises(CourseError):
        log_grid(1, 1)
    with pytest.raises(CourseError):
        log_grid(-1, 10)
    with pytest.raises(CourseError):
        log_grid(1, 10, per_decade=0)


def test_make_pipeline_steps():
    clf = LogisticRegression()
    pipe = make_pipeline(clf, memory="/tmp/x")
    assert [name for name, _ in pipe.steps] == ["scale", "pca", "clf"]
    assert pipe.named_steps["pca"] == "passthrough" and pipe.named_steps["clf"] is clf
    assert pipe.memory == "/tmp/x"


def test_build_param_grid_contents():
    lr, nb = LogisticRegression(), GaussianNB()
    scalers = make_scalers()
    grid = build_param_grid({"lr": (lr, {"C": [1, 10]}), "nb": (nb, {})}, scalers=scalers, pca_options=pca_options())
    assert len(grid) == 2
    assert grid[0]["clf"] == [lr] and grid[0]["clf__C"] == [1, 10]
    assert grid[0]["scale"] == list(scalers.values())
    assert grid[0]["pca"][0] == "passthrough" and len(grid[0]["pca"]) == 2
    assert set(grid[1]) == {"scale", "pca", "clf"}
    # 3 scalers x 2 PCA x 2 C + 3 x 2 x 1
    assert grid_size(grid) == 12 + 6
    # a list of scalers works as well as a mapping
    grid2 = build_param_grid({"lr": (lr, {"C": [1]})}, scalers=[RobustScaler()], pca_options=["passthrough"])
    assert grid_size(grid2) == 1


@pytest.mark.parametrize(
    "models, scalers, pcas",
    [({}, make_scalers(), ["passthrough"]),
     ({"lr": (LogisticRegression(), {"C": [1]})}, {}, ["passthrough"]),
     ({"lr": (LogisticRegression(), {"C": [1]})}, make_scalers(), []),
     ({"lr": (LogisticRegression(), {"C": []})}, make_scalers(), ["passthrough"])],
)
def test_build_param_grid_errors(models, scalers, pcas):
    with pytest.raises(CourseError):
        build_param_grid(models, scalers=scalers, pca_options=pcas)


def test_step_label():
    assert step_label("passthrough") == "none"
    assert step_label(None) == "none"
    assert step_label(PCA(n_components=0.95)) == "PCA 95%"
    assert step_label(PCA(n_components=5)) == "PCA 5"
    assert step_label(GaussianNB()) == "GaussianNB"


# ----------------------------------------------------------------------------- tidy table


def test_tidy_cv_results_columns_and_sorting(search):
    table = tidy_cv_results(search.cv_results_)
    n = len(search.cv_results_["params"])
    assert len(table) == n == 3 * 2 * (3 + 2 + 1)
    assert list(table.columns) == ["rank", "model", "scaler", "pca", "C", "n_neighbors",
                                   "mean_test", "std_test", "mean_train", "std_train", "gap", "mean_fit_time"]
    # sorted best first, and rank agrees with scikit-learn's
    assert table["mean_test"].is_monotonic_decreasing
    assert table["rank"].iloc[0] == 1
    best = table.index[0]
    assert search.cv_results_["mean_test_score"][best] == pytest.approx(search.best_score_)
    assert table.loc[best, "mean_test"] == pytest.approx(search.best_score_)
    # gap is train minus validation
    np.testing.assert_allclose(table["gap"], table["mean_train"] - table["mean_test"])
    assert set(table["model"]) == {"LogisticRegression", "KNeighborsClassifier", "GaussianNB"}
    assert set(table["scaler"]) == {"robust", "power", "quantile"}
    assert set(table["pca"]) == {"none", "PCA 90%"}
    # parameters a model lacks are missing, not zero
    nb = table[table["model"] == "GaussianNB"]
    assert nb["C"].isna().all() and nb["n_neighbors"].isna().all()
    assert sorted(table.loc[table["model"] == "LogisticRegression", "C"].unique()) == [0.001, 1.0, 100.0]
    # numeric parameters get numeric columns (so they print as numbers, not objects)
    assert table["C"].dtype == float
    assert str(table["n_neighbors"].dtype) == "Int64"
    assert sorted(table["n_neighbors"].dropna().unique().tolist()) == [1, 5]


def test_tidy_cv_results_rounding_and_errors(search):
    rounded = tidy_cv_results(search.cv_results_, decimals=2)
    assert (rounded["mean_test"] == rounded["mean_test"].round(2)).all()
    no_train = {k: v for k, v in search.cv_results_.items() if "train" not in k}
    with pytest.raises(CourseError, match="return_train_score"):
        tidy_cv_results(no_train)
    with pytest.raises(CourseError, match="mean_test_score"):
        tidy_cv_results({"params": []})


def test_tidy_cv_results_known_answer_on_handmade_results():
    lr = LogisticRegression()
    results = {
        "param_scale": np.ma.array([RobustScaler(), RobustScaler()], dtype=object),
        "param_pca": np.ma.array(["passthrough", PCA(0.5)], dtype=object),
        "param_clf": np.ma.array([lr, lr], dtype=object),
        "param_clf__C": np.ma.array([1.0, 10.0], dtype=object),
        "mean_test_score": np.array([0.5, 0.75]),
        "std_test_score": np.array([0.1, 0.2]),
        "mean_train_score": np.array([0.6, 1.0]),
        "std_train_score": np.array([0.0, 0.0]),
        "rank_test_score": np.array([2, 1]),
        "mean_fit_time": np.array([0.01, 0.02]),
    }
    t = tidy_cv_results(results)
    assert t.index.tolist() == [1, 0]
    assert t["C"].tolist() == [10.0, 1.0]
    assert t["pca"].tolist() == ["PCA 50%", "none"]
    assert t["gap"].tolist() == pytest.approx([0.25, 0.1])


# ----------------------------------------------------------------------------- plot


def test_plot_score_vs_param_titles_labels_and_curves(search):
    table = tidy_cv_results(search.cv_results_)
    fig = plot_score_vs_param(table, model="LogisticRegression", param="C")
    axes = fig.axes
    assert len(axes) == 2 * 3  # PCA options x scalers
    titles = {ax.get_title() for ax in axes}
    assert titles == {f"{s}, PCA: {p}" for s in ("robust", "power", "quantile") for p in ("none", "PCA 90%")}
    for ax in axes:
        assert ax.get_xlabel() == "C (log scale)"
        assert ax.get_ylabel() == "accuracy"
        assert ax.get_xscale() == "log"
        assert len(ax.get_lines()) >= 2  # training and validation curves
    assert "LogisticRegression" in fig._suptitle.get_text()
    assert len(fig.legends) == 1
    # exactly one panel carries the best-score marker, at the best validation score
    stars = [ln for ax in axes for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert len(stars) == 1
    lr = table[table["model"] == "LogisticRegression"]
    assert stars[0].get_ydata()[0] == pytest.approx(lr["mean_test"].max())


def test_plot_score_vs_param_linear_axis_and_errors(search):
    table = tidy_cv_results(search.cv_results_)
    fig = plot_score_vs_param(table, model="KNeighborsClassifier", param="n_neighbors")
    assert all(ax.get_xscale() == "linear" and ax.get_xlabel() == "n_neighbors" for ax in fig.axes)
    with pytest.raises(CourseError, match="no rows"):
        plot_score_vs_param(table, model="SVC")
    with pytest.raises(CourseError, match="no values"):
        plot_score_vs_param(table, model="GaussianNB", param="C")


# ----------------------------------------------------------------------------- leakage


def test_compare_segment_splits_detects_leakage():
    # Each clip has its own random "fingerprint" and the label is unrelated to it:
    # with segments of a clip on both sides a 1-NN model recognises the clip;
    # kept apart, it can only guess (about 1/3 with three classes).
    rng = np.random.default_rng(1)
    n_clips, per_clip = 30, 6
    fingerprints = rng.standard_normal((n_clips, 5)) * 3
    X = np.repeat(fingerprints, per_clip, axis=0) + 0.1 * rng.standard_normal((n_clips * per_clip, 5))
    labels = np.tile(["a", "b", "c"], n_clips // 3)
    y = np.repeat(labels, per_clip)
    groups = np.repeat(np.arange(n_clips), per_clip)
    scores = compare_segment_splits(KNeighborsClassifier(1), X, y, groups, n_splits=3, n_repeats=2)
    assert len(scores) == 2 * 2 * 3
    assert list(scores.columns) == ["scheme", "repeat", "fold", "accuracy"]
    summary = summarise_split_comparison(scores)
    assert summary.index.tolist() == ["random segments", "grouped by clip"]
    assert summary.loc["random segments", "mean"] == pytest.approx(1.0)
    assert summary.loc["grouped by clip", "mean"] < 0.6
    assert summary.loc["random segments", "overstatement"] > 0.4
    assert summary.loc["grouped by clip", "overstatement"] == 0
    assert (summary["n_folds"] == 6).all()


def test_compare_segment_splits_chance_model_scores_chance_under_both_schemes():
    X, y = blobs(n_per_class=12)
    groups = np.repeat(np.arange(12), 3)  # 4 clips per class, 3 segments each
    scores = compare_segment_splits(DummyClassifier(), X, y, groups, n_splits=4, n_repeats=1)
    # the dummy predicts the most frequent class: 1/3 whatever the split
    assert scores["accuracy"].to_numpy() == pytest.approx(np.full(8, 1 / 3), abs=0.1)


def test_compare_segment_splits_errors():
    X, y = blobs(n_per_class=4)
    groups = np.arange(12)
    with pytest.raises(CourseError, match="length"):
        compare_segment_splits(DummyClassifier(), X, y[:-1], groups)
    with pytest.raises(CourseError, match="fewer than n_splits"):
        compare_segment_splits(DummyClassifier(), X, y, groups, n_splits=5)
    with pytest.raises(CourseError, match="columns"):
        summarise_split_comparison(pd.DataFrame({"x": [1]}))
