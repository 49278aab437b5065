"""exact_match and label_accuracy, with hand-computed expectations."""

from __future__ import annotations

import pytest

from llmmon.scoring import get_scorer

exact_match = get_scorer("exact_match")
label_accuracy = get_scorer("label_accuracy")
LABELS = {"labels": ["order_status", "refund", "billing"]}


@pytest.mark.parametrize(
    ("output", "reference", "score"),
    [
        ("30 days", "30 days", 1.0),
        ('  "30 Days."  ', "30 days", 1.0),  # case, quotes, trailing period, surrounding space
        ("30\u00a0days", "30 days", 1.0),  # NFKC: a no-break space is a space
        ("\uff13\uff10 days", "30 days", 1.0),  # NFKC: full-width digits
        ("30   days", "30 days", 1.0),  # inner whitespace collapsed
        ("30days", "30 days", 0.0),  # inner characters are never dropped
        ("30 days!", "30 days.", 1.0),
        ("thirty days", "30 days", 0.0),
        ("", "30 days", 0.0),
        ("", "", 1.0),
        ("30", 30, 1.0),  # number references compare with their plain rendering
        ("30.0", 30, 0.0),
    ],
)
def test_exact_match(output, reference, score):
    assert exact_match(output, reference, {}).score == score


def test_exact_match_details_show_both_sides_on_mismatch():
    result = exact_match("Thirty days.", "30 days", {})
    assert result.details == {"normalized_output": "thirty days", "normalized_reference": "30 days"}
    assert exact_match("30 days", "30 days", {}).details == {}


@pytest.mark.parametrize(
    "output",
    ["refund", "Refund", " refund\n", '"refund"', "'refund'", "refund.", "`refund`", "**refund**", '"Refund."'],
)
def test_label_accuracy_tolerates_quotes_case_and_trailing_period(output):
    result = label_accuracy(output, "refund", LABELS)
    assert (result.score, result.details) == (1.0, {"label": "refund"})


@pytest.mark.parametrize("output", ["order status", "Order Status", "order-status", "ORDER_STATUS."])
def test_label_accuracy_spaces_and_hyphens_are_underscores(output):
    assert label_accuracy(output, "order_status", LABELS).score == 1.0


def test_label_accuracy_wrong_known_label():
    result = label_accuracy("billing", "refund", LABELS)
    assert (result.score, result.details) == (0.0, {"label": "billing", "expected": "refund"})


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        ("returns", "returns"),
        ("refund: the customer wants their money back", "refund:_the_customer_wants_their_money_back"),
        ("", ""),
    ],
)
def test_label_accuracy_unknown_label_scores_zero_and_says_so(output, shown):
    result = label_accuracy(output, "refund", LABELS)
    assert result.score == 0.0
    assert result.details == {"error": f"'{shown}' is not a known label", "label": shown, "expected": "refund"}


def test_label_accuracy_without_label_list_compares_only():
    assert label_accuracy("Returns", "returns", {}).score == 1.0
    assert label_accuracy("returns", "refund", {}).details == {"label": "returns", "expected": "refund"}


def test_label_accuracy_truncates_long_unknown_labels():
    result = label_accuracy("x" * 100, "refund", LABELS)
    assert result.details["label"] == "x" * 57 + "..."
