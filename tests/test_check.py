"""helpers.check.expect_range: the band checks that follow run-dependent notebook cells."""
from __future__ import annotations

import math
import re

import pytest

from helpers.check import ResultOutOfRangeError, expect_range
from helpers.errors import CourseError


def test_in_band_prints_one_machine_independent_line(capsys):
    assert expect_range(0.6123456, 0.35, 0.85, what="clip accuracy") is None  # nothing for Jupyter to echo
    assert capsys.readouterr().out == "clip accuracy within the expected range 0.35-0.85: yes\n"


@pytest.mark.parametrize("value", [0.35, 0.85])
def test_band_edges_are_inside(value, capsys):
    expect_range(value, 0.35, 0.85, what="x")
    assert "yes" in capsys.readouterr().out


@pytest.mark.parametrize("value", [0.1, 0.34999, 0.85001, 1.5, -0.2, math.nan, math.inf])
def test_outside_the_band_stops_with_the_value(value, capsys):
    with pytest.raises(ResultOutOfRangeError) as info:
        expect_range(value, 0.35, 0.85, what="clip accuracy")
    message = str(info.value)
    assert message.startswith(f"clip accuracy is {value:.4g}, outside the expected range 0.35-0.85")
    assert capsys.readouterr().out == ""  # no "yes" line for a failed check


def test_the_error_is_a_course_error_and_an_assertion():
    with pytest.raises(CourseError):
        expect_range(0.0, 0.5, 1.0, what="x")
    with pytest.raises(AssertionError):
        expect_range(0.0, 0.5, 1.0, what="x")


def test_an_empty_band_is_a_mistake_in_the_notebook():
    with pytest.raises(ValueError, match="low"):
        expect_range(0.5, 0.9, 0.1, what="x")


def test_with_a_record_file_the_bands_are_measured_not_checked(tmp_path, monkeypatch, capsys):
    """tools/seed_sweep.py sets COURSE_RECORD_BANDS: every figure is written down, none stops the notebook."""
    record = tmp_path / "bands.jsonl"
    monkeypatch.setenv("COURSE_RECORD_BANDS", str(record))
    expect_range(0.62, 0.35, 0.85, what="clip accuracy")
    expect_range(0.1, 0.35, 0.85, what="shuffled labels")  # outside: recorded, not raised
    import json

    assert [json.loads(line) for line in record.read_text().splitlines()] == [
        {"what": "clip accuracy", "value": 0.62, "low": 0.35, "high": 0.85},
        {"what": "shuffled labels", "value": 0.1, "low": 0.35, "high": 0.85}]
    assert capsys.readouterr().out == ""
    monkeypatch.delenv("COURSE_RECORD_BANDS")
    with pytest.raises(ResultOutOfRangeError):
        expect_range(0.1, 0.35, 0.85, what="shuffled labels")


def test_numpy_scalars_are_accepted(capsys):
    np = pytest.importorskip("numpy")
    expect_range(np.float32(1e-8), 0.0, 1e-6, what="median relative difference")
    assert capsys.readouterr().out == "median relative difference within the expected range 0-1e-6: yes\n"


# ---- check.exercise: the self-checking exercises of the notebooks (issue 18) ----
import numpy as np  # noqa: E402

from helpers.check import _EXERCISES, exercise  # noqa: E402


def _alias(f, sr):
    f = f % sr
    return min(f, sr - f)


def _crossings(y, sr):
    np = pytest.importorskip("numpy")
    return np.count_nonzero(np.diff(np.signbit(y))) * sr / len(y)


def _hz_to_mel(f):
    return 2595 * math.log10(1 + f / 700)


def _count_outliers(x, k):
    q1, q3 = np.percentile(x, [25, 75])
    return int(np.sum((np.asarray(x) < q1 - k * (q3 - q1)) | (np.asarray(x) > q3 + k * (q3 - q1))))


def _balanced_accuracy(y_true, y_pred):
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y_true, y_pred)


