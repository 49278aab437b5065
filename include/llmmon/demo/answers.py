"""Answer planning for the demo server: the golden answer for known prompts, degraded per model version.

At startup every case of ``<golden_sets_dir>/*/cases.jsonl`` is indexed by its input, and the answer each
model gives to it is decided once. Whether a case is answered wrong depends only on (seed, model, case
input), never on request order. A wrong answer is plausible for its task type: another intent label for
classification, one field altered or dropped for extraction, a decisive field changed or a required field
missing for structured output, another policy's answer for qa.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmmon.demo.hashing import stable_index, stable_unit
from llmmon.demo.profiles import ModelProfile
from llmmon.demo.tokens import count_tokens, split_pieces
from llmmon.errors import GoldenSetError

TASK_TYPES: tuple[str, ...] = ("classification", "extraction", "structured", "qa")
# Used only when a suite has fewer than two classification labels to swap between.
FALLBACK_LABELS: tuple[str, ...] = (
    "order_status",
    "refund",
    "billing",
    "shipping",
    "account_access",
    "technical_issue",
    "product_info",
    "cancellation",
)
GENERIC_REPLIES: tuple[str, ...] = (
    "Thanks for reaching out! Could you share a few more details, such as your order number, "
    "so I can help you further?",
    "Happy to help. Please tell me a little more about what you need and I will point you in the "
    "right direction.",
    "I can help with orders, refunds, billing, shipping, account access and technical issues. "
    "What would you like to do?",
)
_UNSURE_REPLY = "I'm not sure about that; please contact our support team."
_WORD = re.compile(r"\w+")
_DROP = object()  # _altered() result: the value cannot be altered in place, drop the field instead


@dataclass(frozen=True, slots=True)
class GoldenCase:
    """The parts of a golden case the demo server needs."""

    suite: str
    case_id: str
    intent: str
    task_type: str
    input: str
    reference: str | dict[str, Any]


@dataclass(frozen=True, slots=True)
class PlannedAnswer:
    """What a model answers to one prompt. ``correct`` is None for prompts outside the golden sets."""

    text: str
    pieces: tuple[str, ...]
    completion_tokens: int
    correct: bool | None = None
    case_id: str | None = None
    degradation: str | None = None  # e.g. "label", "missing:order_id", "changed:priority", "answer"

    @classmethod
    def of(cls, text: str, **kwargs: Any) -> PlannedAnswer:
        return cls(text=text, pieces=split_pieces(text), completion_tokens=count_tokens(text), **kwargs)


def render_reference(reference: str | dict[str, Any]) -> str:
    """The expected answer text for a reference (the golden set contract): the string, or sorted-key JSON."""
    return reference if isinstance(reference, str) else json.dumps(reference, sort_keys=True)


def _fail(
    path: Path, lineno: int, field_name: str | None, rule: str, case_id: str | None = None
) -> GoldenSetError:
    where = f"{path}:{lineno}" + (f" (id {case_id})" if case_id else "")
    what = f"field '{field_name}': {rule}" if field_name else rule
    problem = {"file": str(path), "line": lineno, "id": case_id, "field": field_name, "rule": rule}
    return GoldenSetError(f"{where}: {what}", [problem])


def _case_from_row(row: object, path: Path, lineno: int, suite: str) -> GoldenCase:
    if not isinstance(row, dict):
        raise _fail(path, lineno, None, "each line must be a JSON object")
    case_id = row.get("id")
    if case_id is not None and not isinstance(case_id, str):
        raise _fail(path, lineno, "id", "must be a string")
    case_id = case_id or f"{suite}:{lineno}"
    text = row.get("input")
    if not isinstance(text, str) or not text.strip():
        raise _fail(path, lineno, "input", "must be a non-empty string", case_id)
    reference = row.get("reference")
    if not isinstance(reference, str | dict):
        raise _fail(path, lineno, "reference", "must be a string or an object", case_id)
    task_type = row.get("task_type")
    if task_type not in TASK_TYPES:
        raise _fail(path, lineno, "task_type", f"must be one of {', '.join(TASK_TYPES)}", case_id)
    intent = row.get("intent", "")
    if not isinstance(intent, str):
        raise _fail(path, lineno, "intent", "must be a string", case_id)
    return GoldenCase(suite, case_id, intent, task_type, text, reference)


def load_golden_cases(golden_sets_dir: Path) -> list[GoldenCase]:
    """Every case of ``golden_sets_dir/*/cases.jsonl``, suites in name order.

    Only what the server needs is checked (full validation is the golden set loader's job), but a line it
    cannot use raises GoldenSetError naming file, line, field and rule.
    """
    cases: list[GoldenCase] = []
    for path in sorted(Path(golden_sets_dir).glob("*/cases.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise _fail(
                        path, lineno, None, f"not valid JSON ({exc.msg} at column {exc.colno})"
                    ) from None
                cases.append(_case_from_row(row, path, lineno, path.parent.name))
    return cases


def _norm(value: object) -> str:
    return " ".join(str(value).lower().split())


def _overlap(a: str, b: str) -> float:
    """Jaccard overlap of the lowercase word sets (a wrong qa answer must not pass a fuzzy scorer)."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    return len(wa & wb) / len(wa | wb) if wa | wb else 1.0


@dataclass
class _SuiteCatalog:
    """Material for plausible wrong answers, gathered from one suite's references."""

    labels: list[str] = field(default_factory=list)
    qa_answers: list[str] = field(default_factory=list)
    field_values: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, cases: Iterable[GoldenCase]) -> _SuiteCatalog:
        labels: set[str] = set()
        answers: set[str] = set()
        values: dict[tuple[str, str], set[str]] = {}
        for case in cases:
            ref = case.reference
            if isinstance(ref, dict):
                for key, value in ref.items():
                    if isinstance(value, str):
                        values.setdefault((case.task_type, key), set()).add(value)
            elif case.task_type == "classification":
                labels.add(ref)
            elif case.task_type == "qa":
                answers.add(ref)
        return cls(sorted(labels), sorted(answers), {k: sorted(v) for k, v in values.items()})


