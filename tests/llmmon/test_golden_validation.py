"""validate_golden_set (Great Expectations) on the real suite and on broken copies of it.

Great Expectations costs seconds to import once per process; every test after the first reuses its context.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from llmmon.errors import GoldenSetError
from llmmon.golden import load_suite
from llmmon.golden_validation import validate_golden_set

SUITE_DIR = Path(__file__).resolve().parents[2] / "golden_sets" / "customer_support"


def _broken(tmp_path: Path, edit: Callable[[list[dict]], list[dict] | None]) -> Path:
    """A copy of the real suite with its cases edited; returns the copy's cases file."""
    suite_dir = Path(shutil.copytree(SUITE_DIR, tmp_path / "customer_support"))
    cases = suite_dir / "cases.jsonl"
    rows = [json.loads(line) for line in cases.read_text(encoding="utf-8").splitlines()]
    rows = edit(rows) or rows
    cases.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return cases


def _problems(cases: Path) -> GoldenSetError:
    suite = load_suite(str(cases.parent))
    with pytest.raises(GoldenSetError) as err:
        validate_golden_set(suite)
    return err.value


def _assert_reported(err: GoldenSetError, file: Path, example_id, line, field: str, rule: str) -> None:
    shown = "<no id>" if example_id is None else example_id
    text = f"{file}: example {shown} (line {line}): field '{field}': {rule}"
    assert f"\n  {text}" in str(err), str(err)
    assert {"file": str(file), "example_id": example_id, "line": line, "field": field, "rule": rule} in err.problems


def test_real_suite_is_valid():
    assert validate_golden_set(load_suite(str(SUITE_DIR))) is None


def test_duplicate_id(tmp_path):
    def edit(rows):
        rows[4]["id"] = "cs-0002"

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    assert str(err).startswith(
        f"golden set customer_support ({cases}) failed validation with 2 problem(s):\n"
    )
    _assert_reported(err, cases, "cs-0002", 2, "id", "must be unique (the same id is on line 5)")
    _assert_reported(err, cases, "cs-0002", 5, "id", "must be unique (the same id is on line 2)")


def test_unknown_intent(tmp_path):
    def edit(rows):
        rows[9]["intent"] = "returns"

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0010", 10, "intent",
                     "'returns' is not one of the suite's intents (order_status, refund, billing, shipping, "
                     "account_access, technical_issue, product_info, cancellation)")
    assert len(err.problems) == 1


def test_unknown_task_type(tmp_path):
    def edit(rows):
        rows[2]["task_type"] = "summarization"

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0003", 3, "task_type",
                     "'summarization' is not one of the suite's task types (classification, extraction, structured, qa)")
    assert len(err.problems) == 1  # no scorer can be resolved, and that is not reported twice


@pytest.mark.parametrize("blank", ["", "   \n\t "])
def test_empty_input(tmp_path, blank):
    def edit(rows):
        rows[0]["input"] = blank

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0001", 1, "input", "must not be empty or whitespace only")
    assert len(err.problems) == 1


@pytest.mark.parametrize("field", ["id", "intent", "task_type", "input", "reference"])
def test_missing_required_field(tmp_path, field):
    def edit(rows):
        del rows[6][field]

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, None if field == "id" else "cs-0007", 7, field, "is required (missing or null)")
    assert len(err.problems) == 1


def test_null_and_wrong_type_fields(tmp_path):
    def edit(rows):
        rows[0]["reference"] = None
        rows[1]["input"] = 42
        rows[2]["id"] = 3
        rows[3]["tags"] = "typo"
        rows[5]["params"] = ["abs_tol", 1]

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0001", 1, "reference", "is required (missing or null)")
    _assert_reported(err, cases, "cs-0002", 2, "input", "must be a string, got int")
    _assert_reported(err, cases, "3", 3, "id", "must be a string, got int")
    _assert_reported(err, cases, "cs-0004", 4, "tags", "must be a list of strings, got str")
    _assert_reported(err, cases, "cs-0006", 6, "params", "must be an object, got list")
    assert len(err.problems) == 5


def test_too_few_examples_for_an_intent(tmp_path):
    def edit(rows):
        dropped = [r for r in rows if r["intent"] == "billing"][:6]
        return [r for r in rows if r not in dropped]

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    text = f"{cases}: intent 'billing': 24 examples, need at least 25"
    assert f"\n  {text}" in str(err)
    assert err.problems == [{"file": str(cases), "example_id": None, "line": None, "field": "intent",
                             "rule": "intent 'billing': 24 examples, need at least 25"}]


def test_malformed_json_line_fails_at_load(tmp_path):
    cases = _broken(tmp_path, lambda rows: None)
    lines = cases.read_text(encoding="utf-8").splitlines()
    lines[11] = lines[11].replace('"intent":', '"intent"', 1)
    cases.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(GoldenSetError) as err:
        load_suite(str(cases.parent))
    assert f"{cases}: line 12: not valid JSON: Expecting ':' delimiter at column" in str(err.value)
    assert err.value.problems[0]["line"] == 12


def test_unknown_scorer_on_a_case(tmp_path):
    def edit(rows):
        rows[3]["scorer"] = "bleu"

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0004", 4, "scorer",
                     "scorer 'bleu' is not registered; known scorers: contains, exact_match, json_fields, "
                     "json_schema, label_accuracy, llm_judge_correctness, numeric_tolerance, regex, token_f1")


