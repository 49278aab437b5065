"""Faults the demo server injects: an explicit queue for tests, seeded rates for chaos demos."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from llmmon.demo.hashing import stable_unit

FAULT_KINDS: tuple[str, ...] = ("429", "500", "hang", "cut")
NO_FAULT = "ok"  # a queue entry that lets one request through untouched


class FaultPlan:
    """Decides the fault (or None) for the n-th chat completion request.

    Queued entries are taken first, in order. Otherwise the rates apply: request number ``n`` draws
    ``stable_unit(seed, "fault", n)`` and falls into the kinds' cumulative rate bands (in ``FAULT_KINDS``
    order), so the same seed gives the same faults on the same request numbers, whatever the timing.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.queue: deque[str] = deque()
        self.rates: dict[str, float] = {}

    def set_queue(self, entries: Iterable[object]) -> None:
        """Replace the queue; entries are fault kinds or ``"ok"`` (ints such as 429 are accepted)."""
        parsed: list[str] = []
        for i, entry in enumerate(entries):
            kind = str(entry).strip().lower()
            if kind not in FAULT_KINDS and kind != NO_FAULT:
                raise ValueError(
                    f"queue[{i}]: unknown fault {entry!r}; expected one of {', '.join(FAULT_KINDS)} or '{NO_FAULT}'"
                )
            parsed.append(kind)
        self.queue = deque(parsed)

    def set_rates(self, rates: Mapping[str, object]) -> None:
        """Replace the rates; each is a probability and together they may not exceed 1."""
        parsed: dict[str, float] = {}
        for kind, value in rates.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"rates.{kind}: unknown fault; expected one of {', '.join(FAULT_KINDS)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"rates.{kind}: must be a number between 0 and 1, got {value!r}")
            parsed[kind] = float(value)
        total = sum(parsed.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"rates: the rates add up to {total:g}, more than 1")
        self.rates = parsed

    def next(self, n: int) -> str | None:
        """The fault for request number ``n`` (counted from 1), or None."""
        if self.queue:
            kind = self.queue.popleft()
            return None if kind == NO_FAULT else kind
        if not self.rates:
            return None
        draw = stable_unit(self.seed, "fault", n)
        edge = 0.0
        for kind in FAULT_KINDS:
            edge += self.rates.get(kind, 0.0)
            if draw < edge:
                return kind
        return None

    def clear(self) -> None:
        self.queue.clear()
        self.rates = {}

    def snapshot(self) -> dict[str, object]:
        return {"queue": list(self.queue), "rates": dict(self.rates)}
