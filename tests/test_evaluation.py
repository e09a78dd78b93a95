"""Tests of helpers.evaluation: known answers on small hand-made data."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.svm import SVC

from helpers.errors import CourseError
from helpers.evaluation import (
    DownsampledClassifier,
    compare_with_published,
    cv_permutation_importance,
    cv_results_table,
    out_of_fold_predictions,
    per_class_recall_scoring,
    plot_confusion_matrices,
    plot_roc_pr,
    positive_scores,
)


def _toy(n_major: int = 80, n_minor: int = 20, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Two classes separated by feature 'signal'; 'noise' carries nothing."""
    rng = np.random.default_rng(seed)
    y = np.array(["Rock"] * n_major + ["Hip-Hop"] * n_minor)
    signal = np.where(y == "Hip-Hop", 3.0, -3.0) + rng.normal(0, 0.5, len(y))
    X = pd.DataFrame({"noise": rng.normal(0, 1, len(y)), "signal": signal})
    return X, pd.Series(y, name="genre_top")


# ---------------------------------------------------------------- cv_results_table
def test_cv_results_table_hand_computed_mean_and_std():
    results = {
        "a": {"fit_time": np.array([1.0, 2.0, 3.0]), "test_acc": np.array([0.6, 0.8, 1.0]),
              "test_bal": np.array([0.5, 0.5, 0.5])},
        "b": {"test_acc": np.array([0.2, 0.4, 0.6]), "test_bal": np.array([1.0, 0.0, 0.5])},
    }
    t = cv_results_table(results)
    assert list(t.index) == ["a", "b"]
    assert t.columns.names == ["metric", "statistic"]
    assert list(t.columns) == [("acc", "mean"), ("acc", "std"), ("bal", "mean"), ("bal", "std")]
    assert t.loc["a", ("acc", "mean")] == pytest.approx(0.8)
    # population std of (0.6, 0.8, 1.0) is sqrt(0.08 / 3)
    assert t.loc["a", ("acc", "std")] == pytest.approx(np.sqrt(0.08 / 3))
    assert t.loc["a", ("bal", "std")] == pytest.approx(0.0)
    assert t.loc["b", ("bal", "mean")] == pytest.approx(0.5)
    t1 = cv_results_table(results, ddof=1)
    assert t1.loc["a", ("acc", "std")] == pytest.approx(0.2)


def test_cv_results_table_sort_select_round_and_plain_dicts():
    results = {"low": {"acc": [0.1, 0.3]}, "high": {"acc": [0.9, 0.95]}}
    t = cv_results_table(results, sort_by="acc", decimals=2)
    assert list(t.index) == ["high", "low"]
    assert t.loc["low", ("acc", "mean")] == 0.2
    assert t.loc["low", ("acc", "std")] == 0.1
    assert t.loc["high", ("acc", "std")] in (0.02, 0.03)  # 0.025 up to float error
    assert cv_results_table(results).loc["high", ("acc", "mean")] == pytest.approx(0.925)
    sel = cv_results_table({"m": {"test_x": [1, 1], "test_y": [0, 1]}}, metrics=["y"])
    assert list(sel.columns) == [("y", "mean"), ("y", "std")]


def test_cv_results_table_from_real_cross_validate():
    X, y = _toy()
    res = cross_validate(DummyClassifier(strategy="most_frequent"), X, y, cv=StratifiedKFold(5),
                         scoring=["accuracy", "balanced_accuracy"])
    t = cv_results_table({"dummy": res})
    assert t.loc["dummy", ("accuracy", "mean")] == pytest.approx(0.8)
    assert t.loc["dummy", ("balanced_accuracy", "mean")] == pytest.approx(0.5)
    assert t.loc["dummy", ("balanced_accuracy", "std")] == pytest.approx(0.0)


