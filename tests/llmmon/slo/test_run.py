"""The windows job on a real warehouse (SQLite and PostgreSQL): only changed windows, late data, replays, catch-up."""

from __future__ import annotations

import datetime as dt

import pytest

from llmmon.slo.run import run_slo_windows
from llmmon.warehouse.slo_store import processed_batches, replace_windows, window_rows

from .conftest import T0, ingest_rows, span

M5 = dt.timedelta(minutes=5)
S = dt.timedelta(seconds=1)


def _rollups(warehouse):
    return {r["window_start"]: r for r in window_rows(warehouse, dimension="all")}


def test_first_run_then_late_data_recomputes_only_its_window(warehouse, slo_settings, tmp_path):
    first = [span(T0 + i * S, duration_s=1.0 + i) for i in range(4)] + [span(T0 + M5 + i * S) for i in range(3)]
    ingest_rows(slo_settings, warehouse, tmp_path, first, "b1")
    done = run_slo_windows(slo_settings, warehouse, run_key="r1")
    assert done["batches"] == ["b1"] and done["windows"] == [T0, T0 + M5] and done["spans"] == 7
    # 2 windows x (all + model_version + prompt_template + user_segment + replica)
    assert done["rows"] == 10
    rows = _rollups(warehouse)
    assert rows[T0]["n_requests"] == 4 and rows[T0]["latency_p50_s"] == pytest.approx(2.5)
    assert rows[T0 + M5]["n_requests"] == 3
    computed_first = rows[T0 + M5]["computed_at"]

    # Nothing new: nothing recomputed.
    assert run_slo_windows(slo_settings, warehouse)["windows"] == []

    # A late span of the first window (another replica) and an error, in a new ingestion: the first window is
    # recomputed from all its spans, the second one is left alone.
    late = [span(T0 + 100 * S, duration_s=9.0, replica="r-1"), span(T0 + 101 * S, status="error", replica="r-1")]
    ingest_rows(slo_settings, warehouse, tmp_path, late, "b2")
    done = run_slo_windows(slo_settings, warehouse, run_key="r2",
                           now=dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    assert done["batches"] == ["b2"] and done["windows"] == [T0] and done["spans"] == 6
    rows = _rollups(warehouse)
    assert (rows[T0]["n_requests"], rows[T0]["n_errors"], rows[T0]["n_latency_slow"]) == (6, 1, 1)
    assert rows[T0]["latency_p50_s"] == pytest.approx(3.0)  # 1 2 3 4 9
    assert rows[T0 + M5]["computed_at"] == computed_first  # untouched
    replicas = {r["value"]: r["n_requests"] for r in window_rows(warehouse, start=T0, end=T0 + M5,
                                                                     dimension="replica")}
    assert replicas == {"r-0": 4, "r-1": 2}
    assert sorted((b["batch_id"], b["n_spans"], b["n_windows"], b["run_key"]) for b in processed_batches(warehouse)) == [
        ("b1", 7, 2, "r1"), ("b2", 2, 1, "r2")]


def test_replayed_file_adds_nothing_and_catch_up_counts_each_span_once(warehouse, slo_settings, tmp_path):
    rows = [span(T0 + i * S) for i in range(5)]
    ingest_rows(slo_settings, warehouse, tmp_path, rows, "b1")
    # Downtime: three more ingestions land before the next run — one of them a replay of the first file.
    ingest_rows(slo_settings, warehouse, tmp_path, rows, "b1-replay")
    ingest_rows(slo_settings, warehouse, tmp_path, [span(T0 + M5)], "b2")
    ingest_rows(slo_settings, warehouse, tmp_path, [span(T0 + 2 * M5), span(T0 + 10 * S)], "b3")
    done = run_slo_windows(slo_settings, warehouse)
    assert done["batches"] == ["b1", "b1-replay", "b2", "b3"]
    assert done["windows"] == [T0, T0 + M5, T0 + 2 * M5]
    got = {k: r["n_requests"] for k, r in _rollups(warehouse).items()}
    assert got == {T0: 6, T0 + M5: 1, T0 + 2 * M5: 1}  # the replay counted once
    # Running again, or replaying again, changes nothing.
    assert run_slo_windows(slo_settings, warehouse)["batches"] == []
    ingest_rows(slo_settings, warehouse, tmp_path, rows, "b1-replay-2")
    done = run_slo_windows(slo_settings, warehouse)
    assert done["batches"] == ["b1-replay-2"] and done["windows"] == []  # no span was new
    assert {k: r["n_requests"] for k, r in _rollups(warehouse).items()} == got


def test_replacing_a_window_drops_slices_that_vanished(warehouse, slo_settings):
    from llmmon.slo.windows import aggregate_windows

    from .conftest import arrow

    before = aggregate_windows(arrow([span(T0, replica="r-0"), span(T0, replica="r-9")]), slo_settings.slo)
    replace_windows(warehouse, [T0], before)
    after = aggregate_windows(arrow([span(T0, replica="r-0")]), slo_settings.slo)
    replace_windows(warehouse, [T0], after)
    assert [r["value"] for r in window_rows(warehouse, dimension="replica")] == ["r-0"]
    from llmmon.warehouse.schema import WarehouseError

    with pytest.raises(WarehouseError, match="outside the windows"):
        replace_windows(warehouse, [T0 + M5], after)
