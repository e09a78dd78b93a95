"""Tests of helpers.evaluation.compare_with_published: known answers on small hand-made data.

(The notebook-05 evaluation code, cv_results_table, per-class recall scorers, downsampling, out-of-fold
predictions, permutation importance and ROC/PR plots, now lives in notebook 05's own cells, with asserts there.)
"""
from __future__ import annotations

import pytest

from helpers.errors import CourseError
from helpers.evaluation import compare_with_published


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
