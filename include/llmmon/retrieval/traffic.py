"""Context relevance on production traffic: the judge rates the retrieved chunks of sampled RAG spans.

Production spans have no relevance labels; the judge's rating of each retrieved chunk for the span's prompt is the
quality signal. Per hourly window: the answered spans with ``retrieved_doc_ids`` are sampled with the judge's
sampling (``judge.sampling``: a hash of span and window, so a retry draws the same sample), their top
``chunks_per_span`` chunks are rated within ``judge.budget``, and the window's ``retrieval_context`` rows are
replaced in one transaction. Chunk text, in order of preference: the span attribute ``documents_attribute`` (a list
aligned with the ids), the ``corpus`` file by id, else the span's whole context attribute as one chunk.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from llmmon.errors import ConfigError, RunConfError

log = logging.getLogger("llmmon.retrieval")
HOUR = dt.timedelta(hours=1)


def hourly_windows(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The whole UTC hours inside ``[start, end)``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise RunConfError("window bounds must be timezone-aware datetimes")
    first = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += HOUR
    out = []
    while first + HOUR <= end:
        out.append((first, first + HOUR))
        first += HOUR
    return out


def load_corpus(settings: Any) -> dict[str, str]:
    """``retrieval.context_relevance.corpus`` (JSONL with doc_id and text) as {doc_id: text}; {} when unset."""
    name = settings.retrieval.context_relevance.corpus
    if not name:
        return {}
    path = Path(name)
    if not path.is_absolute():
        path = Path(settings.golden_sets_dir) / path
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"retrieval.context_relevance.corpus: cannot read {path}: {exc.strerror or exc}") from None
    out = {}
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["doc_id"])] = str(row["text"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"retrieval.context_relevance.corpus: {path} line {i}: needs a JSON object with doc_id "
                              f"and text ({exc})") from None
    return out


def _chunks_of(span: dict[str, Any], settings: Any, corpus: dict[str, str]) -> list[dict[str, Any]]:
    cfg = settings.retrieval.context_relevance
    ids = [str(d) for d in (span.get("retrieved_doc_ids") or [])][: cfg.chunks_per_span]
    scores = list(span.get("retrieval_scores") or [])
    attrs = span.get("attributes") if isinstance(span.get("attributes"), dict) else {}
    docs = attrs.get(cfg.documents_attribute)
    out = []
    if isinstance(docs, list) and len(docs) >= len(ids) and ids:
        for r, doc_id in enumerate(ids):
            out.append({"rank": r + 1, "doc_id": doc_id, "text": str(docs[r]), "source": "documents"})
    elif ids and all(d in corpus for d in ids):
        for r, doc_id in enumerate(ids):
            out.append({"rank": r + 1, "doc_id": doc_id, "text": corpus[doc_id], "source": "corpus"})
    else:
        context = attrs.get(settings.judge.context_attribute)
        if isinstance(context, list):
            context = "\n\n".join(str(c) for c in context if c is not None)
        if isinstance(context, str) and context.strip():
            out.append({"rank": 1, "doc_id": None, "text": context, "source": "context"})
    for c in out:
        i = c["rank"] - 1
        c["score"] = float(scores[i]) if c["doc_id"] is not None and i < len(scores) and isinstance(
            scores[i], int | float) else None
    return out


def judge_traffic_window(settings: Any, warehouse: Any, window_start: dt.datetime, window_end: dt.datetime, *,
                         secrets: Any = None, corpus: dict[str, str] | None = None) -> dict[str, Any]:
    """Rate the chunks of the window's sampled RAG spans; replace the window's ``retrieval_context`` rows."""
    from llmmon.judge.sampling import Candidate, sample_spans, stratum_of
    from llmmon.retrieval.relevance import Chunk, judge_chunks
    from llmmon.warehouse import retrieval_store

    corpus = load_corpus(settings) if corpus is None else corpus
    spans = retrieval_store.rag_candidates(warehouse, window_start, window_end)
    plan = sample_spans([Candidate(s["trace_id"], s["span_id"], stratum_of(s["prompt_template"], s["user_segment"]))
                         for s in spans], config=settings.judge.sampling, window_start=window_start,
                        window_end=window_end)
    by_key = retrieval_store.rag_span_contents(warehouse, [(c.trace_id, c.span_id) for c in plan.ordered])
    planned: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for cand in plan.ordered:
        span = by_key.get((cand.trace_id, cand.span_id))
        if span is None or not (span.get("prompt") or "").strip():
            continue
        planned += [(span, c) for c in _chunks_of(span, settings, corpus)]
    chunks = [Chunk(f"{s['trace_id']}/{s['span_id']}/{c['rank']}", s["prompt"], c["text"]) for s, c in planned]
    report = judge_chunks(settings, chunks, secrets=secrets) if chunks else None
    rows = []
    for (span, c), chunk in zip(planned, chunks, strict=True):
        if report is None or (chunk.key not in report.scores and chunk.key not in report.errors):
            continue  # cut by the budget: not rated
        err = report.errors.get(chunk.key)
        rows.append({
            "window_start": window_start, "window_end": window_end, "trace_id": span["trace_id"],
            "span_id": span["span_id"], "rank": c["rank"], "endpoint": span["endpoint"] or "",
            "model_version": span["model_version"] or "", "prompt_template": span["prompt_template"] or "",
            "user_segment": span["user_segment"] or "", "doc_id": c["doc_id"], "retrieval_score": c["score"],
            "chunk_source": c["source"], "rubric_version": report.rubric_label.partition("@")[2],
            "judge_model": report.judge_model, "score": report.scores.get(chunk.key),
            "relevance": report.relevance.get(chunk.key), "error_type": err[0] if err else None,
            "error": err[1] if err else None, "judged_at": report.judged_at,
        })
    retrieval_store.replace_context_window(warehouse, window_start, rows)
    rated = [r["relevance"] for r in rows if r["relevance"] is not None]
    return {"window_start": window_start.isoformat(), "rag_spans": len(spans), "sampled": plan.size,
            "chunks": len(chunks), "rated": len(rated), "errors": sum(1 for r in rows if r["error_type"]),
            "budget_cut": report.budget_cut if report else 0,
            "mean_relevance": sum(rated) / len(rated) if rated else None}


def judge_traffic(settings: Any, warehouse: Any, start: dt.datetime, end: dt.datetime, *,
                  secrets: Any = None) -> list[dict[str, Any]]:
    """:func:`judge_traffic_window` for every whole hour of ``[start, end)``; summaries of the hours with RAG spans."""
    corpus = load_corpus(settings)
    out = []
    for ws, we in hourly_windows(start, end):
        summary = judge_traffic_window(settings, warehouse, ws, we, secrets=secrets, corpus=corpus)
        if summary["rag_spans"]:
            out.append(summary)
    return out
