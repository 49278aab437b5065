"""``token_f1``: SQuAD-style token overlap for free-text short answers.

Rajpurkar et al., "SQuAD: 100,000+ Questions for Machine Comprehension of Text", EMNLP 2016; the normalisation
follows the official SQuAD v1.1 evaluation script (lower case, drop punctuation and the articles a/an/the).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from typing import Any

from llmmon.scoring.registry import ScoreResult, register_scorer

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCT = frozenset(string.punctuation)


def squad_tokens(text: str) -> list[str]:
    """Tokens after SQuAD normalisation (plus NFKC and Unicode punctuation): ``"The 5-7 days."`` -> ["57", "days"].

    Punctuation is deleted, not replaced by a space, as in SQuAD: "5-7" becomes "57", "e-mail" becomes "email".
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(
        ch for ch in text if ch not in _ASCII_PUNCT and not unicodedata.category(ch).startswith("P")
    )
    return _ARTICLES.sub(" ", text).split()


@register_scorer("token_f1")
def token_f1(output: str | None, reference: Any, params: dict[str, Any]) -> ScoreResult:
    """F1 of the bag of SQuAD-normalised tokens of output and reference.

    Both empty after normalisation: 1; exactly one empty: 0. Repeated tokens count as often as they occur in
    both (Counter intersection). Word order is ignored: "refund or reship" equals "reship or refund".
    """
    got, want = squad_tokens(output or ""), squad_tokens(str(reference))
    if not got or not want:
        score = 1.0 if got == want else 0.0
        return ScoreResult(score, details={"precision": score, "recall": score, "f1": score})
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return ScoreResult(0.0, details={"precision": 0.0, "recall": 0.0, "f1": 0.0})
    precision, recall = common / len(got), common / len(want)
    f1 = 2 * precision * recall / (precision + recall)
    return ScoreResult(f1, details={"precision": precision, "recall": recall, "f1": f1})
