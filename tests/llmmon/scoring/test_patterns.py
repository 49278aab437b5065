"""contains and regex."""

from __future__ import annotations

import pytest

from llmmon.scoring import get_scorer

contains = get_scorer("contains")
regex = get_scorer("regex")


@pytest.mark.parametrize(
    ("output", "reference", "params", "score"),
    [
        ("30 days", "30 days", {}, 1.0),
        ("You have 30 Days to return it.", "30 days", {}, 1.0),
        ("You have 130 days.", "30 days", {}, 0.0),  # whole words only
        ("30 days.", '"30 days"', {}, 1.0),  # the needle's edge punctuation is ignored
        ("Thirty days", "30 days", {"any_of": ["thirty days"]}, 1.0),
        ("someone", "one", {}, 0.0),
        ("Go to kestrel.co/track.", "kestrel.co/track", {}, 1.0),
        ("5\u20137 business days", "5-7 business days", {"any_of": ["5\u20137 business days"]}, 1.0),
        ("5 to 7 days", "5-7 business days", {}, 0.0),
        ("", "30 days", {}, 0.0),
    ],
)
def test_contains(output, reference, params, score):
    assert contains(output, reference, params).score == score


def test_contains_details():
    assert contains("Thirty days", "30 days", {"any_of": ["Thirty days"]}).details == {"matched": "thirty days"}
    assert contains("a month", "30 days", {"any_of": ["thirty days"]}).details == {
        "error": "no accepted phrase found", "accepted": ["30 days", "thirty days"]
    }


@pytest.mark.parametrize(
    ("output", "params", "score"),
    [
        ("No", {"pattern": r"^\W*no\b"}, 1.0),
        ("No, express is not available to PO boxes.", {"pattern": r"^\W*no\b"}, 1.0),
        ("Not at the moment", {"pattern": r"^\W*no\b"}, 0.0),
        ("  no", {"pattern": r"^no$", "mode": "full"}, 1.0),  # surrounding whitespace stripped
        ("no thanks", {"pattern": r"no", "mode": "full"}, 0.0),
        ("no thanks", {"pattern": r"no", "mode": "search"}, 1.0),
        ("NO", {"pattern": r"no", "ignore_case": False}, 0.0),
        ("NO", {"pattern": r"no"}, 1.0),  # ignore_case defaults to true
        ("\uff11\uff12 months", {"pattern": r"^12 months$"}, 1.0),  # NFKC before matching
        ("", {"pattern": r"^$", "mode": "full"}, 1.0),
    ],
)
def test_regex(output, params, score):
    assert regex(output, "unused", params).score == score


def test_regex_details():
    assert regex("8 am to 8 pm", "", {"pattern": r"8\s*am"}).details == {"matched": "8 am"}
    assert regex("9 to 5", "", {"pattern": r"8\s*am"}).details == {
        "error": "pattern did not match", "pattern": r"8\s*am"
    }
