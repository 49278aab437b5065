"""The generic upsert: native ON CONFLICT on SQLite/PostgreSQL and the portable fallback mean the same."""

from __future__ import annotations

import numpy as np
import pytest

from llmmon.warehouse import WarehouseError, upsert
from llmmon.warehouse.schema import deployments, eval_staging

from . import hours, table_rows


def _deploy(deploy_id: str, version: str, at: float, recorded: float, **extra) -> dict:
    return {
        "deploy_id": deploy_id,
        "endpoint": "demo",
        "model": "m",
        "model_version": version,
        "source": "manual",
        "deployed_at": hours(at),
        "recorded_at": hours(recorded),
        **extra,
    }


@pytest.fixture(params=["native", "fallback"])
def force_fallback(request, monkeypatch):
    """Run the test through ON CONFLICT, then through the fallback other dialects get."""
    if request.param == "fallback":
        monkeypatch.setattr(upsert, "NATIVE_DIALECTS", ())
    return request.param


def test_insert_then_update_preserving_and_keeping_absent_columns(warehouse, force_fallback):
    with warehouse.engine.begin() as conn:
        n = upsert.upsert(
            conn,
            deployments,
            [_deploy("d1", "v1", 0, 0, stage="canary", details={"a": 1}), _deploy("d2", "v2", 1, 1)],
            ["deploy_id"],
            preserve=["recorded_at"],
        )
    assert n == 2
    with warehouse.engine.begin() as conn:
        # d1 changes version, recorded_at (preserved) and leaves stage/details out (kept); d3 is new.
        upsert.upsert(
            conn,
            deployments,
            [_deploy("d1", "v1b", 0, 5), _deploy("d3", "v3", 2, 2)],
            ["deploy_id"],
            preserve=["recorded_at"],
        )
    rows = {r["deploy_id"]: r for r in table_rows(warehouse, deployments)}
    assert sorted(rows) == ["d1", "d2", "d3"]
    assert rows["d1"]["model_version"] == "v1b"
    assert rows["d1"]["recorded_at"] == hours(0)
    assert rows["d1"]["stage"] == "canary"
    assert rows["d1"]["details"] == {"a": 1}
    assert rows["d3"]["recorded_at"] == hours(2)


def test_composite_key_and_repeated_keys_in_one_batch(warehouse, force_fallback):
    def staged(key: str, shard: int, value: int) -> dict:
        return {"run_key": "r", "request_key": key, "shard": shard, "payload": {"v": value}, "written_at": hours(0)}

    with warehouse.engine.begin() as conn:
        upsert.upsert(conn, eval_staging, [staged("a", 0, 1), staged("b", 0, 1)], ["run_key", "request_key"])
    with warehouse.engine.begin() as conn:
        # "a" twice in one batch: the last one wins, as if written one after another.
        n = upsert.upsert(
            conn,
            eval_staging,
            [staged("a", 1, 2), staged("c", 1, 1), staged("a", 2, 3)],
            ["run_key", "request_key"],
        )
    assert n == 2
    rows = table_rows(warehouse, eval_staging)
    assert [(r["request_key"], r["shard"], r["payload"]) for r in rows] == [
        ("a", 2, {"v": 3}),
        ("b", 0, {"v": 1}),
        ("c", 1, {"v": 1}),
    ]


def test_writing_the_same_rows_twice_converges(warehouse, force_fallback):
    rows = [_deploy(f"d{i}", f"v{i}", i, i, details={"i": i}) for i in range(5)]
    for _ in range(2):
        with warehouse.engine.begin() as conn:
            upsert.upsert(conn, deployments, rows, ["deploy_id"])
    first = table_rows(warehouse, deployments)
    with warehouse.engine.begin() as conn:
        upsert.upsert(conn, deployments, rows, ["deploy_id"])
    assert table_rows(warehouse, deployments) == first
    assert len(first) == 5


def test_numpy_scalars_are_stored_as_python_values(warehouse):
    # pandas aggregations hand out numpy scalars; psycopg2 cannot adapt numpy.int64 by itself.
    row = {"run_key": "r", "request_key": "k", "shard": np.int64(3), "payload": {"n": np.int64(7)},
           "written_at": hours(0)}
    with warehouse.engine.begin() as conn:
        upsert.upsert(conn, eval_staging, [row], ["run_key", "request_key"])
    [stored] = table_rows(warehouse, eval_staging)
    assert stored["shard"] == 3 and type(stored["shard"]) is int
    assert stored["payload"] == {"n": 7}


def test_unknown_column_and_missing_key_are_errors_naming_the_row(warehouse):
    with warehouse.engine.begin() as conn:
        with pytest.raises(WarehouseError, match=r"row 1 has unknown column\(s\) 'modle'"):
            upsert.upsert(conn, deployments, [_deploy("d1", "v1", 0, 0), {"deploy_id": "d2", "modle": "x"}],
                          ["deploy_id"])
        with pytest.raises(WarehouseError, match=r"row 0 has no value for key column"):
            upsert.upsert(conn, deployments, [{**_deploy("d1", "v1", 0, 0), "deploy_id": None}], ["deploy_id"])
        with pytest.raises(WarehouseError, match="'nope' is not a column of deployments"):
            upsert.upsert(conn, deployments, [_deploy("d1", "v1", 0, 0)], ["nope"])
    assert table_rows(warehouse, deployments) == []


def test_empty_batch_writes_nothing(warehouse):
    with warehouse.engine.begin() as conn:
        assert upsert.upsert(conn, deployments, [], ["deploy_id"]) == 0
