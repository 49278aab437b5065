"""The window grid: fixed-size windows aligned to UTC midnight, and which of them a DAG run covers.

A run reads by its data interval, never by the clock: the windows it computes are the complete windows inside its
interval, so a retried or re-run interval recomputes exactly the same windows. Asset-triggered runs have no
interval of their own; they take the last complete window before the run was due.
"""

from __future__ import annotations

import datetime as dt

from llmmon.warehouse.schema import to_utc

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def plain_utc(t: dt.datetime) -> dt.datetime:
    """``t`` as a plain ``datetime`` in UTC (Airflow hands out pendulum DateTimes, whose arithmetic differs)."""
    t = to_utc(t)
    return dt.datetime(t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond, tzinfo=dt.UTC)


def floor_time(t: dt.datetime, window: dt.timedelta) -> dt.datetime:
    """The start of the window of size ``window`` that contains ``t`` (windows divide a day: aligned to midnight)."""
    t = plain_utc(t)
    return t - (t - _EPOCH) % window


def windows_in(start: dt.datetime, end: dt.datetime, window: dt.timedelta) -> list[tuple[dt.datetime, dt.datetime]]:
    """The complete windows between ``floor(start)`` and ``floor(end)``; when there is none (an interval shorter than
    a window), the last complete window ending at or before ``end``."""
    first, last = floor_time(start, window), floor_time(end, window)
    out = []
    ws = first
    while ws + window <= last:
        out.append((ws, ws + window))
        ws += window
    return out or [(last - window, last)]


def run_window(
    data_interval_start: dt.datetime | None,
    data_interval_end: dt.datetime | None,
    run_after: dt.datetime,
    window: dt.timedelta,
) -> tuple[dt.datetime, dt.datetime]:
    """The span of time a DAG run computes: the union of the windows of its data interval, or, without a data
    interval (asset-triggered runs, zero-length intervals), the last complete window before ``run_after``."""
    if data_interval_start is not None and data_interval_end is not None:
        data_interval_start, data_interval_end = plain_utc(data_interval_start), plain_utc(data_interval_end)
    if data_interval_start is None or data_interval_end is None or data_interval_end <= data_interval_start:
        end = floor_time(run_after, window)
        return end - window, end
    spans = windows_in(data_interval_start, data_interval_end, window)
    return spans[0][0], spans[-1][1]
