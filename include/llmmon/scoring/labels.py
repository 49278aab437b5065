"""Whole-answer scorers: ``exact_match`` for short fixed answers, ``label_accuracy`` for classification."""

from __future__ import annotations

from typing import Any

from llmmon.scoring.normalize import normalize_label, normalize_text
from llmmon.scoring.registry import ScoreResult, register_scorer


def _reference_text(reference: Any) -> str:
    # A number reference (e.g. 30) compares with its plain rendering; ints stay ints ("30", not "30.0").
    return reference if isinstance(reference, str) else str(reference)


@register_scorer("exact_match", reference_kinds=("string", "number"))
def exact_match(output: str | None, reference: Any, params: dict[str, Any]) -> ScoreResult:
    """1 when output and reference are equal after normalisation (NFKC, case, whitespace, edge punctuation).

    ``'  "30 Days." '`` matches ``'30 days'``; ``'30days'`` does not (inner characters are never dropped).
    """
    got, want = normalize_text(output or ""), normalize_text(_reference_text(reference))
    if got == want:
        return ScoreResult(1.0)
    return ScoreResult(0.0, details={"normalized_output": got[:200], "normalized_reference": want})


def _check_labels(params: dict[str, Any]) -> list[str]:
    labels = params.get("labels")
    if labels is None:
        return []
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x.strip() for x in labels):
        return ["params.labels must be a non-empty list of non-empty strings"]
    normalized = [normalize_label(x) for x in labels]
    if len(set(normalized)) != len(normalized):
        return ["params.labels has labels that are equal after normalisation"]
    return []


@register_scorer("label_accuracy", params=("labels",), params_check=_check_labels)
def label_accuracy(output: str | None, reference: Any, params: dict[str, Any]) -> ScoreResult:
    """1 when the output is the reference label. Labels compare as snake_case after normalisation.

    Tolerated: case, surrounding quotes/backticks/asterisks, a trailing period, spaces or hyphens for
    underscores (``'"Order status."'`` is ``order_status``). With ``params.labels``, an output that is not one of
    the known labels scores 0 and ``details["error"]`` says so (a label plus an explanation is not a label).
    """
    got, want = normalize_label(output or ""), normalize_label(_reference_text(reference))
    labels = params.get("labels")
    if labels is not None and got not in {normalize_label(x) for x in labels}:
        shown = got if len(got) <= 60 else got[:57] + "..."
        return ScoreResult(
            0.0, details={"error": f"'{shown}' is not a known label", "label": shown, "expected": want}
        )
    if got == want:
        return ScoreResult(1.0, details={"label": got})
    return ScoreResult(0.0, details={"label": got[:60], "expected": want})
