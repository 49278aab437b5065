"""Quality of all production traffic: deterministic checks on every span, and judge-score shift detection.

- :mod:`~llmmon.quality.checks` — per span: error, empty, truncated, refusal, JSON validity and schema
  conformance, accuracy against late ground truth; counted per window and slice into ``traffic_quality``;
- :mod:`~llmmon.quality.shift` — each stratum's judge scores against its reference window (two-sample test,
  minimum samples, effect floor, correction across strata) into ``judge_shift``;
- :mod:`~llmmon.quality.windows` — the window grid and which windows a DAG run covers.

See docs/quality.md. The ``traffic_judge`` DAG runs them; the alert series ``traffic.*`` and ``judge.*`` read them.
"""

from llmmon.quality.checks import SpanCheck, SpanChecker, run_quality_checks
from llmmon.quality.shift import ShiftResult, detect_shifts, run_shift_detection, two_sample_test
from llmmon.quality.windows import floor_time, run_window, windows_in

__all__ = [
    "ShiftResult",
    "SpanCheck",
    "SpanChecker",
    "detect_shifts",
    "floor_time",
    "run_quality_checks",
    "run_shift_detection",
    "run_window",
    "two_sample_test",
    "windows_in",
]
