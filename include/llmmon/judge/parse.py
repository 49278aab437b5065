"""Strict parsing of judge answers: a JSON object with the rubric's fields, the score on the rubric's scale.

Strict means: the reply is one JSON object (surrounding whitespace and a single Markdown code fence are
tolerated, nothing else: no prose around it, no second object); ``score`` is an integer of the scale (a
number with a zero fraction, such as ``4.0``, counts; ``"4"`` or ``true`` does not); ``rationale`` is a
non-empty string; pairwise ``winner`` is ``"A"``, ``"B"`` or ``"tie"``. Extra keys are ignored. Anything
else raises :class:`JudgeParseError` with a short reason that the retry message shows the judge.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from llmmon.errors import LlmmonError
from llmmon.judge.rubrics import WINNERS, Rubric

_FENCE = re.compile(r"^```(?:json|JSON)?\s*\n?(.*?)\n?```$", re.S)
MAX_RATIONALE_CHARS = 4000


class JudgeParseError(LlmmonError):
    """A judge answer that is not the JSON the rubric asks for; the message says why."""


@dataclass(frozen=True)
class Judgement:
    """A parsed pointwise answer: ``score`` on the rubric's scale."""

    score: int
    rationale: str


@dataclass(frozen=True)
class Preference:
    """A parsed pairwise answer: which position won (``A``, ``B`` or ``tie``)."""

    winner: str
    rationale: str


def _object(text: str | None) -> dict:
    if text is None or not text.strip():
        raise JudgeParseError("the reply is empty")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise JudgeParseError(f"the reply is not a JSON object ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise JudgeParseError(f"the reply is JSON but not an object (got {type(value).__name__})")
    return value


def _rationale(obj: dict) -> str:
    rationale = obj.get("rationale")
    if not isinstance(rationale, str) or not rationale.strip():
        raise JudgeParseError("'rationale' is missing or not a non-empty string")
    return rationale.strip()[:MAX_RATIONALE_CHARS]


def parse_judgement(text: str | None, rubric: Rubric) -> Judgement:
    """Parse a pointwise judge answer for ``rubric``; raise JudgeParseError naming what is wrong."""
    obj = _object(text)
    if "score" not in obj:
        raise JudgeParseError("'score' is missing")
    raw = obj["score"]
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise JudgeParseError(f"'score' must be an integer, got {json.dumps(raw)}")
    if isinstance(raw, float) and not raw.is_integer():
        raise JudgeParseError(f"'score' must be an integer, got {raw}")
    score = int(raw)
    if not rubric.scale_min <= score <= rubric.scale_max:  # type: ignore[operator]
        raise JudgeParseError(f"'score' {score} is outside the scale {rubric.scale_min}..{rubric.scale_max}")
    return Judgement(score=score, rationale=_rationale(obj))


def parse_preference(text: str | None) -> Preference:
    """Parse a pairwise judge answer; raise JudgeParseError naming what is wrong."""
    obj = _object(text)
    winner = obj.get("winner")
    if winner not in WINNERS:
        raise JudgeParseError(f"'winner' must be one of \"A\", \"B\", \"tie\", got {json.dumps(winner)}")
    return Preference(winner=winner, rationale=_rationale(obj))
