"""The endpoint client: calls an OpenAI-compatible chat endpoint and measures each call truthfully.

Built on the official openai SDK (``AsyncOpenAI``): the SDK builds, authenticates and sends each request and maps
HTTP errors, over its aiohttp transport. The streamed body is read as raw bytes and parsed here (one
``json.loads`` per chunk, no pydantic model per chunk) — the SDK's own chunk parsing costs enough CPU at
32-64 concurrent streams on two cores to saturate the event loop and inflate the TTFT being measured
(docs/endpoints.md has the figures).

Per call: time to first token (from the moment the request is written to the socket to the first content
delta), latency (to the end of the stream), tokens from ``usage``, finish reason, response model, cost from the
price table, attempts, an OpenTelemetry span, and the event-loop lag at the moments those timestamps were taken
(``timing_suspect`` when it exceeds the tolerance: the client, not the model, may have delayed them).

Retries are our own (SDK ``max_retries=0``) so attempts are counted and broken streams are retried. A per-call
failure never raises: it comes back as a CallResult with ``error_type`` and a short, secret-free ``error``; the
caller's error budget decides what to do with it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI
from opentelemetry import trace

from llmmon.config import EndpointConfig
from llmmon.endpoints.gcfreeze import frozen_heap
from llmmon.endpoints.looplag import LoopLagMonitor
from llmmon.endpoints.retry import Failure, backoff_delay, classify, redact
from llmmon.endpoints.sse import SSEDecoder
from llmmon.endpoints.stream import ChatAccumulator, StreamProtocolError, parse_completion, usage_tokens
from llmmon.endpoints.telemetry import end_chat_span, server_address, start_chat_span
from llmmon.endpoints.transport import CURRENT_CLOCK, WireClock, body_chunks, make_http_client
from llmmon.prices import PriceTable
from llmmon.records import CallResult, ChatRequest

log = logging.getLogger(__name__)

PLACEHOLDER_API_KEY = "llmmon-no-key"  # the SDK insists on a key; keyless servers (demo, vLLM, Ollama) ignore it
SERVER_TTFT_HEADER = "x-llmmon-applied-ttft-ms"
# Bearer auth only, as chat.completions.create sends it (the SDK default would add an admin key if one is set).
_POST_OPTIONS: dict[str, Any] = {"security": {"bearer_auth": True}}
# Past this share of timing-suspect calls, leaving them out of a percentile would bias it: the batch is saturated.
SATURATED_SUSPECT_SHARE = 0.10


@dataclass
class ClientStats:
    """How the client itself fared during a batch: if ``saturated``, its timings overstate the endpoint's.

    ``saturated``: the event loop ran more than the lag tolerance late on over 5% of its wake-ups (loop-lag
    p95 above the tolerance), or over 10% of the calls are ``timing_suspect``. Below that, leave the suspect
    calls out of latency percentiles; above it, treat the batch's timings as the client's, not the endpoint's.
    """

    wall_s: float
    cpu_s: float
    cpu_ms_per_request: float
    loop_lag_p50_ms: float
    loop_lag_p95_ms: float
    loop_lag_max_ms: float
    saturated: bool
    timing_suspect_share: float
    requests: int = 0
    concurrency: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BatchOutcome:
    """The results of a batch, in request order, and the client's own statistics for it."""

    results: list[CallResult]
    stats: ClientStats

    @property
    def errors(self) -> list[CallResult]:
        return [r for r in self.results if not r.ok]


@dataclass
class _Attempt:
    """Clock readings and phase of one attempt."""

    started: float  # perf_counter when the attempt began (before the SDK builds the request)
    clock: WireClock = field(default_factory=WireClock)  # when the request was handed over / hit the wire
    in_body: bool = False  # response headers arrived; failures from here on hit the body
    first_token_lag_ms: float | None = None  # loop lag when the first token was timestamped
    end_lag_ms: float = 0.0  # loop lag when the end was timestamped


@dataclass
class _Reply:
    output: str | None
    finish_reason: str | None
    model: str | None
    usage: dict[str, Any] | None
    first_token_at: float | None
    ended: float
    server_ttft_s: float | None = None


