"""json_fields and json_schema, with hand-computed precision, recall and F1."""

from __future__ import annotations

import json

import pytest

from llmmon.scoring import get_scorer
from llmmon.scoring.json_output import field_f1

json_fields = get_scorer("json_fields")
json_schema = get_scorer("json_schema")

REF = {"order_id": "KC4829301", "email": "dana.k@fastmail.com", "amount": "1249.00"}


def test_all_fields_right_scores_one():
    result = json_fields(json.dumps(REF), REF, {})
    assert result.score == 1.0
    assert result.details == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_values_compare_normalised():
    out = {"order_id": "#kc4829301", "email": " Dana.K@Fastmail.com ", "amount": "$1,249"}
    assert json_fields(json.dumps(out), REF, {}).score == 1.0
    assert json_fields(json.dumps({**REF, "amount": 1249}), REF, {}).score == 1.0  # a JSON number
    assert json_fields(json.dumps({**REF, "amount": "1249.5"}), REF, {}).score < 1.0


def test_fenced_json_is_tolerated():
    fenced = "```json\n" + json.dumps(REF, indent=2) + "\n```"
    assert json_fields(fenced, REF, {}).score == 1.0
    assert json_fields("Here you go:\n```\n" + json.dumps(REF) + "\n```\nAnything else?", REF, {}).score == 1.0


def test_missing_field():
    out = {"order_id": "KC4829301", "email": "dana.k@fastmail.com"}
    result = json_fields(json.dumps(out), REF, {})
    # P = 2/2, R = 2/3, F1 = 2 * (2/3) / (5/3) = 0.8
    assert result.score == pytest.approx(0.8)
    assert result.details == {"precision": 1.0, "recall": pytest.approx(2 / 3), "f1": pytest.approx(0.8),
                              "missing": ["amount"]}


def test_extra_field():
    result = json_fields(json.dumps({**REF, "product": "Aeris 2 earbuds"}), REF, {})
    # P = 3/4, R = 3/3, F1 = 2 * 0.75 / 1.75 = 6/7
    assert result.score == pytest.approx(6 / 7)
    assert result.details["extra"] == ["product"]


def test_wrong_value_is_counted_on_both_sides():
    result = json_fields(json.dumps({**REF, "email": "dana@fastmail.com"}), REF, {})
    # P = 2/3, R = 2/3, F1 = 2/3
    assert result.score == pytest.approx(2 / 3)
    assert result.details["mismatched"] == {"email": {"expected": "dana.k@fastmail.com", "got": "dana@fastmail.com"}}


def test_null_and_empty_values_count_as_absent():
    out = {"order_id": "KC4829301", "email": None, "amount": "", "date": None}
    result = json_fields(json.dumps(out), REF, {})
    # P = 1/1, R = 1/3, F1 = 2 * (1/3) / (4/3) = 0.5
    assert result.score == pytest.approx(0.5)
    assert result.details["missing"] == ["amount", "email"]
    assert "extra" not in result.details


def test_wrong_type_value_does_not_match():
    # A list is not the string; a boolean is not the string "true".
    assert json_fields('{"order_id": ["KC4829301"]}', {"order_id": "KC4829301"}, {}).score == 0.0
    assert json_fields('{"flag": true}', {"flag": "true"}, {}).score == 0.0


def test_identifiers_with_leading_zeros_are_not_numbers():
    assert json_fields('{"zip": "2139"}', {"zip": "02139"}, {}).score == 0.0
    assert json_fields('{"zip": "02139"}', {"zip": "02139"}, {}).score == 1.0


@pytest.mark.parametrize(
    ("output", "error"),
    [
        ("", "empty output"),
        ("   ", "empty output"),
        ("order_id: KC4829301", "not valid JSON: Expecting value at line 1 column 1"),
        ('{"order_id": "KC4829301",}', "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 26"),
        ("```json\n{oops}\n```", "fenced block is not valid JSON: Expecting property name enclosed in double quotes "
                                 "at line 1 column 2"),
        ('Sure! {"order_id": "KC4829301"}', "not valid JSON: Expecting value at line 1 column 1"),
    ],
)
def test_invalid_json_scores_zero_with_error(output, error):
    result = json_fields(output, REF, {})
    assert (result.score, result.details) == (0.0, {"error": error})


