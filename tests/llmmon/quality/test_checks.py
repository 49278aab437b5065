"""All-traffic checks: each check on hand-written spans, then whole windows written to a real warehouse."""

from __future__ import annotations

import datetime as dt

import pytest

from llmmon.quality.checks import (
    SliceCounts,
    SpanCheck,
    SpanChecker,
    aggregate,
    feedback_correct,
    run_quality_checks,
)
from llmmon.quality_config import QualityConfig
from llmmon.warehouse.quality_store import quality_rows

from .conftest import T0, at, insert, span

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
    "required": ["order_id", "amount"],
}


@pytest.fixture(scope="module")
def checker() -> SpanChecker:
    return SpanChecker(QualityConfig(structured_templates={"extract": ORDER_SCHEMA, "classify": "json"}))


# -- one span at a time ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "I'm sorry, but I can't help with that request.",
    "I am sorry, I cannot share account details.",
    "I can't assist with that.",
    "I am unable to help with this.",
    "I must decline to answer.",
    "As an AI language model, I do not have opinions.",
    "That request violates our usage policies.",
    "Sorry — I'm not allowed to discuss other customers' orders.",
])
def test_refusals_are_recognised(checker, text):
    assert checker.is_refusal(text)


@pytest.mark.parametrize("text", [
    "Refunds take 5 business days.",
    "You can't return opened software, but we can exchange it.",  # a policy, not a refusal
    "I'm sorry for the delay: your order ships today.",  # an apology, not a refusal
    "",
])
def test_ordinary_answers_are_not_refusals(checker, text):
    assert not checker.is_refusal(text)


def test_refusal_is_searched_only_at_the_start():
    cfg = QualityConfig(refusal_scan_chars=40)
    late = "Here is the full answer to your question. " * 3 + "I can't help with that."
    assert not SpanChecker(cfg).is_refusal(late)
    assert SpanChecker(QualityConfig()).is_refusal(late)


def test_no_patterns_means_no_refusals():
    assert not SpanChecker(QualityConfig(refusal_patterns=[])).is_refusal("I can't help with that.")


@pytest.mark.parametrize(("template", "text", "expected"), [
    ("extract", '{"order_id": "A1", "amount": 12.5}', (False, False)),
    ("extract", '```json\n{"order_id": "A1", "amount": 12.5}\n```', (False, False)),  # fence tolerated
    ("extract", '{"order_id": "A1"}', (False, True)),  # valid JSON, missing a required field
    ("extract", '{"order_id": "A1", "amount": "12"}', (False, True)),  # wrong type
    ("extract", '{"order_id": "A1", "amount": 12', (True, False)),  # cut off
    ("extract", "Sure! The order is A1.", (True, False)),
    ("extract", "", (True, False)),
    ("classify", '["billing"]', (False, False)),  # "json": any valid JSON keeps the promise
    ("classify", "billing", (True, False)),
])
def test_structured_output(checker, template, text, expected):
    assert checker.structured(template, text) == expected


def test_one_span_every_check(checker):
    assert checker.check(span()) == SpanCheck()
    assert checker.check(span(status="error", completion=None, error_type="timeout")) == SpanCheck(error=True)
    assert checker.check(span(completion="  \n")) == SpanCheck(empty=True)
    assert checker.check(span(completion=None)) == SpanCheck(empty=True)
    assert checker.check(span(finish_reason="length")) == SpanCheck(truncated=True)
    assert checker.check(span(completion="I can't help with that.")) == SpanCheck(refusal=True)
    cut = checker.check(span(prompt_template="extract", completion='{"order_id": "A', finish_reason="length"))
    assert cut == SpanCheck(truncated=True, structured=True, json_invalid=True)
    empty = checker.check(span(prompt_template="extract", completion=""))
    assert empty == SpanCheck(empty=True, structured=True, json_invalid=True)
    bad = checker.check(span(prompt_template="extract", completion='{"amount": 3}'))
    assert bad == SpanCheck(structured=True, schema_invalid=True)


