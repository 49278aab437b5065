"""Event-loop lag: how late the client's own event loop runs, so its overload is never reported as the model's.

A monitor task asks to wake every ``interval_s`` and records how late it actually woke. When the loop is busy
(parsing, building requests, anything CPU-bound), every callback waits — including the one that reads the first
token — so a timing taken during high lag overstates the endpoint's latency by up to that lag.

A call asks :meth:`LoopLagMonitor.lag_now_ms` at the moment it takes a timestamp (first token, end of stream):
how long the loop has been busy up to now. If the monitor's wake-up is overdue by ``d``, the loop has not been
free for ``d``, so bytes that arrived in that stretch waited up to ``d`` (plus at most one interval) before the
timestamp was taken. A busy stretch that ended before the bytes arrived (say, while 32 requests were being
built and sent) does not distort the timestamp, so it is not held against the call.
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
        self.woke: list[float] = []  # loop.time() of each wake-up, parallel to lags_ms
        self._users = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due: float | None = None  # loop.time() at which the pending wake-up is due

    # -- lifecycle -------------------------------------------------------------------------------------
    def acquire(self) -> None:
        """Start sampling (if not already) on the running loop."""
        self._users += 1
        if self._handle is None:
            loop = self._loop = asyncio.get_running_loop()
            self._due = loop.time() + self.interval_s
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
        self._handle = self._due = None

    def _tick(self) -> None:
        # A plain timer callback, not a task: no future or task step per wake-up (this runs 200 times a second).
        loop = self._loop
        if loop is None or self._due is None:
            return
        now = loop.time()
        lag = now - self._due
        # asyncio may fire a timer up to one clock-resolution early; that is no lag.
        self.lags_ms.append(lag * 1000.0 if lag > 0 else 0.0)
        self.woke.append(now)
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
        """How long (ms) the loop may have kept a callback running now from running: the wake-up overdue now,
        or the lag of a wake-up within the last interval (the same busy stretch may still be going on)."""
        worst = self.overdue_ms()
        if self.woke:
            recent = asyncio.get_running_loop().time() - self.interval_s
            i = len(self.woke) - 1
            while i >= 0 and self.woke[i] >= recent:
                worst = max(worst, self.lags_ms[i])
                i -= 1
        return worst

    def max_since(self, mark: int) -> float:
        """The worst lag (ms) seen since ``mark``, including the wake-up overdue right now."""
        recent = self.lags_ms[mark:]
        worst = max(recent) if recent else 0.0
        return max(worst, self.overdue_ms())

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
