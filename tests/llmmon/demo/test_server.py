"""The demo model server over real HTTP on 127.0.0.1 (httpx client; the openai SDK is tested elsewhere)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from llmmon.demo.answers import GENERIC_REPLIES, render_reference
from llmmon.demo.profiles import ModelProfile
from llmmon.demo.server import LATENCY_HEADER, TTFT_HEADER, DemoServer, DemoServerConfig, create_app
from llmmon.demo.tokens import count_tokens, split_pieces, truncate_to_tokens
from llmmon.errors import GoldenSetError

V1, V2 = "llmmon-demo-v1", "llmmon-demo-v2"
ROUTE = "Route the ticket."  # 4 tokens: Route | the | ticket | .
EXTRACT = "Extract the fields as JSON."  # 6 tokens
STRUCTURE = "Answer with JSON."  # 4 tokens
ANSWER = "Answer briefly."  # 3 tokens

BASE_CASES = [
    {
        "id": "c-1",
        "intent": "order_status",
        "task_type": "classification",
        "input": "Where is my order A10293?",
        "reference": "order_status",
    },
    {
        "id": "c-2",
        "intent": "shipping",
        "task_type": "classification",
        "input": "Do you ship to Canada?",
        "reference": "shipping",
    },
    {
        "id": "c-3",
        "intent": "account_access",
        "task_type": "classification",
        "input": "I cannot log in to my account.",
        "reference": "account_access",
    },
    {
        "id": "c-4",
        "intent": "cancellation",
        "task_type": "classification",
        "input": "Please cancel my subscription.",
        "reference": "cancellation",
    },
    {
        "id": "e-1",
        "intent": "order_status",
        "task_type": "extraction",
        "input": "Order A10293 never arrived, reach me at jane@example.com",
        "reference": {"order_id": "A10293", "email": "jane@example.com"},
    },
    {
        "id": "e-2",
        "intent": "shipping",
        "task_type": "extraction",
        "input": "Ship order B20001 to Lyon please, I am Paul",
        "reference": {"order_id": "B20001", "city": "Lyon", "name": "Paul"},
    },
    {
        "id": "e-3",
        "intent": "product_info",
        "task_type": "extraction",
        "input": "Is the blue kettle in stock? Name: Ana",
        "reference": {"product": "blue kettle", "name": "Ana"},
    },
    {
        "id": "s-1",
        "intent": "technical_issue",
        "task_type": "structured",
        "input": "The app crashes when I open settings.",
        "reference": {"category": "technical_issue", "priority": "high", "needs_human": True},
    },
    {
        "id": "s-2",
        "intent": "product_info",
        "task_type": "structured",
        "input": "What colours does the kettle come in?",
        "reference": {"category": "product_info", "priority": "low", "needs_human": False},
    },
    {
        "id": "s-3",
        "intent": "shipping",
        "task_type": "structured",
        "input": "My parcel is stuck in customs.",
        "reference": {"category": "shipping", "priority": "medium", "needs_human": True},
    },
    {
        "id": "q-1",
        "intent": "refund",
        "task_type": "qa",
        "input": "How long do refunds take?",
        "reference": "Refunds are issued within 5 business days.",
    },
    {
        "id": "q-2",
        "intent": "shipping",
        "task_type": "qa",
        "input": "Is shipping free?",
        "reference": "Standard shipping is free on orders over $50.",
    },
    {
        "id": "q-3",
        "intent": "account_access",
        "task_type": "qa",
        "input": "How do I reset my password?",
        "reference": "Use the Forgot password link on the sign-in page.",
    },
]
# Enough refund/billing cases that v2's ~40% degradation shows whatever the seed.
DEGRADED_CASES = [
    {
        "id": f"r-{i}",
        "intent": "refund",
        "task_type": "classification",
        "input": f"I want my money back for order R{1000 + i}.",
        "reference": "refund",
    }
    for i in range(16)
] + [
    {
        "id": f"b-{i}",
        "intent": "billing",
        "task_type": "classification",
        "input": f"Why was I charged twice on invoice INV-{2000 + i}?",
        "reference": "billing",
    }
    for i in range(16)
]
SYSTEM = {"classification": ROUTE, "extraction": EXTRACT, "structured": STRUCTURE, "qa": ANSWER}


def _write_golden(root: Path, cases: list[dict]) -> Path:
    suite = root / "support"
    suite.mkdir(parents=True)
    (suite / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    return root


def _messages(case: dict) -> list[dict]:
    return [
        {"role": "system", "content": SYSTEM[case["task_type"]]},
        {"role": "user", "content": case["input"]},
    ]


def _fast(golden: Path, seed: int = 7, **kwargs) -> DemoServerConfig:
    """A config whose answers come back at once (timing tests set their own)."""
    return DemoServerConfig(
        port=0, seed=seed, golden_sets_dir=golden, ttft_ms=0, latency_ms=0, jitter_ms=0, **kwargs
    )


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> Path:
    return _write_golden(tmp_path_factory.mktemp("golden"), BASE_CASES + DEGRADED_CASES)


@pytest.fixture(scope="module")
def server(golden):
    with DemoServer(_fast(golden, hang_s=0.3, retry_after_s=2)) as srv:
        yield srv


@pytest.fixture
def client(server):
    server.reset()
    with httpx.Client(base_url=server.root_url, timeout=10.0) as c:
        yield c


def _chat(client: httpx.Client, model: str, messages: list[dict], **extra) -> httpx.Response:
    return client.post("/v1/chat/completions", json={"model": model, "messages": messages, **extra})


def _content(resp: httpx.Response) -> str:
    return resp.json()["choices"][0]["message"]["content"]


def _stream(client: httpx.Client, payload: dict) -> tuple[httpx.Headers, list[str], float | None, float]:
    """(headers, data payloads, seconds to the first content chunk, seconds to the end) of one stream."""
    t0 = time.monotonic()
    first = None
    data: list[str] = []
    with client.stream("POST", "/v1/chat/completions", json={**payload, "stream": True}) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if not line.startswith("data: "):
                continue
            data.append(line[len("data: ") :])
            if first is None and data[-1] != "[DONE]" and json.loads(data[-1])["choices"]:
                first = time.monotonic() - t0
        return resp.headers, data, first, time.monotonic() - t0


# --------------------------------------------------------------------------------------- tokens


def test_token_counter_by_hand():
    assert count_tokens("Where is my order A10293?") == 6
    assert count_tokens("order_status") == 1
    assert count_tokens('{"a": "x-1"}') == 11  # { " a " : " x - 1 " }
    assert truncate_to_tokens("Refunds are issued within 5 business days.", 3) == ("Refunds are issued", True)
    assert truncate_to_tokens("Two words", 5) == ("Two words", False)
    assert split_pieces(" a  b c ") == (" a", "  b", " c ")
    assert split_pieces("") == ("",)


# --------------------------------------------------------------------------------------- basics


def test_models_list(client):
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [V1, V2]
    assert client.get(f"/v1/models/{V2}").json()["id"] == V2
    assert client.get("/v1/models/gpt-nope").status_code == 404


def test_non_stream_answer_and_usage(client, server):
    case = BASE_CASES[0]
    assert server.expected_answer(V1, case["input"]).correct is True  # seed 7 answers this one right
    resp = _chat(client, V1, _messages(case))
    assert resp.status_code == 200
    body = resp.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == V1
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "order_status", "refusal": None}
    assert body["choices"][0]["finish_reason"] == "stop"
    # prompt: 4 (system) + 6 (user); completion: "order_status" is one word token
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
    assert resp.headers[TTFT_HEADER] == "0.000"
    assert resp.headers[LATENCY_HEADER] == "0.000"


def test_stream_chunks_usage_and_done(client, server):
    case = BASE_CASES[4]
    assert server.expected_answer(V1, case["input"]).correct is True
    expected = '{"email": "jane@example.com", "order_id": "A10293"}'
    assert render_reference(case["reference"]) == expected
    payload = {"model": V1, "messages": _messages(case), "stream_options": {"include_usage": True}}
    headers, data, _, _ = _stream(client, payload)
    assert headers["content-type"].startswith("text/event-stream")
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == V1 for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    pieces = [p for p in content if p is not None]
    assert pieces == ['{"email":', ' "jane@example.com",', ' "order_id":', ' "A10293"}']  # one word per chunk
    assert "".join(pieces) == expected
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    # prompt 6 + 13 (Order A10293 never arrived , reach me at jane @ example . com); completion 21 by hand
    assert chunks[-1]["usage"] == {"prompt_tokens": 19, "completion_tokens": 21, "total_tokens": 40}
    assert all(c["usage"] is None for c in chunks[:-1])

    _, plain, _, _ = _stream(client, {"model": V1, "messages": _messages(case)})
    assert plain[-1] == "[DONE]"
    assert all("usage" not in json.loads(d) for d in plain[:-1])


def test_applied_ttft_header_and_first_chunk_not_earlier(client, server):
    server.configure(ttft_ms=150, latency_ms=300, jitter_ms=0)
    headers, data, first, total = _stream(client, {"model": V2, "messages": _messages(BASE_CASES[10])})
    assert headers[TTFT_HEADER] == "150.000"
    assert headers[LATENCY_HEADER] == "300.000"
    assert data[-1] == "[DONE]"
    assert first is not None and first >= 0.150
    assert total >= 0.300


def test_default_timing_is_jittered_deterministically(client, server):
    server.configure(ttft_ms=None, latency_ms=None, jitter_ms=None)  # each model's own timing
    case = BASE_CASES[0]
    v1 = _chat(client, V1, _messages(case)).headers
    v2 = _chat(client, V2, _messages(case)).headers
    assert 48.0 <= float(v1[TTFT_HEADER]) <= 72.0  # 60 +- 12
    assert 180.0 <= float(v2[TTFT_HEADER]) <= 260.0  # 220 +- 40
    assert float(v1[LATENCY_HEADER]) >= float(v1[TTFT_HEADER])
    again = _chat(client, V1, _messages(case)).headers
    assert again[TTFT_HEADER] == v1[TTFT_HEADER]
    assert again[LATENCY_HEADER] == v1[LATENCY_HEADER]


def test_unknown_model_is_404_with_openai_error(client, server):
    resp = _chat(client, "gpt-unknown", _messages(BASE_CASES[0]))
    assert resp.status_code == 404
    error = resp.json()["error"]
    assert error["code"] == "model_not_found"
    assert error["type"] == "invalid_request_error"
    assert "gpt-unknown" in error["message"]
    assert server.stats()["rejected"] == 1


def test_invalid_requests_are_400(client):
    assert client.post("/v1/chat/completions", content=b"{not json").status_code == 400
    assert _chat(client, V1, []).json()["error"]["param"] == "messages"
    assert _chat(client, V1, _messages(BASE_CASES[0]), max_tokens=0).json()["error"]["param"] == "max_tokens"


def test_unknown_prompt_gets_generic_reply_and_content_parts_are_read(client):
    reply = _content(_chat(client, V1, [{"role": "user", "content": "Tell me a joke about teapots."}]))
    assert reply in GENERIC_REPLIES
    parts = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Do you ship "}, {"type": "text", "text": "to Canada?"}],
        }
    ]
    assert _content(_chat(client, V1, parts)) == _content(_chat(client, V1, _messages(BASE_CASES[1])))


def test_max_tokens_truncates_with_finish_reason_length(client, server):
    case = BASE_CASES[10]
    assert server.expected_answer(V1, case["input"]).correct is True
    body = _chat(client, V1, _messages(case), max_tokens=3).json()
    assert body["choices"][0]["message"]["content"] == "Refunds are issued"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    full = _chat(client, V1, _messages(case), max_completion_tokens=50).json()
    assert full["choices"][0]["finish_reason"] == "stop"
    assert full["usage"]["completion_tokens"] == 8  # Refunds are issued within 5 business days .

    _, data, _, _ = _stream(client, {"model": V1, "messages": _messages(case), "max_tokens": 3})
    chunks = [json.loads(d) for d in data[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Refunds are issued"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


# ---------------------------------------------------------------------------------- model versions


def _answers(client: httpx.Client, model: str, cases: list[dict]) -> dict[str, str]:
    return {c["id"]: _content(_chat(client, model, _messages(c))) for c in cases}


def test_v2_degrades_refund_and_billing_where_v1_is_right(client):
    v1 = _answers(client, V1, DEGRADED_CASES)
    v2 = _answers(client, V2, DEGRADED_CASES)
    reference = {c["id"]: c["reference"] for c in DEGRADED_CASES}
    v1_wrong = [k for k in v1 if v1[k] != reference[k]]
    v2_wrong = [k for k in v2 if v2[k] != reference[k]]
    assert len(v2_wrong) >= 5  # ~40% of 32
    assert len(v2_wrong) > len(v1_wrong)
    differs = [k for k in v2_wrong if v1[k] == reference[k]]
    assert differs, "some case v1 gets right must be answered differently by v2"
    labels = {c["reference"] for c in BASE_CASES + DEGRADED_CASES if c["task_type"] == "classification"}
    assert all(v2[k] in labels - {reference[k]} for k in v2_wrong)  # another real intent label


def test_answers_are_deterministic_per_seed_not_per_order(client, golden):
    expected = _answers(client, V2, DEGRADED_CASES)
    with DemoServer(_fast(golden, seed=7)) as same, httpx.Client(base_url=same.root_url) as other:
        assert _answers(other, V2, list(reversed(DEGRADED_CASES))) == expected
    with DemoServer(_fast(golden, seed=8)) as reseeded, httpx.Client(base_url=reseeded.root_url) as other:
        assert _answers(other, V2, DEGRADED_CASES) != expected


def test_wrong_answers_are_plausible_per_task_type(golden):
    always_wrong = ModelProfile(name="always-wrong", ttft_ms=0, per_token_ms=0, wrong_rate=1.0)
    drops_fields = ModelProfile(name="drops-fields", ttft_ms=0, per_token_ms=0, missing_field_rate=1.0)
    config = _fast(golden, models=(always_wrong, drops_fields))
    qa_refs = {c["reference"] for c in BASE_CASES if c["task_type"] == "qa"}
    labels = {c["reference"] for c in BASE_CASES + DEGRADED_CASES if c["task_type"] == "classification"}
    with DemoServer(config) as srv, httpx.Client(base_url=srv.root_url) as client:
        for case in BASE_CASES:
            answer = _content(_chat(client, "always-wrong", _messages(case)))
            ref = case["reference"]
            if case["task_type"] == "classification":
                assert answer in labels - {ref}
            elif case["task_type"] == "qa":
                assert answer in qa_refs - {ref}
            else:  # one field altered or dropped, the others intact
                got = json.loads(answer)
                changed = [k for k in ref if k not in got or got[k] != ref[k]]
                assert len(changed) == 1, (case["id"], answer)
                assert set(got) <= set(ref)
            kept = _content(_chat(client, "drops-fields", _messages(case)))
            if case["task_type"] == "structured":
                got = json.loads(kept)
                assert len(got) == len(ref) - 1 and all(got[k] == ref[k] for k in got)
            else:
                assert kept == render_reference(ref)


# ------------------------------------------------------------------------------------------- faults


def test_fault_queue_429_500_cut_then_normal(client, server):
    server.queue_faults("429", "500", "cut", "cut", "ok")
    msgs = _messages(BASE_CASES[10])
    limited = _chat(client, V1, msgs)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.headers["retry-after-ms"] == "2000"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    failed = _chat(client, V1, msgs)
    assert failed.status_code == 500
    assert failed.json()["error"]["type"] == "server_error"

    data: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):  # the body ends before its last chunk
        with client.stream(
            "POST", "/v1/chat/completions", json={"model": V1, "messages": msgs, "stream": True}
        ) as r:
            data.extend(line for line in r.iter_lines() if line.startswith("data: "))
    assert data, "the cut comes midway, after the first chunk"
    assert "data: [DONE]" not in data
    with pytest.raises(httpx.RemoteProtocolError):  # non-stream: the connection closes without an answer
        _chat(client, V1, msgs)

    assert _chat(client, V1, msgs).status_code == 200  # "ok" entry
    assert _chat(client, V1, msgs).status_code == 200  # queue empty
    stats = server.stats()
    assert stats["faults"] == {"429": 1, "500": 1, "hang": 0, "cut": 2}
    assert stats["requests"] == 6
    assert stats["completed"] == 2


def test_hang_stalls_for_hang_s_then_answers(client, server):
    server.queue_faults("hang")
    t0 = time.monotonic()
    resp = _chat(client, V1, _messages(BASE_CASES[0]))
    assert time.monotonic() - t0 >= 0.3
    assert resp.status_code == 200
    assert float(resp.headers[TTFT_HEADER]) == 300.0


def test_fault_rates_are_seeded_by_request_number(client, server):
    msgs = _messages(BASE_CASES[0])
    server.admin("faults", {"rates": {"500": 1.0}})
    assert [_chat(client, V1, msgs).status_code for _ in range(3)] == [500, 500, 500]

    def statuses() -> list[int]:
        server.reset()
        server.admin("faults", {"rates": {"429": 0.5}})
        return [_chat(client, V1, msgs).status_code for _ in range(24)]

    first = statuses()
    assert set(first) == {200, 429}
    assert statuses() == first
    assert server.stats()["faults"]["429"] == first.count(429)


def test_admin_rejects_bad_input_and_changes_nothing(client, server):
    bad = [
        ("faults", {"queue": ["boom"]}),
        ("faults", {"rates": {"429": 0.8, "500": 0.5}}),
        ("faults", {"queue": ["429"], "rates": {"teapot": 0.1}}),
        ("config", {"ttft_ms": -1}),
        ("config", {"warp": 1}),
    ]
    for path, payload in bad:
        assert client.post(f"/admin/{path}", json=payload).status_code == 400, payload
    assert client.get("/admin/faults").json() == {"queue": [], "rates": {}}
    assert client.post("/admin/config", json={"ttft_ms": 5}).json()["ttft_ms"] == 5.0
    assert client.post("/admin/config", content=b"null").json()["ttft_ms"] is None


def test_stats_count_requests_by_model(client, server):
    for model in (V1, V1, V2):
        _chat(client, model, _messages(BASE_CASES[1]))
    _stream(client, {"model": V2, "messages": _messages(BASE_CASES[1])})
    stats = server.stats()
    assert stats["requests"] == 4
    assert stats["completed"] == 4
    assert stats["by_model"] == {V1: 2, V2: 2}
    assert stats["in_flight"] == 0
    assert stats["ttft_lateness_ms"]["count"] == 1
    server.reset()
    assert server.stats()["requests"] == 0


# --------------------------------------------------------------------------------------- golden sets


def test_bad_golden_line_names_file_line_and_field(tmp_path):
    root = _write_golden(tmp_path, BASE_CASES[:2])
    path = root / "support" / "cases.jsonl"
    path.write_text(path.read_text() + json.dumps({"id": "x-9", "task_type": "qa", "reference": "y"}) + "\n")
    with pytest.raises(GoldenSetError, match=r"cases\.jsonl:3 \(id x-9\): field 'input'"):
        create_app(_fast(root))
