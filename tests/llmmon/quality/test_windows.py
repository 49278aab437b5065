"""The window grid and the windows a DAG run covers."""

from __future__ import annotations

import datetime as dt

from llmmon.quality.windows import floor_time, run_window, windows_in

H = dt.timedelta(hours=1)
M15 = dt.timedelta(minutes=15)


def t(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 2, hour, minute, tzinfo=dt.UTC)


def test_floor_is_aligned_to_utc_midnight_whatever_the_offset():
    assert floor_time(t(9, 59), H) == t(9)
    assert floor_time(t(9, 44), M15) == t(9, 30)
    assert floor_time(t(0), dt.timedelta(hours=6)) == t(0)
    # 11:20 at +02:00 is 09:20 UTC
    assert floor_time(dt.datetime(2026, 11, 2, 11, 20, tzinfo=dt.timezone(dt.timedelta(hours=2))), H) == t(9)


def test_complete_windows_of_an_interval():
    assert windows_in(t(9), t(10), H) == [(t(9), t(10))]
    assert windows_in(t(9), t(10), M15) == [(t(9), t(9, 15)), (t(9, 15), t(9, 30)), (t(9, 30), t(9, 45)),
                                              (t(9, 45), t(10))]
    assert windows_in(t(9, 17), t(11, 17), H) == [(t(9), t(10)), (t(10), t(11))]  # the running hour is left out
    assert windows_in(t(9, 50), t(10, 5), H) == [(t(9), t(10))]  # shorter than a window: the last complete one


def test_run_window_by_data_interval_or_run_after():
    assert run_window(t(9), t(10), t(10), H) == (t(9), t(10))
    assert run_window(t(9), t(10), t(10), M15) == (t(9), t(10))  # four 15-minute windows, one run
    # asset-triggered (no interval) or a zero-length interval: the last complete window before the run was due
    assert run_window(None, None, t(10, 20), H) == (t(9), t(10))
    assert run_window(t(10, 20), t(10, 20), t(10, 20), H) == (t(9), t(10))


def test_airflow_pendulum_dates_give_plain_utc_windows():
    import pendulum

    start, end = run_window(pendulum.datetime(2026, 11, 2, 9, tz="UTC"), pendulum.datetime(2026, 11, 2, 10, tz="UTC"),
                            pendulum.datetime(2026, 11, 2, 10, tz="Europe/Paris"), H)
    assert (start, end) == (t(9), t(10))
    assert type(start) is dt.datetime and start.isoformat() == "2026-11-02T09:00:00+00:00"
    assert run_window(None, None, pendulum.datetime(2026, 11, 2, 11, 20, tz="Europe/Paris"), H) == (t(9), t(10))
