"""Staging: shard outputs round-trip through the warehouse, in one batch per write, and drive resume."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from llmmon.records import CallResult
from llmmon.warehouse import WarehouseError
from llmmon.warehouse.schema import eval_staging

from . import table_rows

RUN = "golden_eval/manual__2026-11-01T09:00:00+00:00"


def _call(key: str, **kw) -> dict:
    fields = dict(
        key=key,
        output=f"answer to {key}",
        finish_reason="stop",
        request_model="llmmon-demo-v1",
        response_model="llmmon-demo-v1",
        input_tokens=12,
        output_tokens=7,
        cost_usd=0.0000165,
        ttft_s=0.123456,
        latency_s=0.5,
        started_at=1793523600.25,
        attempts=1,
        loop_lag_max_ms=1.5,
        extra={"headers": {"x-demo-version": "v1"}, "chunks": [1, 2, 3]},
    )
    return CallResult(**(fields | kw)).to_dict()


def test_staging_round_trip_and_resume_keys(warehouse):
    shard0 = [_call("ex-2#0"), _call("ex-1#0")]
    shard1 = [_call("ex-3#0", error_type="RateLimitError", error="429 after 4 attempts", output=None)]
    assert warehouse.write_staging(RUN, 0, shard0) == 2
    assert warehouse.write_staging(RUN, 1, shard1) == 1
    warehouse.write_staging("golden_eval/other", 0, [_call("ex-1#0")])

    assert warehouse.staged_keys(RUN) == {"ex-1#0", "ex-2#0", "ex-3#0"}
    staged = warehouse.read_staging(RUN)
    assert staged == [shard0[1], shard0[0], shard1[0]]  # by shard, then request key
    assert CallResult.from_dict(staged[2]).error_type == "RateLimitError"
    assert warehouse.staged_keys("golden_eval/never") == set()
    assert warehouse.read_staging("golden_eval/never") == []


def test_writing_a_shard_again_converges(warehouse):
    calls = [_call(f"ex-{i}#0") for i in range(5)]
    warehouse.write_staging(RUN, 0, calls)
    warehouse.write_staging(RUN, 0, calls)
    rows = table_rows(warehouse, eval_staging)
    assert len(rows) == 5
    assert [r["payload"] for r in rows] == calls

    # A resumed shard writes only what was missing; a key re-run by another shard moves there.
    warehouse.write_staging(RUN, 1, [_call("ex-0#0", attempts=2)])
    rows = {r["request_key"]: r for r in table_rows(warehouse, eval_staging)}
    assert len(rows) == 5 and rows["ex-0#0"]["shard"] == 1 and rows["ex-0#0"]["payload"]["attempts"] == 2


def test_write_staging_is_one_batch_statement(warehouse):
    inserts: list[tuple[str, int]] = []

    def count(conn, clauseelement, multiparams, params, execution_options):
        if isinstance(clauseelement, sa.Insert):
            inserts.append((clauseelement.table.name, len(multiparams) or 1))

    sa.event.listen(warehouse.engine, "before_execute", count)
    warehouse.write_staging(RUN, 0, [_call(f"ex-{i}#0") for i in range(200)])
    sa.event.remove(warehouse.engine, "before_execute", count)
    assert inserts == [("eval_staging", 200)]
    assert len(warehouse.staged_keys(RUN)) == 200


def test_write_staging_needs_a_key(warehouse):
    with pytest.raises(WarehouseError, match=r"shard 3\): result 1 has no 'key'"):
        warehouse.write_staging(RUN, 3, [_call("a#0"), {"output": "x"}])
    assert warehouse.staged_keys(RUN) == set()
