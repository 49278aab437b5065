"""Named metric series over warehouse results: what alert rules watch.

A series is a query that returns points ``Point(series_labels, at, point_id, value, details)``; the points of one
label set, in time order, form one series (e.g. ``golden.regression`` for endpoint ``demo``, suite
``customer_support``, subject ``intent:refund``). A rule names a series by its registry key in ``SERIES``.

Adding a series is one function and one registry entry: write ``def _my_series(warehouse, until) -> list[Point]``
(read with ``warehouse.select_rows``, return points with ``at <= until``) and add a ``SeriesSpec`` to ``SERIES``.
A point whose value is None is "no data": rules neither breach nor resolve on it.

Point times are when the result became known (an eval run's ``finished_at``), so a rule evaluated at time
``until`` sees exactly the points that existed then, and evaluating again later adds only newer points.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from llmmon.errors import ConfigError
from llmmon.warehouse.schema import eval_runs, eval_summaries, to_utc
from llmmon.warehouse.schema_quality import judge_shift, traffic_quality

if TYPE_CHECKING:
    from llmmon.warehouse import Warehouse

LabelKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Point:
    """One value of one series: at time ``at``, identified by ``point_id`` (for run series, the run_key)."""

    series_labels: dict[str, str]
    at: dt.datetime
    point_id: str
    value: float | None
    details: dict[str, Any] = field(default_factory=dict)


SeriesQuery = Callable[["Warehouse", dt.datetime], list[Point]]


@dataclass(frozen=True)
class SeriesSpec:
    """A named series: its label names (what ``where`` may filter on), unit, meaning and query."""

    name: str
    labels: tuple[str, ...]
    unit: str
    description: str
    query: SeriesQuery


def label_key(labels: Mapping[str, str]) -> LabelKey:
    """The labels as a sorted tuple: the identity of a series."""
    return tuple(sorted(labels.items()))


def matches(labels: Mapping[str, str], where: Mapping[str, str]) -> bool:
    """Whether a series' labels satisfy a rule's ``where``: each value equal, or matching a ``*``/``?`` pattern."""
    return all(k in labels and fnmatch.fnmatchcase(labels[k], pattern) for k, pattern in where.items())


# -- queries over eval_runs ------------------------------------------------------------------------------------


def _runs(until: dt.datetime, *columns: sa.ColumnElement) -> sa.Select:
    """Successful eval runs finished at or before ``until``, oldest first."""
    c = eval_runs.c
    return (
        sa.select(*columns)
        .where(c.status == "success", c.finished_at.is_not(None), c.finished_at <= until)
        .order_by(c.finished_at, c.run_key)
    )


def _label(value: Any) -> str:
    # An empty label value means "unknown", as in Prometheus; runs written by golden_eval always have them.
    return "" if value is None else str(value)


def _slices(details: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    overall = details.get("overall")
    intents = details.get("intents") or []
    return ([overall] if isinstance(overall, Mapping) else []) + [s for s in intents if isinstance(s, Mapping)]


def slice_regressed(s: Mapping[str, Any]) -> bool | None:
    """Whether a stored verdict slice regressed; None when the slice was not judged (too few examples).

    Reads the slice's ``regressed`` flag when the verdict stored one; verdicts stored without it are judged by
    their threshold (pass-rate drop beyond the threshold), as they were decided.
    """
    if s.get("judged") is False:
        return None
    if "regressed" in s:
        return None if s["regressed"] is None else bool(s["regressed"])
    base, cand = s.get("baseline_pass_rate"), s.get("candidate_pass_rate")
    threshold = s.get("threshold", s.get("min_effect"))
    if base is None or cand is None or threshold is None:
        return None
    return (base - cand) > threshold


_NOT_JUDGED = ("inconclusive", "no_baseline")


def golden_regression(warehouse: Warehouse, until: dt.datetime) -> list[Point]:
    """1.0 when a run's verdict says the subject regressed, 0.0 when it does not, None when it was not judged.

    One series per (endpoint, suite, subject), subject ``overall`` or ``intent:<name>``; one point per successful
    run with a verdict. An inconclusive or baseline-less run gives a None point for ``overall`` (no data: an
    outage or a first run neither confirms nor clears a regression).
    """
    c = eval_runs.c
    q = _runs(until, c.run_key, c.endpoint, c.suite, c.model_version, c.finished_at, c.verdict,
              c.verdict_details, c.baseline_run_key).where(c.verdict.is_not(None))
    points = []
    for run in warehouse.select_rows(q):
        details = run["verdict_details"] or {}
        common = {"run_key": run["run_key"], "model_version": run["model_version"], "verdict": run["verdict"],
                  "baseline_run_key": run["baseline_run_key"]}
        slices = {s.get("subject"): s for s in _slices(details) if s.get("subject")}
        if "overall" not in slices:
            slices = {"overall": {}, **slices}
        for subject, s in slices.items():
            regressed = None if run["verdict"] in _NOT_JUDGED or not s else slice_regressed(s)
            scalars = {k: v for k, v in s.items() if isinstance(v, str | int | float | bool) and k != "subject"}
            points.append(Point(
                series_labels={"endpoint": _label(run["endpoint"]), "suite": _label(run["suite"]),
                               "subject": str(subject)},
                at=run["finished_at"], point_id=run["run_key"],
                value=None if regressed is None else float(regressed),
                details={**common, **scalars},
            ))
    return points


def golden_pass_rate(warehouse: Warehouse, until: dt.datetime) -> list[Point]:
    """Pass rate of each successful run, overall and per intent, from ``eval_summaries`` (0 to 1)."""
    r, s = eval_runs.c, eval_summaries.c
    q = (
        _runs(until, r.run_key, r.endpoint, r.suite, r.model_version, r.finished_at, s.dimension, s.value, s.n,
              s.n_passed, s.pass_rate)
        .join_from(eval_runs, eval_summaries, s.run_key == r.run_key)
        .where(s.dimension.in_(("overall", "intent")))
        .order_by(s.dimension, s.value)
    )
    return [
        Point(
            series_labels={"endpoint": _label(row["endpoint"]), "suite": _label(row["suite"]),
                           "subject": "overall" if row["dimension"] == "overall" else f"intent:{row['value']}"},
            at=row["finished_at"], point_id=row["run_key"], value=row["pass_rate"],
            details={"run_key": row["run_key"], "model_version": row["model_version"], "n": row["n"],
                     "n_passed": row["n_passed"]},
        )
        for row in warehouse.select_rows(q)
    ]


def _run_metric(value_of: Callable[[dict[str, Any]], float | None], *columns: str) -> SeriesQuery:
    """A per-run series labelled endpoint, suite, model_version, valued by ``value_of(row)``."""
    c = eval_runs.c

    def query(warehouse: Warehouse, until: dt.datetime) -> list[Point]:
        q = _runs(until, c.run_key, c.endpoint, c.suite, c.model_version, c.stage, c.finished_at, c.n_calls,
                  *(c[name] for name in columns if name != "n_calls"))
        return [
            Point(
                series_labels={"endpoint": _label(row["endpoint"]), "suite": _label(row["suite"]),
                               "model_version": _label(row["model_version"])},
                at=row["finished_at"], point_id=row["run_key"], value=value_of(row),
                details={"run_key": row["run_key"], "stage": row["stage"], **{k: row[k] for k in columns}},
            )
            for row in warehouse.select_rows(q)
        ]

    return query


def _error_share(row: dict[str, Any]) -> float | None:
    if not row["n_calls"] or row["n_errors"] is None:
        return None
    return row["n_errors"] / row["n_calls"]


# -- queries over the quality tables: one point per window and slice (or stratum), at the window's end -------------
# A window's point id is its start (ISO 8601); recomputing a window does not make it a new point.

_SLICE_LABELS = ("endpoint", "model_version", "prompt_template", "user_segment")
_STRATUM_LABELS = ("endpoint", "stratum", "rubric")


def _traffic_metric(column: str, gate: str = "sparse") -> SeriesQuery:
    """A ``traffic_quality`` column per window and slice; no data where the row is ``gate`` (too few spans)."""
    c = traffic_quality.c

    def query(warehouse: Warehouse, until: dt.datetime) -> list[Point]:
        q = (sa.select(c.window_start, c.window_end, *(c[k] for k in _SLICE_LABELS), c.n, c.n_ok, c.n_labelled,
                       c[column], c[gate])
             .where(c.window_end <= until).order_by(c.window_end))
        return [
            Point(
                series_labels={k: _label(row[k]) for k in _SLICE_LABELS},
                at=row["window_end"], point_id=to_utc(row["window_start"]).isoformat(),
                value=None if row[gate] else row[column],
                details={"n": row["n"], "n_ok": row["n_ok"], "n_labelled": row["n_labelled"]},
            )
            for row in warehouse.select_rows(q)
        ]

    return query


def _judge_metric(value_of: Callable[[dict[str, Any]], float | None]) -> SeriesQuery:
    """A ``judge_shift`` row per window, endpoint, stratum and rubric, valued by ``value_of(row)``."""
    c = judge_shift.c

    def query(warehouse: Warehouse, until: dt.datetime) -> list[Point]:
        q = (sa.select(c.window_start, c.window_end, c.endpoint, c.stratum, c.rubric, c.rubric_version, c.n_ref,
                       c.n_cur, c.mean_ref, c.mean_cur, c.effect, c.p_value, c.p_adjusted, c.tested, c.shifted)
             .where(c.window_end <= until).order_by(c.window_end))
        return [
            Point(
                series_labels={k: _label(row[k]) for k in _STRATUM_LABELS},
                at=row["window_end"], point_id=to_utc(row["window_start"]).isoformat(), value=value_of(row),
                details={k: row[k] for k in ("rubric_version", "n_ref", "n_cur", "mean_ref", "mean_cur", "effect",
                                             "p_value", "p_adjusted")},
            )
            for row in warehouse.select_rows(q)
        ]

    return query


def _shift_flag(row: dict[str, Any]) -> float | None:
    return float(row["shifted"]) if row["tested"] else None


_RUN_LABELS = ("endpoint", "suite", "model_version")
_SUBJECT_LABELS = ("endpoint", "suite", "subject")

SERIES: dict[str, SeriesSpec] = {
    spec.name: spec
    for spec in (
        SeriesSpec("golden.regression", _SUBJECT_LABELS, "flag",
                   "1 when the run's golden-set verdict called the subject a regression, else 0", golden_regression),
        SeriesSpec("golden.pass_rate", _SUBJECT_LABELS, "ratio",
                   "pass rate of the run, overall or for one intent (0 to 1)", golden_pass_rate),
        SeriesSpec("eval.error_share", _RUN_LABELS, "ratio",
                   "share of the run's calls that ended in an endpoint error (n_errors / n_calls)",
                   _run_metric(_error_share, "n_calls", "n_errors")),
        SeriesSpec("eval.ttft_p95_s", _RUN_LABELS, "seconds",
                   "95th percentile time to first token of the run's calls",
                   _run_metric(lambda row: row["ttft_p95_s"], "ttft_p95_s")),
        SeriesSpec("eval.latency_p99_s", _RUN_LABELS, "seconds",
                   "99th percentile end-to-end latency of the run's calls",
                   _run_metric(lambda row: row["latency_p99_s"], "latency_p99_s")),
        SeriesSpec("traffic.error_rate", _SLICE_LABELS, "ratio",
                   "share of the window's spans that ended in an error", _traffic_metric("error_rate")),
        SeriesSpec("traffic.empty_rate", _SLICE_LABELS, "ratio",
                   "share of answered spans with an empty completion", _traffic_metric("empty_rate")),
        SeriesSpec("traffic.truncated_rate", _SLICE_LABELS, "ratio",
                   "share of answered spans cut off by the token limit", _traffic_metric("truncated_rate")),
        SeriesSpec("traffic.refusal_rate", _SLICE_LABELS, "ratio",
                   "share of answered spans that match a refusal pattern", _traffic_metric("refusal_rate")),
        SeriesSpec("traffic.refusal_rate_increase", _SLICE_LABELS, "ratio",
                   "refusal rate minus the reference period's (same endpoint, template, segment)",
                   _traffic_metric("refusal_rate_increase")),
        SeriesSpec("traffic.json_invalid_rate", _SLICE_LABELS, "ratio",
                   "share of structured-output answers that are not valid JSON", _traffic_metric("json_invalid_rate")),
        SeriesSpec("traffic.schema_invalid_rate", _SLICE_LABELS, "ratio",
                   "share of structured-output answers that do not conform to the template's schema",
                   _traffic_metric("schema_invalid_rate")),
        SeriesSpec("traffic.accuracy", _SLICE_LABELS, "ratio",
                   "share of labelled answers that are correct (ground truth joined by span id)",
                   _traffic_metric("accuracy", gate="sparse_labels")),
        SeriesSpec("judge.score_shift", _STRATUM_LABELS, "flag",
                   "1 when the stratum's judge scores shifted against the reference window, 0 when not, "
                   "no data when untested", _judge_metric(_shift_flag)),
        SeriesSpec("judge.mean_score", _STRATUM_LABELS, "score",
                   "mean judge score of the stratum in the window (rubric scale)",
                   _judge_metric(lambda row: row["mean_cur"])),
    )
}


def read_series(warehouse: Warehouse, metric: str, *, until: dt.datetime) -> dict[LabelKey, list[Point]]:
    """The points of ``metric`` up to ``until``, grouped by label set, each series in (time, point_id) order."""
    spec = SERIES.get(metric)
    if spec is None:
        raise ConfigError(f"unknown metric series {metric!r}; known: {', '.join(sorted(SERIES))}")
    out: dict[LabelKey, list[Point]] = {}
    for p in spec.query(warehouse, until):
        out.setdefault(label_key(p.series_labels), []).append(p)
    for points in out.values():
        points.sort(key=lambda p: (p.at, p.point_id))
    return out


# Capabilities keep their series beside their tables (llmmon.<capability>.series) and register them in SERIES.
# A module already being imported (it imported this one first) comes back partially initialised here: it
# registers itself when it finishes, so only SERIES_SPECS that exist already are taken.
for _name in ("llmmon.judge.series", "llmmon.drift.series", "llmmon.retrieval.series", "llmmon.slo.series"):
    SERIES.update({spec.name: spec for spec in getattr(importlib.import_module(_name), "SERIES_SPECS", ())})
