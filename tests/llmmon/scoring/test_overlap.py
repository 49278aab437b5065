"""token_f1 (SQuAD-style)."""

from __future__ import annotations

import pytest

from llmmon.scoring import get_scorer
from llmmon.scoring.overlap import squad_tokens

token_f1 = get_scorer("token_f1")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("The next business day.", ["next", "business", "day"]),
        ("An authenticator app, or SMS!", ["authenticator", "app", "or", "sms"]),
        ("5-7 days", ["57", "days"]),  # punctuation is deleted, as in SQuAD
        ("\u201cMy orders\u201d", ["my", "orders"]),  # Unicode quotes too
        ("Specs & manuals", ["specs", "manuals"]),
        ("theater", ["theater"]),  # articles only as whole words
        ("", []),
    ],
)
def test_squad_tokens(text, tokens):
    assert squad_tokens(text) == tokens


@pytest.mark.parametrize(
    ("output", "reference", "f1"),
    [
        ("the next business day", "the next business day", 1.0),
        ("Next business day.", "the next business day", 1.0),
        # pred [when, your, order, ships], ref [when, order, ships]: P 3/4, R 1 -> 6/7
        ("When your order ships", "when the order ships", 6 / 7),
        # pred [store, credit], ref [as, store, credit]: P 1, R 2/3 -> 0.8
        ("Store credit", "as store credit", 0.8),
        ("refund or reship it", "reship or refund it", 1.0),  # bag of words
        ("Chrome", "Chrome, Firefox, Safari and Edge", 2 * (1 * 0.2) / 1.2),  # P 1, R 1/5
        ("Firefox", "Chrome", 0.0),
        # repeated tokens count once per occurrence: pred [no, no, no], ref [no]: P 1/3, R 1 -> 0.5
        ("no no no", "no", 0.5),
        ("", "30 days", 0.0),
        ("The", "a", 1.0),  # both empty after normalisation
        ("the", "30 days", 0.0),
    ],
)
def test_token_f1(output, reference, f1):
    assert token_f1(output, reference, {}).score == pytest.approx(f1)


def test_token_f1_details():
    assert token_f1("Store credit", "as store credit", {}).details == {
        "precision": 1.0, "recall": pytest.approx(2 / 3), "f1": pytest.approx(0.8)
    }
