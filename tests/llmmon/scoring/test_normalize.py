"""Shared normalisation: text, labels, values, JSON parsing."""

from __future__ import annotations

import pytest

from llmmon.scoring.normalize import normalize_label, normalize_text, normalize_value, parse_json_output


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ('  "Refund."  ', "refund"),
        ("5-7 Business  days", "5-7 business days"),
        ("\u00abRefund\u00bb", "refund"),
        ("STRASSE", "strasse"),
        ("Stra\u00dfe", "strasse"),  # casefold, not lower
        ("...", ""),
        ("$50", "$50"),  # currency symbols are not punctuation
        ("(a) b.", "a) b"),  # only the ends
    ],
)
def test_normalize_text(text, normalized):
    assert normalize_text(text) == normalized


def test_normalize_label():
    assert normalize_label(' "Order  Status." ') == "order_status"
    assert normalize_label("technical-issue") == "technical_issue"


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("$1,249.00", 1249.0),
        ("1249", 1249.0),
        (1249, 1249.0),
        ("-$5", -5.0),
        ("02139", "02139"),
        ("1,2345", "1,2345"),
        (" Aeris 2 Earbuds ", "aeris 2 earbuds"),
        (True, True),
        (None, None),
        (["A ", "$1"], ["a", 1.0]),
        ({"Key": "V."}, {"key": "v"}),
    ],
)
def test_normalize_value(value, normalized):
    assert normalize_value(value) == normalized


def test_parse_json_output():
    assert parse_json_output('{"a": 1}') == ({"a": 1}, None)
    assert parse_json_output('```JSON\n{"a": 1}\n```') == ({"a": 1}, None)
    assert parse_json_output('```\r\n{"a": 1}\r\n```') == ({"a": 1}, None)
    assert parse_json_output("null") == (None, None)
    assert parse_json_output("") == (None, "empty output")
