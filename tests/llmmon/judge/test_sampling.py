"""Sampling: deterministic draws (same sample on retry), stratum minimums, priority order, budget caps."""

from __future__ import annotations

import datetime as dt
import hashlib

from llmmon.judge.sampling import Candidate, apply_budget, draw, sample_spans, stratum_of
from llmmon.judge_config import JudgeSamplingConfig

W0 = dt.datetime(2026, 11, 28, 9, tzinfo=dt.UTC)
W1 = W0 + dt.timedelta(hours=1)


def _spans(stratum: str, n: int) -> list[Candidate]:
    return [Candidate(f"{stratum}-trace-{i:03d}".ljust(32, "0"), f"{i:016x}", stratum) for i in range(n)]


def _by_draw(spans: list[Candidate], start=W0, end=W1, salt="llmmon") -> list[Candidate]:
    return sorted(spans, key=lambda c: draw(c.trace_id, c.span_id, start, end, salt))


def test_the_draw_is_a_keyed_hash_of_ids_window_and_salt():
    key = "\x1f".join(("t" * 32, "s" * 16, "2026-11-28T09:00:00+00:00", "2026-11-28T10:00:00+00:00", "llmmon"))
    expected = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 2**64
    assert draw("t" * 32, "s" * 16, W0, W1, "llmmon") == expected
    # The same instant in another time zone is the same window.
    assert draw("t" * 32, "s" * 16, W0.astimezone(dt.timezone(dt.timedelta(hours=2))), W1, "llmmon") == expected
    assert draw("t" * 32, "s" * 16, W0, W1 + dt.timedelta(hours=1), "llmmon") != expected


def test_uniform_sample_is_the_spans_drawing_below_the_rate_and_the_same_on_retry():
    spans = _spans("qa|free", 200)
    config = JudgeSamplingConfig(mode="uniform", rate=0.1, min_per_stratum=5)
    plan = sample_spans(spans, config=config, window_start=W0, window_end=W1)
    expected = [c for c in _by_draw(spans) if draw(c.trace_id, c.span_id, W0, W1, "llmmon") < 0.1]
    assert plan.ordered == expected  # uniform mode has no minimums; ordered by draw
    assert 5 <= plan.size <= 40
    # A retried run (spans read back in another order) judges exactly the same sample.
    again = sample_spans(list(reversed(spans)), config=config, window_start=W0, window_end=W1)
    assert again.ordered == plan.ordered
    # Another window, or another salt, draws another sample.
    other = sample_spans(spans, config=config, window_start=W1, window_end=W1 + dt.timedelta(hours=1))
    assert {c.span_id for c in other.ordered} != {c.span_id for c in plan.ordered}
    salted = sample_spans(spans, config=config.model_copy(update={"salt": "x"}), window_start=W0, window_end=W1)
    assert salted.ordered != plan.ordered


def test_stratified_sample_keeps_the_minimum_of_every_stratum_first():
    big, small = _spans("qa|free", 30), _spans("refund|pro", 3)
    config = JudgeSamplingConfig(mode="stratified", rate=0.0, min_per_stratum=5)
    plan = sample_spans(big + small, config=config, window_start=W0, window_end=W1)
    big_sorted, small_sorted = _by_draw(big), _by_draw(small)
    # Rate 0: exactly the minimums. The small stratum gives all it has.
    assert plan.strata == {"qa|free": {"spans": 30, "sampled": 5, "minimum": 5},
                           "refund|pro": {"spans": 3, "sampled": 3, "minimum": 3}}
    assert set(plan.ordered) == set(big_sorted[:5]) | set(small_sorted)
    # Round-robin by rank: each stratum's first span, then each stratum's second, ...
    ranks = [(big_sorted.index(c) if c in big else small_sorted.index(c)) for c in plan.ordered]
    assert ranks == sorted(ranks)
    assert plan.ordered[-2:] == big_sorted[3:5]  # ranks 3 and 4 exist only in the big stratum


def test_stratified_sample_adds_the_rate_on_top_of_the_minimums():
    big = _spans("qa|free", 100)
    config = JudgeSamplingConfig(mode="stratified", rate=0.2, min_per_stratum=2)
    plan = sample_spans(big, config=config, window_start=W0, window_end=W1)
    ordered = _by_draw(big)
    below = [c for c in ordered if draw(c.trace_id, c.span_id, W0, W1, "llmmon") < 0.2]
    expected = ordered[:2] + [c for c in below if c not in ordered[:2]]
    assert plan.ordered == expected
    assert plan.strata["qa|free"] == {"spans": 100, "sampled": len(expected), "minimum": 2}


def test_stratum_label():
    assert stratum_of("qa", "free") == "qa|free"
    assert stratum_of(None, "free") == "|free"


def test_budget_keeps_the_longest_prefix_within_calls_and_usd():
    items = list(range(10))
    by_calls = apply_budget(items, lambda i: (1, 0.01), max_calls=3, max_usd=None)
    assert (by_calls.kept, by_calls.cut, by_calls.calls, by_calls.reason) == ([0, 1, 2], 7, 3, "max_calls")
    assert abs(by_calls.est_usd - 0.03) < 1e-12
    by_usd = apply_budget(items, lambda i: (1, 0.01), max_calls=100, max_usd=0.025)
    assert (by_usd.kept, by_usd.cut, by_usd.reason) == ([0, 1], 8, "max_usd")
    exact = apply_budget(items, lambda i: (1, 0.01), max_calls=None, max_usd=0.05)
    assert exact.kept == [0, 1, 2, 3, 4]  # 5 x 0.01 fits 0.05 despite float rounding
    pairs = apply_budget(items, lambda i: (2, None), max_calls=5, max_usd=1.0)
    assert (pairs.kept, pairs.calls, pairs.est_usd, pairs.reason) == ([0, 1], 4, None, "max_calls")
    free = apply_budget(items, lambda i: (1, 0.5), max_calls=None, max_usd=None)
    assert (len(free.kept), free.cut, free.reason) == (10, 0, None)
