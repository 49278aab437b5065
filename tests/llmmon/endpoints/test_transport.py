"""The HTTP client under the SDK stamps both the hand-over and the socket write of each request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from llmmon.demo.server import DemoServer, DemoServerConfig
from llmmon.endpoints.transport import CURRENT_CLOCK, WireClock, body_chunks, make_http_client


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(DemoServerConfig(port=0, ttft_ms=1, latency_ms=5, jitter_ms=0)) as srv:
        yield srv


def test_wire_clock_is_stamped_by_the_aiohttp_transport(server: DemoServer) -> None:
    """If an SDK upgrade moves its aiohttp transport, the fallback loses the wire stamp: this test says so."""

    async def main() -> tuple[WireClock, WireClock, bytes]:
        http = make_http_client(concurrency=2, timeout_s=5)
        try:
            clock, other = WireClock(), WireClock()
            token = CURRENT_CLOCK.set(clock)
            try:
                body = {"model": "llmmon-demo-v1", "stream": True,
                        "messages": [{"role": "user", "content": "hello"}]}
                resp = await http.send(http.build_request("POST", server.base_url + "/chat/completions", json=body),
                                       stream=True)
                data = b"".join([chunk async for chunk in body_chunks(resp)])
                await resp.aclose()
            finally:
                CURRENT_CLOCK.reset(token)
            return clock, other, data
        finally:
            await http.aclose()

    clock, other, data = asyncio.run(main())
    assert clock.handed is not None and clock.wire is not None
    assert clock.wire >= clock.handed
    assert clock.sent == clock.wire
    assert other.sent is None  # a clock not in context is never touched
    assert data.rstrip().endswith(b"data: [DONE]")
