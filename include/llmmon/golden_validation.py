"""Validate a loaded golden set with Great Expectations before any model call.

The cases become a pandas DataFrame (one row per case, plus derived columns such as the JSON kind of the
reference and the scorer that applies), checked by an expectation suite; the examples-per-intent rule checks a
second frame of counts. Every failed expectation row becomes a problem naming file, example id, line, field and
rule; all problems are raised together in one :class:`GoldenSetError`, so a reviewer fixes a set in one pass.
Scorer params are checked in plain Python against each scorer's own rules (see ``llmmon.scoring``).

Great Expectations costs ~6 s to import, so it is imported on first use, and its context is built once per
process.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any, NamedTuple

from llmmon.errors import GoldenSetError, LlmmonError
from llmmon.golden import CASE_FIELDS, GoldenSuite, expected_text
from llmmon.scoring import SCORERS, check_scorer_params, reference_kind, score_case

REQUIRED_FIELDS = ("id", "intent", "task_type", "input", "reference")
STRING_FIELDS = ("id", "intent", "task_type", "input")
MAX_LISTED = 100  # problems listed in the message; GoldenSetError.problems holds all of them

_KIND_WORDS = {"string": "a non-empty string", "number": "a number", "object": "a non-empty object",
               "array": "a non-empty array", "boolean": "a boolean"}

_lock = threading.Lock()
_names = itertools.count(1)


# ------------------------------------------------------------------------------------------------ the frame
def _type_name(value: Any) -> str | None:
    return None if value is None else type(value).__name__


def _kind(value: Any) -> str | None:
    kind = reference_kind(value)
    if kind == "null":
        return None
    if (kind == "string" and not value.strip()) or (kind in ("object", "array") and not value):
        return f"empty {kind}"
    return kind


def _case_rows(suite: GoldenSuite) -> list[dict[str, Any]]:
    rows = []
    for case in suite.cases:
        scorer, _ = suite.scorer_for(case)
        text_input = case.input if isinstance(case.input, str) else None
        rows.append(
            {
                "line": case.line,
                # A non-string id still names its row in messages; the type check reports it.
                "id": None if case.id is None else (case.id if isinstance(case.id, str) else repr(case.id)),
                **{f: getattr(case, f) if isinstance(getattr(case, f), str) else None for f in STRING_FIELDS[1:]},
                **{f"{f}_type": _type_name(getattr(case, f)) for f in STRING_FIELDS},
                "input_key": " ".join(text_input.split()) if text_input and text_input.strip() else None,
                "reference_present": None if case.reference is None else True,
                "reference_kind": _kind(case.reference),
                "scorer": scorer if isinstance(scorer, str) or scorer is None else repr(scorer),
                "scorer_is_override": case.scorer is not None,
                "tags_type": _tags_type(case.tags),
                "params_type": _type_name(case.params),
                "unknown_fields": ", ".join(sorted(map(str, case.extra))) or None,
            }
        )
    return rows


def _tags_type(tags: Any) -> str:
    if isinstance(tags, list):
        return "list" if all(isinstance(t, str) for t in tags) else "list with non-string items"
    return type(tags).__name__


# ------------------------------------------------------------------------------------------------ the checks
Rule = Callable[[dict[str, Any]], str | None]  # None: nothing to report for this row


class _Check(NamedTuple):
    """One per-case rule: the field it reports (or a function of the row), the rule text, the expectation."""

    name: str
    field: str | Callable[[dict[str, Any]], str]
    rule: Rule
    expectation: Any


def _checks(suite: GoldenSuite, rows: list[dict[str, Any]]) -> list[_Check]:
    """Every per-case rule, as Great Expectations expectations on the frame built by :func:`_case_rows`."""
    import great_expectations as gx

    def E(name: str, **kwargs: Any) -> Any:  # an expectation tagged with the rule it enforces
        return getattr(gx.expectations, name)(meta={"llmmon_check": kwargs.pop("check")}, **kwargs)

    lines_by = {"id": defaultdict(list), "input_key": defaultdict(list)}
    for row in rows:
        for col, by in lines_by.items():
            if row[col] is not None:
                by[row[col]].append(row["line"])

    def others(col: str) -> Rule:
        def rule(row: dict[str, Any]) -> str:
            lines = [n for n in lines_by[col][row[col]] if n != row["line"]]
            what = "id" if col == "id" else "input"
            return f"must be unique (the same {what} is on line {', '.join(map(str, lines))})"
        return rule

    intents = list(suite.intents)
    task_types = list(suite.task_types)
    pairs = [(name, kind) for name, spec in SCORERS.items() for kind in spec.reference_kinds]

    def scorer_rule(row: dict[str, Any]) -> str:
        origin = "" if row["scorer_is_override"] else f" (task type '{row['task_type']}' in {suite.suite_file})"
        return f"scorer '{row['scorer']}'{origin} is not registered; known scorers: {', '.join(sorted(SCORERS))}"

    def kind_rule(row: dict[str, Any]) -> str | None:
        if row["scorer"] not in SCORERS:
            return None  # the unknown scorer is the problem, reported by known_scorer
        kinds = " or ".join(_KIND_WORDS.get(k, k) for k in SCORERS[row["scorer"]].reference_kinds)
        return f"must be {kinds} for scorer '{row['scorer']}', got {row['reference_kind']}"

    checks: list[_Check] = []
    for f in REQUIRED_FIELDS:
        col = f"{f}_type" if f in STRING_FIELDS else "reference_present"
        checks.append(_Check(f"required_{f}", f, lambda row: "is required (missing or null)",
                             E("ExpectColumnValuesToNotBeNull", check=f"required_{f}", column=col)))
    for f in STRING_FIELDS:
        checks.append(_Check(f"string_{f}", f, lambda row, f=f: f"must be a string, got {row[f + '_type']}",
                             E("ExpectColumnValuesToBeInSet", check=f"string_{f}", column=f"{f}_type",
                               value_set=["str"])))
    checks += [
        _Check("unique_id", "id", others("id"),
               E("ExpectColumnValuesToBeUnique", check="unique_id", column="id")),
        _Check("known_intent", "intent",
               lambda row: f"'{row['intent']}' is not one of the suite's intents ({', '.join(intents)})",
               E("ExpectColumnValuesToBeInSet", check="known_intent", column="intent", value_set=intents)),
        _Check("known_task_type", "task_type",
               lambda row: f"'{row['task_type']}' is not one of the suite's task types ({', '.join(task_types)})",
               E("ExpectColumnValuesToBeInSet", check="known_task_type", column="task_type",
                 value_set=task_types)),
        _Check("input_not_blank", "input", lambda row: "must not be empty or whitespace only",
               E("ExpectColumnValuesToMatchRegex", check="input_not_blank", column="input", regex=r"\S")),
        _Check("unique_input", "input", others("input_key"),
               E("ExpectColumnValuesToBeUnique", check="unique_input", column="input_key")),
        _Check("known_scorer", "scorer", scorer_rule,
               E("ExpectColumnValuesToBeInSet", check="known_scorer", column="scorer", value_set=sorted(SCORERS))),
        _Check("reference_kind", "reference", kind_rule,
               E("ExpectColumnPairValuesToBeInSet", check="reference_kind", column_A="scorer",
                 column_B="reference_kind", value_pairs_set=pairs, ignore_row_if="either_value_is_missing")),
        _Check("tags_list", "tags", lambda row: f"must be a list of strings, got {row['tags_type']}",
               E("ExpectColumnValuesToBeInSet", check="tags_list", column="tags_type", value_set=["list"])),
        _Check("params_object", "params", lambda row: f"must be an object, got {row['params_type']}",
               E("ExpectColumnValuesToBeInSet", check="params_object", column="params_type", value_set=["dict"])),
        _Check("no_unknown_fields", lambda row: row["unknown_fields"],
               lambda row: f"unknown field (the fields are {', '.join(CASE_FIELDS)})",
               E("ExpectColumnValuesToBeNull", check="no_unknown_fields", column="unknown_fields")),
    ]
    return checks


# ------------------------------------------------------------------------------------------ Great Expectations
class _GX:
    """The per-process Great Expectations context with its two data assets (cases, intent counts)."""

    def __init__(self) -> None:
        from llmmon.ge import gx_context

        self.gx, self.context = gx_context()
        source = self.context.data_sources.add_pandas("llmmon_golden")
        self.batches = {
            name: source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(f"{name}_all")
            for name in ("cases", "intent_counts")
        }

    def run(self, asset: str, frame: Any, expectations: list[Any], index_columns: list[str]) -> list[Any]:
        """Validate ``frame`` against ``expectations``; return the expectation results (in order)."""
        n = next(_names)
        suite = self.context.suites.add(self.gx.ExpectationSuite(name=f"golden_{asset}_{n}"))
        for expectation in expectations:
            suite.add_expectation(expectation)
        definition = self.context.validation_definitions.add(
            self.gx.ValidationDefinition(name=f"golden_{asset}_{n}", data=self.batches[asset], suite=suite)
        )
        try:
            result = definition.run(
                batch_parameters={"dataframe": frame},
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index_columns},
            )
        finally:
            self.context.validation_definitions.delete(definition.name)
            self.context.suites.delete(suite.name)
        by_id = {r.expectation_config.id: r for r in result.results}
        ordered = [by_id[e.id] for e in suite.expectations]
        for r in ordered:
            info = r.exception_info or {}
            if info.get("raised_exception"):
                raise LlmmonError(
                    f"Great Expectations could not evaluate {r.expectation_config.type}: {info.get('exception_message')}"
                )
        return ordered


@functools.cache
def _gx() -> _GX:
    return _GX()


# ------------------------------------------------------------------------------------------------ validation
def _problem(file: str, example_id: Any, line: int | None, field: str | None, rule: str) -> dict[str, Any]:
    return {"file": file, "example_id": example_id, "line": line, "field": field, "rule": rule}


def _case_problems(suite: GoldenSuite, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import pandas as pd

    file = str(suite.cases_path)
    checks = _checks(suite, rows)
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["line", "id"])
    if frame.empty:
        return []
    results = _gx().run("cases", frame, [c.expectation for c in checks], ["id", "line"])
    row_by_line = {row["line"]: row for row in rows}
    problems = []
    for check, result in zip(checks, results, strict=True):
        if result.success:
            continue
        for hit in result.result.get("unexpected_index_list") or []:
            row = row_by_line[int(hit["line"])]
            text = check.rule(row)
            if text is not None:
                field = check.field(row) if callable(check.field) else check.field
                problems.append(_problem(file, row["id"], row["line"], field, text))
    return problems


def _count_problems(suite: GoldenSuite) -> list[dict[str, Any]]:
    import pandas as pd

    counts = {intent: 0 for intent in suite.intents}
    for case in suite.cases:
        if case.intent in counts:
            counts[case.intent] += 1
    frame = pd.DataFrame({"intent": list(counts), "count": list(counts.values())})
    expectation = _gx().gx.expectations.ExpectColumnValuesToBeBetween(
        column="count", min_value=suite.min_examples_per_intent
    )
    (result,) = _gx().run("intent_counts", frame, [expectation], ["intent"])
    if result.success:
        return []
    need = suite.min_examples_per_intent
    return [
        _problem(str(suite.cases_path), None, None, "intent",
                 f"intent '{hit['intent']}': {counts[hit['intent']]} examples, need at least {need}")
        for hit in result.result.get("unexpected_index_list") or []
    ]


def _params_problems(suite: GoldenSuite, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    problems = []
    for name, spec in suite.task_types.items():
        if spec.scorer in SCORERS:
            for rule in check_scorer_params(spec.scorer, spec.params):
                problems.append(_problem(str(suite.suite_file), None, None, f"task_types.{name}.params", rule))
    row_by_line = {row["line"]: row for row in rows}
    for case in suite.cases:
        row = row_by_line[case.line]
        # Only what the case itself sets: a task type's own params were checked once, above.
        if row["scorer"] not in SCORERS or row["params_type"] != "dict":
            continue
        if not case.params and not row["scorer_is_override"]:
            continue
        name, params = suite.scorer_for(case)
        for rule in check_scorer_params(name, params):
            problems.append(_problem(str(suite.cases_path), row["id"], case.line, "params", rule))
    return problems


def _self_check_problems(suite: GoldenSuite, clean_lines: set[int]) -> list[dict[str, Any]]:
    """Cases whose own expected text fails their scorer: no model answer could be judged right against them.

    (A regex the reference does not match, a label missing from the label list, a structured reference the
    schema rejects.) The demo model server answers with the expected text, so this also keeps demos honest.
    """
    problems = []
    for case in suite.cases:
        if case.line not in clean_lines:
            continue  # already reported: its fields are not trustworthy enough to score
        result = score_case(suite, case, expected_text(case))
        if not result.passed:
            why = result.details.get("error") or result.details
            threshold = suite.task_types[case.task_type].threshold
            problems.append(_problem(
                str(suite.cases_path), case.id, case.line, "reference",
                f"its own expected text fails scorer '{result.scorer}' (score {result.score:.2f} < threshold "
                f"{threshold:g}: {why})",
            ))
    return problems


def format_problem(problem: dict[str, Any]) -> str:
    """One problem as a line: ``<file>: example <id> (line <n>): field '<field>': <rule>``."""
    if problem["line"] is None:
        if problem["field"] == "intent":
            return f"{problem['file']}: {problem['rule']}"
        return f"{problem['file']}: field '{problem['field']}': {problem['rule']}"
    example = problem["example_id"] if problem["example_id"] is not None else "<no id>"
    return f"{problem['file']}: example {example} (line {problem['line']}): field '{problem['field']}': {problem['rule']}"


def validate_golden_set(suite: GoldenSuite) -> None:
    """Check every case of ``suite``; raise :class:`GoldenSetError` listing all problems, or return None.

    Rules: id, intent, task_type, input and reference present and not null; id, intent, task_type and input
    strings; unique ids; unique inputs (whitespace-insensitive); intent among the suite's intents; task_type
    among its task types; input not blank; the case's scorer (its override, else its task type's) registered;
    the reference of a kind that scorer accepts (e.g. an object for ``json_fields``), not empty; tags a list of
    strings; params an object valid for its scorer; no unknown fields; each case's own expected text passes
    its scorer (the golden references are self-consistent); at least ``min_examples_per_intent`` cases per
    intent. ``GoldenSetError.problems`` holds dicts ``{file, example_id, line, field, rule}``.
    """
    rows = _case_rows(suite)
    with _lock:
        problems = _case_problems(suite, rows) + _count_problems(suite)
    problems += _params_problems(suite, rows)
    # Scoring a case needs sound fields and params, and a task type whose own params are sound.
    bad_task_types = {p["field"].split(".")[1] for p in problems if p["line"] is None and p["field"] != "intent"}
    bad_lines = {p["line"] for p in problems if p["line"] is not None}
    problems += _self_check_problems(suite, {
        c.line for c in suite.cases if c.line not in bad_lines and c.task_type not in bad_task_types
    })
    if not problems:
        return
    problems.sort(key=lambda p: (p["line"] is None, p["line"] or 0, p["file"], str(p["field"]), p["rule"]))
    listed = [f"  {format_problem(p)}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        listed.append(f"  ... and {len(problems) - MAX_LISTED} more (see GoldenSetError.problems)")
    raise GoldenSetError(
        f"golden set {suite.name} ({suite.cases_path}) failed validation with {len(problems)} problem(s):\n"
        + "\n".join(listed),
        problems,
    )
