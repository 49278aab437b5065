"""numeric_tolerance and the number reader behind it."""

from __future__ import annotations

import pytest

from llmmon.scoring import get_scorer
from llmmon.scoring.normalize import first_number

numeric = get_scorer("numeric_tolerance")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("30 days", 30.0),
        ("$1,249.50 total", 1249.5),
        ("1,249", 1249.0),
        ("-3.5 degrees", -3.5),
        ("+2", 2.0),
        (".5 of it", 0.5),
        ("5-7 business days", 5.0),
        ("a 30-day window", 30.0),
        ("50%", 50.0),
        ("about 12,000,000 users", 12000000.0),
        ("30, 40 and 50", 30.0),  # a comma and a space separate numbers
        ("order A10293 costs $5", 5.0),  # digits inside a word are not a number
        ("iOS16 needs 4 GB", 4.0),
        ("\uff13\uff10 days", 30.0),  # full-width digits (NFKC)
        ("thirty days", None),
        ("", None),
    ],
)
def test_first_number(text, number):
    assert first_number(text) == number


@pytest.mark.parametrize(
    ("output", "reference", "params", "score"),
    [
        ("30 days", "30 days", {}, 1.0),
        ("30", 30, {}, 1.0),  # a number reference
        ("Within 30 days of delivery.", "30 days", {}, 1.0),
        ("31 days", "30 days", {}, 0.0),
        ("31 days", "30 days", {"abs_tol": 1}, 1.0),
        ("32 days", "30 days", {"abs_tol": 1}, 0.0),
        ("$1,299", "$1,249.00", {"rel_tol": 0.05}, 1.0),  # |50| <= 0.05 * 1249 = 62.45
        ("$1,349", "$1,249.00", {"rel_tol": 0.05}, 0.0),  # |100| > 62.45
        ("$14.99", "$14.99", {"abs_tol": 0.005}, 1.0),
        ("$15", "$14.99", {"abs_tol": 0.005}, 0.0),
        ("0.3", "0.1 + 0.2 = 0.30000000000000004", {}, 0.0),  # first number of the reference is 0.1
        ("0.30000000000000004", 0.3, {}, 1.0),  # binary rounding slack, far below any useful tolerance
    ],
)
def test_numeric_tolerance(output, reference, params, score):
    assert numeric(output, reference, params).score == score


def test_numeric_details():
    assert numeric("$1,299", "1249", {"abs_tol": 60}).details == {"got": 1299.0, "expected": 1249.0, "abs_error": 50.0}


def test_no_number_in_output():
    result = numeric("thirty days", "30 days", {})
    assert (result.score, result.details) == (0.0, {"error": "no number in output", "expected": 30.0})
    assert numeric("", "30 days", {}).details["error"] == "no number in output"


def test_no_number_in_reference():
    assert numeric("30", "a month", {}).details == {"error": "reference 'a month' holds no number"}