# key -> (the solution's answer, as the committed notebook computes it, and typical wrong answers)
def _bin_gaps(confidence, correct, bins):
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return [(np.mean(which == b), abs(correct[which == b].mean() - confidence[which == b].mean()))
            for b in range(bins) if np.any(which == b)]


def _max_calibration_error(confidence, correct, bins=5):
    return max(gap for _, gap in _bin_gaps(confidence, correct, bins))


def _expected_calibration_error(confidence, correct, bins=5):
    return sum(share * gap for share, gap in _bin_gaps(confidence, correct, bins))


SOLUTIONS = {
    "01.1": (8000.0, [16000, 4000, 8001]),
    "01.2": (1000.0, [3000, 7000, 2000]),
    "01.3": (_alias, [lambda f, sr: f, lambda f, sr: sr - f, lambda f, sr: f % sr, lambda f, sr: -1]),
    "01.4": (6.4135, [3.01, 20.0, 12.04]),  # the notebook's fit over 2-12 bits; 3 dB: power, not amplitude
    "02.1": (22050 / 2048, [22050 / 1024, 2048 / 22050, 22050 / 2]),
    "02.2": (216, [215, 217, 110250 // 512, 5 * 22050 // 2048]),
    "02.3": (False, [True]),
    "02.4": (_hz_to_mel, [lambda f: 1127 * math.log10(1 + f / 700), lambda f: 2595 * math.log(1 + f / 700), lambda f: f]),
    "03.1": (3.9794, [5.0, 7.0, 4.5, 20.0]),  # 5: halved in dB, 7: power doubled instead of amplitude
    "03.2": (150.2, [120.0, 75.0, 300.0, 2.5]),
    "03.3": (_crossings, [lambda y, sr: _crossings(y, sr) / 2, lambda y, sr: _crossings(y, sr) * len(y) / sr]),
    "03.4": (678.0, [440.0, 880.0, 1320.0]),  # the notebook's mean over frames, edge frames included
    "04.1": (43, [57, 44, 50]),  # 44: one column per MFCC dropped instead of two (mean and variance)
    "04.2": (431, [430, 646, 1 + 10 * 22050 // 2048]),
    "04.3": (_count_outliers, [lambda x, k: _count_outliers(x, 1.5), lambda x, k: len(x), lambda x, k: 0]),
    "05.1": (7, [6, 8, 5]),
    "05.2": (1, [0, 7, 2]),
    "05.3": (_balanced_accuracy, [lambda t, p: sum(a == b for a, b in zip(t, p)) / len(t), lambda t, p: 0.5]),
    "06.1": (20, [200, 10, 80]),
    "06.2": (19, [20, 10, 18]),
    "06.3": (lambda a, b: len(set(a) & set(b)), [lambda a, b: sum(x in b for x in a), lambda a, b: len(set(a) | set(b))]),
    "07.1": (19968, [4992, 16640, 4 * 64 * (13 + 64), 64 * (13 + 64) + 64]),  # 16640: no recurrent weights
    "07.2": (65, [64, 130, 66]),
    "07.3": (lambda v: np.bincount(v).argmax(), [lambda v: sum(v) / len(v), lambda v: v[0], lambda v: max(v)]),
    "08.1": (4608, [4640, 288, 18432]),  # 4640: with a bias; 288: one input channel
    "08.2": (16384, [8192, 64, 16 * 17 * 64]),
    "08.3": (lambda n, k: n // 2**k, [lambda n, k: round(n / 2**k), lambda n, k: n / 2**k, lambda n, k: n // (2 * k)]),
    "09.1": (640, [256, 512, 1280]),  # 256: the 187-frame patch; 1280: the length doubled at pool5 too
    "09.2": (12850, [12800, 306, 25700]),  # 12800: no biases
    "09.3": (lambda S: math.log10(10000 * S + 1), [lambda S: math.log(10000 * S + 1), lambda S: math.log10(10000 * S),
                                                    lambda S: float(np.log10(10000 * np.float16(S) + 1))]),  # float16: inf
    "10.1": (30, [10, 33, 100]),
    "10.2": (11, [0, 1, 10]),
    "10.3": (lambda a, r, c: a / r / c / 3600, [lambda a, r, c: a / r / 3600, lambda a, r, c: a / r / c / 60]),
    "11.1": (0.5065, [0.6652, 1 / 3, 0.42]),
    "11.2": (lambda c, n: 10 * np.log10(np.sum(np.square(c)) / np.sum(np.square(np.subtract(n, c)))),
             [lambda c, n: 10 * np.log10(np.sum(np.square(n)) / np.sum(np.square(np.subtract(n, c)))),
              lambda c, n: 10 * np.log10(np.sum(np.abs(c)) / np.sum(np.abs(np.subtract(n, c))))]),
    "11.3": (_max_calibration_error, [_expected_calibration_error,
                                      lambda conf, ok, bins=5: float(np.max(np.abs(np.subtract(ok, conf))))]),
}


def test_every_exercise_has_a_solution_here():
    assert sorted(SOLUTIONS) == sorted(_EXERCISES)


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
def test_the_solution_is_right(key, capsys):
    assert exercise(key, SOLUTIONS[key][0]) is True
    assert capsys.readouterr().out == f"Exercise {key}: right\n"


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
def test_typical_wrong_answers_are_rejected_without_the_answer(key, capsys):
    for wrong in SOLUTIONS[key][1]:
        assert exercise(key, wrong) is False, f"{key} accepted {wrong!r}"
        out = capsys.readouterr().out
        assert out.startswith(f"Exercise {key}: not yet: ") and out.count("\n") == 1
        right = SOLUTIONS[key][0]
        if isinstance(right, (int, float)) and not isinstance(right, bool):
            assert f"{right:g}" not in out.replace(f"{float(wrong):g}", ""), out  # says too high/low, not the value


def test_no_answer_yet_and_a_failing_function_are_explained(capsys):
    assert exercise("02.2", ...) is False
    assert capsys.readouterr().out.startswith("Exercise 02.2: no answer yet: put the number of STFT frames")
    assert exercise("01.3", lambda f, sr: f / 0) is False
    assert "failed with ZeroDivisionError" in capsys.readouterr().out
    assert exercise("01.1", "eight thousand") is False  # not a number: a message, not a traceback
    assert "is text, not a number" in capsys.readouterr().out


def test_an_unknown_exercise_is_a_mistake_in_the_notebook():
    with pytest.raises(CourseError, match="99.9"):
        exercise("99.9", 1)


# ---- every key accepts its answer in the forms NumPy and Python give (issue 30) ----
def _forms(right):
    """The same right answer as Python and NumPy types: scalars, 0-d and one-element arrays, a list."""
    if isinstance(right, bool):
        return [right, np.bool_(right), np.array(right)]
    if isinstance(right, (int, float)):
        forms = [float(right), np.float64(right), np.float32(right), np.array(right), np.array([right]), [right]]
        if float(right).is_integer():
            forms += [int(right), np.int64(right), np.int32(right), np.uint16(right)]
        return forms
    wrappers = [np.float64, np.float32, np.array, lambda v: np.array([v]), lambda v: [v]]
    forms = [lambda *a, w=w: w(right(*a)) for w in wrappers]
    return forms


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
def test_the_solution_is_right_in_every_numpy_and_python_form(key, capsys):
    for form in _forms(SOLUTIONS[key][0]):
        assert exercise(key, form) is True, f"{key} rejected {form!r} ({type(form).__name__})"
    capsys.readouterr()


def test_02_3_takes_numpy_booleans(capsys):
    widths = {512: np.float64(3.0), 4096: np.float64(3.0)}
    assert exercise("02.3", widths[4096] < widths[512]) is True  # np.False_, as a comparison of NumPy numbers gives
    assert exercise("02.3", np.True_) is False
    assert exercise("02.3", 0) is False  # a number is not a truth value
    out = capsys.readouterr().out.splitlines()
    assert out == ["Exercise 02.3: right", "Exercise 02.3: not yet: compare the two spectra again: what sets the width "
                   "of a peak?", "Exercise 02.3: not yet: 0 is not True or False"]


@pytest.mark.parametrize("answer, reason", [(True, "truth value"), ("216", "text"), (np.arange(3), "3 values"),
                                            ([216, 217], "2 values"), (np.array([]), "0 values")])
def test_a_number_in_the_wrong_form_is_explained(answer, reason, capsys):
    assert exercise("02.2", answer) is False
    out = capsys.readouterr().out
    assert out.startswith("Exercise 02.2: not yet: ") and reason in out and out.count("\n") == 1


# ---- the committed notebooks are the learner's copy; make test runs each collapsed solution (issue 30) ----
import json  # noqa: E402

import helpers.check as check_module  # noqa: E402


@pytest.fixture(autouse=True)
def learner_mode(monkeypatch):
    """Unit tests run as a learner would: make test's COURSE_CHECK_SOLUTIONS=1 is not for them."""
    monkeypatch.delenv("COURSE_CHECK_SOLUTIONS", raising=False)


def _notebook_with_solution(folder, key, code):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"### Exercise {key}: a question\nWork it out."},
             {"cell_type": "code", "metadata": {"tags": ["learner"]}, "source": "answer = ...", "outputs": [],
              "execution_count": None},
             {"cell_type": "code", "metadata": {}, "source": f'check.exercise("{key}", answer)', "outputs": [],
              "execution_count": None},
             {"cell_type": "markdown", "metadata": {"tags": ["solution"]},
              "source": f"<details><summary><b>Solution</b></summary>\n\n```python\n{code}\n```\n\n</details>"}]
    (folder / f"{key[:2]}_example.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                                                 "nbformat_minor": 5}), encoding="utf-8")


def _check_cell(namespace):
    exec('result = check.exercise("01.1", answer)', namespace)  # noqa: S102 - as the notebook's check cell runs
    return namespace["result"]


def test_make_test_runs_the_solution_with_the_notebooks_variables(tmp_path, monkeypatch, capsys):
    _notebook_with_solution(tmp_path, "01.1", 'answer = sr / 2\nprint("printed by the solution")')
    monkeypatch.setattr(check_module, "_NOTEBOOKS", tmp_path)
    monkeypatch.setenv("COURSE_CHECK_SOLUTIONS", "1")
    namespace = {"check": check_module, "answer": ..., "sr": 16000}
    assert _check_cell(namespace) is False  # the learner has not answered: still "no answer yet"
    assert capsys.readouterr().out == "Exercise 01.1: no answer yet: put the Nyquist frequency (Hz) of a 16,000 Hz " \
                                      "recording in the cell above\n"  # the solution's own print is not shown
    assert namespace["answer"] is ...  # the learner's variables are untouched


def test_a_solution_that_fails_its_check_stops_make_test(tmp_path, monkeypatch):
    _notebook_with_solution(tmp_path, "01.1", "answer = sr")
    monkeypatch.setattr(check_module, "_NOTEBOOKS", tmp_path)
    monkeypatch.setenv("COURSE_CHECK_SOLUTIONS", "1")
    with pytest.raises(CourseError, match="01.1: the solution fails its own check: 16000 is too high"):
        _check_cell({"check": check_module, "answer": ..., "sr": 16000})
    monkeypatch.delenv("COURSE_CHECK_SOLUTIONS")  # a learner's run never executes the solution
    assert _check_cell({"check": check_module, "answer": ..., "sr": 16000}) is False


def test_a_function_whose_body_is_still_the_placeholder_is_not_answered_yet(capsys):
    def compress(S):
        ...  # your code here

    assert exercise("09.3", compress) is False
    assert capsys.readouterr().out == "Exercise 09.3: no answer yet: put a function compress(S) in the cell above\n"
    assert exercise("09.3", lambda S: S + 1) is False
    assert capsys.readouterr().out.startswith("Exercise 09.3: not yet: for S=0.0 it returned")


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
def test_every_committed_notebook_holds_its_solution_as_code(key):
    code = check_module._solution_source(key)
    compile(code, key, "exec")
    assert re.search(r"^answer\b.*=|^def \w+\(", code, re.M), f"{key}: the solution defines no answer"
