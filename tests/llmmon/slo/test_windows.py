"""Window math on hand-checked spans: counts, exact percentiles, throughput, cost, bad input, slices."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from llmmon.config import Price
from llmmon.slo.windows import SloInputError, aggregate_windows
from llmmon.slo_config import SloConfig

from .conftest import T0, arrow, span

S = dt.timedelta(seconds=1)
V1 = Price(model="llmmon-demo-v1", input_per_mtok=0.5, output_per_mtok=1.5, effective_from=dt.date(2026, 1, 1))


def _window(rows, config=None, prices=(V1,)):
    table = aggregate_windows(arrow(rows), config or SloConfig(slices=()), prices)
    return table.to_pylist()


def _hand_checked():
    # Five answered spans, one error, one negative and one missing duration, all in the window [T0, T0+5m).
    rows = [span(T0 + i * 10 * S, duration_s=float(d), ttft_s=t)
            for i, (d, t) in enumerate([(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4), (5, 2.0)])]
    rows.append(span(T0 + 60 * S, duration_s=0.5, ttft_s=None, status="error", input_tokens=None,
                     output_tokens=None))
    rows.append(span(T0 + 70 * S, duration_s=-1.0, ttft_s=0.2))  # end before start: counted, not used
    rows.append(span(T0 + 80 * S, duration_s=None, ttft_s=None))
    return rows


def test_counts_percentiles_throughput_and_cost_of_one_window():
    (row,) = _window(_hand_checked())
    assert (row["window_start"], row["window_end"]) == (T0, T0 + dt.timedelta(minutes=5))
    assert (row["model"], row["endpoint"], row["dimension"], row["value"]) == ("llmmon-demo-v1", "demo", "all", "")
    assert (row["n_requests"], row["n_errors"], row["error_rate"]) == (8, 1, 0.125)
    # latency: the five answered durations 1..5 (linear interpolation: p95 at rank 3.8, p99 at 3.96)
    assert (row["n_latency"], row["n_bad_duration"]) == (5, 2)
    assert row["latency_p50_s"] == 3.0
    assert row["latency_p95_s"] == pytest.approx(4.8)
    assert row["latency_p99_s"] == pytest.approx(4.96)
    # TTFT: 0.1 0.2 0.2 0.3 0.4 2.0 (the negative-duration span's TTFT is a measurement of its own)
    assert row["n_ttft"] == 6
    assert row["ttft_p50_s"] == pytest.approx(0.25)
    assert row["ttft_p95_s"] == pytest.approx(0.4 + 0.75 * 1.6)
    assert row["ttft_p99_s"] == pytest.approx(0.4 + 0.95 * 1.6)
    assert (row["ttft_slow_s"], row["n_ttft_slow"]) == (1.5, 1)
    assert (row["latency_slow_s"], row["n_latency_slow"]) == (8.0, 0)
    assert row["error_rate_objective"] == 0.005
    # 1,000 output tokens over 0.9 + 1.8 + 2.7 + 3.6 + 3.0 = 12 s of generation
    assert row["output_tokens_per_s"] == pytest.approx(1000 / 12)
    assert (row["input_tokens"], row["output_tokens"]) == (7000, 1400)
    # $0.50 / $1.50 per Mtok: 1000 x 0.5e-6 + 200 x 1.5e-6 = $0.0008 a span; the error span has no tokens
    assert (row["n_priced"], row["n_cost_unknown"]) == (7, 1)
    assert row["cost_usd"] == pytest.approx(7 * 0.0008)
    assert row["cost_per_request_usd"] == pytest.approx(0.0008)
    assert row["cost_per_1k_usd"] == pytest.approx(0.8)
    assert row["sparse"] is True  # 8 < slo.min_requests (20)
    assert row["n_clock_skew"] == 0


def test_windows_are_aligned_and_a_span_belongs_to_the_window_of_its_start():
    rows = [span(T0 - S, duration_s=30.0), span(T0, duration_s=2.0), span(T0 + 299 * S), span(T0 + 300 * S)]
    out = _window(rows)
    assert [(r["window_start"], r["n_requests"]) for r in out] == [
        (T0 - dt.timedelta(minutes=5), 1), (T0, 2), (T0 + dt.timedelta(minutes=5), 1)]
    assert out[0]["n_latency_slow"] == 1  # 30 s > 8 s, counted in the window it started in


def test_unknown_model_cost_is_unknown_never_zero_and_prices_are_effective_dated():
    dated = [Price(model="dated", input_per_mtok=1.0, output_per_mtok=1.0, effective_from=dt.date(2026, 1, 1)),
             Price(model="dated", input_per_mtok=2.0, output_per_mtok=2.0, effective_from=dt.date(2026, 11, 27))]
    day_before = T0 - dt.timedelta(hours=10, minutes=1)  # 2026-11-26 23:59
    rows = [span(T0, model="mystery"), span(T0 + S, model="mystery"),
            span(T0 + 2 * S, model="mystery", cost_usd=0.01),  # a cost the span carries wins
            span(day_before, model="dated"), span(T0, model="dated"),
            span(T0, model="llmmon-demo-v1", response_model=None)]  # no response model: the requested one's price
    out = {(r["model"], r["window_start"]): r for r in _window(rows, prices=(V1, *dated))}
    mystery = out[("mystery", T0)]
    assert (mystery["n_requests"], mystery["n_priced"], mystery["n_cost_unknown"]) == (3, 1, 2)
    assert mystery["cost_usd"] == pytest.approx(0.01) and mystery["cost_per_1k_usd"] == pytest.approx(10.0)
    assert out[("dated", T0 - dt.timedelta(hours=10, minutes=5))]["cost_usd"] == \
        pytest.approx(1200 * 1.0 / 1e6)
    assert out[("dated", T0)]["cost_usd"] == pytest.approx(1200 * 2.0 / 1e6)
    assert out[("llmmon-demo-v1", T0)]["cost_usd"] == pytest.approx(0.0008)
    only_unknown = _window([span(T0, model="mystery")])[0]
    assert only_unknown["cost_usd"] is None and only_unknown["cost_per_1k_usd"] is None
    assert only_unknown["n_cost_unknown"] == 1


def test_clock_skew_is_counted():
    ok = span(T0, duration_s=2.0, ingested_at=T0 + 10 * S)
    ahead = span(T0 + S, duration_s=2.0, ingested_at=T0 - 120 * S)  # ended 2 minutes after it was ingested
    within = span(T0 + 2 * S, duration_s=2.0, ingested_at=T0 - 30 * S)  # under slo.clock_skew_s (60 s)
    (row,) = _window([ok, ahead, within])
    assert row["n_clock_skew"] == 1 and row["n_requests"] == 3


def test_slices_are_grouping_sets_not_a_cross_product():
    rows = [span(T0 + i * S, replica=f"r-{i % 2}", user_segment="free" if i < 3 else "pro",
                 ttft_s=0.1 if i % 2 == 0 else 3.0) for i in range(6)]
    out = _window(rows, SloConfig(slices=("replica", "user_segment"), min_requests=3))
    got = {(r["dimension"], r["value"]): (r["n_requests"], r["ttft_p50_s"], r["sparse"]) for r in out}
    assert got == {
        ("all", ""): (6, pytest.approx(1.55), False),
        ("replica", "r-0"): (3, pytest.approx(0.1), False),
        ("replica", "r-1"): (3, pytest.approx(3.0), False),
        ("user_segment", "free"): (3, pytest.approx(0.1), False),  # r-0, r-1, r-0
        ("user_segment", "pro"): (3, pytest.approx(3.0), False),  # r-1, r-0, r-1
    }


def test_missing_slice_values_and_optional_columns():
    rows = [{"start_time": T0, "status": "ok", "duration_s": 1.0}, {"start_time": T0, "status": "error"}]
    (row,) = aggregate_windows(arrow(rows), SloConfig(slices=()), ()).to_pylist()
    assert (row["model"], row["endpoint"], row["n_requests"], row["n_errors"]) == ("", "", 2, 1)
    assert row["n_ttft"] == 0 and row["ttft_p95_s"] is None
    assert row["latency_p50_s"] == 1.0 and row["n_bad_duration"] == 1  # the error span has no duration
    assert row["n_cost_unknown"] == 2 and row["cost_usd"] is None


def test_parquet_path_gives_the_same_rows(tmp_path):
    rows = _hand_checked()
    path = tmp_path / "spans.parquet"
    pq.write_table(arrow(rows), path)
    config = SloConfig(slices=("replica",))
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    from_file = aggregate_windows(str(path), config, (V1,), computed_at=now)
    from_url = aggregate_windows(f"file://{path}", config, (V1,), computed_at=now)
    from_table = aggregate_windows(arrow(rows), config, (V1,), computed_at=now)
    assert from_file.to_pylist() == from_table.to_pylist() == from_url.to_pylist()
    import fsspec  # any fsspec URL (s3://, gs://...): here the in-memory filesystem

    with fsspec.filesystem("memory").open("memory://slo-test/spans.parquet", "wb") as f:
        pq.write_table(arrow(rows), f)
    from_memory = aggregate_windows("memory://slo-test/spans.parquet", config, (V1,), computed_at=now)
    assert from_memory.to_pylist() == from_table.to_pylist()


def test_bad_sources_name_the_problem(tmp_path):
    with pytest.raises(SloInputError, match="lack required column"):
        aggregate_windows(arrow([{"start_time": T0, "duration_s": 1.0}]), SloConfig(), ())
    with pytest.raises(SloInputError, match="cannot read spans"):
        aggregate_windows(str(tmp_path / "nope.parquet"), SloConfig(), ())
