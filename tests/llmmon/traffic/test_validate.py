"""Validation rules: Great Expectations and the vectorised pyarrow checks find exactly the same rows."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from llmmon.traffic import TrafficError
from llmmon.traffic.canonical import work_schema
from llmmon.traffic.validate import Validator, add_derived, build_rules
from llmmon.traffic_config import TrafficConfig

from .conftest import T0, ns

NOW = T0 + dt.timedelta(days=1)


def row(**changes) -> dict:
    base = {"trace_id": "ab" * 16, "span_id": "cd" * 8, "parent_span_id": None, "start_ns": ns(T0),
            "end_ns": ns(T0) + 10**9, "status": "ok", "operation": "chat", "request_model": "m", "endpoint": "e",
            "input_tokens": 1, "output_tokens": 2, "ttft_s": 0.1, "cost_usd": None, "_row_ref": "r",
            "_type_errors": None}
    return {**base, **changes}


CASES = {  # row -> the rules it must fail
    0: (row(), []),
    1: (row(trace_id=None), ["required_trace_id"]),
    2: (row(trace_id="0" * 32), ["trace_id_format"]),
    3: (row(span_id="xyz"), ["span_id_format"]),
    4: (row(parent_span_id="ab" * 7), ["parent_span_id_format"]),
    5: (row(start_ns=None), ["required_start_time"]),
    6: (row(end_ns=ns(T0) - 1), ["end_before_start"]),
    7: (row(end_ns=ns(T0) + 7200 * 10**9), ["duration_plausible"]),
    8: (row(start_ns=0, end_ns=10**9), ["start_time_plausible"]),
    9: (row(start_ns=ns(NOW + dt.timedelta(days=2)), end_ns=ns(NOW + dt.timedelta(days=2))), ["start_time_plausible"]),
    10: (row(status=None), ["required_status"]),
    11: (row(status="7"), ["status_known"]),
    12: (row(request_model=None, endpoint=None), ["required_request_model", "required_endpoint"]),
    13: (row(input_tokens=-1, output_tokens=10**8), ["input_tokens_range", "output_tokens_range"]),
    14: (row(ttft_s=-0.5), ["ttft_range"]),
    15: (row(cost_usd=-1.0), ["cost_non_negative"]),
    16: (row(_type_errors="x: wrong"), ["types"]),
    17: (row(end_ns=ns(T0)), []),  # a zero duration is fine
}


def table() -> pa.Table:
    return add_derived(pa.Table.from_pylist([r for r, _ in CASES.values()], schema=work_schema()))


def test_every_rule_fails_exactly_its_rows_in_both_engines():
    rules = build_rules(TrafficConfig(), now=NOW)
    validator = Validator(rules, great_expectations=True)
    outcome = validator.check(table())
    validator.finish()  # Great Expectations ran, and agreed (or this raises)
    validator.close()
    assert validator.ge_runs == 1
    found = {i: [r.name for r in rules if outcome.masks[r.name][i]] for i in CASES}
    assert found == {i: expected for i, (_, expected) in CASES.items()}
    assert outcome.bad.tolist() == [bool(expected) for _, expected in CASES.values()]


def test_a_disagreement_stops_the_ingestion():
    rules = build_rules(TrafficConfig(), now=NOW)

    class Blind(type(rules[0])):
        def mask(self, table):  # a broken vectorised check: never fails a row
            return np.zeros(table.num_rows, dtype=bool)

    rules = [Blind(**dataclasses.asdict(r)) if r.name == "end_before_start" else r for r in rules]
    validator = Validator(rules, great_expectations=True)
    validator.check(table())
    with pytest.raises(TrafficError, match=r"end_before_start: Great Expectations and llmmon's vectorised check "
                                           r"disagree \(rows only GE flags: \[6\]"):
        validator.finish()
    validator.close()


def test_batches_are_pooled_per_great_expectations_run():
    validator = Validator(build_rules(TrafficConfig(), now=NOW), great_expectations=True)
    for _ in range(3):
        validator.check(table())
    assert validator.ge_runs == 0  # pooled, far below GE_ROWS
    validator.finish()
    validator.close()
    assert validator.ge_runs == 1
