"""``numeric_tolerance``: the first number in the answer against the reference number."""

from __future__ import annotations

import math
from typing import Any

from llmmon.scoring.normalize import first_number
from llmmon.scoring.registry import ScoreResult, register_scorer


def _check_tolerances(params: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("abs_tol", "rel_tol"):
        value = params.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or math.isnan(value):
            problems.append(f"params.{key} must be a number >= 0")
    return problems


@register_scorer(
    "numeric_tolerance", reference_kinds=("string", "number"), params=("abs_tol", "rel_tol"), params_check=_check_tolerances
)
def numeric_tolerance(output: str | None, reference: Any, params: dict[str, Any]) -> ScoreResult:
    """1 when the first number in the output is within tolerance of the reference's number, else 0.

    Numbers may carry currency, units, thousands separators and signs: ``"$1,249.50 total"`` reads 1249.5,
    ``"5-7 days"`` reads 5, ``"30-day window"`` reads 30. Digits inside words are not numbers (``"A10293"``,
    ``"iOS16"``), and neither are number words (``"thirty"``: use ``contains`` with ``any_of`` for those).
    Within tolerance means ``|out - ref| <= max(abs_tol, rel_tol * |ref|)`` (``params.abs_tol``,
    ``params.rel_tol``, both default 0: exact equality).
    """
    want = float(reference) if isinstance(reference, int | float) else first_number(str(reference))
    if want is None:
        return ScoreResult(0.0, details={"error": f"reference {reference!r} holds no number"})
    got = first_number(output or "")
    if got is None:
        return ScoreResult(0.0, details={"error": "no number in output", "expected": want})
    abs_tol, rel_tol = float(params.get("abs_tol", 0.0)), float(params.get("rel_tol", 0.0))
    error = abs(got - want)
    # A tiny slack absorbs binary rounding (0.1 + 0.2 style); it is far below any tolerance worth setting.
    ok = error <= max(abs_tol, rel_tol * abs(want)) + 1e-9 * max(1.0, abs(want))
    return ScoreResult(1.0 if ok else 0.0, details={"got": got, "expected": want, "abs_error": error})
