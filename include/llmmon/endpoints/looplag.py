"""Event-loop lag: how late the client's own event loop runs, so its overload is never reported as the model's.

A timer callback asks to run every ``interval_s`` and records how late it actually ran. When the loop is busy
(parsing, building requests, anything CPU-bound), every callback waits — including the one that reads the first
token — so a timing taken during high lag overstates the endpoint's latency by up to that lag.

A call asks :meth:`LoopLagMonitor.lag_now_ms` at the moments it takes a timestamp (first token, end of
stream): the time since the monitor's latest wake-up was due, an upper bound on how long the loop may have kept
that timestamp waiting. A busy stretch that ended before the bytes arrived (say, while 32 requests were being
built and sent) does not distort the timestamp, and is not held against the call.
"""

from __future__ import annotations

import asyncio
import math


class LoopLagMonitor:
    """Samples event-loop lag (ms) while at least one user holds it (:meth:`acquire` / :meth:`release`)."""

    def __init__(self, interval_s: float = 0.005) -> None:
        if not interval_s > 0:
            raise ValueError(f"loop-lag interval must be positive, got {interval_s!r}")
        self.interval_s = interval_s
        self.lags_ms: list[float] = []
        self._users = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due: float | None = None  # loop.time() at which the pending wake-up is due
        self._last_due: float | None = None  # when the latest completed wake-up was due (or sampling began)

    # -- lifecycle -------------------------------------------------------------------------------------
    def acquire(self) -> None:
        """Start sampling (if not already) on the running loop."""
        self._users += 1
        if self._handle is None:
            loop = self._loop = asyncio.get_running_loop()
            self._last_due = loop.time()
            self._due = self._last_due + self.interval_s
            self._handle = loop.call_at(self._due, self._tick)

    def release(self) -> None:
        """Stop sampling when the last user releases."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            self._stop()

    async def aclose(self) -> None:
        """Stop sampling now, whoever still holds the monitor."""
        self._users = 0
        self._stop()

    def _stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._due = self._last_due = None

    def _tick(self) -> None:
        # A plain timer callback, not a task: no future or task step per wake-up (this runs 200 times a second).
        loop = self._loop
        if loop is None or self._due is None:
            return
        now = loop.time()
        lag = now - self._due
        self._last_due = min(self._due, now)
        # asyncio may fire a timer up to one clock-resolution early; that is no lag.
        self.lags_ms.append(lag * 1000.0 if lag > 0 else 0.0)
        self._due = now + self.interval_s
        self._handle = loop.call_at(self._due, self._tick)

    # -- reading -------------------------------------------------------------------------------------
    def mark(self) -> int:
        """A position to measure from (the number of samples so far)."""
        return len(self.lags_ms)

    def overdue_ms(self) -> float:
        """How late the pending wake-up already is (0 when it is not due yet or the monitor is idle)."""
        if self._due is None:
            return 0.0
        late = asyncio.get_running_loop().time() - self._due
        return late * 1000.0 if late > 0 else 0.0

    def lag_now_ms(self) -> float:
        """An upper bound (ms) on how long a callback running now may have waited for the loop.

        The loop last proved free when the monitor's latest wake-up was due (or when sampling started); since
        then it may have been busy throughout, so anything that became ready in between waited at most this
        long. On a quiet loop it stays below one interval plus the epoll rounding (~1 ms); it overstates a
        real wait by at most about one interval, so a flag raised on it errs on the side of caution.
        """
        if self._last_due is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._last_due) * 1000.0

    def summary(self, mark: int = 0) -> tuple[float, float, float]:
        """(p50, p95, max) of the lag samples since ``mark``, in ms; zeros when there are none."""
        samples = sorted(self.lags_ms[mark:])
        if not samples:
            return 0.0, 0.0, 0.0
        return percentile(samples, 0.50), percentile(samples, 0.95), samples[-1]


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile of already sorted values, by linear interpolation (numpy's default method)."""
    if not sorted_values:
        return math.nan
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
