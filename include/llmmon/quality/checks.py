"""Deterministic, cheap quality checks on every span — not only the judged sample — per window and slice.

Per span: error (status), and for answered spans: empty answer, truncated answer (finish reason ``length``),
refusal (a maintained pattern list), JSON validity and schema conformance for templates that promise structured
output, and, where ground truth arrived (``llm_spans.reference`` or a feedback table joined by span id), whether
the answer is correct. Counts and rates go to ``traffic_quality`` per window and slice (endpoint, model_version,
prompt_template, user_segment); the alert series in :mod:`llmmon.alerts.series` read them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from llmmon.quality.windows import windows_in
from llmmon.quality_config import AccuracyRule, QualityConfig

if TYPE_CHECKING:
    from llmmon.config import Settings
    from llmmon.warehouse import Warehouse

log = logging.getLogger("llmmon.quality")

SLICE_COLUMNS = ("endpoint", "model_version", "prompt_template", "user_segment")
SliceKey = tuple[str, str, str, str]

_TRUE = {"true", "1", "yes", "y", "up", "thumbs_up", "correct", "right", "good", "+1"}
_FALSE = {"false", "0", "no", "n", "down", "thumbs_down", "incorrect", "wrong", "bad", "-1"}


def feedback_correct(value: Any) -> bool | None:
    """A feedback value read as "the answer was correct": booleans, 1/0, and words such as up/down, yes/no,
    correct/incorrect (case-insensitive). None when the value says neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {1: True, 0: False, -1: False}.get(value)
    if isinstance(value, str):
        v = value.strip().lower()
        return True if v in _TRUE else False if v in _FALSE else None
    return None


@dataclass(frozen=True)
class SpanCheck:
    """The outcome of every check on one span. Answer checks are False for spans that ended in an error."""

    error: bool = False
    empty: bool = False
    truncated: bool = False
    refusal: bool = False
    structured: bool = False
    json_invalid: bool = False
    schema_invalid: bool = False
    labelled: bool = False
    correct: bool = False


