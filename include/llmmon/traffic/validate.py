"""Validation of ingested spans: the rules, checked vectorised with pyarrow and by a Great Expectations suite.

Each rule is declared once (:class:`Rule`: a column, a kind of check and its parameters) and evaluated twice
from that declaration: as a pyarrow mask over the whole record batch (fast, exact, gives the failing rows) and
as the matching Great Expectations expectation over the same rows (``result_format`` COMPLETE, failing rows
identified by a row-number column). The two must find exactly the same rows, or validation stops with an error:
the quarantine never depends on which engine looked. ``great_expectations: false`` in the traffic config skips
the GE pass (see docs/traffic.md for the timings behind that option).

Rules (``by_reason`` keys): ids present and well-formed (32/16 lower-case hex, not all zero), start and end
times present, end not before start (negative duration), plausible start time and duration, status present and
ok or error, the configured required attributes present, token counts and TTFT in ``[0, max]``, a carried cost
not negative, and every value of the expected type (``types``). Reading adds ``json`` (a line that is not JSON)
and ``otlp_structure`` (JSON that is not an OTLP request or span).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from llmmon.traffic import TrafficError
from llmmon.traffic.canonical import NS_PER_S, ROW_REF, TYPE_ERRORS, shown
from llmmon.traffic_config import TrafficConfig

ROW_INDEX = "row_index"  # the row-number column of the Great Expectations frame
GE_ROWS = 200_000  # rows pooled per Great Expectations run (its fixed cost per run is about 0.16 s)
ID_RULES = {
    "trace_id": (32, r"^(?=[0-9a-f]*[1-9a-f])[0-9a-f]{32}$"),
    "span_id": (16, r"^(?=[0-9a-f]*[1-9a-f])[0-9a-f]{16}$"),
    "parent_span_id": (16, r"^(?=[0-9a-f]*[1-9a-f])[0-9a-f]{16}$"),
}
# Working column checked for each requirable canonical column.
_REQUIRED_COLUMN = {"start_time": "start_ns", "end_time": "end_ns"}

_lock = threading.Lock()
_names = itertools.count(1)


@dataclass(frozen=True)
class Rule:
    """One check on one working column. ``kind``: not_null, regex, in_set, between or null (must be null).

    ``regex`` holds the Python pattern (Great Expectations); ``arrow_regex`` the RE2 patterns that must all
    match for pyarrow (RE2 has no lookahead). ``low``/``high`` bound ``between`` inclusively (None: open).
    """

    name: str
    field: str
    column: str
    kind: str
    text: str
    regex: str | None = None
    arrow_regex: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None

    def mask(self, table: Any) -> Any:
        """Boolean numpy array: True where the row fails (nulls pass every check but not_null)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        col = table.column(self.column)
        if self.kind == "not_null":
            fails = pc.is_null(col)
        elif self.kind == "null":
            fails = pc.is_valid(col)
        else:
            if self.kind == "regex":
                ok = functools.reduce(pc.and_, [pc.match_substring_regex(col, p) for p in self.arrow_regex])
                bad = pc.invert(ok)
            elif self.kind == "in_set":
                bad = pc.invert(pc.is_in(col, value_set=pa.array(self.values)))
            elif self.kind == "between":
                parts = []
                if self.low is not None:
                    parts.append(pc.less(col, self.low))
                if self.high is not None:
                    parts.append(pc.greater(col, self.high))
                bad = functools.reduce(pc.or_, parts)
            else:
                raise ValueError(f"unknown rule kind {self.kind!r}")
            fails = pc.and_(pc.is_valid(col), pc.fill_null(bad, False))
        return fails.to_numpy(zero_copy_only=False)

    def expectation(self, gx: Any) -> Any:
        """The Great Expectations expectation that checks the same thing (nulls ignored likewise)."""
        e = gx.expectations
        meta = {"llmmon_rule": self.name}
        if self.kind == "not_null":
            return e.ExpectColumnValuesToNotBeNull(column=self.column, meta=meta)
        if self.kind == "null":
            return e.ExpectColumnValuesToBeNull(column=self.column, meta=meta)
        if self.kind == "regex":
            return e.ExpectColumnValuesToMatchRegex(column=self.column, regex=self.regex, meta=meta)
        if self.kind == "in_set":
            return e.ExpectColumnValuesToBeInSet(column=self.column, value_set=list(self.values), meta=meta)
        if self.kind == "between":
            return e.ExpectColumnValuesToBeBetween(column=self.column, min_value=self.low, max_value=self.high,
                                                   meta=meta)
        raise ValueError(f"unknown rule kind {self.kind!r}")


