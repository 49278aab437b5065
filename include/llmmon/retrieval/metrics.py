"""Rank metrics of retrieval: recall@k, precision@k, hit@k, MRR@k, nDCG@k and MAP, per query, vectorised.

One numpy core over padded arrays computes every metric for every query at once (about 1 s and 0.5 GB for
100,000 queries x 20 retrieved documents); :func:`evaluate` is the convenient front door over string ids.

Definitions (``rel_i`` = 1 when the document at rank ``i`` has grade >= 1, ``g_i`` its grade; ``R`` = the number
of documents with grade >= 1 in the judgements; ranks count from 1):

- ``recall@k`` = sum_{i<=k} rel_i / R.
- ``precision@k`` = sum_{i<=k} rel_i / k — the denominator is k even when fewer than k documents came back
  (trec_eval's P_k and ranx agree).
- ``hit@k`` = 1 when some rel_i = 1 for i <= k, else 0 (the hit rate, averaged over queries).
- ``mrr@k`` = 1 / (rank of the first relevant document) when it is within k, else 0; Voorhees, E. M. (1999),
  "The TREC-8 Question Answering Track Report", TREC-8, NIST SP 500-246.
- ``ndcg@k`` = DCG@k / IDCG@k with linear gains, DCG@k = sum_{i<=k} g_i / log2(i + 1), IDCG@k the DCG@k of the
  judgements sorted by grade; Järvelin, K. & Kekäläinen, J. (2002), "Cumulated gain-based evaluation of IR
  techniques", ACM TOIS 20(4), 422-446. Same as trec_eval's ndcg_cut_k and ranx's ``ndcg@k``.
- ``map@k`` = (1/R) sum_{i<=k} rel_i * precision@i — average precision cut at k, divided by all R relevant
  documents (trec_eval's map_cut_k, ranx's ``map@k``); ``map`` is the same over the whole returned list
  (no cutoff). Buckley, C. & Voorhees, E. M. (2000), "Evaluating evaluation measure stability", SIGIR 2000.

Edge cases (docs/retrieval.md compares them with ranx and trec_eval):

- **No relevant document** in a query's judgements (R = 0): every metric of the query is NaN (undefined) and
  the query is left out of means. ranx and trec_eval give 0 for such a query; a golden retrieval suite refuses
  such queries at validation, so this only matters for direct callers.
- **Fewer than k results**: missing ranks count as non-relevant (precision's denominator stays k).
- **Duplicate ids**: a document counts once, at its first occurrence; a repeat keeps its rank slot (the slot was
  spent) but gains nothing.
- **Ties in scores**: the retriever's rank order is the order; scores are never re-sorted. trec_eval re-sorts
  by score and breaks ties by document id, ranx re-sorts by score: they differ from llmmon only on tied scores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from llmmon.errors import LlmmonError

BASE_METRICS = ("recall", "precision", "hit", "mrr", "ndcg", "map")
_NAME = re.compile(r"^(recall|precision|hit|mrr|ndcg|map)(?:@([1-9][0-9]*))?$")
PAD = -1  # id of an empty slot in padded id arrays
MAX_K = 1000


class MetricNameError(LlmmonError, ValueError):
    """A metric name is not one llmmon computes (``recall@10``, ``ndcg@5``, ``map``, ...)."""


class RetrievalInputError(LlmmonError, ValueError):
    """A run or judgements llmmon cannot score: unknown query ids, grades that are not integers >= 0."""


@dataclass(frozen=True)
class MetricName:
    """A parsed metric name: its base metric and cutoff (None only for ``map``, which has no cutoff)."""

    base: str
    k: int | None

    def __str__(self) -> str:
        return self.base if self.k is None else f"{self.base}@{self.k}"


def parse_metric(name: str) -> MetricName:
    """``"recall@10"`` -> MetricName("recall", 10). Every metric but ``map`` needs a cutoff ``@k``."""
    m = _NAME.match(name.strip()) if isinstance(name, str) else None
    if m is None:
        raise MetricNameError(f"unknown metric {name!r}: expected one of {', '.join(BASE_METRICS)} with @k "
                              "(e.g. recall@10, ndcg@5; map also without a cutoff)")
    base, k = m.group(1), int(m.group(2)) if m.group(2) else None
    if k is None and base != "map":
        raise MetricNameError(f"metric {name!r} needs a cutoff: {base}@k (e.g. {base}@10)")
    if k is not None and k > MAX_K:
        raise MetricNameError(f"metric {name!r}: cutoff above {MAX_K}")
    return MetricName(base, k)


def metric_names(ks: Iterable[int], bases: Sequence[str] = BASE_METRICS) -> list[str]:
    """Every base metric at every cutoff, e.g. ``metric_names([5, 10])`` -> recall@5, ..., map@10."""
    return [f"{b}@{k}" for k in sorted(set(ks)) for b in bases]


# -- the numpy core -------------------------------------------------------------------------------------------


def first_occurrence(ids: np.ndarray) -> np.ndarray:
    """Boolean mask, same shape as the 2-D ``ids``, True where an id is not PAD and not a repeat of an earlier
    id in its row."""
    n, depth = ids.shape
    if depth == 0:
        return np.zeros(ids.shape, dtype=bool)
    order = np.argsort(ids, axis=1, kind="stable")  # equal ids keep rank order: the first is first
    srt = np.take_along_axis(ids, order, axis=1)
    repeat_sorted = np.zeros(ids.shape, dtype=bool)
    repeat_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
    repeat = np.zeros(ids.shape, dtype=bool)
    np.put_along_axis(repeat, order, repeat_sorted, axis=1)
    return (ids != PAD) & ~repeat


def gains_of(retrieved: np.ndarray, qrel_ids: np.ndarray, qrel_grades: np.ndarray) -> np.ndarray:
    """Grade of each retrieved document (0 for unjudged, non-relevant, repeated or empty slots), shape of
    ``retrieved``. ``qrel_ids``/``qrel_grades`` are (n, r) padded with PAD / 0; ids are unique within a row."""
    n, depth = retrieved.shape
    gains = np.zeros((n, depth), dtype=np.float64)
    if depth == 0 or qrel_ids.shape[1] == 0:
        return gains
    first = first_occurrence(retrieved)
    # (n, depth, r) comparison in chunks of queries to bound memory (r is small: the judged documents)
    step = max(1, 4_000_000 // max(1, depth * qrel_ids.shape[1]))
    for s in range(0, n, step):
        e = min(n, s + step)
        eq = (retrieved[s:e, :, None] == qrel_ids[s:e, None, :]) & (qrel_ids[s:e, None, :] != PAD)
        gains[s:e] = np.where(eq, qrel_grades[s:e, None, :], 0).max(axis=2)
    gains[~first] = 0.0
    return gains


def compute(
    gains: np.ndarray, qrel_grades: np.ndarray, names: Sequence[str], *, n_returned: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per-query values of each metric in ``names`` (float64 arrays, NaN where the query has no relevant document).

    ``gains``: (n, depth) grade of the document at each rank (0 = not relevant); ``qrel_grades``: (n, r) the
    grades of every judged document of the query (any order, 0 padding). ``n_returned`` (documents the retriever
    returned per query, default depth) bounds the uncut ``map``.
    """
    parsed = [parse_metric(m) for m in names]
    n, depth = gains.shape
    kmax = max([p.k or 0 for p in parsed] + [depth, 1])
    if depth < kmax:  # fewer results than k: the missing ranks are non-relevant
        gains = np.concatenate([gains, np.zeros((n, kmax - depth))], axis=1)
    rel = gains >= 1.0
    cum = np.cumsum(rel, axis=1, dtype=np.float64)
    ranks = np.arange(1, gains.shape[1] + 1, dtype=np.float64)
    n_rel = (qrel_grades >= 1).sum(axis=1).astype(np.float64)
    defined = n_rel > 0
    safe_rel = np.where(defined, n_rel, 1.0)
    discount = 1.0 / np.log2(ranks + 1.0)
    out: dict[str, np.ndarray] = {}
    ideal: np.ndarray | None = None
    prec_at_rank = None
    first_hit: np.ndarray | None = None
    for p in parsed:
        k = p.k if p.k is not None else gains.shape[1]
        if p.base == "recall":
            v = cum[:, k - 1] / safe_rel
        elif p.base == "precision":
            v = cum[:, k - 1] / k
        elif p.base == "hit":
            v = (cum[:, k - 1] > 0).astype(np.float64)
        elif p.base == "mrr":
            if first_hit is None:
                any_rel = rel.any(axis=1)
                first_hit = np.where(any_rel, rel.argmax(axis=1) + 1, np.iinfo(np.int64).max)
            v = np.where(first_hit <= k, 1.0 / np.minimum(first_hit, k + 1), 0.0)
        elif p.base == "ndcg":
            if ideal is None:
                ideal = -np.sort(-np.clip(qrel_grades, 0, None).astype(np.float64), axis=1)
            dcg = gains[:, :k] @ discount[:k]
            ik = min(k, ideal.shape[1])
            idcg = ideal[:, :ik] @ discount[:ik]
            v = dcg / np.where(idcg > 0, idcg, 1.0)
        else:  # map / map@k
            if prec_at_rank is None:
                prec_at_rank = np.where(rel, cum / ranks, 0.0)
            if p.k is None:
                limit = (np.full(n, depth) if n_returned is None else np.minimum(n_returned, depth))
                mask = ranks[None, :] <= limit[:, None]
                v = (prec_at_rank * mask).sum(axis=1) / safe_rel
            else:
                v = prec_at_rank[:, :k].sum(axis=1) / safe_rel
        out[str(p)] = np.where(defined, v, np.nan)
    return out


