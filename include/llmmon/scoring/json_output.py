"""JSON-output scorers: ``json_fields`` (field extraction) and ``json_schema`` (structured output).

Both parse the output with :func:`parse_json_output` (a ```json fence is tolerated) and compare fields with
:func:`field_f1`: precision over the fields the model gave, recall over the reference's fields, F1 as the score.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from llmmon.scoring.normalize import normalize_value, parse_json_output
from llmmon.scoring.registry import ScoreResult, register_scorer

_MAX_SCHEMA_ERRORS = 5


def _present(value: Any) -> bool:
    # A field the model sets to null or "" is a field it did not extract (prompts say: omit absent fields).
    return value is not None and value != ""


def field_f1(predicted: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Field-level precision, recall and F1 of ``predicted`` against ``reference``.

    A field is correct when it is in both and the values are equal after :func:`normalize_value`. Fields with a
    null or empty-string value count as absent on both sides. Both empty: P = R = F1 = 1. Returns
    ``{"precision", "recall", "f1", "missing", "extra", "mismatched"}``; ``mismatched`` maps each wrong field
    to ``{"expected", "got"}``.
    """
    pred = {k: v for k, v in predicted.items() if _present(v)}
    ref = {k: v for k, v in reference.items() if _present(v)}
    correct = [k for k in ref if k in pred and normalize_value(pred[k]) == normalize_value(ref[k])]
    mismatched = {
        k: {"expected": ref[k], "got": pred[k]}
        for k in ref
        if k in pred and k not in correct
    }
    if not pred and not ref:
        precision = recall = 1.0
    else:
        precision = len(correct) / len(pred) if pred else 0.0
        recall = len(correct) / len(ref) if ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "missing": sorted(k for k in ref if k not in pred),
        "extra": sorted(k for k in pred if k not in ref),
        "mismatched": mismatched,
    }


def _scored_fields(stats: dict[str, Any]) -> ScoreResult:
    details = {k: v for k, v in stats.items() if v or k in ("precision", "recall", "f1")}
    return ScoreResult(stats["f1"], details=details)


@register_scorer("json_fields", reference_kinds=("object",))
def json_fields(output: str | None, reference: Any, params: dict[str, Any]) -> ScoreResult:
    """Field F1 of the output's JSON object against the reference object (extraction).

    Values compare after normalisation (case, whitespace, edge punctuation; amounts such as ``"$1,249.00"``
    and ``1249`` as numbers). Invalid JSON, or JSON that is not an object, scores 0 with ``details["error"]``.
    """
    value, error = parse_json_output(output or "")
    if error is not None:
        return ScoreResult(0.0, details={"error": error})
    if not isinstance(value, dict):
        return ScoreResult(0.0, details={"error": f"expected a JSON object, got {type(value).__name__}"})
    return _scored_fields(field_f1(value, reference))


@functools.lru_cache(maxsize=64)
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_json)
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _check_schema_params(params: dict[str, Any]) -> list[str]:
    problems = []
    schema = params.get("schema")
    if not isinstance(schema, dict):
        problems.append("params.schema must be a JSON schema object")
    else:
        try:
            _validator(json.dumps(schema, sort_keys=True))
        except SchemaError as exc:
            problems.append(f"params.schema is not a valid JSON schema: {exc.message}")
    ignore = params.get("ignore_fields", [])
    if not isinstance(ignore, list) or not all(isinstance(x, str) for x in ignore):
        problems.append("params.ignore_fields must be a list of field names")
    return problems


def _error_text(err: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in err.absolute_path)
    return f"{where or '<root>'}: {err.message}"


@register_scorer(
    "json_schema",
    reference_kinds=("object",),
    params=("schema", "ignore_fields"),
    required_params=("schema",),
    params_check=_check_schema_params,
)
def json_schema(output: str | None, reference: Any, params: dict[str, Any]) -> ScoreResult:
    """Valid JSON, valid against ``params.schema``, then field F1 on the reference's fields (structured output).

    A schema violation scores 0 with the validator's messages in ``details["schema_errors"]``. Only the
    reference's fields are compared, minus ``params.ignore_fields`` (free text such as a summary), so the
    output's other schema fields neither help nor hurt.
    """
    value, error = parse_json_output(output or "")
    if error is not None:
        return ScoreResult(0.0, details={"error": error})
    validator = _validator(json.dumps(params["schema"], sort_keys=True))
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        return ScoreResult(
            0.0,
            details={
                "error": "output does not match the schema",
                "schema_errors": [_error_text(e) for e in errors[:_MAX_SCHEMA_ERRORS]],
                "schema_error_count": len(errors),
            },
        )
    ignore = set(params.get("ignore_fields", []))
    compared = {k: v for k, v in reference.items() if k not in ignore}
    if not isinstance(value, dict):
        # The schema allowed a non-object; there are no fields to compare.
        return _scored_fields(field_f1({}, compared))
    return _scored_fields(field_f1({k: v for k, v in value.items() if k in compared}, compared))