def build_rules(config: TrafficConfig, *, now: dt.datetime) -> list[Rule]:
    """The validation rules for ``config``; ``now`` bounds plausible start times (clock skew)."""
    limits = config.limits
    rules: list[Rule] = []
    for name, (size, pattern) in ID_RULES.items():
        if name != "parent_span_id":
            rules.append(Rule(f"required_{name}", name, name, "not_null", "is required (missing or empty)"))
        rules.append(Rule(
            f"{name}_format", name, name, "regex", f"must be {size} hex digits, not all zero",
            regex=pattern, arrow_regex=(f"^[0-9a-f]{{{size}}}$", "[1-9a-f]"),
        ))
    rules += [
        Rule("required_start_time", "start_time", "start_ns", "not_null", "is required (startTimeUnixNano)"),
        Rule("required_end_time", "end_time", "end_ns", "not_null", "is required (endTimeUnixNano)"),
        Rule("end_before_start", "end_time", "duration_ns", "between",
             "must not be before start_time (negative duration)", low=0),
        Rule("duration_plausible", "duration_s", "duration_s", "between",
             f"must be at most {limits.max_duration_s:g} s (traffic.limits.max_duration_s)",
             high=limits.max_duration_s),
    ]
    earliest = dt.datetime.combine(limits.min_start_time, dt.time(), dt.UTC)
    latest = now + dt.timedelta(seconds=limits.max_clock_skew_s)
    rules += [
        Rule("start_time_plausible", "start_time", "start_s", "between",
             f"must lie between {earliest:%Y-%m-%d} and {limits.max_clock_skew_s:g} s after ingestion "
             "(traffic.limits)", low=earliest.timestamp(), high=latest.timestamp()),
        Rule("required_status", "status", "status", "not_null", "is required"),
        Rule("status_known", "status", "status", "in_set", "must be ok or error (OTLP code 0, 1 or 2)",
             values=("ok", "error")),
    ]
    for name in config.required:
        rules.append(Rule(f"required_{name}", name, name, "not_null",
                          f"is required (traffic.required; looked for {_looked_for(config, name)})"))
    for name in ("input_tokens", "output_tokens"):
        rules.append(Rule(f"{name}_range", name, name, "between",
                          f"must be between 0 and {limits.max_tokens}", low=0, high=limits.max_tokens))
    rules += [
        Rule("ttft_range", "ttft_s", "ttft_s", "between", f"must be between 0 and {limits.max_ttft_s:g} s",
             low=0, high=limits.max_ttft_s),
        Rule("cost_non_negative", "cost_usd", "cost_usd", "between", "must not be negative", low=0),
        Rule("types", "", TYPE_ERRORS, "null", "values of the wrong type"),
    ]
    return rules


def _looked_for(config: TrafficConfig, name: str) -> str:
    names = getattr(config.attributes, name, None)
    return ", ".join(names) if names else name


def add_derived(table: Any) -> Any:
    """Add the columns some rules check: ``duration_ns``, ``duration_s`` and ``start_s``."""
    import pyarrow.compute as pc

    duration_ns = pc.subtract(table.column("end_ns"), table.column("start_ns"))
    table = table.append_column("duration_ns", duration_ns)
    table = table.append_column("duration_s", pc.divide(pc.cast(duration_ns, "float64", safe=False), float(NS_PER_S)))
    return table.append_column("start_s", pc.divide(pc.cast(table.column("start_ns"), "float64", safe=False), float(NS_PER_S)))