class SpanChecker:
    """The checks of one :class:`QualityConfig`, compiled once: patterns, schema validators, accuracy scorers."""

    def __init__(self, config: QualityConfig) -> None:
        # The golden-set scorers' parser: the same fence tolerance on both sides.
        from llmmon.scoring.normalize import parse_json_output

        self.config = config
        self._parse_json = parse_json_output
        patterns = config.refusal_patterns
        self._refusal = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None
        self._truncation = {r.lower() for r in config.truncation_finish_reasons}
        self._validators: dict[str, Any] = {}
        for template, promise in config.structured_templates.items():
            if isinstance(promise, dict):
                from jsonschema.validators import validator_for

                self._validators[template] = validator_for(promise)(promise)
            else:
                self._validators[template] = None  # "json": valid JSON is the whole promise

    # -- single checks -------------------------------------------------------------------------------------------

    def is_refusal(self, text: str) -> bool:
        """Whether the start of ``text`` (``refusal_scan_chars``) matches a refusal pattern."""
        return self._refusal is not None and self._refusal.search(text[: self.config.refusal_scan_chars]) is not None

    def structured(self, template: str, text: str) -> tuple[bool, bool]:
        """``(json_invalid, schema_invalid)`` of an answer to a structured template (a ```json fence is tolerated,
        as the golden-set scorers do)."""
        value, error = self._parse_json(text)
        if error is not None:
            return True, False
        validator = self._validators.get(template)
        if validator is None:
            return False, False
        return False, next(iter(validator.iter_errors(value)), None) is not None

    def is_correct(self, template: str, completion: str, reference: str) -> bool | None:
        """Whether ``completion`` matches the ground truth ``reference`` by the template's accuracy rule; None when
        the reference cannot be used with the rule's scorer (an object scorer given text that is not JSON)."""
        from llmmon.scoring import get_scorer

        rule: AccuracyRule = self.config.accuracy.get(template, self.config.default_accuracy)
        spec = get_scorer(rule.scorer)
        ref: Any = reference
        if "string" not in spec.reference_kinds:
            try:
                ref = json.loads(reference)
            except (TypeError, ValueError):
                return None
        try:
            score = float(spec(completion, ref, rule.params).score)
        except Exception:  # noqa: BLE001 — a scorer bug on one answer must not sink the window; count it wrong
            log.exception("accuracy scorer %s failed on one span of template %s", rule.scorer, template)
            return False
        return score >= rule.threshold - 1e-9

    # -- one span ------------------------------------------------------------------------------------------------

    def check(self, span: Mapping[str, Any], feedback: Sequence[Any] = ()) -> SpanCheck:
        """Every check on one span (an ``llm_spans`` row); ``feedback`` are its feedback-table values, if any."""
        if span.get("status") == "error":
            return SpanCheck(error=True)
        text = span.get("completion") or ""
        template = span.get("prompt_template") or ""
        empty = not text.strip()
        finish = span.get("finish_reason")
        truncated = finish is not None and str(finish).lower() in self._truncation
        refusal = not empty and self.is_refusal(text)
        structured = template in self._validators
        json_invalid, schema_invalid = self.structured(template, text) if structured else (False, False)
        correct = self._correct(span, template, text, feedback)
        return SpanCheck(
            empty=empty, truncated=truncated, refusal=refusal, structured=structured, json_invalid=json_invalid,
            schema_invalid=schema_invalid, labelled=correct is not None, correct=bool(correct),
        )

    def _correct(self, span: Mapping[str, Any], template: str, text: str, feedback: Sequence[Any]) -> bool | None:
        reference = span.get("reference")
        if reference is not None:  # ground truth on the span itself wins over feedback
            return self.is_correct(template, text, str(reference))
        source = self.config.feedback
        if not feedback or source is None:
            return None
        if source.kind == "correct":
            votes = [v for v in (feedback_correct(x) for x in feedback) if v is not None]
            return min(votes) if votes else None  # any "wrong" wins
        return self.is_correct(template, text, max(str(x) for x in feedback))


# -- per slice --------------------------------------------------------------------------------------------------


@dataclass
class SliceCounts:
    """Counts of one slice in one window; :meth:`rates` divides them."""

    n: int = 0
    n_ok: int = 0
    n_errors: int = 0
    n_empty: int = 0
    n_truncated: int = 0
    n_refusals: int = 0
    n_structured: int = 0
    n_json_invalid: int = 0
    n_schema_invalid: int = 0
    n_labelled: int = 0
    n_correct: int = 0

    def add(self, c: SpanCheck) -> None:
        self.n += 1
        self.n_errors += c.error
        self.n_ok += not c.error
        self.n_empty += c.empty
        self.n_truncated += c.truncated
        self.n_refusals += c.refusal
        self.n_structured += c.structured
        self.n_json_invalid += c.json_invalid
        self.n_schema_invalid += c.schema_invalid
        self.n_labelled += c.labelled
        self.n_correct += c.correct

    def rates(self) -> dict[str, float | None]:
        def ratio(a: int, b: int) -> float | None:
            return a / b if b else None

        return {
            "error_rate": ratio(self.n_errors, self.n),
            "empty_rate": ratio(self.n_empty, self.n_ok),
            "truncated_rate": ratio(self.n_truncated, self.n_ok),
            "refusal_rate": ratio(self.n_refusals, self.n_ok),
            "json_invalid_rate": ratio(self.n_json_invalid, self.n_structured),
            "schema_invalid_rate": ratio(self.n_schema_invalid, self.n_structured),
            "accuracy": ratio(self.n_correct, self.n_labelled),
        }


COUNT_COLUMNS = tuple(f.name for f in fields(SliceCounts))


def slice_key(span: Mapping[str, Any]) -> SliceKey:
    """The slice of a span; a missing value is the empty string (it is part of the table's key)."""
    get = span.get
    return (get("endpoint") or "", get("model_version") or "", get("prompt_template") or "",
            get("user_segment") or "")


