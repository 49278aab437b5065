"""The demo model server's retriever: ``POST /v1/retrieve``, Okapi BM25 over the demo corpus, deterministic.

Request: ``{"query": str, "top_k": int (default 10, 1..100), "index_version": str (default "v1")}``.
Answer: ``{"index_version": ..., "results": [{"doc_id", "score", "text"}, ...]}``, best first; ties in score are
broken by document id, so the same request always gets the same answer.

Index versions (``GET /v1/retrieve/indexes`` lists them):

- ``v1``: BM25 (k1 = 1.2, b = 0.75; Robertson, S. & Zaragoza, H. (2009), "The Probabilistic Relevance Framework:
  BM25 and Beyond", Foundations and Trends in IR 3(4)) over title and text, light stemming, stop words removed.
- ``v1-rebuild``: the same index rebuilt: identical answers (a deploy that must not be called a regression).
- ``v2-degraded``: a broken re-index: a third of the documents are missing (a lost shard; chosen by a hash of the
  id) and the rest are indexed by their title only (a chunker bug) — recall drops.

The corpus is ``<golden_sets_dir>/rag_support/corpus.jsonl`` (``./golden_sets`` when the server has no
golden_sets_dir). Markers in the query misbehave on demand, for tests of the client: ``[[retriever:timeout]]``
answers after 3 s, ``[[retriever:malformed]]`` answers with text that is not JSON, ``[[retriever:bad-shape]]``
with JSON without ``results``, ``[[retriever:error]]`` with HTTP 500.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

CORPUS = Path("rag_support") / "corpus.jsonl"
DEFAULT_VERSION = "v1"
VERSIONS = ("v1", "v1-rebuild", "v2-degraded")
MAX_TOP_K = 100
K1, B = 1.2, 0.75
TIMEOUT_MARKER = "[[retriever:timeout]]"
MALFORMED_MARKER = "[[retriever:malformed]]"
BAD_SHAPE_MARKER = "[[retriever:bad-shape]]"
ERROR_MARKER = "[[retriever:error]]"
HANG_S = 3.0  # longer than any sane client timeout in tests and demos; short enough to finish before shutdown
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the and or but if of to in on at by for with from is are was were be been it its this that these those "
    "i me my we our you your he she they them their what which who how when where why can could do does did "
    "will would should may might not no yes so as than then there here about into over after before up down "
    "out off again only own same too very just also any all each both more most some such get got".split()
)


def tokens(text: str) -> list[str]:
    """Lower-case words without stop words, with a light plural/suffix stem (``refunds`` -> ``refund``)."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in _STOP:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(w) > len(suffix) + 3 and w.endswith(suffix):
                w = w[: -len(suffix)]
                break
        out.append(w)
    return out


@dataclass(frozen=True)
class _Doc:
    doc_id: str
    title: str
    text: str


class Bm25Index:
    """Okapi BM25 over (doc id, indexed text) pairs; ``search`` returns (doc id, score) best first."""

    def __init__(self, docs: list[tuple[str, str]]) -> None:
        self.ids = [d for d, _ in docs]
        self.tfs = [Counter(tokens(t)) for _, t in docs]
        self.lens = [sum(tf.values()) for tf in self.tfs]
        self.avg = (sum(self.lens) / len(self.lens)) if self.lens else 1.0
        df: Counter[str] = Counter()
        for tf in self.tfs:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1.0 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def search(self, query: str, top_k: int) -> list[tuple[str, float]]:
        terms = tokens(query)
        scored = []
        for i, tf in enumerate(self.tfs):
            s = 0.0
            norm = K1 * (1 - B + B * self.lens[i] / (self.avg or 1.0))
            for t in terms:
                f = tf.get(t)
                if f:
                    s += self.idf[t] * f * (K1 + 1) / (f + norm)
            if s > 0:
                scored.append((self.ids[i], round(s, 6)))
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:top_k]


def _lost(doc_id: str) -> bool:
    return int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 3 == 0


class DemoRetriever:
    """The corpus and one BM25 index per version."""

    def __init__(self, docs: list[_Doc]) -> None:
        self.docs = {d.doc_id: d for d in docs}
        full = Bm25Index([(d.doc_id, f"{d.title}. {d.text}") for d in docs])
        degraded = Bm25Index([(d.doc_id, d.title) for d in docs if not _lost(d.doc_id)])
        self.indexes = {"v1": full, "v1-rebuild": full, "v2-degraded": degraded}

    @classmethod
    def from_dir(cls, golden_sets_dir: Path | None) -> DemoRetriever:
        path = Path(golden_sets_dir or "golden_sets") / CORPUS
        docs = []
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    docs.append(_Doc(row["doc_id"], row.get("title", ""), row["text"]))
        return cls(docs)

    def retrieve(self, query: str, top_k: int, version: str) -> list[dict]:
        hits = self.indexes[version].search(query, top_k)
        return [{"doc_id": d, "score": s, "text": self.docs[d].text} for d, s in hits]


_KEY = web.AppKey("llmmon_demo_retriever", DemoRetriever)


def _retriever(app: web.Application) -> DemoRetriever:
    return app[_KEY]


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error"}}, status=400)


async def _retrieve(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _bad_request("the body must be a JSON object")
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _bad_request("'query' (a string) is required")
    query = body["query"]
    top_k = body.get("top_k", 10)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        return _bad_request(f"'top_k' must be an integer from 1 to {MAX_TOP_K}")
    version = body.get("index_version") or DEFAULT_VERSION
    if version not in VERSIONS:
        return _bad_request(f"unknown index_version {version!r}; known: {', '.join(VERSIONS)}")
    if TIMEOUT_MARKER in query:
        await asyncio.sleep(HANG_S)
    if MALFORMED_MARKER in query:
        return web.Response(text="<html>upstream error</html>", content_type="application/json")
    if BAD_SHAPE_MARKER in query:
        return web.json_response({"documents": "none"})
    if ERROR_MARKER in query:
        return web.json_response({"error": {"message": "index shard unavailable"}}, status=500)
    results = _retriever(request.app).retrieve(query, top_k, version)
    return web.json_response({"index_version": version, "results": results})


async def _indexes(request: web.Request) -> web.Response:
    r = _retriever(request.app)
    return web.json_response({"default": DEFAULT_VERSION, "versions": list(VERSIONS), "documents": len(r.docs)})


def add_routes(app: web.Application) -> None:
    """Register this module's routes on the demo server's application (after its state is set: the corpus is
    read from the state's golden_sets_dir)."""
    from llmmon.demo.server import STATE_KEY

    app[_KEY] = DemoRetriever.from_dir(app[STATE_KEY].config.golden_sets_dir if STATE_KEY in app else None)
    app.router.add_post("/v1/retrieve", _retrieve)
    app.router.add_get("/v1/retrieve/indexes", _indexes)
