"""Column types: UTC timestamps on both dialects (also under a non-UTC session), and JSON round trips."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa

from llmmon.warehouse import Warehouse, WarehouseError
from llmmon.warehouse.schema import to_utc

from . import T0

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
RUN = "golden_eval/tz"


@pytest.fixture
def non_utc_warehouse(warehouse):
    """The warehouse, reopened so PostgreSQL sessions run in America/New_York (SQLite has no session zone)."""
    if warehouse.engine.dialect.name != "postgresql":
        yield warehouse
        return
    url = warehouse.engine.url.update_query_dict({"options": "-c timezone=America/New_York"})
    wh = Warehouse(url.render_as_string(hide_password=False))
    with wh.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW timezone").scalar() == "America/New_York"
    yield wh
    wh.dispose()


def test_timestamps_come_back_as_utc_whatever_offset_went_in(non_utc_warehouse):
    wh = non_utc_warehouse
    ist_morning = dt.datetime(2026, 11, 1, 10, 0, tzinfo=IST)  # 04:30 UTC
    row = wh.record_deployment("d-ist", endpoint="demo", model="m", model_version="v1", deployed_at=ist_morning,
                               recorded_at=ist_morning)
    assert row["deployed_at"] == dt.datetime(2026, 11, 1, 4, 30, tzinfo=dt.UTC)
    assert row["deployed_at"].utcoffset() == dt.timedelta(0)
    assert row["deployed_at"].tzinfo == dt.UTC


def test_order_and_comparisons_follow_utc_not_local_wall_clock(non_utc_warehouse):
    # 10:00+05:30 (04:30 UTC) is earlier than 05:00 UTC although its wall clock reads later.
    wh = non_utc_warehouse
    wh.record_deployment("d-ist", endpoint="demo", model="m", model_version="v1",
                         deployed_at=dt.datetime(2026, 11, 1, 10, 0, tzinfo=IST))
    wh.record_deployment("d-utc", endpoint="demo", model="m", model_version="v2",
                         deployed_at=dt.datetime(2026, 11, 1, 5, 0, tzinfo=dt.UTC))
    assert wh.latest_deployment("demo")["deploy_id"] == "d-utc"
    assert wh.latest_deployment("demo", before=dt.datetime(2026, 11, 1, 10, 15, tzinfo=IST))["deploy_id"] == "d-ist"
    if wh.engine.dialect.name == "sqlite":
        with wh.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT deployed_at FROM deployments ORDER BY deploy_id").scalars().all()
        assert stored == ["2026-11-01 04:30:00.000000", "2026-11-01 05:00:00.000000"]


def test_epoch_seconds_and_iso_strings_are_accepted_naive_datetimes_are_not(warehouse):
    warehouse.start_eval_run({"run_key": RUN, "started_at": "2026-11-01T10:00:00+05:30"})
    warehouse.write_eval_results(
        RUN,
        [{"example_id": "e1", "trial": 0, "started_at": T0.timestamp() + 0.25}],  # CallResult.started_at
        [],
        {"finished_at": T0},
    )
    assert warehouse.get_eval_run(RUN)["started_at"] == dt.datetime(2026, 11, 1, 4, 30, tzinfo=dt.UTC)
    assert warehouse.eval_results(RUN)[0]["started_at"] == T0 + dt.timedelta(seconds=0.25)

    with pytest.raises(sa.exc.StatementError, match="is naive; llmmon stores timezone-aware UTC"):
        warehouse.start_eval_run({"run_key": RUN, "started_at": dt.datetime(2026, 11, 1, 9, 0)})
    assert warehouse.eval_results(RUN)[0]["example_id"] == "e1"  # the refused start cleared nothing


@pytest.mark.parametrize(
    "value, message",
    [
        (dt.datetime(2026, 1, 1), "naive"),
        ("2026-01-01 09:00", "naive"),
        ("yesterday", "not ISO 8601"),
        (True, "got True"),
        (dt.date(2026, 1, 1), "got datetime.date"),
    ],
)
def test_to_utc_refuses_what_it_cannot_place_in_time(value, message):
    with pytest.raises(WarehouseError, match=message):
        to_utc(value)


DETAILS = {
    "pass_rate_delta": -0.125,
    "p_value": 3.2e-05,
    "n": 200,
    "big": 2**53 + 1,
    "ok": True,
    "missing": None,
    "intents": [{"name": "remboursement", "note": "naïve “quotes” — 退款"}, {"name": "billing", "delta": 0}],
    "empty": {},
}


def test_json_round_trips_and_python_none_is_sql_null(warehouse):
    warehouse.start_eval_run({"run_key": RUN})
    warehouse.set_verdict(RUN, "base", "regression", DETAILS)
    assert warehouse.get_eval_run(RUN)["verdict_details"] == DETAILS

    warehouse.set_verdict(RUN, "base", "pass", None)
    with warehouse.engine.connect() as conn:
        is_null = conn.execute(sa.text("SELECT verdict_details IS NULL FROM eval_runs")).scalar()
    assert bool(is_null) is True


def test_json_converts_numpy_and_datetimes_and_refuses_nan(warehouse):
    warehouse.start_eval_run({"run_key": RUN})
    warehouse.set_verdict(RUN, None, "pass", {"n": np.int64(3), "xs": np.array([0.5, 1.0]), "at": T0})
    assert warehouse.get_eval_run(RUN)["verdict_details"] == {"n": 3, "xs": [0.5, 1.0], "at": T0.isoformat()}

    with pytest.raises(sa.exc.StatementError, match="NaN or Infinity"):
        warehouse.set_verdict(RUN, None, "pass", {"p_value": float("nan")})
    assert warehouse.get_eval_run(RUN)["verdict_details"]["n"] == 3
