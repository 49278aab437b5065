"""Progress for long runs: examples done, errors, rate and ETA, reported at a steady interval (not per example)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable


class Progress:
    """Counts finished items and reports at most every ``interval_s`` seconds (and once at the end).

    ``emit`` receives one human-readable line; in a terminal pass ``tty=True`` to redraw a single line.
    Thread-safe, because endpoint callbacks may arrive from another thread.
    """

    def __init__(
        self,
        total: int,
        label: str = "examples",
        *,
        interval_s: float = 10.0,
        emit: Callable[[str], None] | None = None,
        tty: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.interval_s = interval_s
        self.tty = tty
        self._emit = emit or (lambda line: print(line, file=sys.stderr, flush=True))
        self._clock = clock
        self._lock = threading.Lock()
        self.done = 0
        self.errors = 0
        self._start = clock()
        self._last = self._start

    def advance(self, *, error: bool = False, n: int = 1) -> None:
        """Record ``n`` finished items; emit a line if the interval has passed."""
        with self._lock:
            self.done += n
            if error:
                self.errors += n
            now = self._clock()
            if now - self._last >= self.interval_s:
                self._last = now
                self._emit(self.line(now))

    def finish(self) -> None:
        """Emit the final line (always)."""
        with self._lock:
            line = self.line(self._clock())
        self._emit(line + ("\n" if self.tty else ""))

    def line(self, now: float | None = None) -> str:
        now = self._clock() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        remaining = max(self.total - self.done, 0)
        eta = f"{remaining / rate:.0f}s" if rate > 0 and remaining else ("0s" if not remaining else "?")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        text = (
            f"{self.done}/{self.total} {self.label} ({pct:.0f}%), {self.errors} errors, "
            f"{rate:.1f}/s, elapsed {elapsed:.0f}s, ETA {eta}"
        )
        return ("\r" + text) if self.tty else text
