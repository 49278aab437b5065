"""Pattern scorers for short answers: ``contains`` (acceptable phrasings) and ``regex``."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from llmmon.scoring.normalize import normalize_text
from llmmon.scoring.registry import ScoreResult, register_scorer


def _check_any_of(params: dict[str, Any]) -> list[str]:
    any_of = params.get("any_of", [])
    if not isinstance(any_of, list) or not all(isinstance(x, str) and normalize_text(x) for x in any_of):
        return ["params.any_of must be a list of non-empty strings"]
    return []


def _contains_phrase(text: str, phrase: str) -> bool:
    # Whole words only: "30 days" is not in "130 days", "one" is not in "someone".
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


@register_scorer("contains", params=("any_of",), params_check=_check_any_of)
def contains(output: str | None, reference: Any, params: dict[str, Any]) -> ScoreResult:
    """1 when the normalised output contains the reference, or one of ``params.any_of``, as whole words.

    Normalisation is :func:`normalize_text` on both sides (NFKC, case, whitespace; edge punctuation of each
    needle). The reference itself is always an accepted phrase; ``any_of`` adds other phrasings
    (``"1 hour"``, ``"60 minutes"``). The check is lenient by design: an answer that names the right value
    and a wrong one passes, so use it where that is unlikely.
    """
    text = normalize_text(output or "")
    needles = [normalize_text(str(reference))] + [normalize_text(x) for x in params.get("any_of", [])]
    for needle in needles:
        if needle and _contains_phrase(text, needle):
            return ScoreResult(1.0, details={"matched": needle})
    return ScoreResult(0.0, details={"error": "no accepted phrase found", "accepted": needles})


def _check_pattern(params: dict[str, Any]) -> list[str]:
    problems = []
    if not isinstance(params.get("pattern"), str):
        problems.append("params.pattern must be a string")
    else:
        try:
            re.compile(params["pattern"])
        except re.error as exc:
            problems.append(f"params.pattern does not compile: {exc}")
    if params.get("mode", "search") not in ("search", "full"):
        problems.append("params.mode must be 'search' or 'full'")
    if not isinstance(params.get("ignore_case", True), bool):
        problems.append("params.ignore_case must be true or false")
    return problems


@register_scorer(
    "regex", params=("pattern", "mode", "ignore_case"), required_params=("pattern",), params_check=_check_pattern
)
def regex(output: str | None, reference: Any, params: dict[str, Any]) -> ScoreResult:
    """1 when ``params.pattern`` matches the output (NFKC, surrounding whitespace stripped), else 0.

    ``params.mode``: ``"search"`` (default, anywhere) or ``"full"`` (the whole output). ``params.ignore_case``
    defaults to true. The reference is not used, but a golden case's own reference must match its pattern.
    """
    text = unicodedata.normalize("NFKC", output or "").strip()
    flags = re.IGNORECASE if params.get("ignore_case", True) else 0
    pattern = re.compile(params["pattern"], flags)
    match = pattern.fullmatch(text) if params.get("mode", "search") == "full" else pattern.search(text)
    if match is None:
        return ScoreResult(0.0, details={"error": "pattern did not match", "pattern": params["pattern"]})
    return ScoreResult(1.0, details={"matched": match.group(0)[:200]})