@dataclass
class Outcome:
    """Validation of one record batch: the failing rows of each rule, and which rows fail any."""

    masks: dict[str, Any]
    bad: Any  # numpy bool array
    by_rule: Counter = field(default_factory=Counter)


class Validator:
    """Runs the rules on record batches; with Great Expectations, cross-checks every rule's failing rows.

    Great Expectations costs about 0.16 s per validation run plus a few microseconds per row, so the checked
    columns of consecutive record batches are pooled up to ``GE_ROWS`` rows per run. The pooled runs happen
    before the ingestion commits: :meth:`finish` runs the last one, and any disagreement raises
    :class:`TrafficError`, which rolls the whole ingestion back. (On a worker thread the pass only contended
    with the database driver for the GIL and saved nothing; see docs/traffic.md.)
    """

    def __init__(self, rules: list[Rule], *, great_expectations: bool) -> None:
        self.rules = rules
        self.great_expectations = great_expectations
        self._definition: Any = None
        self._suite_name: str | None = None
        self._pool: list[tuple[Any, dict[str, Any]]] = []
        self._pooled_rows = 0
        self.ge_seconds = 0.0
        self.ge_runs = 0

    def check(self, table: Any) -> Outcome:
        """Evaluate every rule on ``table`` (vectorised); queue its Great Expectations cross-check."""
        import numpy as np

        masks = {rule.name: rule.mask(table) for rule in self.rules}
        if self.great_expectations and table.num_rows:
            self._pool.append((table.select(sorted({r.column for r in self.rules})), masks))
            self._pooled_rows += table.num_rows
            if self._pooled_rows >= GE_ROWS:
                self.finish()
        bad = np.zeros(table.num_rows, dtype=bool)
        for m in masks.values():
            bad |= m
        return Outcome(masks=masks, bad=bad)

    def finish(self) -> None:
        """Cross-check the pooled batches with Great Expectations now; TrafficError if it finds other rows."""
        if not self._pool:
            return
        import numpy as np
        import pyarrow as pa

        pool, self._pool, self._pooled_rows = self._pool, [], 0
        table = pa.concat_tables([t for t, _ in pool])
        masks = {r.name: np.concatenate([m[r.name] for _, m in pool]) for r in self.rules}
        del pool
        self._cross_check(table, masks)

    # -- Great Expectations
    def _cross_check(self, table: Any, masks: dict[str, Any]) -> None:
        import time

        import numpy as np
        import pandas as pd
        import pyarrow as pa

        started = time.perf_counter()
        # Arrow-backed strings: no Python object per value (half the memory, faster to build).
        frame = table.append_column(ROW_INDEX, pa.array(np.arange(table.num_rows))).to_pandas(
            types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get
        )
        results = self._run(frame)
        self.ge_runs += 1
        del frame
        for rule, result in zip(self.rules, results, strict=True):
            found = {int(hit[ROW_INDEX]) for hit in (result.result.get("unexpected_index_list") or [])}
            expected = set(np.flatnonzero(masks[rule.name]).tolist())
            if found != expected:
                only_ge = sorted(found - expected)[:5]
                only_arrow = sorted(expected - found)[:5]
                raise TrafficError(
                    f"validation rule {rule.name}: Great Expectations and llmmon's vectorised check disagree "
                    f"(rows only GE flags: {only_ge}; rows only llmmon flags: {only_arrow}); nothing was written"
                )
        self.ge_seconds += time.perf_counter() - started

    def _run(self, frame: Any) -> list[Any]:
        gxc = _gx()
        with _lock:
            if self._definition is None:
                n = next(_names)
                suite = gxc.context.suites.add(gxc.gx.ExpectationSuite(name=f"llmmon_traffic_{n}"))
                for rule in self.rules:
                    suite.add_expectation(rule.expectation(gxc.gx))
                self._suite_name = suite.name
                self._definition = gxc.context.validation_definitions.add(
                    gxc.gx.ValidationDefinition(name=f"llmmon_traffic_{n}", data=gxc.batch, suite=suite)
                )
            result = self._definition.run(
                batch_parameters={"dataframe": frame},
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_INDEX],
                               "return_unexpected_index_query": False, "partial_unexpected_count": 0},
            )
        by_id = {r.expectation_config.id: r for r in result.results}
        ordered = [by_id[e.id] for e in self._definition.suite.expectations]
        for r in ordered:
            info = r.exception_info or {}
            if info.get("raised_exception"):
                raise TrafficError(f"Great Expectations could not evaluate {r.expectation_config.type}: "
                                   f"{info.get('exception_message')}")
        return ordered

    def close(self) -> None:
        """Drop the suite from the process's Great Expectations context."""
        if self._definition is None:
            return
        gxc = _gx()
        with _lock:
            gxc.context.validation_definitions.delete(self._definition.name)
            gxc.context.suites.delete(self._suite_name)
            self._definition = None


