"""llmmon's retrieval metrics against two independent implementations: ranx and trec_eval (pytrec-eval-terrier).

Random runs and graded judgements, edge cases included (fewer than k results, empty results, duplicate ids,
no relevant document, grades 0..3). Values agree to 1e-9 wherever the definitions agree; where llmmon's definition
deliberately differs (no relevant document, duplicate ids, tied scores; docs/retrieval.md) the test shows the
difference and the equivalence that holds instead.

ranx is called through its low-level serial functions (one per metric; numba compiles six small functions, a few
seconds without a cache and ~0 s with numba's on-disk cache) with the arrays it builds from its own Qrels/Run:
judgements sorted by grade, the run sorted by score.
"""

from __future__ import annotations

import numpy as np
import pytest

from llmmon.retrieval.metrics import evaluate, metric_names

pytrec_eval = pytest.importorskip("pytrec_eval")

KS = (1, 3, 5, 10)
TOL = 1e-9


def _random_case(seed: int, n_queries: int = 400):
    """Run (ranked ids with strictly decreasing scores), judgements, and the ids of queries with duplicates."""
    rng = np.random.default_rng(seed)
    run: dict[str, list[str]] = {}
    scores: dict[str, list[float]] = {}
    qrels: dict[str, dict[str, int]] = {}
    for i in range(n_queries):
        q = f"q{i}"
        pool = [f"d{j}" for j in rng.choice(60, size=30, replace=False)]
        depth = int(rng.choice([0, 1, 3, 7, 12, 20, 20, 20]))  # often fewer than k
        judged = rng.choice(30, size=int(rng.integers(1, 9)), replace=False)
        grades = rng.integers(0, 4, size=len(judged))
        if i % 7 == 0:
            grades[0] = max(1, int(grades[0]))  # most queries have a relevant document, a few do not
        qrels[q] = {pool[j]: int(g) for j, g in zip(judged, grades, strict=True)}
        ranked = list(rng.permutation(pool)[:depth])
        run[q] = ranked
        scores[q] = sorted(rng.uniform(0, 1, size=depth).tolist(), reverse=True)
    return run, scores, qrels


def _with_relevant(run, qrels):
    return {q: ids for q, ids in run.items() if any(g >= 1 for g in qrels[q].values())}


# -- trec_eval -----------------------------------------------------------------------------------------------------

_TREC = {"recall": "recall_{k}", "precision": "P_{k}", "hit": "success_{k}", "ndcg": "ndcg_cut_{k}",
         "map": "map_cut_{k}"}


def _trec(run, scores, qrels, measures):
    trec_run = {q: {d: float(s) for d, s in zip(ids, scores[q], strict=True)} for q, ids in run.items() if ids}
    evaluator = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in trec_run}, measures)
    return evaluator.evaluate(trec_run)


def test_agrees_with_trec_eval():
    run, scores, qrels = _random_case(1)
    run = _with_relevant(run, qrels)
    names = metric_names(KS) + ["map"]
    ours = evaluate(run, qrels, names).per_query()
    ks = ",".join(map(str, KS))
    ref = _trec(run, scores, qrels, {f"recall.{ks}", f"P.{ks}", f"success.{ks}", f"ndcg_cut.{ks}",
                                    f"map_cut.{ks}", "map"})
    compared = 0
    for q, ids in run.items():
        if not ids:  # trec_eval leaves a query with an empty ranking out; llmmon scores it 0 on every metric
            assert all(v == 0.0 for v in ours[q].values())
            continue
        for base, trec_name in _TREC.items():
            for k in KS:
                assert ours[q][f"{base}@{k}"] == pytest.approx(ref[q][trec_name.format(k=k)], abs=TOL), (q, base, k)
                compared += 1
        assert ours[q]["map"] == pytest.approx(ref[q]["map"], abs=TOL), q
    assert compared > 5000


def test_mrr_agrees_with_trec_eval_on_the_run_cut_to_k():
    # trec_eval's recip_rank has no cutoff: cut the run to its top k, then it is llmmon's mrr@k
    run, scores, qrels = _random_case(2)
    run = _with_relevant(run, qrels)
    ours = evaluate(run, qrels, [f"mrr@{k}" for k in KS]).per_query()
    for k in KS:
        cut = {q: ids[:k] for q, ids in run.items()}
        ref = _trec(cut, {q: s[:k] for q, s in scores.items()}, qrels, {"recip_rank"})
        for q, ids in cut.items():
            if ids:
                assert ours[q][f"mrr@{k}"] == pytest.approx(ref[q]["recip_rank"], abs=TOL), (q, k)


# -- ranx ------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ranx_fns():
    from ranx.metrics.average_precision import _average_precision
    from ranx.metrics.hit_rate import _hit_rate
    from ranx.metrics.ndcg import _ndcg
    from ranx.metrics.precision import _precision
    from ranx.metrics.recall import _recall
    from ranx.metrics.reciprocal_rank import _reciprocal_rank

    return {"recall": _recall, "precision": _precision, "hit": _hit_rate, "mrr": _reciprocal_rank,
            "map": _average_precision, "ndcg": lambda q, r, k, lvl: _ndcg(q, r, k, lvl, True)}