# -- from string ids ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricTable:
    """Per-query values: ``values[metric][i]`` for ``query_ids[i]`` (NaN: undefined, no relevant document)."""

    query_ids: list[str]
    values: dict[str, np.ndarray]

    def mean(self, metric: str, rows: np.ndarray | None = None) -> float | None:
        """Mean over the queries where the metric is defined (optionally a subset of row indices); None if none."""
        v = self.values[metric] if rows is None else self.values[metric][rows]
        v = v[~np.isnan(v)]
        return float(v.mean()) if len(v) else None

    def per_query(self) -> dict[str, dict[str, float | None]]:
        """``{query_id: {metric: value or None}}``."""
        return {
            q: {m: (None if math.isnan(float(v[i])) else float(v[i])) for m, v in self.values.items()}
            for i, q in enumerate(self.query_ids)
        }


def encode(
    runs: Sequence[Sequence[str]], qrels: Sequence[Mapping[str, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Padded integer arrays of ranked lists and judgements: (retrieved, n_returned, qrel_ids, qrel_grades).

    Ids are mapped to integers by one dictionary; every judged document (grade 0 too) keeps its grade.
    """
    if len(runs) != len(qrels):
        raise ValueError(f"{len(runs)} ranked lists but {len(qrels)} judgement sets: one of each per query")
    vocab: dict[str, int] = {}
    depth = max((len(r) for r in runs), default=0)
    width = max((len(q) for q in qrels), default=0)
    retrieved = np.full((len(runs), depth), PAD, dtype=np.int64)
    n_returned = np.zeros(len(runs), dtype=np.int64)
    qids = np.full((len(runs), width), PAD, dtype=np.int64)
    grades = np.zeros((len(runs), width), dtype=np.float64)
    for i, (run, judged) in enumerate(zip(runs, qrels, strict=True)):
        ids = [vocab.setdefault(d, len(vocab)) for d in run]
        retrieved[i, : len(ids)] = ids
        n_returned[i] = len(ids)
        for j, (doc, grade) in enumerate(judged.items()):
            qids[i, j] = vocab.setdefault(doc, len(vocab))
            grades[i, j] = grade
    return retrieved, n_returned, qids, grades


def evaluate(
    run: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, int]],
    metrics: Sequence[str],
) -> MetricTable:
    """Per-query metrics of a run (query id -> ranked document ids) against graded judgements.

    Every query of ``run`` must have judgements and grades are integers >= 0 (:class:`RetrievalInputError` naming
    the unknown ids or the bad grade otherwise). A query of ``qrels`` missing from ``run`` is not evaluated here
    (the caller decides: llmmon records it as a failed query).
    """
    unknown = [q for q in run if q not in qrels]
    if unknown:
        shown = ", ".join(map(repr, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
        raise RetrievalInputError(f"{len(unknown)} query id(s) of the run have no judgements: {shown}")
    for q, judged in qrels.items():
        for doc, grade in judged.items():
            if isinstance(grade, bool) or not isinstance(grade, int | np.integer) or grade < 0:
                raise RetrievalInputError(f"query {q!r}, document {doc!r}: grade {grade!r} must be an integer >= 0")
    for name in metrics:
        parse_metric(name)
    query_ids = list(run)
    retrieved, n_returned, qids, grades = encode([list(run[q]) for q in query_ids], [qrels[q] for q in query_ids])
    gains = gains_of(retrieved, qids, grades)
    return MetricTable(query_ids, compute(gains, grades, metrics, n_returned=n_returned))