def test_accuracy_by_the_templates_rule():
    cfg = QualityConfig(
        structured_templates={"extract": ORDER_SCHEMA},
        accuracy={"extract": {"scorer": "json_fields", "threshold": 0.99},
                  "faq": {"scorer": "contains"}},
    )
    c = SpanChecker(cfg)
    # default rule: exact_match after normalisation
    assert c.check(span(prompt_template="smalltalk", completion=" Hello. ", reference="hello")).correct
    assert not c.check(span(prompt_template="smalltalk", completion="Hello there", reference="hello")).correct
    assert c.check(span(prompt_template="faq", completion="It takes 5 days.", reference="5 days")).correct
    ok = c.check(span(prompt_template="extract", completion='{"order_id": "A1", "amount": 12.5}',
                      reference='{"order_id": "a1", "amount": "$12.50"}'))
    assert (ok.labelled, ok.correct) == (True, True)
    wrong = c.check(span(prompt_template="extract", completion='{"order_id": "A2", "amount": 12.5}',
                         reference='{"order_id": "A1", "amount": 12.5}'))
    assert (wrong.labelled, wrong.correct) == (True, False)
    # an object scorer cannot use a reference that is not JSON: not labelled, rather than wrong
    unusable = c.check(span(prompt_template="extract", completion="{}", reference="A1, 12.5"))
    assert (unusable.labelled, unusable.correct) == (False, False)
    # error spans are not part of accuracy (the error rate covers them)
    assert not c.check(span(status="error", completion=None, reference="5 days")).labelled


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False), (1, True), (0, False), (1.0, True), (-1, False), ("up", True), ("Down", False),
    (" correct ", True), ("thumbs_down", False), ("meh", None), (None, None), (3, None),
])
def test_feedback_values(value, expected):
    assert feedback_correct(value) is expected


def test_feedback_several_votes_and_kinds():
    from llmmon.quality_config import FeedbackSource

    c = SpanChecker(QualityConfig(feedback=FeedbackSource(table="labels")))
    assert c.check(span(), ["up", "up"]).correct
    low = c.check(span(), ["up", "down"])  # any "wrong" wins
    assert (low.labelled, low.correct) == (True, False)
    assert not c.check(span(), ["meh"]).labelled
    assert c.check(span(completion="5 days", reference="5 days"), ["down"]).correct  # the span's reference wins
    ref = SpanChecker(QualityConfig(feedback=FeedbackSource(table="labels", kind="reference", value_column="answer")))
    assert ref.check(span(completion="5 days"), ["5 days"]).correct
    assert not ref.check(span(completion="5 days"), ["7 days"]).correct


def test_aggregate_counts_per_slice_by_hand(checker):
    spans = [
        span(), span(completion="I can't help with that."), span(finish_reason="length"),
        span(status="error", completion=None), span(completion=""),
        span(model_version="v2", completion="Refunds take 5 days.", reference="refunds take 5 days"),
        span(model_version="v2", completion="Nope", reference="refunds take 5 days"),
        span(model_version=None, prompt_template=None, user_segment=None),
    ]
    counts = aggregate(checker, spans)
    v1 = counts[("demo", "v1", "faq", "free")]
    assert v1 == SliceCounts(n=5, n_ok=4, n_errors=1, n_empty=1, n_truncated=1, n_refusals=1)
    assert v1.rates() == {"error_rate": 1 / 5, "empty_rate": 1 / 4, "truncated_rate": 1 / 4, "refusal_rate": 1 / 4,
                          "json_invalid_rate": None, "schema_invalid_rate": None, "accuracy": None}
    v2 = counts[("demo", "v2", "faq", "free")]
    assert (v2.n, v2.n_labelled, v2.n_correct, v2.rates()["accuracy"]) == (2, 2, 1, 0.5)
    assert counts[("demo", "", "", "")].n == 1  # unknown slice values: the empty string


# -- whole windows in the warehouse ----------------------------------------------------------------------------


