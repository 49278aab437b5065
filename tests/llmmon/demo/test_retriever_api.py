"""The demo server's retriever over real HTTP: BM25 answers, index versions, bad requests, misbehaviour on demand."""

from __future__ import annotations

import httpx
import pytest

from llmmon.demo.retriever_api import Bm25Index, tokens


def _post(server, body):
    return httpx.post(server.base_url + "/retrieve", json=body, timeout=10)


def test_v1_ranks_the_answering_document_first_and_is_deterministic(demo_server):
    body = {"query": "Do you ship to Canada and what does it cost?", "top_k": 3}
    first, again = _post(demo_server, body).json(), _post(demo_server, body).json()
    assert first == again and first["index_version"] == "v1"
    assert first["results"][0]["doc_id"] == "kb-ship-03" and len(first["results"]) == 3
    assert first["results"][0]["score"] >= first["results"][1]["score"] > 0
    assert "Canada" in first["results"][0]["text"]
    rebuilt = _post(demo_server, {**body, "index_version": "v1-rebuild"}).json()
    assert rebuilt["results"] == first["results"]


def test_the_degraded_index_loses_documents(demo_server):
    listing = httpx.get(demo_server.base_url + "/retrieve/indexes").json()
    assert listing["versions"] == ["v1", "v1-rebuild", "v2-degraded"] and listing["documents"] == 48
    found_v1, found_v2 = set(), set()
    for q in ("refund timing after return", "password reset link expired", "express shipping PO box",
              "warranty on Kestrel products", "cancel Kestrel Plus membership"):
        found_v1 |= {r["doc_id"] for r in _post(demo_server, {"query": q, "top_k": 10}).json()["results"]}
        found_v2 |= {r["doc_id"] for r in _post(demo_server, {"query": q, "top_k": 10,
                                                              "index_version": "v2-degraded"}).json()["results"]}
    assert len(found_v2) < len(found_v1)


@pytest.mark.parametrize("body, message", [
    ({"top_k": 3}, "'query'"), ({"query": "x", "top_k": 0}, "'top_k'"), ({"query": "x", "top_k": True}, "'top_k'"),
    ({"query": "x", "index_version": "v9"}, "unknown index_version 'v9'"),
])
def test_bad_requests_are_400_with_a_reason(demo_server, body, message):
    resp = _post(demo_server, body)
    assert resp.status_code == 400 and message in resp.json()["error"]["message"]


def test_misbehaviour_on_demand(demo_server):
    assert _post(demo_server, {"query": "x [[retriever:error]]"}).status_code == 500
    malformed = _post(demo_server, {"query": "x [[retriever:malformed]]"})
    assert malformed.status_code == 200 and malformed.text.startswith("<html>")
    assert "results" not in _post(demo_server, {"query": "x [[retriever:bad-shape]]"}).json()


def test_bm25_by_hand():
    assert tokens("The refunds were shipped!") == ["refund", "shipp"]
    index = Bm25Index([("a", "apple banana"), ("b", "banana banana cherry"), ("c", "durian")])
    hits = index.search("banana", 5)
    assert [d for d, _ in hits] == ["b", "a"]  # higher term frequency wins; c does not match
    assert index.search("kiwi", 5) == []
