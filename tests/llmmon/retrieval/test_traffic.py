"""Context relevance of production RAG spans: sampled, rated by the demo judge, replaced window by window."""

from __future__ import annotations

import datetime as dt

import pytest

from llmmon.retrieval.traffic import hourly_windows, judge_traffic, judge_traffic_window
from llmmon.warehouse import retrieval_store
from tests.llmmon.judge.conftest import W0, W1, insert_spans, span_row, with_judge


def _rag(name: str, prompt: str, ids: list[str], **attrs) -> dict:
    row = span_row(name, prompt=prompt, completion="ok", template="policy_qa")
    row["retrieved_doc_ids"] = ids
    row["retrieval_scores"] = [0.9 - 0.1 * i for i in range(len(ids))]
    row["attributes"] = attrs
    return row


@pytest.fixture
def settings(make_settings, warehouse):
    s = with_judge(make_settings(warehouse.url), sampling={"mode": "uniform", "rate": 1.0, "min_per_stratum": 0},
                   budget={"max_calls": None, "max_usd": None}, concurrency=4)
    cr = s.retrieval.context_relevance.model_copy(update={"corpus": "rag_support/corpus.jsonl"})
    return s.model_copy(update={"retrieval": s.retrieval.model_copy(update={"context_relevance": cr})})


def test_chunks_are_rated_from_documents_corpus_or_context(settings, warehouse):
    insert_spans(warehouse, [
        _rag("docs", "How long do refunds take?", ["x1", "x2"],
             **{"llmmon.retrieval.documents": ["Refunds take 5-7 business days.", "Our stores sell lamps."]}),
        _rag("corpus", "Do you ship to Canada?", ["kb-ship-03", "kb-acct-01"]),
        _rag("context", "Is express shipping available?", ["unknown-1"],
             **{"llmmon.retrieval.context": "Express shipping costs $14.99."}),
        span_row("plain", prompt="hello", completion="hi"),  # not a RAG span
    ])
    summary = judge_traffic_window(settings, warehouse, W0, W1)
    assert (summary["rag_spans"], summary["chunks"], summary["rated"], summary["errors"]) == (3, 5, 5, 0)
    rows = retrieval_store.context_rows(warehouse)
    by = {(r["chunk_source"], r["rank"]): r for r in rows}
    assert set(by) == {("documents", 1), ("documents", 2), ("corpus", 1), ("corpus", 2), ("context", 1)}
    assert by[("corpus", 1)]["relevance"] > by[("corpus", 2)]["relevance"]  # Canada shipping vs password reset
    assert by[("documents", 1)]["relevance"] > by[("documents", 2)]["relevance"]
    assert by[("context", 1)]["doc_id"] is None and by[("corpus", 1)]["retrieval_score"] == pytest.approx(0.9)
    # a retry converges to the same rows
    judge_traffic_window(settings, warehouse, W0, W1)
    assert len(retrieval_store.context_rows(warehouse)) == 5
    from llmmon.alerts.series import SERIES

    [point] = SERIES["retrieval.context_relevance"].query(warehouse, W1)
    assert point.series_labels == {"endpoint": "demo", "prompt_template": "policy_qa"}
    assert point.value is None and point.details == {"n_spans": 3, "n_chunks": 5}  # under 10 spans: no data


def test_the_budget_caps_the_rated_chunks(settings, warehouse):
    capped = with_judge(settings, budget={"max_calls": 2, "max_usd": None})
    insert_spans(warehouse, [_rag(f"s{i}", "Do you ship to Canada?", ["kb-ship-03", "kb-ship-06"]) for i in range(3)])
    summary = judge_traffic_window(capped, warehouse, W0, W1)
    assert (summary["chunks"], summary["rated"], summary["budget_cut"]) == (6, 2, 4)


def test_hours_of_an_interval(settings, warehouse):
    start = W0 - dt.timedelta(minutes=30)
    assert hourly_windows(start, W1 + dt.timedelta(hours=1)) == [(W0, W1), (W1, W1 + dt.timedelta(hours=1))]
    insert_spans(warehouse, [_rag("one", "Do you ship to Canada?", ["kb-ship-03"])])
    out = judge_traffic(settings, warehouse, W0, W1 + dt.timedelta(hours=1))
    assert [w["rag_spans"] for w in out] == [1]