def test_cv_results_table_errors():
    with pytest.raises(CourseError, match="no models"):
        cv_results_table({})
    with pytest.raises(CourseError, match="'b' has no scores for \\['acc'\\]"):
        cv_results_table({"a": {"test_acc": [1.0]}, "b": {"test_f1": [1.0]}})
    with pytest.raises(CourseError, match="cannot sort by 'f1'"):
        cv_results_table({"a": {"test_acc": [1.0]}}, sort_by="f1")
    with pytest.raises(CourseError, match="different fold counts"):
        cv_results_table({"a": {"test_acc": [1.0, 0.5], "test_f1": [1.0]}})
    with pytest.raises(CourseError, match="no test scores"):
        cv_results_table({"a": {"fit_time": [1.0]}})


# ---------------------------------------------------------------- compare_with_published
def test_compare_with_published_arithmetic():
    t = compare_with_published(
        [("accuracy", 0.88, 0.8776), {"figure": "recall", "published": 0.54, "ours": 0.5617},
         ("cv", 0.78, 0.775)]
    )
    assert list(t.index) == ["accuracy", "recall", "cv"]
    assert list(t.columns) == ["published", "ours", "ours_rounded", "difference", "match"]
    assert t.loc["accuracy", "difference"] == pytest.approx(-0.0024)
    assert t.loc["recall", "difference"] == pytest.approx(0.0217)
    assert t.loc["accuracy", "ours_rounded"] == pytest.approx(0.88)
    assert t["match"].tolist() == [True, False, True]  # 0.775 rounds to 0.78 (float 0.775 is 0.77500000000000002)
    t3 = compare_with_published([("x", 0.123, 0.1234)], decimals=3)
    assert bool(t3.loc["x", "match"]) is True


def test_compare_with_published_errors():
    with pytest.raises(CourseError, match="no rows"):
        compare_with_published([])
    with pytest.raises(CourseError, match="row 0 has 2 items"):
        compare_with_published([("a", 0.5)])
    with pytest.raises(CourseError, match="lacks key 'ours'"):
        compare_with_published([{"figure": "a", "published": 0.5}])
    with pytest.raises(CourseError, match="non-numeric"):
        compare_with_published([("a", "high", 0.5)])
    with pytest.raises(CourseError, match="not finite"):
        compare_with_published([("a", 0.5, float("nan"))])
    with pytest.raises(CourseError, match="repeat"):
        compare_with_published([("a", 0.5, 0.5), ("a", 0.6, 0.6)])


# ---------------------------------------------------------------- per-class recall
def test_per_class_recall_scoring_known_answer():
    X, y = _toy()
    scoring = per_class_recall_scoring(["Hip-Hop", "Rock"])
    assert set(scoring) == {"recall_Hip-Hop", "recall_Rock"}
    always_rock = DummyClassifier(strategy="constant", constant="Rock").fit(X, y)
    assert scoring["recall_Rock"](always_rock, X, y) == pytest.approx(1.0)
    assert scoring["recall_Hip-Hop"](always_rock, X, y) == pytest.approx(0.0)
    with pytest.raises(CourseError, match="at least two classes"):
        per_class_recall_scoring(["Rock"])
    with pytest.raises(CourseError, match="repeat"):
        per_class_recall_scoring(["Rock", "Rock"])


# ---------------------------------------------------------------- DownsampledClassifier
def test_downsampled_classifier_balances_training_data():
    X, y = _toy(n_major=80, n_minor=20)
    clf = DownsampledClassifier(LogisticRegression(), random_state=3).fit(X, y)
    assert clf.n_per_class_ == 20
    kept = y.iloc[clf.sample_indices_]
    assert kept.value_counts().to_dict() == {"Hip-Hop": 20, "Rock": 20}
    assert set(clf.sample_indices_[kept.values == "Hip-Hop"]) == set(range(80, 100))
    assert list(clf.classes_) == ["Hip-Hop", "Rock"]
    assert (clf.predict(X) == y).mean() > 0.95
    assert clf.predict_proba(X).shape == (100, 2)
    assert clf.decision_function(X).shape == (100,)
    # same seed, same draw; other seed, other draw
    again = DownsampledClassifier(LogisticRegression(), random_state=3).fit(X, y)
    other = DownsampledClassifier(LogisticRegression(), random_state=4).fit(X, y)
    assert np.array_equal(clf.sample_indices_, again.sample_indices_)
    assert not np.array_equal(clf.sample_indices_, other.sample_indices_)