def test_windows_are_computed_stored_and_replaced(warehouse, settings_for):
    settings = settings_for(warehouse.url, {"window": "30m", "min_window_spans": 3, "min_labelled": 2,
                                            "structured_templates": {"extract": ORDER_SCHEMA}})
    insert(warehouse, "llm_spans", [
        span(1), span(2, completion="I'm sorry, but I cannot do that."), span(3, status="error", completion=None),
        span(10, prompt_template="extract", completion='{"order_id": "A1", "amount": 1}'),
        span(11, prompt_template="extract", completion='{"order_id": "A1"}'),
        span(12, prompt_template="extract", completion="not json"),
        span(40, model_version="v2"),  # second window
        span(65),  # after the interval: not read
        span(-1),  # before it
    ])
    summary = run_quality_checks(settings, warehouse, start=T0, end=at(60))
    assert summary == {"windows": [T0.isoformat(), at(30).isoformat()], "spans": 7, "slices": 3}
    rows = quality_rows(warehouse)
    assert [(r["window_start"], r["model_version"], r["prompt_template"], r["n"]) for r in rows] == [
        (T0, "v1", "extract", 3), (T0, "v1", "faq", 3), (at(30), "v2", "faq", 1)]
    extract, faq, v2 = rows
    assert (extract["n_structured"], extract["n_json_invalid"], extract["n_schema_invalid"]) == (3, 1, 1)
    assert extract["json_invalid_rate"] == pytest.approx(1 / 3)
    assert extract["schema_invalid_rate"] == pytest.approx(1 / 3)
    assert (faq["n_ok"], faq["n_errors"], faq["n_refusals"]) == (2, 1, 1)
    assert (faq["error_rate"], faq["refusal_rate"], faq["empty_rate"]) == (pytest.approx(1 / 3), 0.5, 0.0)
    assert (faq["json_invalid_rate"], faq["accuracy"], faq["n_labelled"]) == (None, None, 0)
    assert (faq["sparse"], faq["sparse_labels"], v2["sparse"]) == (False, True, True)
    assert faq["window_end"] == at(30)
    assert faq["ref_n_ok"] == 0 and faq["ref_refusal_rate"] is None and faq["refusal_rate_increase"] is None
    # the v2 window's reference is the first window (any version of the same endpoint, template and segment)
    assert (v2["ref_n_ok"], v2["ref_refusal_rate"]) == (2, 0.5)

    # late spans and a changed slice: recomputing the window replaces it, the gone slice is gone
    with warehouse.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM llm_spans WHERE prompt_template = 'extract'")
    insert(warehouse, "llm_spans", [span(20, completion="Sure."), span(21, completion="")])
    again = run_quality_checks(settings, warehouse, start=T0, end=at(30))
    assert again["windows"] == [T0.isoformat()]
    rows = quality_rows(warehouse, start=T0, end=at(30))
    assert [(r["prompt_template"], r["n"], r["n_empty"]) for r in rows] == [("faq", 5, 1)]
    assert len(quality_rows(warehouse)) == 2
    # and computing it once more changes nothing but the audit time
    def strip():
        return [{k: v for k, v in r.items() if k != "computed_at"} for r in quality_rows(warehouse)]

    before = strip()
    run_quality_checks(settings, warehouse, start=T0, end=at(30))
    assert strip() == before


def test_refusal_increase_against_the_reference_period(warehouse, settings_for):
    settings = settings_for(warehouse.url, {"min_window_spans": 4})
    day = dt.timedelta(days=1)
    refusal = "I can't help with that."
    insert(warehouse, "llm_spans", [
        *(span(60 * 24 * -2 + i) for i in range(8)),  # two days before: 8 answers, no refusal
        *(span(60 * 24 * -9 + i, completion=refusal) for i in range(8)),  # nine days before: outside the 7 days
        *(span(i, model_version="v2", completion=refusal if i < 2 else "Fine.") for i in range(5)),
    ])
    run_quality_checks(settings, warehouse, start=T0 - 9 * day, end=T0 - 9 * day + dt.timedelta(hours=1))
    run_quality_checks(settings, warehouse, start=T0 - 2 * day, end=T0 - 2 * day + dt.timedelta(hours=1))
    run_quality_checks(settings, warehouse, start=T0, end=at(60))
    (row,) = quality_rows(warehouse, start=T0)
    assert (row["refusal_rate"], row["ref_n_ok"], row["ref_refusal_rate"]) == (0.4, 8, 0.0)
    assert row["refusal_rate_increase"] == pytest.approx(0.4)


def test_accuracy_from_a_feedback_table(warehouse, settings_for):
    with warehouse.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE user_feedback (span_id VARCHAR(16), thumbs VARCHAR(8))")
    spans = [span(i) for i in range(4)]
    insert(warehouse, "llm_spans", spans)
    with warehouse.engine.begin() as conn:
        for s, vote in ((spans[0], "up"), (spans[1], "down"), (spans[2], "up"), (spans[2], "down")):
            conn.exec_driver_sql("INSERT INTO user_feedback VALUES (%s, %s)" if conn.dialect.name == "postgresql"
                                 else "INSERT INTO user_feedback VALUES (?, ?)", (s["span_id"], vote))
    settings = settings_for(warehouse.url, {"feedback": {"table": "user_feedback", "value_column": "thumbs"},
                                            "min_labelled": 1})
    run_quality_checks(settings, warehouse, start=T0, end=at(60))
    (row,) = quality_rows(warehouse)
    # span 0 up, span 1 down, span 2 up and down (down wins), span 3 no feedback
    assert (row["n_labelled"], row["n_correct"], row["accuracy"]) == (3, 1, pytest.approx(1 / 3))


def test_a_missing_feedback_table_is_a_configuration_error(warehouse, settings_for):
    from llmmon.errors import ConfigError

    settings = settings_for(warehouse.url, {"feedback": {"table": "no_such_table"}})
    with pytest.raises(ConfigError, match="quality.feedback.table: table 'no_such_table' does not exist"):
        run_quality_checks(settings, warehouse, start=T0, end=at(60))
    assert quality_rows(warehouse) == []  # nothing half-written