def test_unknown_scorer_of_a_task_type(tmp_path):
    cases = _broken(tmp_path, lambda rows: None)
    suite_yaml = cases.parent / "suite.yaml"
    suite_yaml.write_text(suite_yaml.read_text(encoding="utf-8").replace("scorer: label_accuracy", "scorer: rouge"),
                          encoding="utf-8")
    err = _problems(cases)
    assert len(err.problems) == 84  # every classification case
    _assert_reported(err, cases, "cs-0001", 1, "scorer",
                     f"scorer 'rouge' (task type 'classification' in {suite_yaml}) is not registered; known "
                     "scorers: contains, exact_match, json_fields, json_schema, label_accuracy, llm_judge_correctness, "
                     "numeric_tolerance, regex, token_f1")
    assert len(str(err).splitlines()) == 1 + 84  # a header, then one line per problem (under the cap)


def test_many_problems_are_all_kept_but_the_message_is_capped(tmp_path):
    def edit(rows):
        for row in rows[:150]:
            row["intent"] = "misc"

    err = _problems(_broken(tmp_path, edit))
    assert len(err.problems) == 150 + 5  # and five intents fall below 25 examples
    assert str(err).splitlines()[-1] == "  ... and 55 more (see GoldenSetError.problems)"


def test_reference_of_the_wrong_kind(tmp_path):
    def edit(rows):
        rows[0]["reference"] = {"label": "order_status"}  # classification: label_accuracy wants a string
        rows[1]["reference"] = "KC1234567"  # extraction: json_fields wants an object
        rows[2]["reference"] = {}

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0001", 1, "reference",
                     "must be a non-empty string for scorer 'label_accuracy', got object")
    _assert_reported(err, cases, "cs-0002", 2, "reference",
                     "must be a non-empty object for scorer 'json_fields', got string")
    _assert_reported(err, cases, "cs-0003", 3, "reference",
                     "must be a non-empty object for scorer 'json_schema', got empty object")
    assert len(err.problems) == 3


def test_bad_scorer_params(tmp_path):
    def edit(rows):
        rows[3]["scorer"] = "regex"  # cs-0004 is a qa case
        rows[3]["params"] = {"pattern": "(2 pm", "flags": "i"}
        rows[8]["params"] = {"abs_tol": -1}  # cs-0009, numeric_tolerance
        rows[17]["params"] = {"pattern": "x"}  # cs-0018, contains

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0004", 4, "params",
                     "params.flags is not a parameter of scorer 'regex' (its parameters: pattern, mode, ignore_case)")
    _assert_reported(err, cases, "cs-0004", 4, "params",
                     "params.pattern does not compile: missing ), unterminated subpattern at position 0")
    _assert_reported(err, cases, "cs-0009", 9, "params", "params.abs_tol must be a number >= 0")
    _assert_reported(err, cases, "cs-0018", 18, "params",
                     "params.pattern is not a parameter of scorer 'contains' (its parameters: any_of)")
    assert len(err.problems) == 4


def test_bad_task_type_params_are_reported_once(tmp_path):
    cases = _broken(tmp_path, lambda rows: None)
    suite_yaml = cases.parent / "suite.yaml"
    data = yaml.safe_load(suite_yaml.read_text(encoding="utf-8"))
    data["task_types"]["structured"]["params"]["schema"]["type"] = "record"
    suite_yaml.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    err = _problems(cases)
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert (problem["file"], problem["field"]) == (str(suite_yaml), "task_types.structured.params")
    assert problem["rule"].startswith("params.schema is not a valid JSON schema: 'record' is not valid under")
    assert f"\n  {suite_yaml}: field 'task_types.structured.params': params.schema is not a valid" in str(err)


def test_unknown_field(tmp_path):
    def edit(rows):
        rows[4]["refrence"] = rows[4].pop("reference")

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0005", 5, "reference", "is required (missing or null)")
    _assert_reported(err, cases, "cs-0005", 5, "refrence",
                     "unknown field (the fields are id, intent, task_type, input, reference, tags, scorer, params)")


def test_duplicate_input(tmp_path):
    def edit(rows):
        rows[20]["input"] = "  " + rows[10]["input"].replace(" ", "  ") + "\n"

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0011", 11, "input", "must be unique (the same input is on line 21)")
    _assert_reported(err, cases, "cs-0021", 21, "input", "must be unique (the same input is on line 11)")


def test_reference_that_fails_its_own_scorer(tmp_path):
    def edit(rows):
        rows[0]["reference"] = "returns"  # not one of the labels
        rows[47]["params"] = {"pattern": r"^\W*yes\b"}  # cs-0048: reference "No"

    cases = _broken(tmp_path, edit)
    err = _problems(cases)
    _assert_reported(err, cases, "cs-0001", 1, "reference",
                     "its own expected text fails scorer 'label_accuracy' (score 0.00 < threshold 1: "
                     "'returns' is not a known label)")
    _assert_reported(err, cases, "cs-0048", 48, "reference",
                     "its own expected text fails scorer 'regex' (score 0.00 < threshold 0.5: pattern did not match)")