def test_downsampled_classifier_in_cross_validation_keeps_test_folds_whole():
    X, y = _toy()
    res = cross_validate(DownsampledClassifier(LogisticRegression(), random_state=0), X, y,
                         cv=StratifiedKFold(5), return_estimator=True, return_indices=True)
    assert sum(len(i) for i in res["indices"]["test"]) == 100
    assert all(e.n_per_class_ == 16 for e in res["estimator"])
    assert res["test_score"].mean() > 0.95


def test_downsampled_classifier_errors():
    X, y = _toy()
    with pytest.raises(CourseError, match="no estimator"):
        DownsampledClassifier().fit(X, y)
    with pytest.raises(CourseError, match="two classes"):
        DownsampledClassifier(LogisticRegression()).fit(X.iloc[:10], y.iloc[:10])
    with pytest.raises(CourseError, match="differ in length"):
        DownsampledClassifier(LogisticRegression()).fit(X, y.iloc[:50])


# ---------------------------------------------------------------- out of fold
def test_positive_scores_probability_and_decision_function():
    X, y = _toy()
    lr = LogisticRegression().fit(X, y)  # classes_ = ["Hip-Hop", "Rock"]
    s_hop = positive_scores(lr, X, "Hip-Hop")
    assert np.allclose(s_hop, lr.predict_proba(X)[:, 0])
    svc = SVC().fit(X, y)  # no predict_proba: decision_function, sign flipped for the first class
    assert np.allclose(positive_scores(svc, X, "Hip-Hop"), -svc.decision_function(X))
    assert np.allclose(positive_scores(svc, X, "Rock"), svc.decision_function(X))
    with pytest.raises(CourseError, match="not one of the classes"):
        positive_scores(lr, X, "Jazz")


def test_out_of_fold_predictions_cover_each_example_once():
    X, y = _toy()
    res = cross_validate(LogisticRegression(), X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0),
                         return_estimator=True, return_indices=True)
    oof = out_of_fold_predictions(res, X, pos_label="Hip-Hop")
    assert list(oof.columns) == ["fold", "prediction", "score"]
    assert oof.index.equals(X.index)
    assert sorted(oof["fold"].unique()) == [0, 1, 2, 3, 4]
    for k, idx in enumerate(res["indices"]["test"]):
        assert (oof["fold"].iloc[idx] == k).all()
        assert list(oof["prediction"].iloc[idx]) == list(res["estimator"][k].predict(X.iloc[idx]))
    assert (oof["prediction"] == y).mean() > 0.95
    assert oof["score"].between(0, 1).all()


def test_out_of_fold_predictions_errors():
    X, y = _toy()
    with pytest.raises(CourseError, match="return_estimator=True, return_indices=True"):
        out_of_fold_predictions(cross_validate(LogisticRegression(), X, y, cv=3), X)
    res = cross_validate(LogisticRegression(), X, y, cv=KFold(5, shuffle=True, random_state=0),
                         return_estimator=True, return_indices=True)
    partial = {"estimator": res["estimator"][:2], "indices": {"test": res["indices"]["test"][:2]}}
    with pytest.raises(CourseError, match="60 of 100 examples are in no test fold"):
        out_of_fold_predictions(partial, X)
    twice = {"estimator": res["estimator"][:2], "indices": {"test": [res["indices"]["test"][0]] * 2}}
    with pytest.raises(CourseError, match="more than one test fold"):
        out_of_fold_predictions(twice, X)


def test_cv_permutation_importance_finds_the_informative_feature():
    X, y = _toy()
    res = cross_validate(LogisticRegression(), X, y, cv=StratifiedKFold(5), return_estimator=True,
                         return_indices=True)
    imp = cv_permutation_importance(res, X, y, scoring="balanced_accuracy", n_repeats=3, random_state=0)
    assert list(imp.index) == ["signal", "noise"]
    assert list(imp.columns[:2]) == ["mean", "std"] and imp.shape == (2, 7)
    assert imp.loc["signal", "mean"] > 0.3
    assert abs(imp.loc["noise", "mean"]) < 0.05
    with pytest.raises(CourseError, match="must be a DataFrame"):
        cv_permutation_importance(res, X.to_numpy(), y)


