"""Checks that notebooks run on results which differ from machine to machine.

A figure from training (an accuracy, a number of epochs) depends on the last bits of floating-point
rounding, which depend on the processor and the libraries' builds. Notebooks print such a figure in
a cell whose output the tests ignore, and check it in the next cell against a band measured over
several seeds and machines: :func:`expect_range` prints one line that is the same on every machine,
or stops the notebook with the value and the band when a broken pipeline leaves the band.
"""
from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path

import numpy as np

from .errors import CourseError

__all__ = ["ResultOutOfRangeError", "exercise", "expect_range"]


class ResultOutOfRangeError(CourseError, AssertionError):
    """A run-dependent result lies outside the band a working pipeline gives."""


def expect_range(value: float, low: float, high: float, *, what: str) -> None:
    """Check that ``low <= value <= high`` and print one machine-independent line.

    Parameters
    ----------
    value : float
        The run-dependent figure (for example a test accuracy).
    low, high : float
        The band, from runs over several seeds and machines, narrow enough to exclude what a broken
        pipeline gives (the majority-class baseline, a model trained on shuffled labels).
    what : str
        What the figure is, for the printed line and the error message.

    Raises
    ------
    ResultOutOfRangeError
        If the value is outside the band or not a finite number; the message
        gives the value, so the reader sees what went wrong.

    Notes
    -----
    With ``COURSE_RECORD_BANDS=<file>`` in the environment (``tools/seed_sweep.py`` sets it to
    measure the bands over seeds and machines) nothing is checked: the figure and its band are
    appended to that file as one JSON line.

    Examples
    --------
    >>> expect_range(0.62, 0.35, 0.85, what="clip accuracy")
    clip accuracy within the expected range 0.35-0.85: yes
    >>> expect_range(0.1, 0.35, 0.85, what="clip accuracy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    helpers.check.ResultOutOfRangeError: clip accuracy is 0.1, outside the expected range 0.35-0.85
    ...
    """
    if not low <= high:
        raise ValueError(f"expect_range: low ({low:g}) must not exceed high ({high:g})")
    band = f"{_short(low)}-{_short(high)}"
    number = float(value)
    if record := os.environ.get("COURSE_RECORD_BANDS"):
        with open(record, "a", encoding="utf-8") as out:
            out.write(json.dumps({"what": what, "value": number, "low": low, "high": high}) + "\n")
        return
    if not (math.isfinite(number) and low <= number <= high):
        raise ResultOutOfRangeError(
            f"{what} is {number:.4g}, outside the expected range {band} that working runs give "
            "on any machine: something in the pipeline is broken (data, labels, split or training)"
        )
    print(f"{what} within the expected range {band}: yes")


def _short(x: float) -> str:
    """``1e-06`` -> ``1e-6``: the band as a reader would write it."""
    return re.sub(r"e([+-])0(\d)", r"e\1\2", f"{x:g}")