class EndpointClient:
    """Calls one endpoint with bounded concurrency, retries and truthful timings. Use one per batch (or
    longer) inside one event loop, and close it: ``async with EndpointClient(...) as client: ...``."""

    def __init__(
        self,
        endpoint: EndpointConfig,
        *,
        api_key: str | None,
        prices: PriceTable | None = None,
        concurrency: int | None = None,
        lag_tolerance_ms: float = 10.0,
        lag_interval_s: float = 0.005,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.endpoint = endpoint
        self.prices = prices
        self.concurrency = concurrency or endpoint.max_concurrency
        self.lag_tolerance_ms = lag_tolerance_ms
        self.lag = LoopLagMonitor(lag_interval_s)
        self._api_key = api_key or PLACEHOLDER_API_KEY
        self._secrets = (api_key,) if api_key else ()
        self._sem = asyncio.Semaphore(self.concurrency)
        self._rng = rng or random.Random()
        self._host, self._port = server_address(endpoint.base_url)
        self._openai: AsyncOpenAI | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    async def __aenter__(self) -> EndpointClient:
        self._client()  # build it now (its TLS context takes ~20-40 ms of CPU), not under the first call's clock
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections and stop the loop-lag monitor."""
        await self.lag.aclose()
        if self._openai is not None:
            client, self._openai = self._openai, None
            await client.close()

    def _client(self) -> AsyncOpenAI:
        if self._openai is None:
            self._openai = AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.endpoint.base_url,
                max_retries=0,  # our own loop counts attempts and also retries broken streams
                # No per-read timeout: aiohttp would re-arm a timer for every chunk; each attempt runs under
                # one asyncio.timeout(timeout_s) instead, which also bounds a stream that trickles forever.
                timeout=httpx2.Timeout(self.endpoint.timeout_s, read=None),
                http_client=make_http_client(concurrency=self.concurrency, timeout_s=self.endpoint.timeout_s),
            )
        return self._openai

    # -- calls ---------------------------------------------------------------------------------------
    async def complete(self, req: ChatRequest) -> CallResult:
        """Send one chat request (waiting for a concurrency slot); never raises for a per-call failure."""
        async with self._sem:
            return await self._call(req)

    async def complete_many(
        self, reqs: Iterable[ChatRequest], on_result: Callable[[CallResult], None] | None = None
    ) -> BatchOutcome:
        """Send many requests, ``concurrency`` at a time; results come back in request order.

        ``on_result`` is called (on the event loop) as each call finishes, in completion order.
        """
        reqs = list(reqs)
        results: list[CallResult | None] = [None] * len(reqs)
        pending = iter(enumerate(reqs))

        async def worker() -> None:
            # Workers share one iterator: next() never awaits, so each request is taken exactly once.
            for i, req in pending:
                res = await self.complete(req)
                results[i] = res
                if on_result is not None:
                    on_result(res)

        self._client()  # one-off set-up stays out of the batch's figures and off the loop while calls are timed
        self.lag.acquire()
        mark = self.lag.mark()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        try:
            with frozen_heap():  # no 50 ms full-GC pauses under the calls' clocks
                async with asyncio.TaskGroup() as tg:
                    for _ in range(min(self.concurrency, len(reqs))):
                        tg.create_task(worker())
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            p50, p95, worst = self.lag.summary(mark)
        finally:
            self.lag.release()
        done = [r for r in results if r is not None]
        n = len(done)
        suspect_share = sum(r.timing_suspect for r in done) / n if n else 0.0
        stats = ClientStats(
            wall_s=wall,
            cpu_s=cpu,
            cpu_ms_per_request=cpu * 1000.0 / n if n else 0.0,
            loop_lag_p50_ms=p50,
            loop_lag_p95_ms=p95,
            loop_lag_max_ms=worst,
            saturated=p95 > self.lag_tolerance_ms or suspect_share > SATURATED_SUSPECT_SHARE,
            timing_suspect_share=suspect_share,
            requests=n,
            concurrency=self.concurrency,
        )
        return BatchOutcome(results=done, stats=stats)

    async def _call(self, req: ChatRequest) -> CallResult:
        ep = self.endpoint
        max_tokens = req.max_tokens if req.max_tokens is not None else ep.max_tokens
        temperature = req.temperature if req.temperature is not None else ep.temperature
        body: dict[str, Any] = {
            "model": ep.model,
            "messages": req.messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": ep.stream,
        }
        if ep.stream:
            body["stream_options"] = {"include_usage": True}
        if req.response_format is not None:
            body["response_format"] = req.response_format
        span = start_chat_span(
            model=ep.model, max_tokens=max_tokens, temperature=temperature, host=self._host, port=self._port,
            endpoint_name=ep.name, request_key=req.key,
        )
        self.lag.acquire()
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                result = await self._call_with_retries(req, body)
        except BaseException as exc:  # cancellation or a bug: still close the span
            span.set_attribute("error.type", type(exc).__name__)
            span.end()
            raise
        finally:
            self.lag.release()
        end_chat_span(span, result)
        return result

    async def _call_with_retries(self, req: ChatRequest, body: dict[str, Any]) -> CallResult:
        ep = self.endpoint
        failures: list[Failure] = []
        attempts = 0
        while True:
            attempts += 1
            att = _Attempt(started=time.perf_counter())
            started_at = time.time()
            token = CURRENT_CLOCK.set(att.clock)
            try:
                reply = await self._attempt(body, att)
            except Exception as exc:
                failure = classify(exc, in_body=att.in_body)
                if failure is None:
                    raise
                failures.append(failure)
                if failure.retryable and attempts <= ep.max_retries:
                    delay = backoff_delay(attempts, ep.backoff_base_s, ep.backoff_max_s, failure.retry_after_s,
                                          self._rng)
                    log.debug("endpoint %s: %s on attempt %d of %s; retrying in %.3fs", ep.name,
                              failure.error_type, attempts, req.key, delay)
                    await asyncio.sleep(delay)
                    continue
                lag = self.lag.lag_now_ms()
                return CallResult(
                    key=req.key,
                    request_model=ep.model,
                    started_at=started_at,
                    attempts=attempts,
                    error_type=failure.error_type,
                    error=redact(failure.message, self._secrets),
                    loop_lag_max_ms=lag,
                    timing_suspect=lag > self.lag_tolerance_ms,
                    extra=_failure_extra(failures, time.perf_counter() - att.started),
                )
            finally:
                CURRENT_CLOCK.reset(token)
            return self._success(req, reply, att, started_at, attempts, failures)

    async def _attempt(self, body: dict[str, Any], att: _Attempt) -> _Reply:
        client = self._client()
        async with asyncio.timeout(self.endpoint.timeout_s):
            # The SDK builds, authenticates and sends the request and maps HTTP errors to its exceptions; the
            # body comes back unread. (``client.post`` rather than ``chat.completions.create``: the typed
            # method's parameter transform alone cost ~0.4 ms of CPU per call, and the body is built here.)
            resp = await client.post(
                "/chat/completions", body=body, cast_to=httpx2.Response, stream=True, options=_POST_OPTIONS
            )
            try:
                att.in_body = True
                server_ttft = _header_seconds(resp.headers.get(SERVER_TTFT_HEADER))
                if not body["stream"] or resp.headers.get("content-type", "").startswith("application/json"):
                    # Not streamed, or a server that ignored "stream": one JSON body (no TTFT to measure).
                    raw = await resp.aread()
                    ended = time.perf_counter()
                    att.end_lag_ms = self.lag.lag_now_ms()
                    output, reason, model, usage = parse_completion(raw)
                    return _Reply(output, reason, model, usage, None, ended, server_ttft)
                decoder, acc, lag = SSEDecoder(), ChatAccumulator(), self.lag
                async for chunk in body_chunks(resp):
                    for event, data in decoder.feed(chunk):
                        if not acc.done:  # after [DONE] read on to the end so the connection is reused
                            acc.add_event(event, data)
                    if att.first_token_lag_ms is None and acc.first_token_at is not None:
                        att.first_token_lag_ms = lag.lag_now_ms()
                for event, data in decoder.flush():
                    if not acc.done:
                        acc.add_event(event, data)
                ended = time.perf_counter()
                att.end_lag_ms = lag.lag_now_ms()
                if not acc.complete:
                    raise StreamProtocolError("stream ended without a finish reason or [DONE]")
                return _Reply(acc.output, acc.finish_reason, acc.model, acc.usage, acc.first_token_at, ended,
                              server_ttft)
            finally:
                await resp.aclose()

    def _success(
        self, req: ChatRequest, reply: _Reply, att: _Attempt, started_at: float, attempts: int,
        failures: list[Failure],
    ) -> CallResult:
        sent = att.clock.sent or att.started
        input_tokens, output_tokens = usage_tokens(reply.usage)
        model = self.endpoint.model
        cost = None
        if self.prices is not None:
            day = dt.datetime.fromtimestamp(started_at, dt.UTC).date()
            if reply.model:
                cost = self.prices.cost(reply.model, input_tokens, output_tokens, day)
            if cost is None:
                cost = self.prices.cost(model, input_tokens, output_tokens, day)
        lag = max(att.first_token_lag_ms or 0.0, att.end_lag_ms)
        return CallResult(
            key=req.key,
            output=reply.output,
            finish_reason=reply.finish_reason,
            request_model=model,
            response_model=reply.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            ttft_s=(reply.first_token_at - sent) if reply.first_token_at is not None else None,
            latency_s=reply.ended - sent,
            started_at=started_at,
            attempts=attempts,
            server_ttft_s=reply.server_ttft_s,
            loop_lag_max_ms=lag,
            timing_suspect=lag > self.lag_tolerance_ms,
            extra={"retried_after": [f.error_type for f in failures]} if failures else {},
        )


def _failure_extra(failures: list[Failure], failed_after_s: float) -> dict[str, Any]:
    extra: dict[str, Any] = {"failed_after_s": round(failed_after_s, 6)}
    if failures[-1].status is not None:
        extra["http_status"] = failures[-1].status
    if len(failures) > 1:
        extra["retried_after"] = [f.error_type for f in failures[:-1]]
    return extra


def _header_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value) / 1000.0
    except ValueError:
        return None


def run_requests(
    endpoint: EndpointConfig,
    requests: Iterable[ChatRequest],
    *,
    api_key: str | None = None,
    prices: PriceTable | None = None,
    concurrency: int | None = None,
    on_result: Callable[[CallResult], None] | None = None,
) -> BatchOutcome:
    """Run a batch from synchronous code (a task body, the CLI): one client, one event loop, then closed."""

    async def main() -> BatchOutcome:
        async with EndpointClient(endpoint, api_key=api_key, prices=prices, concurrency=concurrency) as client:
            return await client.complete_many(requests, on_result=on_result)

    return asyncio.run(main())


def probe_endpoint(endpoint: EndpointConfig, api_key: str | None = None, timeout_s: float = 5.0) -> list[str]:
    """The model ids the endpoint lists (``GET /models``); raise EndpointError naming endpoint, URL and reason."""
    from llmmon.errors import EndpointError

    url = endpoint.base_url.rstrip("/") + "/models"
    shown = _public_url(url)
    secrets = (api_key,) if api_key else ()
    try:
        with openai.OpenAI(
            api_key=api_key or PLACEHOLDER_API_KEY, base_url=endpoint.base_url, max_retries=0, timeout=timeout_s
        ) as client:
            page = client.models.list()
            return [m.id for m in page.data]
    except openai.APIStatusError as exc:
        failure = classify(exc)
        reason = failure.message if failure else f"HTTP {exc.status_code}"
    except (openai.APIConnectionError, httpx2.HTTPError, OSError) as exc:
        reason = _connection_reason(exc, timeout_s)
    except (ValueError, TypeError, openai.OpenAIError) as exc:  # not an OpenAI-style /models response
        reason = f"unexpected response: {type(exc).__name__}: {exc}"[:200]
    raise EndpointError(f"endpoint {endpoint.name!r} at {shown} is unreachable: {redact(reason, secrets)}")


def _connection_reason(exc: BaseException, timeout_s: float) -> str:
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in " ".join(map(str, chain)).lower():
        return "connection refused"
    if isinstance(exc, openai.APITimeoutError) or any(isinstance(e, TimeoutError | httpx2.TimeoutException)
                                                      for e in chain):
        return f"timed out after {timeout_s:g}s"
    inner = chain[-1]
    return f"connection failed: {type(inner).__name__}: {inner}"[:200]


def _public_url(url: str) -> str:
    # Never show credentials embedded in a URL (http://user:token@host/...).
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url