def aggregate(
    checker: SpanChecker,
    spans: Iterable[Mapping[str, Any]],
    feedback: Mapping[tuple[str | None, str], Sequence[Any]] | None = None,
    *,
    feedback_by_trace: bool = False,
) -> dict[SliceKey, SliceCounts]:
    """Check every span and count per slice. ``feedback`` maps ``(trace_id or None, span_id)`` to feedback values."""
    out: dict[SliceKey, SliceCounts] = {}
    for span in spans:
        values: Sequence[Any] = ()
        if feedback:
            values = feedback.get((span.get("trace_id") if feedback_by_trace else None, span.get("span_id")), ())
        key = slice_key(span)
        counts = out.get(key)
        if counts is None:
            counts = out[key] = SliceCounts()
        counts.add(checker.check(span, values))
    return out


def window_rows(
    window_start: dt.datetime,
    window_end: dt.datetime,
    counts: Mapping[SliceKey, SliceCounts],
    reference: Mapping[tuple[str, str, str], tuple[int, int]],
    config: QualityConfig,
    computed_at: dt.datetime,
) -> list[dict[str, Any]]:
    """``traffic_quality`` rows of one window. ``reference`` maps (endpoint, template, segment) to the reference
    period's (answered spans, refusals); a side with fewer answered spans than ``min_window_spans`` gives no
    refusal-rate increase; a slice with fewer spans (labelled spans) than the minimum is marked ``sparse``
    (``sparse_labels``), which the alert series read as no data."""
    rows = []
    for key in sorted(counts):
        c = counts[key]
        rates = c.rates()
        ref_ok, ref_refusals = reference.get((key[0], key[2], key[3]), (0, 0))
        ref_rate = ref_refusals / ref_ok if ref_ok else None
        increase = None
        if c.n_ok >= config.min_window_spans and ref_ok >= config.min_window_spans:
            increase = rates["refusal_rate"] - ref_rate
        rows.append({
            "window_start": window_start, "window_end": window_end, **dict(zip(SLICE_COLUMNS, key, strict=True)),
            **asdict(c), **rates, "ref_n_ok": ref_ok, "ref_refusal_rate": ref_rate,
            "refusal_rate_increase": increase, "sparse": c.n < config.min_window_spans, "sparse_labels": c.n_labelled < config.min_labelled,
            "computed_at": computed_at,
        })
    return rows


def run_quality_checks(
    settings: Settings, warehouse: Warehouse, *, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """Compute and store the checks of every complete window between ``start`` and ``end`` (a DAG run's data
    interval; see :func:`~llmmon.quality.windows.windows_in`). Each window is replaced in its own transaction, so a
    rerun, or a later run after late spans arrived, converges. Returns a summary for the task log."""
    from llmmon.warehouse.quality_store import (
        feedback_values,
        iter_spans,
        refusal_reference,
        replace_quality_windows,
    )

    cfg = settings.quality
    checker = SpanChecker(cfg)
    reference_period = dt.timedelta(days=cfg.shift.reference_days)
    summary: dict[str, Any] = {"windows": [], "spans": 0, "slices": 0}
    for ws, we in windows_in(start, end, cfg.window):
        feedback = feedback_values(warehouse, cfg.feedback, ws, we) if cfg.feedback else None
        by_trace = bool(cfg.feedback and cfg.feedback.trace_id_column)
        counts = aggregate(checker, iter_spans(warehouse, ws, we), feedback, feedback_by_trace=by_trace)
        reference = refusal_reference(warehouse, start=ws - reference_period, end=ws)
        rows = window_rows(ws, we, counts, reference, cfg, dt.datetime.now(dt.UTC))
        replace_quality_windows(warehouse, [ws], rows)
        n = sum(c.n for c in counts.values())
        log.info("quality window %s..%s: %d spans in %d slices", ws.isoformat(), we.isoformat(), n, len(rows))
        summary["windows"].append(ws.isoformat())
        summary["spans"] += n
        summary["slices"] += len(rows)
    return summary