def _ranx_arrays(ids, scores, judged, vocab):
    qrels = sorted(((vocab.setdefault(d, len(vocab)), g) for d, g in judged.items()), key=lambda x: -x[1])
    run = [(vocab.setdefault(d, len(vocab)), s) for d, s in zip(ids, scores, strict=True)]
    return (np.array(qrels, dtype=np.float64).reshape(-1, 2), np.array(run, dtype=np.float64).reshape(-1, 2))


def test_agrees_with_ranx(ranx_fns):
    run, scores, qrels = _random_case(3)
    run = _with_relevant(run, qrels)
    names = metric_names(KS) + ["map"]
    ours = evaluate(run, qrels, names).per_query()
    vocab: dict[str, int] = {}
    compared = 0
    for q, ids in run.items():
        rq, rr = _ranx_arrays(ids, scores[q], qrels[q], vocab)
        for name in names:
            base, _, k = name.partition("@")
            expected = ranx_fns[base](rq, rr, int(k or 0), 1)
            assert ours[q][name] == pytest.approx(expected, abs=TOL), (q, name)
            compared += 1
    assert compared > 9000


# -- deliberate differences ---------------------------------------------------------------------------------------------


def test_duplicates_count_once_and_keep_their_slot():
    """llmmon: a repeated id gains nothing but keeps its rank. Same as the references given a fresh non-relevant id
    in that slot (neither reference can hold a repeated id: their runs are dicts)."""
    qrels = {"q": {"a": 2, "b": 1, "c": 1}}
    dup = evaluate({"q": ["x", "a", "a", "b", "a"]}, qrels, metric_names([3, 5]) + ["map"]).per_query()["q"]
    fresh = {"q": ["x", "a", "y1", "b", "y2"]}
    ref = _trec(fresh, {"q": [0.9, 0.8, 0.7, 0.6, 0.5]}, qrels, {"recall.3,5", "P.3,5", "ndcg_cut.3,5", "map"})["q"]
    assert dup["recall@3"] == pytest.approx(ref["recall_3"]) == pytest.approx(1 / 3)
    assert dup["recall@5"] == pytest.approx(ref["recall_5"]) == pytest.approx(2 / 3)
    assert dup["precision@5"] == pytest.approx(ref["P_5"]) == pytest.approx(2 / 5)
    assert dup["ndcg@5"] == pytest.approx(ref["ndcg_cut_5"], abs=TOL)
    assert dup["map"] == pytest.approx(ref["map"], abs=TOL) == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert dup["mrr@5"] == 0.5


def test_ties_keep_the_retrievers_order_where_trec_eval_reorders_by_doc_id():
    qrels = {"q": {"a": 1}}
    # the retriever ranks "a" first, tied in score with "z"
    ours = evaluate({"q": ["a", "z"]}, qrels, ["mrr@2"]).per_query()["q"]
    assert ours["mrr@2"] == 1.0
    tied = _trec({"q": ["a", "z"]}, {"q": [0.5, 0.5]}, qrels, {"recip_rank"})["q"]
    assert tied["recip_rank"] == 0.5  # trec_eval sorts ties by document id, descending: z before a
    untied = _trec({"q": ["a", "z"]}, {"q": [0.6, 0.5]}, qrels, {"recip_rank"})["q"]
    assert untied["recip_rank"] == ours["mrr@2"]


def test_no_relevant_document_is_undefined_not_zero(ranx_fns):
    qrels = {"q": {"a": 0, "b": 0}, "r": {"a": 1}}
    table = evaluate({"q": ["a", "b"], "r": ["b", "a"]}, qrels, metric_names([2]) + ["map"])
    assert all(np.isnan(v[0]) for v in table.values.values())  # q: undefined, left out of means
    assert table.mean("recall@2") == 1.0  # the mean is over r alone
    rq, rr = _ranx_arrays(["a", "b"], [0.9, 0.8], qrels["q"], {})
    assert ranx_fns["recall"](rq, rr, 2, 1) == 0.0  # ranx (and trec_eval) count such a query as 0
    trec = _trec({"q": ["a", "b"]}, {"q": [0.9, 0.8]}, qrels, {"recall.2", "ndcg_cut.2"})["q"]
    assert trec["recall_2"] == 0.0 and trec["ndcg_cut_2"] == 0.0


def test_fewer_than_k_results_precision_keeps_k_as_denominator(ranx_fns):
    qrels = {"q": {"a": 1, "b": 3}}
    ours = evaluate({"q": ["b"]}, qrels, ["precision@5", "recall@5", "ndcg@5", "hit@5"]).per_query()["q"]
    assert ours == {"precision@5": 0.2, "recall@5": 0.5, "hit@5": 1.0,
                    "ndcg@5": pytest.approx(3 / (3 + 1 / np.log2(3)))}
    rq, rr = _ranx_arrays(["b"], [0.9], qrels["q"], {})
    assert ranx_fns["precision"](rq, rr, 5, 1) == pytest.approx(0.2)
