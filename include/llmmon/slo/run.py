"""The SLO windows job: recompute exactly the windows that new ingestions touched, and nothing else.

Each run finds the successful ingestions not yet included (``slo_batches``), the windows their spans fall in,
reads *all* spans of those windows (old and new, so late spans merge with the rest of their window), aggregates
them (:func:`llmmon.slo.windows.aggregate_windows`) and replaces those windows, then marks the ingestions.
Catching up after downtime is the same run with more ingestions pending; a re-ingested (replayed) file adds no
span (llm_spans is keyed by trace and span id), so it changes nothing; a killed run leaves its ingestions
unmarked and the next run recomputes their windows again — replacing, never adding.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmmon.config import Settings
    from llmmon.warehouse import Warehouse

log = logging.getLogger(__name__)

MAX_WINDOWS_PER_PASS = 36  # windows read and aggregated together (3 hours of 5-minute windows): bounds memory


def _ranges(starts: list[dt.datetime], window: dt.timedelta) -> list[tuple[dt.datetime, dt.datetime]]:
    """Contiguous runs of windows as [start, end) ranges (one query per run, not per window)."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for s in starts:
        if out and out[-1][1] == s:
            out[-1] = (out[-1][0], s + window)
        else:
            out.append((s, s + window))
    return out


def recompute_windows(
    settings: Settings, warehouse: Warehouse, window_starts: set[dt.datetime] | list[dt.datetime],
    *, now: dt.datetime,
) -> dict[str, Any]:
    """Recompute the given windows from ``llm_spans`` (every span in them) and replace their ``slo_windows`` rows."""
    from llmmon.slo.windows import aggregate_windows
    from llmmon.warehouse.slo_store import read_spans, replace_windows

    window = settings.slo.window
    starts = sorted(window_starts)
    spans = rows = 0
    for i in range(0, len(starts), MAX_WINDOWS_PER_PASS):
        part = starts[i : i + MAX_WINDOWS_PER_PASS]
        table = read_spans(warehouse, _ranges(part, window))
        spans += table.num_rows
        result = aggregate_windows(table, settings.slo, settings.prices, computed_at=now)
        rows += replace_windows(warehouse, part, result)
    return {"windows": len(starts), "spans": spans, "rows": rows}


def run_slo_windows(
    settings: Settings, warehouse: Warehouse, *, run_key: str | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Bring ``slo_windows`` up to date with every successful ingestion; returns what it did:
    ``batches`` processed, ``windows`` recomputed (sorted starts), ``spans`` read, ``rows`` written."""
    from llmmon.warehouse.slo_store import batch_windows, mark_batches, pending_batches

    now = now or dt.datetime.now(dt.UTC)
    batches = pending_batches(warehouse)
    if not batches:
        return {"batches": [], "windows": [], "spans": 0, "rows": 0}
    starts, counts = batch_windows(warehouse, batches, settings.slo.window)
    done = recompute_windows(settings, warehouse, starts, now=now)
    mark_batches(warehouse, [{"batch_id": b, "n_spans": counts[b][0], "n_windows": counts[b][1], "run_key": run_key,
                              "processed_at": now} for b in batches])
    log.info("slo windows: %d ingestion(s), %d window(s) recomputed from %d spans, %d rows",
             len(batches), len(starts), done["spans"], done["rows"])
    return {"batches": batches, "windows": sorted(starts), "spans": done["spans"], "rows": done["rows"]}
