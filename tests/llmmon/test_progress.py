"""Progress reports at a steady interval, not per example, with counts, errors and ETA."""

from __future__ import annotations

from llmmon.progress import Progress


def test_emits_at_interval_with_eta():
    now = [0.0]
    lines: list[str] = []
    p = Progress(10, "examples", interval_s=5, emit=lines.append, clock=lambda: now[0])
    for i in range(4):
        now[0] = float(i + 1)  # one example per second
        p.advance(error=(i == 1))
    assert lines == []  # 4 s < interval: nothing yet
    now[0] = 5.0
    p.advance()
    assert lines == ["5/10 examples (50%), 1 errors, 1.0/s, elapsed 5s, ETA 5s"]
    now[0] = 6.0
    p.advance()
    assert len(lines) == 1  # next line only after another interval
    p.finish()
    assert lines[-1].startswith("6/10 examples (60%), 1 errors")
