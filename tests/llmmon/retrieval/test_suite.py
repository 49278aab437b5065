"""Golden retrieval suites: the shipped one is valid; a broken one lists every problem with file, line, id, field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmmon.errors import GoldenSetError
from llmmon.retrieval.suite import load_retrieval_suite

ROOT = Path(__file__).resolve().parents[3]


def test_the_shipped_suite_is_valid_and_versioned():
    suite = load_retrieval_suite("rag_support", ROOT / "golden_sets")
    assert (len(suite.queries), len(suite.corpus), len(suite.intents)) == (64, 48, 8)
    assert len(suite.version) == 12 and suite.qrels["rq-0001"] == {"kb-order-01": 2}


def _write(tmp_path, queries: list, corpus: list | None = None, **suite) -> Path:
    folder = tmp_path / "s"
    folder.mkdir()
    spec = {"name": "s", "intents": ["a", "b"], "min_queries_per_intent": 1, "max_grade": 2, **suite}
    (folder / "suite.yaml").write_text(json.dumps(spec))
    (folder / "queries.jsonl").write_text("\n".join(q if isinstance(q, str) else json.dumps(q) for q in queries))
    docs = corpus if corpus is not None else [{"doc_id": "d1", "text": "one"}, {"doc_id": "d2", "text": "two"}]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    return folder


def test_every_problem_is_listed_with_its_place(tmp_path):
    folder = _write(tmp_path, [
        {"id": "q1", "intent": "a", "query": "first", "judgements": {"d1": 2}},
        {"id": "q1", "intent": "c", "query": "second", "judgements": {"d9": 1}},
        "{not json",
        {"id": "q3", "intent": "a", "query": "third", "judgements": {"d1": -1, "d2": 3}},
        {"id": "q4", "intent": "a", "query": " ", "judgements": {"d2": True}, "extra": 1},
        {"id": "q5", "intent": "a", "query": "fifth", "judgements": {"d2": 0}},
    ])
    with pytest.raises(GoldenSetError) as err:
        load_retrieval_suite(folder)
    got = {(p["line"], p["example_id"], p["field"]) for p in err.value.problems}
    assert got >= {
        (2, "q1", "id"), (2, "q1", "intent"), (2, "q1", "judgements.d9"), (3, None, None),
        (4, "q3", "judgements.d1"), (4, "q3", "judgements.d2"), (5, "q4", "query"),
        (5, "q4", "judgements.d2"), (5, "q4", "extra"), (6, "q5", "judgements"), (None, None, "intent"),
    }
    text = str(err.value)
    assert "grade -1 is negative" in text and "above the suite's max_grade 2" in text
    assert "not in the suite's corpus" in text and "no relevant document" in text
    assert "intent 'b' has 0 valid queries" in text and "queries.jsonl: line 3: not valid JSON" in text


def test_bad_suite_file_and_corpus(tmp_path):
    folder = _write(tmp_path, [{"id": "q1", "intent": "a", "query": "x", "judgements": {"d1": 1}}],
                    corpus=[{"doc_id": "d1", "text": ""}, {"doc_id": "d1", "text": "x"}])
    with pytest.raises(GoldenSetError, match="corpus.jsonl: line 1: query d1: field 'text'"):
        load_retrieval_suite(folder)
    (folder / "suite.yaml").write_text(json.dumps({"name": "s", "intents": [], "bogus": 1}))
    with pytest.raises(GoldenSetError, match="key 'intents'|field 'intents'"):
        load_retrieval_suite(folder)
    with pytest.raises(GoldenSetError, match="not found"):
        load_retrieval_suite("nope", tmp_path)
