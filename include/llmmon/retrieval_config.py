"""Configuration of RAG retrieval quality (issue 6): ``settings.retrieval``.

Every field has a default, so the embedded defaults load without a ``retrieval:`` section: the demo server's
retriever (``POST <demo endpoint>/retrieve``) evaluated on the ``rag_support`` golden retrieval suite. See
docs/retrieval.md for what each setting does.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Rate = Annotated[float, Field(gt=0.0, lt=1.0)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_metric(name: str) -> str:
    from llmmon.retrieval.metrics import MetricNameError, parse_metric

    try:
        return str(parse_metric(name))
    except MetricNameError as exc:
        raise ValueError(str(exc)) from None


class RetrieverConfig(_Strict):
    """A retrieval service under test, reached over HTTP (docs/retrieval.md: the request and answer format).

    Either ``url`` (the full URL that answers ``POST``) or ``endpoint`` (an llmmon endpoint by name: the retriever
    is ``path`` under that endpoint's base URL and is called with its API key). ``index_version`` labels runs whose
    conf names no version. ``top_k`` documents are asked for (at least the largest metric cutoff).
    """

    name: Name
    url: str | None = None
    endpoint: str | None = None
    path: str = "/retrieve"
    index_version: Annotated[str, Field(min_length=1, max_length=200)] = "unversioned"
    top_k: Annotated[int, Field(ge=1, le=1000)] = 10
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    max_concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8765/v1/retrieve")
        return v

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("must start with '/' (it is appended to the endpoint's base URL)")
        return v

    @model_validator(mode="after")
    def _one_target(self) -> RetrieverConfig:
        if (self.url is None) == (self.endpoint is None):
            raise ValueError("give exactly one of url (the retriever's full URL) or endpoint (an llmmon endpoint)")
        return self


class RegressionConfig(_Strict):
    """How a run is judged against the baseline index version (paired per-query differences).

    A metric regresses when its sign-flip test on the per-query differences is significant at ``alpha`` (after
    ``correction`` across the metrics and intents tested) AND its mean dropped by at least ``min_effect``
    (``intent_min_effect`` for one intent). Fewer than ``min_queries`` paired queries: inconclusive.
    """

    metrics: Annotated[list[str], Field(min_length=1)] = ["recall@10", "ndcg@10", "mrr@10"]
    alpha: Rate = 0.05
    correction: Literal["holm", "bh"] = "holm"
    min_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.03
    intent_min_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    min_queries: Annotated[int, Field(ge=2)] = 20
    min_intent_queries: Annotated[int, Field(ge=2)] = 8
    confidence: Rate = 0.95
    bootstrap_resamples: Annotated[int, Field(ge=100, le=100_000)] = 2000

    @field_validator("metrics")
    @classmethod
    def _known(cls, metrics: list[str]) -> list[str]:
        out = [_check_metric(m) for m in metrics]
        if len(set(out)) != len(out):
            raise ValueError("metrics must be unique")
        return out


class ContextRelevanceConfig(_Strict):
    """LLM-judge ratings of each retrieved chunk for its query (rubric ``context_relevance``, 1-5).

    Golden runs judge the top ``chunks_per_query`` chunks of every query; on production traffic the RAG spans the
    judge's sampling draws (``judge.sampling``) get their top ``chunks_per_span`` chunks judged. Both stay within
    ``judge.budget`` (calls and USD per run). Chunk text comes from the retriever's answer (golden runs), or for
    spans from the span attribute ``documents_attribute`` (a list aligned with the retrieved ids), else the
    ``corpus`` file (JSONL ``{"doc_id", "text"}``, relative to ``golden_sets_dir``), else the span's whole context
    (``judge.context_attribute``) as one chunk. A traffic window with fewer than 10 rated spans is stored but
    gives "no data" to alert rules (``llmmon.retrieval.series.MIN_WINDOW_SPANS``).
    """

    enabled: bool = True
    rubric: Annotated[str, Field(min_length=1)] = "context_relevance"
    chunks_per_query: Annotated[int, Field(ge=1, le=100)] = 5
    chunks_per_span: Annotated[int, Field(ge=1, le=100)] = 5
    documents_attribute: Annotated[str, Field(min_length=1)] = "llmmon.retrieval.documents"
    corpus: str | None = None
    window: Literal["1h"] = "1h"


class RetrievalConfig(_Strict):
    """``settings.retrieval``: retrievers under test, the golden retrieval suite, metrics and verdict rules."""

    suite: Annotated[str, Field(min_length=1)] = "rag_support"
    default_retriever: str | None = None
    retrievers: Annotated[list[RetrieverConfig], Field(min_length=1)] = [
        RetrieverConfig(name="demo", endpoint="demo", index_version="v1")]
    ks: Annotated[list[Annotated[int, Field(ge=1, le=1000)]], Field(min_length=1)] = [1, 3, 5, 10]
    error_budget: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    regression: RegressionConfig = RegressionConfig()
    context_relevance: ContextRelevanceConfig = ContextRelevanceConfig()

    @model_validator(mode="after")
    def _consistent(self) -> RetrievalConfig:
        names = [r.name for r in self.retrievers]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"retriever names must be unique; repeated: {', '.join(repeated)}")
        if self.default_retriever is not None and self.default_retriever not in names:
            raise ValueError(f"default_retriever {self.default_retriever!r} is not one of the retrievers: {names}")
        cutoffs = set(self.ks)
        for r in self.retrievers:
            if r.top_k < max(cutoffs):
                raise ValueError(f"retrievers.{r.name}.top_k={r.top_k} is below the largest cutoff in ks "
                                 f"({max(cutoffs)}): recall@{max(cutoffs)} would count documents never asked for")
        for m in self.regression.metrics:
            k = int(m.partition("@")[2] or 0)
            if k and k not in cutoffs:
                raise ValueError(f"regression.metrics: {m} needs cutoff {k} in ks {sorted(cutoffs)}")
        return self

    @property
    def metric_names(self) -> list[str]:
        """Every metric computed per query: the six base metrics at each cutoff, and uncut ``map``."""
        from llmmon.retrieval.metrics import metric_names

        return metric_names(self.ks) + ["map"]

    def retriever(self, name: str | None = None) -> RetrieverConfig:
        """The retriever called ``name`` (default: ``default_retriever`` or the first one); ValueError if unknown."""
        name = name or self.default_retriever or self.retrievers[0].name
        for r in self.retrievers:
            if r.name == name:
                return r
        raise ValueError(f"unknown retriever {name!r} (configured: {', '.join(r.name for r in self.retrievers)})")
