"""The retriever under test: an interface, and its HTTP implementation.

Protocol (docs/retrieval.md): ``POST <url>`` with ``{"query": str, "top_k": int, "index_version": str | null}``;
the answer is ``{"results": [{"doc_id": str, "score": number, "text": str}, ...]}`` (or the bare list), best first.
``text`` is optional (context relevance needs it); extra keys are ignored.

A failure never raises: each query's outcome is recorded, with ``error_type`` one of ``timeout``, ``connection``,
``http_error`` (after the retries for 429/5xx), ``malformed`` (not JSON, or not the shape above). The caller's
error budget decides what failures mean for the run.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

TIMEOUT = "timeout"
CONNECTION = "connection"
HTTP_ERROR = "http_error"
MALFORMED = "malformed"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetrievedDoc:
    """One ranked document as the retriever returned it."""

    doc_id: str
    score: float | None
    text: str | None = None


@dataclass(frozen=True)
class RetrievalOutcome:
    """What one query got: the ranked documents, or why it failed."""

    query_id: str
    docs: list[RetrievedDoc] = field(default_factory=list)
    error_type: str | None = None
    error: str | None = None
    latency_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.error_type is None


class Retriever(Protocol):
    """Anything that ranks documents for queries (the HTTP adapter below, or an in-process index)."""

    async def retrieve_many(
        self, queries: Sequence[tuple[str, str]], top_k: int, *, on_done: Callable[[RetrievalOutcome], Any] | None = None
    ) -> list[RetrievalOutcome]:
        """``queries`` as (query id, text); one outcome per query, in order."""
        ...


class MalformedAnswer(ValueError):
    """The retriever's answer is not the documented JSON shape."""


def parse_results(payload: Any) -> list[RetrievedDoc]:
    """The ranked documents of an answer; :class:`MalformedAnswer` naming the first problem."""
    results = payload.get("results") if isinstance(payload, dict) else payload
    if not isinstance(results, list):
        raise MalformedAnswer("the answer has no 'results' list")
    docs = []
    for i, item in enumerate(results):
        if not isinstance(item, dict):
            raise MalformedAnswer(f"results[{i}] is not an object")
        doc_id = item.get("doc_id")
        if isinstance(doc_id, int) and not isinstance(doc_id, bool):
            doc_id = str(doc_id)
        if not isinstance(doc_id, str) or not doc_id:
            raise MalformedAnswer(f"results[{i}].doc_id must be a non-empty string")
        score = item.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)
                                  or not math.isfinite(score)):
            raise MalformedAnswer(f"results[{i}].score must be a finite number")
        text = item.get("text")
        if text is not None and not isinstance(text, str):
            raise MalformedAnswer(f"results[{i}].text must be a string")
        docs.append(RetrievedDoc(doc_id, None if score is None else float(score), text))
    return docs


class HttpRetriever:
    """Calls a retrieval service over HTTP with bounded concurrency, a per-request timeout and retries.

    Retried: connection errors, timeouts and HTTP 429/5xx, up to ``max_retries`` times with exponential backoff.
    Not retried: other HTTP errors and malformed answers (asking again gets the same answer).
    """

    def __init__(self, url: str, *, index_version: str | None = None, timeout_s: float = 10.0,
                 max_concurrency: int = 8, max_retries: int = 2, api_key: str | None = None,
                 backoff_s: float = 0.2) -> None:
        self.url = url
        self.index_version = index_version
        self.timeout_s = timeout_s
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def _one(self, client: httpx.AsyncClient, sem: asyncio.Semaphore, query_id: str, text: str,
                   top_k: int) -> RetrievalOutcome:
        body = {"query": text, "top_k": top_k, "index_version": self.index_version}
        last_type, last_error = CONNECTION, "no attempt made"
        async with sem:
            t0 = time.perf_counter()
            for attempt in range(self.max_retries + 1):
                if attempt:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
                try:
                    resp = await client.post(self.url, json=body, headers=self._headers)
                except httpx.TimeoutException:
                    last_type, last_error = TIMEOUT, f"no answer within {self.timeout_s:g} s"
                    continue
                except httpx.HTTPError as exc:
                    last_type, last_error = CONNECTION, f"{type(exc).__name__}: {exc}"
                    continue
                latency = time.perf_counter() - t0
                if resp.status_code in _RETRY_STATUSES:
                    last_type, last_error = HTTP_ERROR, f"HTTP {resp.status_code}: {resp.text[:200]}"
                    continue
                if resp.status_code >= 400:
                    return RetrievalOutcome(query_id, error_type=HTTP_ERROR, latency_s=latency,
                                            error=f"HTTP {resp.status_code}: {resp.text[:200]}")
                try:
                    payload = json.loads(resp.content)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    return RetrievalOutcome(query_id, error_type=MALFORMED, latency_s=latency,
                                            error=f"the answer is not JSON ({exc}): {resp.text[:120]!r}")
                try:
                    docs = parse_results(payload)
                except MalformedAnswer as exc:
                    return RetrievalOutcome(query_id, error_type=MALFORMED, error=str(exc), latency_s=latency)
                return RetrievalOutcome(query_id, docs=docs, latency_s=latency)
            return RetrievalOutcome(query_id, error_type=last_type, error=last_error,
                                    latency_s=time.perf_counter() - t0)

    async def retrieve_many(
        self, queries: Sequence[tuple[str, str]], top_k: int, *, on_done: Callable[[RetrievalOutcome], Any] | None = None
    ) -> list[RetrievalOutcome]:
        sem = asyncio.Semaphore(self.max_concurrency)
        limits = httpx.Limits(max_connections=self.max_concurrency)
        async with httpx.AsyncClient(timeout=self.timeout_s, limits=limits) as client:
            async def run(qid: str, text: str) -> RetrievalOutcome:
                out = await self._one(client, sem, qid, text, top_k)
                if on_done is not None:
                    on_done(out)
                return out

            return list(await asyncio.gather(*(run(q, t) for q, t in queries)))


def retriever_url(settings: Any, name: str | None = None) -> tuple[Any, str, str | None]:
    """(retriever config, URL, the endpoint's API key reference or None) of a configured retriever."""
    cfg = settings.retrieval.retriever(name)
    if cfg.url is not None:
        return cfg, cfg.url, None
    endpoint = settings.endpoint(cfg.endpoint)
    return cfg, endpoint.base_url.rstrip("/") + cfg.path, endpoint.api_key