def _altered(value: Any, alternatives: list[str], pick: Callable[[int], int]) -> Any:
    """A plausible wrong value of the same kind, or _DROP when there is none."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return round(value * 1.5 + 1.0, 2)
    if value is None:
        return "unknown"
    if not isinstance(value, str):
        return _DROP
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    if digits:  # a misread identifier or amount: bump the last digit
        i = digits[-1]
        return value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1 :]
    others = [a for a in alternatives if _norm(a) != _norm(value)]
    if others:
        return others[pick(len(others))]
    return "n/a" if _norm(value) == "unknown" else "unknown"


class AnswerPlanner:
    """Decides, once per (model, case), what each model answers; ``plan`` is a dictionary lookup."""

    def __init__(self, cases: Iterable[GoldenCase], models: Iterable[ModelProfile], seed: int) -> None:
        self.seed = seed
        self._cases: dict[str, GoldenCase] = {}
        for case in cases:
            # First occurrence wins: the golden set loader reports duplicates, the server just serves.
            self._cases.setdefault(case.input.strip(), case)
        by_suite: dict[str, list[GoldenCase]] = {}
        for case in self._cases.values():
            by_suite.setdefault(case.suite, []).append(case)
        catalogs = {suite: _SuiteCatalog.build(items) for suite, items in by_suite.items()}
        self._answers: dict[str, dict[str, PlannedAnswer]] = {}
        for profile in models:
            self._answers[profile.name] = {
                key: self._decide(profile, case, catalogs[case.suite]) for key, case in self._cases.items()
            }
        self._generic = tuple(PlannedAnswer.of(text) for text in GENERIC_REPLIES)

    def __len__(self) -> int:
        return len(self._cases)

    def case_for(self, prompt: str) -> GoldenCase | None:
        """The golden case whose input is ``prompt`` (surrounding whitespace ignored), if any."""
        return self._cases.get(prompt.strip())

    def plan(self, model: str, prompt: str) -> PlannedAnswer:
        """The answer ``model`` gives to ``prompt`` (the last user message); KeyError for unknown models."""
        answers = self._answers[model]
        found = answers.get(prompt.strip())
        if found is not None:
            return found
        return self._generic[stable_index(len(self._generic), self.seed, "generic", prompt)]

    def _decide(self, profile: ModelProfile, case: GoldenCase, catalog: _SuiteCatalog) -> PlannedAnswer:
        mode = None
        rate = max(profile.wrong_rate, profile.intent_wrong_rates.get(case.intent, 0.0))
        if stable_unit(self.seed, profile.name, "wrong", case.input) < rate:
            mode = "wrong"
        elif case.task_type == "structured" and isinstance(case.reference, dict) and case.reference:
            if stable_unit(self.seed, profile.name, "missing", case.input) < profile.missing_field_rate:
                mode = "missing"
        if mode is None:
            return PlannedAnswer.of(render_reference(case.reference), correct=True, case_id=case.case_id)
        text, degradation = self._wrong(profile.name, case, catalog, mode)
        return PlannedAnswer.of(text, correct=False, case_id=case.case_id, degradation=degradation)

    def _wrong(self, model: str, case: GoldenCase, catalog: _SuiteCatalog, mode: str) -> tuple[str, str]:
        def pick(n: int, what: str) -> int:
            return stable_index(n, self.seed, model, what, case.input)

        ref = case.reference
        if isinstance(ref, dict):
            return self._wrong_object(case, ref, catalog, mode, pick)
        if case.task_type == "classification":
            labels = [label for label in catalog.labels if label != ref]
            if not labels:
                labels = [label for label in FALLBACK_LABELS if label != ref]
            return labels[pick(len(labels), "label")], "label"
        others = [a for a in catalog.qa_answers if _norm(a) != _norm(ref)]
        distinct = [a for a in others if _overlap(a, ref) < 0.34] or others
        if not distinct:
            return _UNSURE_REPLY, "answer"
        return distinct[pick(len(distinct), "answer")], "answer"

    def _wrong_object(
        self,
        case: GoldenCase,
        ref: dict[str, Any],
        catalog: _SuiteCatalog,
        mode: str,
        pick: Callable[[int, str], int],
    ) -> tuple[str, str]:
        keys = sorted(ref)
        if not keys:
            return "I could not find the requested details.", "unparsable"
        drop = mode == "missing" or (len(keys) > 1 and pick(2, "drop") == 0)
        if not drop:
            # Changing free text (a summary) is not a wrong answer a scorer can see: change a decisive field.
            decisive = [k for k in keys if not (isinstance(ref[k], str) and len(ref[k].split()) > 4)]
            keys = decisive or keys
        key = keys[pick(len(keys), "field")]
        out = dict(ref)
        if not drop:
            alternatives = catalog.field_values.get((case.task_type, key), [])
            new_value = _altered(ref[key], alternatives, lambda n: pick(n, "value"))
            if new_value is not _DROP:
                out[key] = new_value
                return json.dumps(out, sort_keys=True), f"changed:{key}"
        del out[key]
        return json.dumps(out, sort_keys=True), f"missing:{key}"
