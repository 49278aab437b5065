"""The scorer registry and score_case: names, None handling, thresholds, per-item failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmmon.errors import GoldenSetError, LlmmonError
from llmmon.golden import GoldenCase, GoldenSuite, TaskTypeSpec
from llmmon.scoring import (
    SCORERS,
    ScoreResult,
    UnknownScorerError,
    check_scorer_params,
    get_scorer,
    reference_kind,
    register_scorer,
    score_case,
)

ROOT = Path(__file__).resolve().parents[3]
EXPECTED = {"exact_match", "label_accuracy", "json_fields", "json_schema", "numeric_tolerance", "regex",
            "contains", "token_f1"}


def test_every_documented_scorer_is_registered_and_documented():
    assert set(SCORERS) >= EXPECTED
    for name in EXPECTED:
        assert SCORERS[name].summary, f"{name} has no docstring"


def test_docs_cover_every_registered_scorer():
    text = (ROOT / "docs" / "golden-sets.md").read_text(encoding="utf-8")
    for name in SCORERS:
        assert f"`{name}`" in text, f"docs/golden-sets.md does not document scorer {name}"


def test_get_scorer_unknown_lists_known_names():
    with pytest.raises(UnknownScorerError, match=r"unknown scorer 'bleu'; registered scorers: contains, ") as err:
        get_scorer("bleu")
    assert isinstance(err.value, LlmmonError) and isinstance(err.value, KeyError)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_none_output_scores_zero_with_error(name):
    params = {"schema": {"type": "object"}} if name == "json_schema" else {"pattern": "x"} if name == "regex" else {}
    reference = {"a": "1"} if name in ("json_fields", "json_schema") else "x"
    result = get_scorer(name)(None, reference, params)
    assert result == ScoreResult(0.0, None, {"error": "no output"})


def test_register_rejects_duplicates_and_bad_declarations():
    with pytest.raises(ValueError, match="already registered"):
        register_scorer("exact_match")(lambda o, r, p: ScoreResult(1.0))
    with pytest.raises(ValueError, match="unknown reference kinds"):
        register_scorer("x_kinds", reference_kinds=("text",))
    with pytest.raises(ValueError, match="required_params must be listed"):
        register_scorer("x_required", required_params=("a",))


def test_register_and_use_a_custom_scorer():
    @register_scorer("test_length_ratio", params=("target",))
    def length_ratio(output, reference, params):
        """Toy scorer: output length over a target."""
        return ScoreResult(min(1.0, len(output) / params["target"]))

    try:
        assert get_scorer("test_length_ratio")("abc", "", {"target": 6}).score == 0.5
        assert length_ratio(None, "", {}).details == {"error": "no output"}
        assert check_scorer_params("test_length_ratio", {"target": 6, "tagret": 1}) == [
            "params.tagret is not a parameter of scorer 'test_length_ratio' (its parameters: target)"
        ]
    finally:
        del SCORERS["test_length_ratio"]


def test_check_scorer_params_messages():
    assert check_scorer_params("regex", {}) == ["scorer 'regex' needs params.pattern"]
    assert check_scorer_params("regex", {"pattern": "(", "mode": "all"}) == [
        "params.pattern does not compile: missing ), unterminated subpattern at position 0",
        "params.mode must be 'search' or 'full'",
    ]
    assert check_scorer_params("numeric_tolerance", {"abs_tol": -1}) == ["params.abs_tol must be a number >= 0"]
    assert check_scorer_params("token_f1", {"abs_tol": 1}) == [
        "params.abs_tol is not a parameter of scorer 'token_f1' (its parameters: none)"
    ]
    assert check_scorer_params("json_schema", {"schema": {"type": "objekt"}})[0].startswith(
        "params.schema is not a valid JSON schema:"
    )
    assert check_scorer_params("label_accuracy", {"labels": ["a", "A"]}) == [
        "params.labels has labels that are equal after normalisation"
    ]
    assert check_scorer_params("contains", {"any_of": "one"}) == ["params.any_of must be a list of non-empty strings"]
    assert check_scorer_params("json_schema", {"schema": {"type": "object"}, "ignore_fields": ["summary"]}) == []


def test_reference_kind():
    assert [reference_kind(v) for v in ("a", 1, 1.5, True, {"a": 1}, [1], None)] == [
        "string", "number", "number", "boolean", "object", "array", "null"
    ]


# ---------------------------------------------------------------------------------------------- score_case
def _suite(tmp_path) -> GoldenSuite:
    return GoldenSuite(
        name="t", path=tmp_path, cases_path=tmp_path / "cases.jsonl", version="0" * 12, intents=["a"],
        min_examples_per_intent=1,
        task_types={
            "extraction": TaskTypeSpec("json_fields", 0.8, {}, "extract"),
            "qa": TaskTypeSpec("token_f1", 0.5, {}, "answer"),
        },
        cases=[],
    )


def _case(task_type: str, reference, **kw) -> GoldenCase:
    return GoldenCase(id="c-1", intent="a", task_type=task_type, input="q", reference=reference, line=3, **kw)


def test_score_case_applies_threshold_inclusively(tmp_path):
    suite = _suite(tmp_path)
    case = _case("extraction", {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"})
    # 4 of 5 fields right, nothing extra: P = 1, R = 0.8, F1 = 2*0.8/1.8 = 0.888...
    four = score_case(suite, case, '{"a": "1", "b": "2", "c": "3", "d": "4"}')
    assert four.scorer == "json_fields" and four.passed is True
    assert four.score == pytest.approx(16 / 18)
    # 4 of 5 right and one wrong: P = R = 0.8, F1 = 0.8 exactly at the threshold (float-safe).
    at = score_case(suite, case, '{"a": "1", "b": "2", "c": "3", "d": "4", "e": "6"}')
    assert at.score == pytest.approx(0.8) and at.passed is True
    below = score_case(suite, case, '{"a": "1", "b": "2", "c": "3"}')  # P 1, R 0.6: F1 0.75
    assert below.score == pytest.approx(0.75) and below.passed is False


def test_score_case_none_output_fails(tmp_path):
    result = score_case(_suite(tmp_path), _case("qa", "30 days"), None)
    assert result == ScoreResult(0.0, False, {"error": "no output"}, scorer="token_f1")


def test_score_case_uses_case_override(tmp_path):
    case = _case("qa", "30 days", scorer="numeric_tolerance", params={"abs_tol": 1})
    result = score_case(_suite(tmp_path), case, "31")
    assert (result.scorer, result.score, result.passed) == ("numeric_tolerance", 1.0, True)


def test_score_case_records_a_scorer_crash_per_item(tmp_path):
    # A reference of the wrong kind (validation would have refused it) makes the scorer raise.
    result = score_case(_suite(tmp_path), _case("extraction", "not an object"), '{"a": "1"}')
    assert result.score == 0.0 and result.passed is False
    assert result.details["error"].startswith("scorer json_fields failed: AttributeError")


def test_score_case_unknown_task_type_or_scorer(tmp_path):
    with pytest.raises(GoldenSetError, match=r"example c-1 \(line 3\): field 'task_type': 'poetry' is not a task"):
        score_case(_suite(tmp_path), _case("poetry", "x"), "x")
    with pytest.raises(GoldenSetError, match=r"example c-1 \(line 3\): field 'scorer': unknown scorer 'bleu'"):
        score_case(_suite(tmp_path), _case("qa", "x", scorer="bleu"), "x")
