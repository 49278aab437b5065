"""Metric series of the retrieval capability for the alert rule engine (registered in ``llmmon.alerts.series.SERIES``).

- ``retrieval.regression`` (labels retriever, suite, subject): per compared run, 1 when a regression metric of the
  subject (``overall`` or ``intent:<name>``) regressed against the baseline index version, else 0; no data for runs
  whose verdict is inconclusive or no_baseline.
- ``retrieval.metric`` (labels retriever, suite, metric): the overall mean of each metric per successful run
  (e.g. ``recall@10``), for threshold rules.
- ``retrieval.context_relevance`` (labels endpoint, prompt_template): mean judge relevance (0..1) of the rated chunks
  of production RAG spans per hourly window; no data when fewer than ``MIN_WINDOW_SPANS`` spans were rated.

Point times are the run's ``finished_at`` (the window's end for traffic), so evaluating later only adds points.
Keep this module light (sqlalchemy and the schema only): the alert engine imports it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from llmmon.alerts.series import SERIES, Point, SeriesSpec
from llmmon.warehouse.schema_retrieval import retrieval_context, retrieval_runs, retrieval_summaries

MIN_WINDOW_SPANS = 10  # rated spans a traffic window needs before its mean relevance counts
_COMPARED = ("regression", "no_regression")


def _runs(warehouse: Any, until: dt.datetime) -> list[dict[str, Any]]:
    c = retrieval_runs.c
    q = (sa.select(c.run_key, c.retriever, c.suite, c.index_version, c.stage, c.finished_at, c.verdict,
                   c.verdict_details, c.baseline_run_key)
         .where(c.status == "success", c.finished_at.is_not(None), c.finished_at <= until, c.verdict.is_not(None))
         .order_by(c.finished_at, c.run_key))
    return warehouse.select_rows(q)


def regression(warehouse: Any, until: dt.datetime) -> list[Point]:
    """1.0 per compared run and subject that regressed, 0.0 otherwise; None (no data) when not compared."""
    points = []
    for run in _runs(warehouse, until):
        labels = {"retriever": run["retriever"], "suite": run["suite"]}
        details = {"index_version": run["index_version"], "stage": run["stage"], "verdict": run["verdict"],
                   "baseline_run_key": run["baseline_run_key"]}
        comparisons = (run["verdict_details"] or {}).get("comparisons") or []
        subjects: dict[str, list[dict[str, Any]]] = {"overall": []}
        for comp in comparisons:
            subjects.setdefault(comp["subject"], []).append(comp)
        for subject, comps in subjects.items():
            value = (float(any(c["regressed"] for c in comps)) if run["verdict"] in _COMPARED else None)
            regressed = {c["metric"]: {"baseline": c["baseline_mean"], "candidate": c["candidate_mean"],
                                       "p_adjusted": c["p_adjusted"]} for c in comps if c["regressed"]}
            points.append(Point({**labels, "subject": subject}, run["finished_at"], run["run_key"], value,
                                {**details, "regressed": regressed}))
    return points


def metric_means(warehouse: Any, until: dt.datetime) -> list[Point]:
    """The overall mean of every metric per successful run."""
    r, s = retrieval_runs.c, retrieval_summaries.c
    q = (sa.select(r.run_key, r.retriever, r.suite, r.index_version, r.finished_at, s.metric, s.mean, s.n)
         .join_from(retrieval_runs, retrieval_summaries, s.run_key == r.run_key)
         .where(r.status == "success", r.finished_at.is_not(None), r.finished_at <= until,
                s.dimension == "overall")
         .order_by(r.finished_at, r.run_key, s.metric))
    return [Point({"retriever": row["retriever"], "suite": row["suite"], "metric": row["metric"]}, row["finished_at"],
                  row["run_key"], row["mean"], {"index_version": row["index_version"], "n": row["n"]})
            for row in warehouse.select_rows(q)]


def context_relevance(warehouse: Any, until: dt.datetime) -> list[Point]:
    """Mean relevance of the rated chunks per window, endpoint and prompt template."""
    c = retrieval_context.c
    q = (sa.select(c.window_start, c.window_end, c.endpoint, c.prompt_template,
                   sa.func.avg(c.relevance).label("mean"), sa.func.count(c.relevance).label("n_chunks"),
                   sa.func.count(sa.distinct(sa.case((c.relevance.is_not(None), c.trace_id + c.span_id)))).label(
                       "n_spans"))
         .where(c.window_end <= until)
         .group_by(c.window_start, c.window_end, c.endpoint, c.prompt_template)
         .order_by(c.window_start))
    points = []
    for row in warehouse.select_rows(q):
        enough = row["n_spans"] >= MIN_WINDOW_SPANS and row["mean"] is not None
        points.append(Point({"endpoint": row["endpoint"], "prompt_template": row["prompt_template"]},
                            row["window_end"], row["window_start"].isoformat(),
                            float(row["mean"]) if enough else None,
                            {"n_spans": row["n_spans"], "n_chunks": row["n_chunks"]}))
    return points


SERIES_SPECS: tuple[SeriesSpec, ...] = (
    SeriesSpec("retrieval.regression", ("retriever", "suite", "subject"), "flag",
               "1 when the retrieval verdict found a significant drop of a regression metric (overall or one "
               "intent) against the baseline index version, 0 when not, no data when not compared",
               regression),
    SeriesSpec("retrieval.metric", ("retriever", "suite", "metric"), "ratio",
               "overall mean of a retrieval metric (recall@10, ndcg@10, ...) per successful rag_eval run",
               metric_means),
    SeriesSpec("retrieval.context_relevance", ("endpoint", "prompt_template"), "ratio",
               "mean LLM-judge relevance (0..1) of retrieved chunks of production RAG spans per hourly window",
               context_relevance),
)

SERIES.update({spec.name: spec for spec in SERIES_SPECS})  # whichever of the two modules is imported first
