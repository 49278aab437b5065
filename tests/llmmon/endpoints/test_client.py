"""The endpoint client against the real demo server over HTTP: results, retries, failures, bounds, secrets."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
from collections.abc import Iterator

import pytest
from aiohttp import web

from llmmon.config import EndpointConfig, Price
from llmmon.demo.server import DemoServer, DemoServerConfig
from llmmon.endpoints import EndpointClient, probe_endpoint, run_requests
from llmmon.errors import EndpointError
from llmmon.prices import PriceTable
from llmmon.records import CallResult, ChatRequest

MODEL = "llmmon-demo-v1"
PROMPT = "Can you tell me what you can help with?"
SECRET = "sk-test-5ecret-key-0123456789"
# Round prices so expected costs are easy to check by hand: $2 / $10 per million tokens.
PRICES = PriceTable([
    Price(model=MODEL, input_per_mtok=2.0, output_per_mtok=10.0, effective_from=dt.date(2020, 1, 1)),
    Price(model=MODEL, input_per_mtok=99.0, output_per_mtok=99.0, effective_from=dt.date(2999, 1, 1)),
])


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    config = DemoServerConfig(port=0, ttft_ms=5, latency_ms=20, jitter_ms=0, retry_after_s=1, hang_s=0.8,
                              shutdown_timeout_s=0.2)
    with DemoServer(config) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: DemoServer) -> None:
    server.reset()


def endpoint(server: DemoServer, **overrides: object) -> EndpointConfig:
    fields = {"name": "demo", "base_url": server.base_url, "model": MODEL, "backoff_base_s": 0.01,
              "timeout_s": 5.0, "max_retries": 3}
    return EndpointConfig(**{**fields, **overrides})


def req(key: str = "r1", **kw: object) -> ChatRequest:
    return ChatRequest(key=key, messages=[{"role": "user", "content": PROMPT}], **kw)


def one(ep: EndpointConfig, request: ChatRequest | None = None, **kw: object) -> CallResult:
    return run_requests(ep, [request or req()], **kw).results[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- successful calls -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_result_fields_and_cost(server: DemoServer, stream: bool) -> None:
    expected = server.expected_answer(MODEL, PROMPT)
    r = one(endpoint(server, stream=stream), prices=PRICES)
    assert r.ok and r.error is None
    assert r.attempts == 1
    assert r.output == expected.text
    assert r.finish_reason == "stop"
    assert (r.request_model, r.response_model) == (MODEL, MODEL)
    assert r.output_tokens == expected.completion_tokens
    assert r.input_tokens is not None and r.input_tokens > 0
    # $2 per million input tokens, $10 per million output tokens (the 2020 entry; 2999's is not in force).
    assert r.cost_usd == pytest.approx(r.input_tokens * 2e-6 + r.output_tokens * 10e-6)
    assert r.latency_s is not None and r.latency_s >= 0.020
    assert r.server_ttft_s == pytest.approx(0.005)
    assert (r.ttft_s is not None) is stream
    assert r.started_at == pytest.approx(time.time(), abs=60)


def test_stream_and_non_stream_agree(server: DemoServer) -> None:
    a = one(endpoint(server, stream=True))
    b = one(endpoint(server, stream=False))
    assert (a.output, a.input_tokens, a.output_tokens, a.finish_reason) == (
        b.output, b.input_tokens, b.output_tokens, b.finish_reason)


def test_max_tokens_from_the_request_wins_and_finish_reason_is_length(server: DemoServer) -> None:
    r = one(endpoint(server, max_tokens=512), req(max_tokens=3))
    assert r.finish_reason == "length"
    assert r.output_tokens == 3


def test_no_price_means_no_cost(server: DemoServer) -> None:
    assert one(endpoint(server)).cost_usd is None
    other = PriceTable([Price(model="someone-else", input_per_mtok=1, output_per_mtok=1,
                              effective_from=dt.date(2020, 1, 1))])
    assert one(endpoint(server), prices=other).cost_usd is None


def test_measured_ttft_is_at_least_what_the_server_applied(server: DemoServer) -> None:
    server.configure(ttft_ms=80, latency_ms=120, jitter_ms=0)
    r = one(endpoint(server))
    assert r.server_ttft_s == pytest.approx(0.080)
    assert r.ttft_s >= r.server_ttft_s
    assert r.latency_s >= 0.120
    assert r.latency_s >= r.ttft_s


# -- retries ---------------------------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(server: DemoServer) -> None:
    server.queue_faults("429")
    t0 = time.perf_counter()
    r = one(endpoint(server, backoff_max_s=20))
    elapsed = time.perf_counter() - t0
    assert r.ok and r.attempts == 2
    assert r.extra["retried_after"] == ["rate_limited"]
    assert elapsed >= 1.0  # the server said Retry-After: 1


def test_retry_after_is_capped_at_backoff_max(server: DemoServer) -> None:
    server.admin("config", {"retry_after_s": 30})
    server.queue_faults("429")
    t0 = time.perf_counter()
    r = one(endpoint(server, backoff_max_s=0.05))
    assert r.ok and r.attempts == 2
    assert time.perf_counter() - t0 < 30  # did not wait the 30 s asked for


@pytest.mark.parametrize(
    ("fault", "stream", "retried_as"),
    [
        ("500", True, "server_error"),
        ("cut", True, "broken_stream"),
        ("cut", False, "connection"),
    ],
)
def test_transient_fault_then_success(server: DemoServer, fault: str, stream: bool, retried_as: str) -> None:
    server.queue_faults(fault)
    r = one(endpoint(server, stream=stream))
    assert r.ok and r.attempts == 2
    assert r.extra["retried_after"] == [retried_as]
    assert server.stats()["requests"] == 2


def test_hang_becomes_a_timeout(server: DemoServer) -> None:
    server.queue_faults("hang")
    r = one(endpoint(server, timeout_s=0.3, max_retries=0))
    assert r.error_type == "timeout"
    assert r.attempts == 1
    assert r.extra["failed_after_s"] >= 0.3
    # Let the server finish the stalled request (hang_s=0.8) so it is not cut off at shutdown.
    deadline = time.monotonic() + 5
    while server.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)


def test_exhausted_retries_are_recorded_not_raised(server: DemoServer) -> None:
    server.queue_faults("500", "500", "500")
    r = one(endpoint(server, max_retries=2))
    assert r.error_type == "server_error"
    assert r.attempts == 3
    assert "500" in r.error
    assert r.extra["http_status"] == 500
    assert r.extra["retried_after"] == ["server_error", "server_error"]
    assert (r.output, r.ttft_s, r.latency_s, r.cost_usd) == (None, None, None, None)


def test_400_is_not_retried(server: DemoServer) -> None:
    r = one(endpoint(server), req(max_tokens=0))  # the server rejects max_tokens < 1
    assert (r.error_type, r.attempts) == ("bad_request", 1)
    assert "max_tokens" in r.error
    assert server.stats()["requests"] == 1


def test_404_is_not_retried(server: DemoServer) -> None:
    r = one(endpoint(server, model="no-such-model"))
    assert (r.error_type, r.attempts) == ("not_found", 1)
    assert "no-such-model" in r.error
    assert server.stats()["requests"] == 1


# -- unreachable endpoints ---------------------------------------------------------------------------------


def test_unreachable_endpoint() -> None:
    port = closed_port()
    ep = EndpointConfig(name="gone", base_url=f"http://127.0.0.1:{port}/v1", model=MODEL, backoff_base_s=0.01,
                        max_retries=1)
    with pytest.raises(EndpointError) as info:
        probe_endpoint(ep, timeout_s=2)
    message = str(info.value)
    assert "'gone'" in message
    assert f"http://127.0.0.1:{port}/v1" in message
    assert "connection refused" in message
    r = one(ep)
    assert (r.error_type, r.attempts) == ("connection", 2)


def test_probe_lists_models(server: DemoServer) -> None:
    assert probe_endpoint(endpoint(server)) == ["llmmon-demo-v1", "llmmon-demo-v2"]


def test_probe_names_the_http_status(server: DemoServer) -> None:
    ep = endpoint(server, base_url=server.root_url + "/not-an-api")
    with pytest.raises(EndpointError, match=r"not-an-api.*HTTP 404"):
        probe_endpoint(ep)


# -- batches -----------------------------------------------------------------------------------------------


def test_concurrency_bound_is_respected(server: DemoServer) -> None:
    seen: list[str] = []
    reqs = [req(f"k{i:02d}") for i in range(24)]
    out = run_requests(endpoint(server, max_concurrency=16), reqs, concurrency=4, on_result=lambda r: seen.append(r.key))
    assert server.stats()["max_in_flight"] == 4
    assert [r.key for r in out.results] == [r.key for r in reqs]  # request order
    assert sorted(seen) == sorted(r.key for r in reqs)  # every result reported once
    assert all(r.ok for r in out.results)
    assert out.stats.requests == 24 and out.stats.concurrency == 4
    assert out.stats.cpu_ms_per_request > 0
    assert out.stats.loop_lag_max_ms >= out.stats.loop_lag_p95_ms >= out.stats.loop_lag_p50_ms >= 0


def test_endpoint_concurrency_is_the_default(server: DemoServer) -> None:
    run_requests(endpoint(server, max_concurrency=2), [req(f"k{i}") for i in range(10)])
    assert server.stats()["max_in_flight"] == 2


def test_failures_in_a_batch_do_not_sink_it(server: DemoServer) -> None:
    server.queue_faults("500", "500")
    out = run_requests(endpoint(server, max_retries=0), [req(f"k{i}") for i in range(5)], concurrency=1)
    assert [r.error_type for r in out.results] == ["server_error", "server_error", None, None, None]
    assert len(out.errors) == 2


def test_a_blocked_loop_marks_the_call_timing_suspect(server: DemoServer) -> None:
    server.configure(ttft_ms=100, latency_ms=150, jitter_ms=0)

    async def main() -> CallResult:
        async with EndpointClient(endpoint(server), api_key=None) as client:
            async def hog() -> None:
                await asyncio.sleep(0.05)
                time.sleep(0.3)  # the loop is blocked when the first token (~100 ms) and the end (~150 ms) arrive

            result, _ = await asyncio.gather(client.complete(req()), hog())
            return result

    r = asyncio.run(main())
    assert r.ok
    assert r.timing_suspect
    assert r.loop_lag_max_ms > 10.0


def test_a_slow_result_consumer_saturates_the_client(server: DemoServer) -> None:
    # A caller that scores each result on the event loop (here: 30 ms of blocking per result) delays every
    # other call's timestamps; the batch must say so rather than report it as endpoint latency.
    out = run_requests(endpoint(server), [req(f"k{i}") for i in range(20)], concurrency=10,
                       on_result=lambda r: time.sleep(0.03))
    assert all(r.ok for r in out.results)
    assert out.stats.saturated
    assert out.stats.loop_lag_max_ms >= 25.0
    assert out.stats.timing_suspect_share > 0.1


# -- secrets -------------------------------------------------------------------------------------------------


def test_api_key_never_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    """A proxy that echoes the Authorization header back in its 401 body (an outside boundary we stand up)."""

    async def echo(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        return web.json_response({"error": {"message": f"bad credentials: {auth}"}}, status=401)

    async def main() -> tuple[str, CallResult, CallResult]:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            ep = EndpointConfig(name="echo", base_url=f"http://127.0.0.1:{port}/v1", model=MODEL)
            async with EndpointClient(ep, api_key=SECRET) as client:
                auth = await client.complete(req())
            gone = EndpointConfig(name="gone", base_url=f"http://127.0.0.1:{closed_port()}/v1", model=MODEL,
                                  max_retries=1, backoff_base_s=0.01)
            async with EndpointClient(gone, api_key=SECRET) as client:
                refused = await client.complete(req())
            return f"http://127.0.0.1:{port}", auth, refused
        finally:
            await runner.cleanup()

    with caplog.at_level(logging.DEBUG):
        _, auth, refused = asyncio.run(main())
    assert (auth.error_type, auth.attempts) == ("auth", 1)
    assert "bad credentials" in auth.error
    assert refused.error_type == "connection"
    for r in (auth, refused):
        assert SECRET not in repr(r.to_dict())
    assert SECRET not in caplog.text


# -- other OpenAI-compatible servers (stood up here: their quirks are the outside boundary) --------------------

SSE_BODY = (
    'data: {"model":"other-1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
    'data: {"model":"other-1","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    'data: {"model":"other-1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
    'data: {"model":"other-1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n'
    "data: [DONE]\n\n"
)
JSON_BODY = {
    "model": "other-1",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


def call_quirky_server(kind: str) -> CallResult:
    async def gzip_sse(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        resp.enable_compression(force=web.ContentCoding.gzip)
        await resp.prepare(request)
        await resp.write(SSE_BODY.encode())
        await resp.write_eof()
        return resp

    async def ignores_stream(request: web.Request) -> web.Response:
        return web.json_response(JSON_BODY)

    async def main() -> CallResult:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", gzip_sse if kind == "gzip" else ignores_stream)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            ep = EndpointConfig(name="other", base_url=f"http://127.0.0.1:{runner.addresses[0][1]}/v1",
                                model="other-1", max_retries=0)
            async with EndpointClient(ep, api_key=None) as client:
                return await client.complete(req())
        finally:
            await runner.cleanup()

    return asyncio.run(main())


def test_gzip_encoded_stream_is_decoded() -> None:
    r = call_quirky_server("gzip")
    assert (r.error_type, r.output, r.finish_reason, r.input_tokens, r.output_tokens) == (
        None, "Hello", "stop", 3, 2)
    assert r.ttft_s is not None


def test_server_that_ignores_stream_still_gives_a_result() -> None:
    r = call_quirky_server("json")
    assert (r.error_type, r.output, r.finish_reason, r.input_tokens, r.output_tokens) == (
        None, "Hello", "stop", 3, 2)
    assert r.ttft_s is None  # no stream, no first token to time