# ---------------------------------------------------------------- plots
def test_plot_confusion_matrices_titles_labels_colourbar_and_counts():
    y = np.array(["Rock"] * 6 + ["Hip-Hop"] * 4)
    perfect = y.copy()
    always_rock = np.array(["Rock"] * 10)
    fig = plot_confusion_matrices(y, {"perfect": perfect, "always Rock": always_rock},
                                  labels=["Hip-Hop", "Rock"], title="Toy")
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(fig.axes) == 3  # two panels and a colour bar
    assert [ax.get_title() for ax in axes] == ["perfect", "always Rock"]
    assert all(ax.get_xlabel() == "Predicted genre" and ax.get_ylabel() == "True genre" for ax in axes)
    assert fig.get_suptitle() == "Toy"
    texts = [t.get_text() for t in axes[1].texts]  # rows Hip-Hop, Rock; columns Hip-Hop, Rock
    assert texts == ["0\n(0.00)", "4\n(1.00)", "0\n(0.00)", "6\n(1.00)"]
    assert [t.get_text() for t in axes[0].texts] == ["4\n(1.00)", "0\n(0.00)", "0\n(0.00)", "6\n(1.00)"]
    assert fig.axes[-1].get_ylabel() == "share of true class"


def test_plot_confusion_matrices_errors():
    with pytest.raises(CourseError, match="no models"):
        plot_confusion_matrices(["a"], {})
    with pytest.raises(CourseError, match="2 predictions for 3 labels"):
        plot_confusion_matrices(["a", "b", "a"], {"m": ["a", "b"]})
    with pytest.raises(CourseError, match="normalize"):
        plot_confusion_matrices(["a"], {"m": ["a"]}, normalize="all")


def test_plot_roc_pr_perfect_and_chance_legends():
    y = np.array(["Rock"] * 6 + ["Hip-Hop"] * 4)
    perfect = (y == "Hip-Hop").astype(float)
    inverted = 1.0 - perfect
    fig = plot_roc_pr(y, {"perfect": perfect, "inverted": inverted}, pos_label="Hip-Hop", title="Toy curves")
    ax_roc, ax_pr = fig.axes
    assert ax_roc.get_title() == "ROC curve" and ax_pr.get_title() == "Precision-recall curve"
    assert "False positive rate" in ax_roc.get_xlabel() and "True positive rate" in ax_roc.get_ylabel()
    assert ax_pr.get_xlabel() == "Recall of Hip-Hop" and ax_pr.get_ylabel() == "Precision of Hip-Hop"
    roc_legend = [t.get_text() for t in ax_roc.get_legend().get_texts()]
    pr_legend = [t.get_text() for t in ax_pr.get_legend().get_texts()]
    assert roc_legend == ["perfect (AUC = 1.000)", "inverted (AUC = 0.000)", "chance (AUC = 0.500)"]
    assert pr_legend[0] == "perfect (AP = 1.000)"
    assert pr_legend[-1] == "chance (AP = 0.400)"
    assert fig.get_suptitle() == "Toy curves"


def test_plot_roc_pr_errors():
    with pytest.raises(CourseError, match="no models"):
        plot_roc_pr(["a", "b"], {}, pos_label="a")
    with pytest.raises(CourseError, match="must contain 'c'"):
        plot_roc_pr(["a", "b"], {"m": [0.1, 0.2]}, pos_label="c")
    with pytest.raises(CourseError, match="one finite score per label"):
        plot_roc_pr(["a", "b"], {"m": [0.1]}, pos_label="a")
    with pytest.raises(CourseError, match="one finite score per label"):
        plot_roc_pr(["a", "b"], {"m": [0.1, np.nan]}, pos_label="a")
