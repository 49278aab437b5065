"""Scorers for golden-set outputs, by name, and :func:`score_case` that applies a suite's pass threshold.

Registered scorers (one module per family): ``exact_match`` and ``label_accuracy`` (:mod:`.labels`),
``json_fields`` and ``json_schema`` (:mod:`.json_output`), ``numeric_tolerance`` (:mod:`.numeric`), ``regex``
and ``contains`` (:mod:`.patterns`), ``token_f1`` (:mod:`.overlap`), and ``llm_judge_correctness``
(:mod:`llmmon.judge.scorer`: the project's LLM judge against the golden reference). Each is documented, with its edge cases,
in ``docs/golden-sets.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmmon.errors import GoldenSetError
from llmmon.judge import scorer as _judge_scorer  # noqa: F401, E402  (registers llm_judge_correctness)
from llmmon.scoring import json_output, labels, numeric, overlap, patterns  # noqa: F401  (they register)
from llmmon.scoring.registry import (
    SCORERS,
    ScoreResult,
    ScorerSpec,
    UnknownScorerError,
    check_scorer_params,
    get_scorer,
    reference_kind,
    register_scorer,
)

if TYPE_CHECKING:
    from llmmon.golden import GoldenCase, GoldenSuite

__all__ = [
    "SCORERS",
    "ScoreResult",
    "ScorerSpec",
    "UnknownScorerError",
    "check_scorer_params",
    "get_scorer",
    "reference_kind",
    "register_scorer",
    "score_case",
]

# Scores are ratios of small integers (F1 of 4 fields...): 0.8 may arrive as 0.7999999999999999.
_THRESHOLD_SLACK = 1e-9


def score_case(suite: GoldenSuite, case: GoldenCase, output: str | None) -> ScoreResult:
    """Score ``output`` for ``case`` with its scorer and decide pass/fail against its task type's threshold.

    The scorer and params come from :meth:`GoldenSuite.scorer_for` (the case's override, else its task type's).
    A missing output (None: the call failed) scores 0 and fails. A scorer that raises on an output is a bug, but
    one bad item must not sink a run: it scores 0, fails, and ``details["error"]`` records the exception.
    Raises :class:`GoldenSetError` for a case whose task type or scorer is unknown (validation catches both).
    """
    spec = suite.task_types.get(case.task_type)
    if spec is None:
        raise GoldenSetError(
            f"{suite.cases_path}: example {case.id} (line {case.line}): field 'task_type': "
            f"'{case.task_type}' is not a task type of suite '{suite.name}'"
        )
    name, params = suite.scorer_for(case)
    try:
        scorer = get_scorer(name)
    except UnknownScorerError as exc:
        raise GoldenSetError(f"{suite.cases_path}: example {case.id} (line {case.line}): field 'scorer': {exc}") from None
    if output is None:
        return ScoreResult(0.0, False, {"error": "no output"}, scorer=name)
    try:
        result = scorer(output, case.reference, params)
    except Exception as exc:  # noqa: BLE001 — recorded per item, see docstring
        return ScoreResult(0.0, False, {"error": f"scorer {name} failed: {type(exc).__name__}: {exc}"}, scorer=name)
    score = min(1.0, max(0.0, float(result.score)))
    return ScoreResult(score, score >= spec.threshold - _THRESHOLD_SLACK, result.details, scorer=name)
