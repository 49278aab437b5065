"""Which spans of a window get judged: a deterministic sample, stratified with minimums, cut by a budget.

Every span gets a draw ``u`` in [0, 1) from a keyed hash of (trace id, span id, window, salt): the same span in
the same window always draws the same number, so a retried or cleared run judges the same sample, and no
random state is involved. Uniform mode keeps the spans with ``u < rate``. Stratified mode does the same per
stratum (prompt template x user segment) and also keeps the ``min_per_stratum`` lowest draws of every stratum,
so a small segment is never left out of quality monitoring.

The sample comes back in priority order: first the stratum minimums, round-robin across strata by draw rank
(every stratum's first span, then every stratum's second, ...), then the rest by draw. A budget keeps the
longest prefix of that order that fits, so under a tight budget each stratum still gets its share first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from llmmon.judge_config import JudgeSamplingConfig

T = TypeVar("T")
_SCALE = float(2**64)


@dataclass(frozen=True)
class Candidate:
    """A judgeable span of the window: its ids and its stratum (``f"{prompt_template}|{user_segment}"``)."""

    trace_id: str
    span_id: str
    stratum: str


def stratum_of(prompt_template: str | None, user_segment: str | None) -> str:
    """The stratum label of a span (missing values are empty strings)."""
    return f"{prompt_template or ''}|{user_segment or ''}"


def _iso(t: dt.datetime) -> str:
    if t.tzinfo is None:
        raise ValueError(f"window bound {t.isoformat()} is naive; pass timezone-aware UTC datetimes")
    return t.astimezone(dt.UTC).isoformat()


def draw(trace_id: str, span_id: str, window_start: dt.datetime, window_end: dt.datetime, salt: str = "") -> float:
    """The span's sampling draw in [0, 1): a BLAKE2b hash of its ids, the window and ``salt``."""
    key = "\x1f".join((trace_id, span_id, _iso(window_start), _iso(window_end), salt))
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


@dataclass
class SamplePlan:
    """The sample in priority order, and per stratum: spans in the window, spans sampled, of which minimum."""

    ordered: list[Candidate]
    strata: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.ordered)


def sample_spans(
    candidates: Iterable[Candidate],
    *,
    config: JudgeSamplingConfig,
    window_start: dt.datetime,
    window_end: dt.datetime,
) -> SamplePlan:
    """Draw the sample of a window (see the module docstring). Input order does not matter."""
    drawn = sorted(
        ((draw(c.trace_id, c.span_id, window_start, window_end, config.salt), c) for c in candidates),
        key=lambda x: (x[0], x[1].trace_id, x[1].span_id),
    )
    by_stratum: dict[str, list[tuple[float, Candidate]]] = defaultdict(list)
    for u, c in drawn:
        by_stratum[c.stratum].append((u, c))

    minimum = config.min_per_stratum if config.mode == "stratified" else 0
    first: list[tuple[int, float, Candidate]] = []  # (rank in stratum, draw, span): the stratum minimums
    rest: list[tuple[float, Candidate]] = []
    strata: dict[str, dict[str, int]] = {}
    for name, items in by_stratum.items():
        kept_min = 0
        sampled = 0
        for rank, (u, c) in enumerate(items):
            if rank < minimum:
                first.append((rank, u, c))
                kept_min += 1
                sampled += 1
            elif u < config.rate:
                rest.append((u, c))
                sampled += 1
        strata[name] = {"spans": len(items), "sampled": sampled, "minimum": kept_min}
    first.sort(key=lambda x: (x[0], x[1], x[2].trace_id, x[2].span_id))
    ordered = [c for _, _, c in first] + [c for _, c in rest]
    return SamplePlan(ordered=ordered, strata=dict(sorted(strata.items())))


@dataclass
class BudgetCut(Generic[T]):
    """What a budget kept: the prefix ``kept``, how many items it ``cut``, and the estimates of the prefix.

    ``reason`` names the cap that cut (``max_calls`` or ``max_usd``), None when everything fit.
    ``est_usd`` is None when some kept item's cost cannot be estimated (the judge model has no price).
    """

    kept: list[T]
    cut: int
    calls: int
    est_usd: float | None
    reason: str | None = None


def apply_budget(
    items: Sequence[T],
    cost_of: Callable[[T], tuple[int, float | None]],
    *,
    max_calls: int | None,
    max_usd: float | None,
) -> BudgetCut[T]:
    """Keep the longest prefix of ``items`` whose calls and estimated USD stay within the caps.

    ``cost_of(item)`` gives (judge calls, estimated USD or None when unknown). An unknown cost cannot be held
    to ``max_usd``: such items are capped by calls only (the caller warns that the USD cap is not enforced).
    """
    calls = 0
    usd = 0.0
    usd_known = True
    for i, item in enumerate(items):
        n, cost = cost_of(item)
        if max_calls is not None and calls + n > max_calls:
            return BudgetCut(list(items[:i]), len(items) - i, calls, usd if usd_known else None, "max_calls")
        if cost is not None and max_usd is not None and usd + cost > max_usd + 1e-12:
            return BudgetCut(list(items[:i]), len(items) - i, calls, usd if usd_known else None, "max_usd")
        calls += n
        if cost is None:
            usd_known = False
        else:
            usd += cost
    return BudgetCut(list(items), 0, calls, usd if usd_known else None)
