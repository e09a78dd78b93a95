"""Checks that notebooks run on results which differ from machine to machine.

A figure that comes out of training (an accuracy, a number of epochs) depends
on the last bits of floating-point rounding, and those depend on the processor
and the libraries' builds. Notebooks therefore print such a figure in a cell
whose output the tests ignore, and check it in the next cell against a band
measured over several seeds and machines: :func:`expect_range` prints one
line that is the same on every machine, or stops the notebook with the value
and the band when a broken pipeline leaves the band.
"""
from __future__ import annotations

import math
import re

from .errors import CourseError

__all__ = ["ResultOutOfRangeError", "expect_range"]


class ResultOutOfRangeError(CourseError, AssertionError):
    """A run-dependent result lies outside the band a working pipeline gives."""


def expect_range(value: float, low: float, high: float, *, what: str) -> None:
    """Check that ``low <= value <= high`` and print one machine-independent line.

    Parameters
    ----------
    value : float
        The run-dependent figure (for example a test accuracy).
    low, high : float
        The band, chosen from runs over several seeds and machines, and narrow
        enough to exclude what a broken pipeline gives (the majority-class
        baseline, a model trained on shuffled labels).
    what : str
        What the figure is, for the printed line and the error message.

    Raises
    ------
    ResultOutOfRangeError
        If the value is outside the band or not a finite number; the message
        gives the value, so the reader sees what went wrong.

    Examples
    --------
    >>> expect_range(0.62, 0.35, 0.85, what="clip accuracy")
    clip accuracy within the expected range 0.35-0.85: yes
    >>> expect_range(0.1, 0.35, 0.85, what="clip accuracy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    helpers.check.ResultOutOfRangeError: clip accuracy is 0.1, outside the expected range 0.35-0.85 ...
    """
    if not low <= high:
        raise ValueError(f"expect_range: low ({low:g}) must not exceed high ({high:g})")
    band = f"{_short(low)}-{_short(high)}"
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise ResultOutOfRangeError(
            f"{what} is {number:.4g}, outside the expected range {band} that working runs give "
            "on any machine: something in the pipeline is broken (data, labels, split or training)"
        )
    print(f"{what} within the expected range {band}: yes")


def _short(x: float) -> str:
    """``1e-06`` -> ``1e-6``: the band as a reader would write it."""
    return re.sub(r"e([+-])0(\d)", r"e\1\2", f"{x:g}")
