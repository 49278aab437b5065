"""llmmon's retrieval metrics on hand-computed examples; names, edge cases and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmmon.errors import LlmmonError
from llmmon.retrieval.metrics import (
    MetricNameError,
    RetrievalInputError,
    compute,
    evaluate,
    first_occurrence,
    gains_of,
    metric_names,
    parse_metric,
)

QRELS = {"q": {"a": 3, "b": 1, "c": 2, "z": 0}}


def test_hand_computed_values():
    # ranking: x a y c b ; relevant a(3) c(2) b(1); z judged not relevant
    v = evaluate({"q": ["x", "a", "y", "c", "b"]}, QRELS, metric_names([1, 2, 5]) + ["map"]).per_query()["q"]
    assert v["recall@2"] == pytest.approx(1 / 3) and v["recall@5"] == 1.0 and v["recall@1"] == 0.0
    assert v["precision@2"] == 0.5 and v["precision@5"] == pytest.approx(3 / 5)
    assert v["hit@1"] == 0.0 and v["hit@2"] == 1.0
    assert v["mrr@1"] == 0.0 and v["mrr@2"] == 0.5 and v["mrr@5"] == 0.5
    dcg5 = 3 / math.log2(3) + 2 / math.log2(5) + 1 / math.log2(6)
    idcg5 = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert v["ndcg@5"] == pytest.approx(dcg5 / idcg5, abs=1e-12)
    assert v["ndcg@2"] == pytest.approx((3 / math.log2(3)) / (3 + 2 / math.log2(3)), abs=1e-12)
    assert v["map@2"] == pytest.approx((1 / 2) / 3)
    assert v["map"] == v["map@5"] == pytest.approx((1 / 2 + 2 / 4 + 3 / 5) / 3)


def test_empty_and_short_rankings():
    v = evaluate({"q": []}, QRELS, ["recall@5", "precision@5", "mrr@5", "ndcg@5", "map"]).per_query()["q"]
    assert v == {"recall@5": 0.0, "precision@5": 0.0, "mrr@5": 0.0, "ndcg@5": 0.0, "map": 0.0}
    v = evaluate({"q": ["a"]}, QRELS, ["precision@10", "recall@10"]).per_query()["q"]
    assert v == {"precision@10": 0.1, "recall@10": pytest.approx(1 / 3)}


def test_a_query_without_relevant_documents_is_left_out_of_means():
    table = evaluate({"q": ["a"], "n": ["a"]}, {**QRELS, "n": {"a": 0}}, ["recall@5", "hit@5"])
    assert table.per_query()["n"] == {"recall@5": None, "hit@5": None}
    assert table.mean("recall@5") == pytest.approx(1 / 3) and table.mean("hit@5") == 1.0


def test_duplicates_count_once_at_their_first_rank():
    assert first_occurrence(np.array([[1, 2, 1, -1, 2, 3]])).tolist() == [[True, True, False, False, False, True]]
    v = evaluate({"q": ["a", "a", "a", "c"]}, QRELS, ["recall@3", "precision@4", "map"]).per_query()["q"]
    assert v["recall@3"] == pytest.approx(1 / 3) and v["precision@4"] == 0.5
    assert v["map"] == pytest.approx((1 + 2 / 4) / 3)


def test_array_core_matches_the_dictionary_front_door():
    retrieved = np.array([[5, 1, 7, 2, -1], [9, 9, 3, -1, -1]])
    qids = np.array([[1, 2, -1], [3, 4, 8]])
    grades = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 0.0]])
    values = compute(gains_of(retrieved, qids, grades), grades, ["ndcg@3", "recall@5"])
    ref = evaluate({"a": ["5", "1", "7", "2"], "b": ["9", "9", "3"]},
                   {"a": {"1": 2, "2": 1}, "b": {"3": 1, "4": 3, "8": 0}}, ["ndcg@3", "recall@5"])
    for m in values:
        np.testing.assert_allclose(values[m], ref.values[m], atol=1e-15)


def test_names_carry_their_parameters():
    assert str(parse_metric("ndcg@10")) == "ndcg@10" and parse_metric("map").k is None
    assert metric_names([10, 5], ["recall"]) == ["recall@5", "recall@10"]
    for bad in ("recall", "ndcg@0", "f1@5", "recall@x", "mrr@"):
        with pytest.raises(MetricNameError):
            parse_metric(bad)


def test_bad_input_is_a_clear_error():
    with pytest.raises(RetrievalInputError, match="2 query id\\(s\\) of the run have no judgements: 'x', 'y'"):
        evaluate({"q": ["a"], "x": [], "y": []}, QRELS, ["recall@5"])
    with pytest.raises(RetrievalInputError, match="grade -1 must be an integer >= 0"):
        evaluate({"q": ["a"]}, {"q": {"a": -1}}, ["recall@5"])
    with pytest.raises(LlmmonError, match="grade 1.5"):
        evaluate({"q": ["a"]}, {"q": {"a": 1.5}}, ["recall@5"])
