"""Which windows a drift run tests: the one in the run conf, else the windows of the data interval."""

from __future__ import annotations

import datetime as dt

import pytest

from llmmon.drift.job import windows_to_test
from llmmon.drift_config import DriftConfig
from llmmon.errors import RunConfError

UTC = dt.UTC
H = dt.timedelta(hours=1)


def test_the_conf_window_wins():
    got = windows_to_test(DriftConfig(), "2026-11-27T05:00:00Z", "2026-11-27T06:00:00+00:00",
                          data_interval_start=dt.datetime(2026, 11, 1, tzinfo=UTC),
                          data_interval_end=dt.datetime(2026, 11, 2, tzinfo=UTC))
    assert got == [(dt.datetime(2026, 11, 27, 5, tzinfo=UTC), dt.datetime(2026, 11, 27, 6, tzinfo=UTC))]


def test_the_data_interval_is_cut_into_drift_windows():
    cfg = DriftConfig(window="1h")
    start = dt.datetime(2026, 11, 27, tzinfo=UTC)
    got = windows_to_test(cfg, None, None, data_interval_start=start, data_interval_end=start + 3 * H)
    assert got == [(start, start + H), (start + H, start + 2 * H), (start + 2 * H, start + 3 * H)]


def test_without_an_interval_the_last_complete_window_before_run_after():
    got = windows_to_test(DriftConfig(), None, None, run_after=dt.datetime(2026, 11, 28, 7, 30, tzinfo=UTC))
    assert got == [(dt.datetime(2026, 11, 27, tzinfo=UTC), dt.datetime(2026, 11, 28, tzinfo=UTC))]


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2026-11-27T05:00:00Z", None, "give both window_start and window_end"),
    ("2026-11-27T05:00:00", "2026-11-27T06:00:00", "need a UTC offset"),
    ("yesterday", "today", "window_start/window_end: Invalid isoformat string"),
])
def test_bad_conf_windows_are_run_conf_errors(start, end, message):
    with pytest.raises(RunConfError, match=message):
        windows_to_test(DriftConfig(), start, end)
