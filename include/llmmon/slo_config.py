"""Configuration of infrastructure SLO windows, burn rates and triage (issue 7): ``settings.slo``.

Every field has a default, so the embedded defaults load without a ``slo:`` section. See docs/slo.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

SLICE_DIMENSIONS = ("model_version", "prompt_template", "user_segment", "replica")
"""Dimensions a window can be sliced by, besides the (model, endpoint) every row has."""


def _duration(value: object) -> dt.timedelta:
    if isinstance(value, dt.timedelta):  # the defaults below are built while llmmon.config imports this module
        return value
    from llmmon.config import parse_duration  # llmmon.config imports this module: import at validation time

    return parse_duration(value)


Duration = Annotated[dt.timedelta, BeforeValidator(_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Objectives(_Strict):
    """The service level objectives, per window and slice; null disables one.

    ``ttft_p95_s``: 95% of answered requests get their first token within this many seconds (TTFT p95 below it).
    ``latency_p99_s``: 99% finish within this many seconds (end-to-end p99 below it). ``error_rate``: at most this
    share of requests fail. ``cost_per_1k_usd``: cost per 1,000 priced requests at most this many USD.
    The latency and error objectives are also ratio SLOs with an error budget (5%, 1% and ``error_rate`` of
    requests) from which burn rates are computed.
    """

    ttft_p95_s: Annotated[float, Field(gt=0)] | None = 1.5
    latency_p99_s: Annotated[float, Field(gt=0)] | None = 8.0
    error_rate: Annotated[float, Field(gt=0, lt=1)] | None = 0.005
    cost_per_1k_usd: Annotated[float, Field(gt=0)] | None = 5.0


class BurnRates(_Strict):
    """Error budgets and multi-window burn rates (Google SRE workbook, "Alerting on SLOs", method 6).

    ``period``: the SLO period a budget is spent over (30 days). The alert windows are the workbook's: fast burn
    over 1 hour and 5 minutes, slow burn over 6 hours and 30 minutes (a window shorter than ``slo.window`` is one
    window); the factors (14.4 and 6: 2% and 5% of a 30-day budget) are the thresholds of the shipped rules
    ``slo_fast_burn`` and ``slo_slow_burn``.
    """

    period: Duration = dt.timedelta(days=30)


class TriageConfig(_Strict):
    """``llmmon triage``: the baseline a slice is compared with and what counts as a deviation.

    A slice's period is compared with the same slice over ``baseline`` before the period. Slices with fewer than
    ``min_requests`` requests on either side are not ranked. A slice deviates when its TTFT p95 or end-to-end
    p99 grew by at least ``min_ratio`` times, or its error rate by at least ``min_error_increase`` (absolute).
    """

    baseline: Duration = dt.timedelta(days=7)
    min_requests: Annotated[int, Field(ge=1)] = 20
    min_ratio: Annotated[float, Field(gt=1)] = 1.5
    min_error_increase: Annotated[float, Field(gt=0, lt=1)] = 0.01
    top: Annotated[int, Field(ge=1, le=100)] = 10


class SloConfig(BaseModel):
    """``settings.slo``: windows of production spans, the objectives they are held to, and triage.

    ``window``: window length (divides a day; windows are aligned to UTC midnight). ``slices``: dimensions stored
    besides the per-(model, endpoint) rollup, one row per value of each (not their cross product).
    ``min_requests``: a slice's window with fewer requests is stored with ``sparse`` set and gives "no data" to
    alert rules (a p99 of 20 requests is their maximum). ``clock_skew_s``: a span that ended more than this after
    it was ingested comes from a clock ahead of the ingester's (counted in ``n_clock_skew``).
    ``settle``: the slo_report DAG evaluates alert rules this long after its interval ends, so a window is judged
    once the ingestion cadence has delivered its spans (the engine does not re-judge a window it has walked).
    ``duckdb_threads`` / ``duckdb_memory_limit``: bounds of the in-process aggregation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: Duration = dt.timedelta(minutes=5)
    slices: tuple[Literal["model_version", "prompt_template", "user_segment", "replica"], ...] = SLICE_DIMENSIONS
    min_requests: Annotated[int, Field(ge=1)] = 20
    objectives: Objectives = Objectives()
    burn_rates: BurnRates = BurnRates()
    clock_skew_s: Annotated[float, Field(ge=0)] = 60.0
    settle: Duration = dt.timedelta(minutes=15)
    triage: TriageConfig = TriageConfig()
    duckdb_threads: Annotated[int, Field(ge=1, le=256)] = 2
    duckdb_memory_limit: Annotated[str, Field(pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")] = "512MB"

    @field_validator("window")
    @classmethod
    def _window_divides_a_day(cls, value: dt.timedelta) -> dt.timedelta:
        seconds = value.total_seconds()
        if seconds < 60 or seconds != int(seconds) or 86400 % int(seconds):
            raise ValueError(f"window {value} must be at least 1 minute and divide a day evenly (1m, 5m, 15m, 1h)")
        return value

    @field_validator("slices")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"slices {list(value)} repeat a dimension")
        return value
