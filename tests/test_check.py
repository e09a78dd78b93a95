"""helpers.check.expect_range: the band checks that follow run-dependent notebook cells."""
from __future__ import annotations

import math

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


def test_numpy_scalars_are_accepted(capsys):
    np = pytest.importorskip("numpy")
    expect_range(np.float32(1e-8), 0.0, 1e-6, what="median relative difference")
    assert capsys.readouterr().out == "median relative difference within the expected range 0-1e-6: yes\n"
