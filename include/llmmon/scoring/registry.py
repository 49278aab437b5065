"""The scorer registry: names to functions that compare one model output with one golden reference.

A scorer has the signature ``(output, reference, params) -> ScoreResult`` and returns a score in [0, 1] plus
details that explain it. It never decides pass or fail: the caller compares the score with the task type's
threshold (:func:`llmmon.scoring.score_case`), so one scorer serves strict and lenient task types alike.
A scorer must not raise on any model output (bad output is a low score with ``details["error"]``); it may raise
``ValueError`` on bad ``params``, which golden-set validation reports beforehand through ``check_params``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmmon.errors import LlmmonError

REFERENCE_KINDS = ("string", "number", "object", "array", "boolean")


class UnknownScorerError(LlmmonError, KeyError):
    """A scorer name that is not registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


@dataclass
class ScoreResult:
    """One output scored. ``passed`` is None when a scorer returns it; :func:`score_case` fills it in."""

    score: float
    passed: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)
    scorer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"scorer": self.scorer, "score": self.score, "passed": self.passed, "details": self.details}


ScorerFn = Callable[[str | None, Any, dict[str, Any]], ScoreResult]
ParamsCheck = Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True)
class ScorerSpec:
    """A registered scorer: callable like the function it wraps, plus what it needs to work.

    ``reference_kinds``: the JSON kinds of reference it accepts ("string", "number", "object", ...).
    ``params``: the params keys it reads (any other key is a typo); ``required_params``: those that must be
    given. ``params_check``: further checks on params, returning one message per problem (empty when fine).
    """

    name: str
    fn: ScorerFn
    reference_kinds: tuple[str, ...]
    params: tuple[str, ...] = ()
    required_params: tuple[str, ...] = ()
    params_check: ParamsCheck | None = None

    def __call__(self, output: str | None, reference: Any, params: dict[str, Any] | None = None) -> ScoreResult:
        return self.fn(output, reference, params or {})

    @property
    def summary(self) -> str:
        doc = (self.fn.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


SCORERS: dict[str, ScorerSpec] = {}


def register_scorer(
    name: str,
    *,
    reference_kinds: tuple[str, ...] = ("string",),
    params: tuple[str, ...] = (),
    required_params: tuple[str, ...] = (),
    params_check: ParamsCheck | None = None,
) -> Callable[[ScorerFn], ScorerFn]:
    """Register the decorated function as scorer ``name`` (arguments: see :class:`ScorerSpec`).

    The registered function scores a missing output (None) as 0 with ``details["error"] = "no output"``, so
    scorer bodies only ever see strings; ``params`` None becomes ``{}``.
    """
    unknown = set(reference_kinds) - set(REFERENCE_KINDS)
    if unknown:
        raise ValueError(f"scorer {name!r}: unknown reference kinds {sorted(unknown)}; use {REFERENCE_KINDS}")
    if not set(required_params) <= set(params):
        raise ValueError(f"scorer {name!r}: required_params must be listed in params")

    def decorate(fn: ScorerFn) -> ScorerFn:
        if name in SCORERS:
            raise ValueError(f"scorer {name!r} is already registered (by {SCORERS[name].fn.__module__})")

        @functools.wraps(fn)
        def scorer(output: str | None, reference: Any, params: dict[str, Any] | None = None) -> ScoreResult:
            if output is None:
                return ScoreResult(0.0, None, {"error": "no output"})
            return fn(output, reference, params or {})

        SCORERS[name] = ScorerSpec(
            name, scorer, tuple(reference_kinds), tuple(params), tuple(required_params), params_check
        )
        return scorer

    return decorate


def get_scorer(name: str) -> ScorerSpec:
    """The scorer registered as ``name``; :class:`UnknownScorerError` lists the known names otherwise."""
    try:
        return SCORERS[name]
    except (KeyError, TypeError):
        raise UnknownScorerError(
            f"unknown scorer {name!r}; registered scorers: {', '.join(sorted(SCORERS))}"
        ) from None


def check_scorer_params(name: str, params: dict[str, Any] | None) -> list[str]:
    """Problems with ``params`` for scorer ``name`` (unknown or missing keys, bad values); empty when fine."""
    spec = get_scorer(name)
    params = params or {}
    known = ", ".join(spec.params) or "none"
    problems = [
        f"params.{key} is not a parameter of scorer '{name}' (its parameters: {known})"
        for key in params
        if key not in spec.params
    ]
    missing = [f"scorer '{name}' needs params.{key}" for key in spec.required_params if key not in params]
    problems += missing
    if not missing and spec.params_check is not None:
        problems.extend(spec.params_check(params))
    return problems


def reference_kind(value: Any) -> str:
    """The JSON kind of a reference value: "string", "number", "object", "array", "boolean" or "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__