class _GX:
    """The per-process Great Expectations context with one pandas data asset for span frames."""

    def __init__(self) -> None:
        from llmmon.ge import gx_context

        self.gx, self.context = gx_context()
        source = self.context.data_sources.add_pandas("llmmon_traffic")
        self.batch = source.add_dataframe_asset("spans").add_batch_definition_whole_dataframe("spans_all")


@functools.cache
def _gx() -> _GX:
    return _GX()


# ------------------------------------------------------------------------------------------ quarantine rows
def _value(table: Any, column: str, i: int) -> Any:
    value = table.column(column)[i].as_py()
    if column in ("start_ns", "end_ns") and value is not None:
        return dt.datetime.fromtimestamp(value / NS_PER_S, dt.UTC).isoformat()
    if column == "start_s" and value is not None:
        return dt.datetime.fromtimestamp(value, dt.UTC).isoformat()
    if column == "duration_ns" and value is not None:
        return f"{value / NS_PER_S:g} s"
    return value


def _message(rule: Rule, table: Any, i: int) -> tuple[str, str]:
    """(field, message) of row ``i`` failing ``rule``."""
    if rule.kind == "null":  # the type problems are already sentences naming their field
        text = table.column(rule.column)[i].as_py()
        first = text.split(":", 1)[0] if ":" in text else ""
        return first, text
    if rule.kind == "not_null":
        return rule.field, f"{rule.field}: {rule.text}"
    value = _value(table, rule.column, i)
    if rule.name == "end_before_start":
        start, end = _value(table, "start_ns", i), _value(table, "end_ns", i)
        return rule.field, f"end_time {end} is before start_time {start} (duration {value})"
    return rule.field, f"{rule.field}: {rule.text}, got {shown(value)}"


def quarantine_rows(table: Any, outcome: Outcome, rules: list[Rule], raw: Any, raw_chars: int) -> list[dict]:
    """One quarantine record per failing row: first rule and field, every failure, the raw record."""
    import numpy as np

    rows = []
    for i in np.flatnonzero(outcome.bad).tolist():
        failures = []
        for rule in rules:
            if outcome.masks[rule.name][i]:
                field_name, message = _message(rule, table, i)
                failures.append({"rule": rule.name, "field": field_name or None, "message": message})
                outcome.by_rule[rule.name] += 1
        trace_id = table.column("trace_id")[i].as_py()
        span_id = table.column("span_id")[i].as_py()
        raw_text = raw(i) if raw is not None else None
        rows.append({
            "row_ref": table.column(ROW_REF)[i].as_py(),
            "trace_id": trace_id[:64] if trace_id else None,
            "span_id": span_id[:64] if span_id else None,
            "rule": failures[0]["rule"],
            "field": failures[0]["field"],
            "reason": "; ".join(f["message"] for f in failures),
            "details": failures,
            "raw": raw_text[:raw_chars] if raw_text is not None else None,
        })
    return rows


def dumps_row(row: dict[str, Any]) -> str:
    """A source row as JSON for the quarantine (values JSON cannot hold become text)."""
    return json.dumps(row, default=str, ensure_ascii=False)