def _as_number(value) -> float:
    """One number from any form a learner gives: Python/NumPy scalar, 0-d/1-element array, list."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{value!r} is text, not a number (leave out the quotes)")
    array = np.asarray(value)
    if array.dtype == bool:
        raise TypeError(f"{value!r} is a truth value, not a number")
    if array.size != 1:
        raise TypeError(f"expected one number, got {array.size} values")
    return float(array.reshape(()))


def _number(expected: float, tol: float):
    """A check: the answer is a number within ``tol`` of ``expected``; says too high or too low."""
    def check(answer):
        number = _as_number(answer)
        if abs(number - expected) <= tol:
            return ""
        return f"{number:g} is too {'high' if number > expected else 'low'}"
    return check


def _truth(expected: bool, hint: str):
    """A check: the answer is the truth value ``expected`` (Python/NumPy bool, 0-d array of one)."""
    def check(answer):
        array = np.asarray(answer)
        if array.dtype != bool or array.size != 1:
            return f"{answer!r} is not True or False"
        return "" if bool(array.reshape(())) is expected else hint
    return check


def _function(cases, tol: float):
    """A check: a function gives ``expected`` within ``tol`` for all ``(label, args, expected)``."""
    def check(answer):
        for label, args, expected in cases:
            got = answer(*args)
            if got is None or not abs(_as_number(got) - expected) <= tol:
                return f"for {label} it returned {got!r}, which is not right"
        return ""
    return check


_SINE = 0.5 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)  # 1 s of 440 Hz at 22,050 Hz
_EXERCISES = {  # key -> (what the answer is, its check: "" if right, else what is wrong)
    "01.1": ("the Nyquist frequency (Hz) of a 16,000 Hz recording", _number(8000, 0.5)),
    "01.2": ("the frequency (Hz) at which a 3,000 Hz tone sampled at 4,000 Hz is heard",
             _number(1000, 5)),
    "01.3": ("a function alias_frequency(f, sr)", _function([(f"f={f}, sr={sr}", (f, sr), want)
        for f, sr, want in ((440, 22050, 440), (3000, 4000, 1000), (9000, 4000, 1000),
                            (4000, 8000, 4000), (7000, 4000, 1000))], 0.5)),
    "01.4": ("the slope (dB per bit) of the signal-to-quantisation-noise ratio", _number(6.1, 0.5)),
    "02.1": ("the spacing (Hz) of the FFT bins for n_fft=2048 at 22,050 Hz",
             _number(22050 / 2048, 0.01)),
    "02.2": ("the number of STFT frames of 5 s at 22,050 Hz with hop_length=512", _number(216, 0)),
    "02.3": ("True or False: the harmonics are sharper with n_fft=4096, win_length=512",
             _truth(False, "compare the two spectra again: what sets the width of a peak?")),
    "02.4": ("a function hz_to_mel_htk(f)", _function([(f"f={f}", (f,), want) for f, want in (
        (0.0, 0.0), (700.0, 781.17), (1000.0, 999.99), (8000.0, 2840.02))], 0.05)),
    "03.1": ("the SNR (dB) after doubling the noise amplitude of a 10 dB mix",
             _number(10 - 20 * math.log10(2), 0.1)),
    "03.2": ("the tempo (BPM) of a click every 0.4 s", _number(150, 1)),
    "03.3": ("a function crossings_per_second(y, sr)", _function([
        ("1 s of a 440 Hz sine at 22,050 Hz", (_SINE, 22050), 880),
        ("0.5 s of it", (_SINE[:11025], 22050), 880),
        ("the same samples read as 11,025 Hz (2 s of 220 Hz)", (_SINE, 11025), 440)], 4)),
    "03.4": ("the spectral centroid (Hz) of equal 440 Hz and 880 Hz sines", _number(660, 40)),
    "04.1": ("the number of features with 13 MFCCs", _number(43, 0)),
    "04.2": ("the frames for 10 s", _number(431, 0)),
    "04.3": ("a function count_outliers(x, k)", _function([(f"x={x}, k={k}", (x, k), n)
        for x, k, n in (([1, 2, 3, 4, 5, 12], 3, 0), ([1, 2, 3, 4, 20], 1.5, 1),
                        ([1, 2, 3, 4, 5], 1.5, 0), ([-40, 1, 2, 3, 4, 5, 60], 1.5, 2))], 0)),
    "05.1": ("the number of components for 90 %", _number(7, 0)),
    "05.2": ("the number of mixed folds", _number(1, 0)),
    "05.3": ("a function balanced_accuracy(y_true, y_pred)", _function([
        (f"{t}, {p}", (list(t), list(p)), v) for t, p, v in (("aaab", "aaaa", 0.5),
        ("abbb", "abab", 5 / 6), ("rrhhh", "rhhhr", 7 / 12), ("abab", "abab", 1.0))], 1e-6)),
    "06.1": ("the test clips per genre", _number(20, 0)),
    "06.2": ("the number of overlapping segments", _number(19, 0)),
    "06.3": ("a function clips_on_both_sides(train_clips, test_clips)", _function(
        [(f"{a}, {b}", (list(a), list(b)), n)
         for a, b, n in (("aabbc", "cdd", 1), ("aabb", "ccdd", 0), ("abcab", "bcbd", 2))], 0)),
    "07.1": ("the LSTM layer's weights", _number(19968, 0)),
    "07.2": ("the frames of 1.5 s", _number(65, 0)),
    "07.3": ("a function clip_vote(predictions)", _function([(f"{v}", (v,), n) for v, n in (
        ([3, 3, 1], 3), ([0, 2, 2, 0], 0), ([5], 5), ([1, 4, 4, 4, 1, 2], 4),
        ([2, 2, 7, 7, 7], 7))], 0)),
    "08.1": ("conv2's weights", _number(4608, 0)),
    "08.2": ("the values out of pool3 with 128 bands", _number(16384, 0)),
    "08.3": ("a function pooled_length(n, pools)", _function([(f"n={n}, pools={k}", (n, k), m)
        for n, k, m in ((130, 3, 16), (64, 3, 8), (65, 1, 32), (7, 2, 1), (130, 0, 130))], 0)),
    "09.1": ("the values out of pool5 for 374 frames", _number(640, 0)),
    "09.2": ("the tag layer's weights", _number(12850, 0)),
    "09.3": ("a function compress(S)", _function([(f"S={v}", (v,), math.log10(10000 * v + 1))
                                               for v in (0.0, 1.0, 6.55, 100.0)], 1e-4)),
    "10.1": ("the number of rows", _number(30, 0)),
    "10.2": ("the number of files computed again", _number(11, 0)),
    "10.3": ("a function hours_needed(audio_seconds, rate, cores)", _function(
        [(f"{a}, {r}, {c}", (a, r, c), a / r / c / 3600)
         for a, r, c in ((360000, 100, 1), (106574 * 30, 50, 4), (343 * 86400, 80, 16))], 0.01)),
    "11.1": ("the top probability of logits [2, 1, 0] at T = 2",
             _number(math.e / (math.e + math.e ** 0.5 + 1), 0.005)),
    "11.2": ("a function snr_db(clean, noisy)", _function([(f"clean={c}, noisy={n}",
        (np.array(c), np.array(n)), v) for c, n, v in (([1.0] * 4, [1.1] * 4, 20.0),
        ([3.0, 4.0], [3.0, 5.0], 10 * math.log10(25)), ([0.5, -0.5, 0.5], [1.0, -1.0, 1.0], 0.0),
        ([2.0, 0.0], [2.0, 0.2], 20 * math.log10(10)))], 0.01)),
    "11.3": ("a function max_calibration_error(confidence, correct, bins=5)", _function(
        [(f"{a}", a, v) for a, v in (
            (([0.95, 0.95, 0.55, 0.55, 0.55], [1, 0, 1, 1, 0]), 0.45), (([0.3, 0.9], [0, 1]), 0.3),
            (([1.0, 0.2], [1, 1]), 0.8), (([0.6, 0.7, 0.4], [1, 1, 0], 2), 0.4))], 1e-6)),
}


def _stub():
    ...  # the learner cell's placeholder body


def _unanswered(answer) -> bool:
    """``...``, or a function whose body is still only ``...`` (the learner cell as committed)."""
    if answer is ...:
        return True
    code = getattr(answer, "__code__", None)
    return code is not None and code.co_code == _stub.__code__.co_code


SOLUTION_CODE = re.compile(r"```python\n(.*?)```", re.S)
_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _solution_source(key: str) -> str:
    """Exercise ``key``'s solution code: the collapsed block after its check in ``NN_*.ipynb``."""
    import json

    folder = _NOTEBOOKS
    for path in sorted(folder.glob(f"{key[:2]}_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        heading = next(i for i, c in enumerate(cells)
                       if f"### Exercise {key}:" in "".join(c["source"]))
        block = next(c for c in cells[heading:] if "solution" in c["metadata"].get("tags", []))
        return SOLUTION_CODE.search("".join(block["source"])).group(1)
    raise CourseError(f"no notebook {key[:2]}_*.ipynb in {folder} holds exercise {key}'s solution")


def _run_solution(key: str, name: str, namespace: dict) -> None:
    """Run ``key``'s solution silently on a copy of the notebook's variables; raise if it fails.

    ``make test`` sets ``COURSE_CHECK_SOLUTIONS=1``, so every check cell of the learner's notebook,
    which prints "no answer yet", also proves that the solution one click away passes its check,
    with the notebook's state.
    """
    import contextlib
    import io

    scratch = dict(namespace)  # the learner's variables are left as they were
    with contextlib.redirect_stdout(io.StringIO()):
        # the course's own code, hence the noqa
        exec(compile(_solution_source(key), f"<solution {key}>", "exec"), scratch)  # noqa: S102
    problem = _EXERCISES[key][1](scratch[name])
    if problem:
        raise CourseError(f"Exercise {key}: the solution fails its own check: {problem}")


def exercise(key: str, answer) -> bool:
    """Check a learner's answer to exercise ``key`` of a notebook; print "right" or what is wrong.

    The message never gives the expected answer away: it says too high or too low for a number, and
    for a function the arguments on which it fails.

    Parameters
    ----------
    key : str
        The exercise, ``"<notebook>.<number>"``, as in its heading ("Exercise 02.3").
    answer : object
        The answer: a number, a truth value or a function, as the exercise asks, in any Python or
        NumPy form. ``...``, or a function whose body is only ``...`` (the learner's cell as it
        comes), means not answered yet.

    Returns
    -------
    bool
        True if the answer is right.

    Examples
    --------
    >>> exercise("01.1", 8000)
    Exercise 01.1: right
    True
    >>> exercise("01.1", 16000)
    Exercise 01.1: not yet: 16000 is too high
    False
    """
    if key not in _EXERCISES:
        raise CourseError(f"no exercise {key!r}; the exercises are {', '.join(_EXERCISES)}")
    what, check = _EXERCISES[key]
    if _unanswered(answer):
        if os.environ.get("COURSE_CHECK_SOLUTIONS") == "1":
            _run_solution(key, "answer" if answer is ... else answer.__name__,
                          sys._getframe(1).f_globals)
        problem = f"no answer yet: put {what} in the cell above"
    else:
        try:
            problem = check(answer)
        except Exception as error:  # the learner's code or answer failed: say how, no traceback
            problem = f"checking the answer failed with {type(error).__name__}: {error}"
        problem = problem and f"not yet: {problem}"
    print(f"Exercise {key}: {problem or 'right'}")
    return not problem
