"""Configuration of all-traffic quality checks and judge-score shift detection (issue 4): ``settings.quality``.

Every field has a default, so the embedded defaults load without a ``quality:`` section. See docs/quality.md.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

# Refusal phrasings, matched case-insensitively at the start of an answer (see ``QualityConfig.refusal_scan_chars``).
# Maintained list: add a phrasing when a model's refusals slip through; each is a regular expression.
DEFAULT_REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\bI(?:'m| am) (?:sorry|afraid),? (?:but )?I (?:can(?:'|no)?t|cannot|am unable to|am not able to|won't)\b",
    r"\bI(?:'m| am) (?:unable|not able) to (?:help|assist|comply|provide|answer|do that|fulfil|fulfill)\b",
    r"\bI can(?:'|no)?t (?:help|assist) (?:you )?with (?:that|this)\b",
    r"\bI (?:can(?:'|no)?t|cannot|won't|will not) (?:comply|provide (?:that|this)|fulfil|fulfill)\b",
    r"\bI must (?:decline|refuse)\b",
    r"\bI(?:'m| am) not (?:allowed|permitted|able) to (?:share|discuss|provide|help)\b",
    r"\bas an AI(?: language model)?,? I\b",
    r"\b(?:against|violates?) (?:my|our|the) (?:usage |content )?(?:policy|policies|guidelines)\b",
    r"\bI(?:'m| am) sorry,? but (?:that|this) (?:request )?is not something I can\b",
)


def _duration(value: object) -> dt.timedelta:
    from llmmon.config import parse_duration  # llmmon.config imports this module: import at validation time

    return parse_duration(value)


Window = Annotated[dt.timedelta, BeforeValidator(_duration)]
Rate = Annotated[float, Field(gt=0.0, lt=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccuracyRule(_Strict):
    """How a completion is compared with its ground truth: a golden-set scorer and the score that counts as correct.

    ``scorer`` is any registered scorer (``exact_match``, ``contains``, ``json_fields``...; docs/golden-sets.md).
    A scorer that takes an object reference gets the reference text parsed as JSON.
    """

    scorer: str = "exact_match"
    params: dict[str, Any] = {}
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0

    @model_validator(mode="after")
    def _known_scorer(self) -> AccuracyRule:
        if self.scorer == "exact_match" and not self.params:
            return self  # the default: known, and checking it would import the scorers wherever config is imported
        from llmmon.scoring import UnknownScorerError, check_scorer_params

        try:
            problems = check_scorer_params(self.scorer, self.params)
        except UnknownScorerError as exc:  # a KeyError: pydantic reports only ValueErrors with the field's path
            raise ValueError(str(exc)) from None
        if problems:
            raise ValueError("; ".join(problems))
        return self


class FeedbackSource(_Strict):
    """A table in the warehouse database where ground truth arrives later, joined to spans by span id.

    ``kind: correct`` — ``value_column`` says whether the answer was right (true/false, 1/0, up/down, yes/no,
    correct/incorrect); ``kind: reference`` — it holds the right answer, compared with the completion by the
    template's accuracy rule. Several rows for one span: ``correct`` takes the lowest (any "wrong" wins),
    ``reference`` the greatest value (deterministic). ``table`` may be schema-qualified (``feedback.labels``).
    """

    table: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")]
    span_id_column: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "span_id"
    trace_id_column: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    value_column: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "correct"
    kind: Literal["correct", "reference"] = "correct"


class ShiftConfig(_Strict):
    """Judge-score shift detection: each stratum's scores in a window against the same stratum's reference window.

    ``test``: ``mann_whitney`` (rank test, robust to the ties of a 1-5 scale; the default), ``ks`` (two-sample
    Kolmogorov-Smirnov, any change of shape; conservative on discrete scores) or ``permutation`` (of the mean).
    ``direction``: ``drop`` tests for lower scores only (what alerts are for); ``any`` for a change either way.
    A stratum is tested only with at least ``min_reference`` and ``min_current`` scores; it is called shifted when
    its adjusted p-value (``correction`` across the strata of one rubric in one window) is below ``alpha`` and
    the mean moved by at least ``effect_floor`` scale points.
    """

    reference_days: Annotated[int, Field(ge=1, le=90)] = 7
    min_reference: Annotated[int, Field(ge=2)] = 30
    min_current: Annotated[int, Field(ge=2)] = 20
    alpha: Rate = 0.05
    correction: Literal["holm", "bh"] = "holm"
    effect_floor: Annotated[float, Field(ge=0.0)] = 0.2
    test: Literal["mann_whitney", "ks", "permutation"] = "mann_whitney"
    direction: Literal["drop", "any"] = "drop"
    permutations: Annotated[int, Field(ge=100, le=100_000)] = 2000


class QualityConfig(_Strict):
    """Checks computed on every span, per window and slice (endpoint, model_version, prompt_template,
    user_segment), and the shift detection on judge scores.

    ``structured_templates`` maps a prompt template that promises structured output to ``"json"`` (valid JSON is
    enough) or to a JSON schema the answer must conform to. ``refusal_patterns`` (regular expressions, case
    insensitive) are searched in the first ``refusal_scan_chars`` characters of an answer. ``accuracy`` gives a
    template its own :class:`AccuracyRule`; others use ``default_accuracy``. A slice's window with fewer than
    ``min_window_spans`` answered spans (or ``min_labelled`` labelled ones, for accuracy) is stored but gives
    "no data" to alert rules: a rate over five spans is noise.
    """

    window: Window = dt.timedelta(hours=1)
    structured_templates: dict[str, Literal["json"] | dict[str, Any]] = {}
    refusal_patterns: list[str] = list(DEFAULT_REFUSAL_PATTERNS)
    refusal_scan_chars: Annotated[int, Field(ge=20)] = 400
    truncation_finish_reasons: list[str] = ["length", "max_tokens"]
    accuracy: dict[str, AccuracyRule] = {}
    default_accuracy: AccuracyRule = AccuracyRule()
    feedback: FeedbackSource | None = None
    min_window_spans: Annotated[int, Field(ge=1)] = 20
    min_labelled: Annotated[int, Field(ge=1)] = 10
    shift: ShiftConfig = ShiftConfig()

    @field_validator("window")
    @classmethod
    def _window_divides_a_day(cls, value: dt.timedelta) -> dt.timedelta:
        seconds = value.total_seconds()
        # Windows are aligned to UTC midnight, so every day has the same grid and a window is never split.
        if seconds < 60 or seconds != int(seconds) or 86400 % int(seconds):
            raise ValueError(f"window {value} must be at least 1 minute and divide a day evenly (5m, 15m, 1h, 6h, 1d)")
        return value

    @field_validator("refusal_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for i, p in enumerate(patterns):
            try:
                re.compile(p, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"refusal_patterns[{i}] {p!r} does not compile: {exc}") from None
        return patterns

    @field_validator("structured_templates")
    @classmethod
    def _schemas_valid(cls, templates: dict[str, Any]) -> dict[str, Any]:
        schemas = {k: v for k, v in templates.items() if isinstance(v, dict)}
        if schemas:
            from jsonschema.exceptions import SchemaError
            from jsonschema.validators import validator_for

            for name, schema in schemas.items():
                try:
                    validator_for(schema).check_schema(schema)
                except SchemaError as exc:
                    raise ValueError(f"template {name!r}: not a valid JSON schema: {exc.message}") from None
        return templates