def test_non_object_json_scores_zero():
    assert json_fields("[1, 2]", REF, {}).details == {"error": "expected a JSON object, got list"}
    assert json_fields('"KC4829301"', REF, {}).details == {"error": "expected a JSON object, got str"}


def test_empty_reference_and_empty_output():
    assert field_f1({}, {})["f1"] == 1.0
    assert field_f1({"a": "1"}, {})["f1"] == 0.0
    assert field_f1({}, {"a": "1"})["f1"] == 0.0


# ---------------------------------------------------------------------------------------------- json_schema
SCHEMA = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": ["refund", "billing"]},
        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
        "needs_human": {"type": "boolean"},
        "summary": {"type": "string", "minLength": 1},
    },
    "required": ["intent", "priority", "needs_human", "summary"],
    "additionalProperties": False,
}
PARAMS = {"schema": SCHEMA, "ignore_fields": ["summary"]}
SREF = {"intent": "refund", "priority": "medium", "needs_human": True, "summary": "Wants a refund."}


def _out(**changes) -> str:
    return json.dumps({**SREF, "summary": "Customer asks for their money back.", **changes})


def test_schema_valid_and_fields_right():
    result = json_schema(_out(), SREF, PARAMS)
    assert (result.score, result.details) == (1.0, {"precision": 1.0, "recall": 1.0, "f1": 1.0})


def test_schema_ignored_fields_are_not_compared_but_still_validated():
    assert json_schema(_out(summary="anything at all"), SREF, PARAMS).score == 1.0
    result = json_schema(_out(summary=""), SREF, PARAMS)
    assert result.score == 0.0 and result.details["schema_errors"] == ["summary: '' should be non-empty"]


def test_schema_one_decisive_field_wrong():
    result = json_schema(_out(priority="high"), SREF, PARAMS)
    # three compared fields, one wrong: P = R = F1 = 2/3
    assert result.score == pytest.approx(2 / 3)
    assert result.details["mismatched"] == {"priority": {"expected": "medium", "got": "high"}}


@pytest.mark.parametrize(
    ("output", "errors"),
    [
        (_out(needs_human="yes"), ["needs_human: 'yes' is not of type 'boolean'"]),
        (_out(intent="returns"), ["intent: 'returns' is not one of ['refund', 'billing']"]),
        (_out(extra=1), ["<root>: Additional properties are not allowed ('extra' was unexpected)"]),
        (json.dumps({"intent": "refund", "priority": "medium", "needs_human": True}),
         ["<root>: 'summary' is a required property"]),
        ("[]", ["<root>: [] is not of type 'object'"]),
    ],
)
def test_schema_violation_scores_zero_with_validator_message(output, errors):
    result = json_schema(output, SREF, PARAMS)
    assert result.score == 0.0
    assert result.details == {"error": "output does not match the schema", "schema_errors": errors,
                              "schema_error_count": len(errors)}


def test_schema_errors_are_capped_but_counted():
    bad = json.dumps({"intent": 1, "priority": 2, "needs_human": 3, "summary": 4, "x": 5, "y": 6})
    result = json_schema(bad, SREF, PARAMS)
    # 7 errors: extra keys (one error for both), intent (type and enum), priority (type and enum),
    # needs_human, summary (type); sorted by path, the first 5 are kept.
    assert result.details["schema_error_count"] == 7
    assert result.details["schema_errors"] == [
        "<root>: Additional properties are not allowed ('x', 'y' were unexpected)",
        "intent: 1 is not of type 'string'",
        "intent: 1 is not one of ['refund', 'billing']",
        "needs_human: 3 is not of type 'boolean'",
        "priority: 2 is not of type 'string'",
    ]


def test_schema_fenced_and_invalid_json():
    assert json_schema("```json\n" + _out() + "\n```", SREF, PARAMS).score == 1.0
    assert json_schema("{'intent': 'refund'}", SREF, PARAMS).details["error"].startswith("not valid JSON")
    assert json_schema(None, SREF, PARAMS).details == {"error": "no output"}


def test_schema_without_ignore_fields_compares_every_reference_field():
    result = json_schema(_out(), SREF, {"schema": SCHEMA})
    # summary differs: 3 of 4 right, P = R = F1 = 0.75
    assert result.score == pytest.approx(0.75)
