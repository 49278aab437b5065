"""The loop-lag monitor sees a blocked event loop, and percentiles match numpy's default."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from llmmon.endpoints.looplag import LoopLagMonitor, percentile


async def wait_for_samples(mon: LoopLagMonitor, n: int, deadline_s: float = 5.0) -> None:
    """Wait until the monitor holds ``n`` samples (a generous deadline: the machine may be busy)."""
    end = time.monotonic() + deadline_s
    while len(mon.lags_ms) < n:
        if time.monotonic() > end:
            raise AssertionError(f"monitor took {len(mon.lags_ms)} samples in {deadline_s}s, expected {n}")
        await asyncio.sleep(0.001)


def test_blocked_loop_shows_as_lag() -> None:
    async def main() -> tuple[float, list[float]]:
        mon = LoopLagMonitor(interval_s=0.002)
        mon.acquire()
        await wait_for_samples(mon, 3)
        time.sleep(0.05)  # hog the loop, as CPU-bound client work would
        during = mon.lag_now_ms()
        await wait_for_samples(mon, len(mon.lags_ms) + 1)
        mon.release()
        await mon.aclose()
        return during, mon.lags_ms

    during, lags = asyncio.run(main())
    assert during >= 50.0  # a timestamp taken now may have waited the whole block
    assert max(lags) >= 45.0  # the wake-up due during the block came late by nearly all of it


def test_idle_monitor_reports_no_lag() -> None:
    async def main() -> float:
        mon = LoopLagMonitor()
        return mon.lag_now_ms()

    assert asyncio.run(main()) == 0.0


def test_monitor_keeps_sampling_while_any_user_holds_it() -> None:
    async def main() -> int:
        mon = LoopLagMonitor(interval_s=0.002)
        mon.acquire()
        mon.acquire()
        mon.release()  # one user left
        await wait_for_samples(mon, 3)
        n = len(mon.lags_ms)
        await mon.aclose()
        return n

    assert asyncio.run(main()) >= 3


def test_stopped_monitor_adds_no_samples() -> None:
    async def main() -> tuple[int, int]:
        mon = LoopLagMonitor(interval_s=0.002)
        mon.acquire()
        await wait_for_samples(mon, 2)
        mon.release()
        await asyncio.sleep(0)
        n = len(mon.lags_ms)
        await asyncio.sleep(0.02)
        return n, len(mon.lags_ms)

    before, after = asyncio.run(main())
    assert before == after


@pytest.mark.parametrize("q", [0.0, 0.5, 0.95, 1.0])
def test_percentile_matches_numpy_linear(q: float) -> None:
    values = sorted([3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0])
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)))


def test_summary_of_known_samples() -> None:
    mon = LoopLagMonitor()
    mon.lags_ms.extend([0.0, 1.0, 2.0, 3.0, 100.0])
    assert mon.summary() == (2.0, pytest.approx(80.6), 100.0)
    assert mon.summary(mark=4) == (100.0, 100.0, 100.0)
