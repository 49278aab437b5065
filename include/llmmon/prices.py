"""A local price table: the cost of a call, derived from its token counts at call time and recomputable later.

Prices are USD per million tokens, per model id, each effective from a date. The entry that applies on a day is
the latest one effective on or before it. A model with no entry (or none effective yet) has no cost: ``None``,
never 0, so an unpriced model never looks free in a report.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from llmmon.config import Price


@dataclass(frozen=True)
class Rates:
    """USD per million tokens for one model on one day, and the date the entry took effect."""

    model: str
    input_per_mtok: float
    output_per_mtok: float
    effective_from: dt.date


class PriceTable:
    """Look up prices by model and day; compute the cost of a call from its tokens."""

    def __init__(self, prices: Iterable[Price]) -> None:
        by_model: dict[str, list[Price]] = {}
        for p in prices:
            by_model.setdefault(p.model, []).append(p)
        self._entries: dict[str, list[Price]] = {}
        self._dates: dict[str, list[dt.date]] = {}
        for model, entries in by_model.items():
            entries.sort(key=lambda p: p.effective_from)
            self._entries[model] = entries
            self._dates[model] = [p.effective_from for p in entries]

    @property
    def models(self) -> list[str]:
        """The model ids that have at least one price entry."""
        return sorted(self._entries)

    def rates(self, model: str, at: dt.date) -> Rates | None:
        """The rates in force for ``model`` on day ``at``; None when the model is unknown or not yet priced."""
        dates = self._dates.get(model)
        if not dates:
            return None
        i = bisect.bisect_right(dates, _as_date(at)) - 1
        if i < 0:
            return None
        p = self._entries[model][i]
        return Rates(p.model, p.input_per_mtok, p.output_per_mtok, p.effective_from)

    def cost(self, model: str, input_tokens: int | None, output_tokens: int | None, at: dt.date) -> float | None:
        """USD cost of a call; None when the model has no price on ``at`` or a token count is unknown."""
        if input_tokens is None or output_tokens is None:
            return None
        r = self.rates(model, at)
        if r is None:
            return None
        return (input_tokens * r.input_per_mtok + output_tokens * r.output_per_mtok) / 1_000_000


def _as_date(at: dt.date) -> dt.date:
    # A datetime is a date subclass; compare days, not instants, so a timestamp on the effective day counts.
    return at.date() if isinstance(at, dt.datetime) else at
