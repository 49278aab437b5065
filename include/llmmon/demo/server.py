"""The demo model server: an OpenAI-compatible chat completions endpoint that plays model versions.

It serves ``llmmon-demo-v1`` (good) and ``llmmon-demo-v2`` (degraded on refund and billing, and on some
structured outputs), answers golden-set prompts with their reference (or a plausible wrong answer, decided
per seed, model and input), streams with a controlled time to first token, and injects faults on demand.
Everything is decided up front or by a stable hash, so two servers with the same seed answer alike.

Routes: ``GET /v1/models``, ``POST /v1/chat/completions`` (stream or not), ``GET /healthz`` and the admin API
``/admin/config``, ``/admin/faults``, ``/admin/stats``, ``/admin/reset``.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmmon.demo import embeddings_api, judge_persona, retriever_api
from llmmon.demo.answers import AnswerPlanner, GoldenCase, PlannedAnswer, load_golden_cases
from llmmon.demo.faults import FAULT_KINDS, FaultPlan
from llmmon.demo.hashing import stable_unit
from llmmon.demo.profiles import DEFAULT_MODELS, ModelProfile
from llmmon.demo.tokens import count_tokens_cached, split_pieces, truncate_to_tokens
from llmmon.errors import ConfigError, EndpointError

TTFT_HEADER = "x-llmmon-applied-ttft-ms"
LATENCY_HEADER = "x-llmmon-applied-latency-ms"
TIMING_KEYS = ("ttft_ms", "latency_ms", "jitter_ms")
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

OptionalMillis = Annotated[float | None, Field(ge=0.0)]


class DemoServerConfig(BaseModel):
    """How to run the demo server.

    ``golden_sets_dir``: where ``*/cases.jsonl`` are read (None: ``./golden_sets`` when it exists, else no
    golden answers). ``ttft_ms`` / ``latency_ms`` / ``jitter_ms`` override every model's timing (None: the
    model's own). ``retry_after_s`` goes into 429 responses; ``hang_s`` is how long a "hang" fault stalls.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8765
    seed: int = 7
    golden_sets_dir: Path | None = None
    ttft_ms: OptionalMillis = None
    latency_ms: OptionalMillis = None
    jitter_ms: OptionalMillis = None
    retry_after_s: Annotated[float, Field(ge=0.0)] = 1.0
    hang_s: Annotated[float, Field(ge=0.0)] = 60.0
    models: tuple[ModelProfile, ...] = DEFAULT_MODELS
    shutdown_timeout_s: Annotated[float, Field(ge=0.0)] = 0.5

    @model_validator(mode="after")
    def _unique_models(self) -> DemoServerConfig:
        names = [m.name for m in self.models]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"models: need at least one model and unique names, got {names}")
        return self


# --------------------------------------------------------------------------------------------- state


@dataclass
class _Timing:
    """Timing overrides in force (None = the model's own)."""

    ttft_ms: float | None = None
    latency_ms: float | None = None
    jitter_ms: float | None = None


class _Stats:
    def __init__(self, models: Sequence[str]) -> None:
        self.requests = 0
        self.completed = 0
        self.rejected = 0
        self.disconnects = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.by_model = dict.fromkeys(models, 0)
        self.faults = dict.fromkeys(FAULT_KINDS, 0)
        self.late_count = 0
        self.late_sum_s = 0.0
        self.late_max_s = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "completed": self.completed,
            "rejected": self.rejected,
            "disconnects": self.disconnects,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "by_model": dict(self.by_model),
            "faults": dict(self.faults),
            # How much later than planned the first streamed chunks left: the server's own overload signal.
            "ttft_lateness_ms": {
                "count": self.late_count,
                "mean": round(1000.0 * self.late_sum_s / self.late_count, 3) if self.late_count else None,
                "max": round(1000.0 * self.late_max_s, 3) if self.late_count else None,
            },
        }


class DemoState:
    """Everything the handlers share: the answer index (built once), timing, faults and counters."""

    def __init__(self, config: DemoServerConfig) -> None:
        self.config = config
        self.profiles = {m.name: m for m in config.models}
        self.planner = AnswerPlanner(_load_cases(config.golden_sets_dir), config.models, config.seed)
        self.created = int(time.time())
        self.reset()

    def reset(self) -> None:
        """Back to the startup configuration: timing, faults and counters."""
        cfg = self.config
        self.timing = _Timing(cfg.ttft_ms, cfg.latency_ms, cfg.jitter_ms)
        self.retry_after_s = cfg.retry_after_s
        self.hang_s = cfg.hang_s
        self.faults = FaultPlan(cfg.seed)
        self.stats = _Stats(list(self.profiles))
        self.counter = 0  # valid chat completion requests: numbers the fault draws and response ids

    def plan_timing(
        self, profile: ModelProfile, content_key: str, completion_tokens: int
    ) -> tuple[float, float]:
        """(TTFT, total latency) in seconds for one request; jitter is seeded by the request content."""
        t = self.timing
        base_ttft = profile.ttft_ms if t.ttft_ms is None else t.ttft_ms
        if t.latency_ms is None:
            base_latency = base_ttft + profile.per_token_ms * max(completion_tokens - 1, 0)
        else:
            base_latency = t.latency_ms
        jitter = profile.jitter_ms if t.jitter_ms is None else t.jitter_ms
        ttft = base_ttft
        latency = base_latency
        if jitter:
            seed = self.config.seed
            ttft += jitter * (2.0 * stable_unit(seed, "ttft", profile.name, content_key) - 1.0)
            latency += jitter * (2.0 * stable_unit(seed, "latency", profile.name, content_key) - 1.0)
        ttft = max(ttft, 0.0)
        return ttft / 1000.0, max(latency, ttft) / 1000.0


def _load_cases(golden_sets_dir: Path | None) -> list[GoldenCase]:
    if golden_sets_dir is None:
        default = Path("golden_sets")
        return load_golden_cases(default) if default.is_dir() else []
    if not Path(golden_sets_dir).is_dir():
        raise ConfigError(f"golden_sets_dir: {golden_sets_dir} is not a directory")
    return load_golden_cases(Path(golden_sets_dir))


STATE_KEY = web.AppKey("llmmon_demo_state", DemoState)


# ------------------------------------------------------------------------------------------- helpers


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=_DUMPS(data).encode(), status=status, headers=headers, content_type="application/json"
    )


def _error(
    status: int,
    message: str,
    type_: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An OpenAI-style error body."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return _json(body, status=status, headers=headers)


def _bad_request(message: str, param: str | None = None) -> web.Response:
    return _error(400, message, "invalid_request_error", param=param)


def _text_of(content: Any) -> str:
    """Message content as text: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


async def _sleep_until(loop: asyncio.AbstractEventLoop, deadline: float) -> None:
    # Loop again if woken early: a chunk must never leave before its planned time.
    while (delay := deadline - loop.time()) > 0:
        await asyncio.sleep(delay)


def _fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000.0:.3f}"


@dataclass(frozen=True, slots=True)
class _Completion:
    """A validated chat completion request."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    max_tokens: int | None


@dataclass(frozen=True, slots=True)
class _Reply:
    """A planned reply: what to send and when (seconds after the request arrived)."""

    id: str
    created: int
    profile: ModelProfile
    pieces: tuple[str, ...]
    finish_reason: str
    usage: dict[str, int]
    ttft_s: float
    latency_s: float

    def headers(self) -> dict[str, str]:
        return {TTFT_HEADER: _fmt_ms(self.ttft_s), LATENCY_HEADER: _fmt_ms(self.latency_s)}


def _parse_request(body: Any) -> _Completion | web.Response:
    """The request, or the 400 response that explains what is wrong with it."""
    if not isinstance(body, dict):
        return _bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _bad_request("'model' is required and must be a string.", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return _bad_request("'messages' must be a non-empty list of message objects.", "messages")
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        return _bad_request("'stream' must be a boolean.", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        return _bad_request("'stream_options' must be an object.", "stream_options")
    max_tokens = body.get("max_completion_tokens")
    param = "max_completion_tokens"
    if max_tokens is None:
        max_tokens, param = body.get("max_tokens"), "max_tokens"
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        return _bad_request(f"'{param}' must be an integer >= 1.", param)
    return _Completion(model, messages, stream, bool(options.get("include_usage")), max_tokens)


# ------------------------------------------------------------------------------------------ handlers


async def _list_models(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    data = [
        {"id": name, "object": "model", "created": state.created, "owned_by": "llmmon"}
        for name in state.profiles
    ]
    return _json({"object": "list", "data": data})


async def _get_model(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    name = request.match_info["model"]
    if name not in state.profiles:
        return _model_not_found(name)
    return _json({"id": name, "object": "model", "created": state.created, "owned_by": "llmmon"})


def _model_not_found(name: str) -> web.Response:
    return _error(
        404,
        f"The model `{name}` does not exist or you do not have access to it.",
        "invalid_request_error",
        code="model_not_found",
        param="model",
    )


async def _health(request: web.Request) -> web.Response:
    return _json({"status": "ok", "golden_cases": len(request.app[STATE_KEY].planner)})


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    loop = asyncio.get_running_loop()
    start = loop.time()  # the request's arrival: every planned delay counts from here
    state = request.app[STATE_KEY]
    stats = state.stats
    stats.requests += 1
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        stats.rejected += 1
        return _bad_request("The request body is not valid JSON.")
    parsed = _parse_request(body)
    if isinstance(parsed, web.Response):
        stats.rejected += 1
        return parsed
    profile = state.profiles.get(parsed.model) or judge_persona.PROFILES.get(parsed.model)
    if profile is None:
        stats.rejected += 1
        return _model_not_found(parsed.model)

    stats.by_model[profile.name] = stats.by_model.get(profile.name, 0) + 1
    state.counter += 1
    number = state.counter
    fault = state.faults.next(number)
    if fault is not None:
        stats.faults[fault] += 1
    if fault == "429":
        retry = state.retry_after_s
        headers = {"Retry-After": f"{retry:g}", "retry-after-ms": f"{retry * 1000.0:g}"}
        return _error(
            429,
            "Rate limit reached for requests (demo fault).",
            "rate_limit_error",
            code="rate_limit_exceeded",
            headers=headers,
        )
    if fault == "500":
        return _error(
            500, "The server had an error while processing your request (demo fault).", "server_error"
        )

    stats.in_flight += 1
    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
    try:
        return await _answer(request, state, parsed, profile, number, start, fault)
    finally:
        stats.in_flight -= 1


async def _answer(
    request: web.Request,
    state: DemoState,
    req: _Completion,
    profile: ModelProfile,
    number: int,
    start: float,
    fault: str | None,
) -> web.StreamResponse:
    loop = asyncio.get_running_loop()
    texts = [_text_of(m.get("content")) for m in req.messages]
    prompt = next((_text_of(m.get("content")) for m in reversed(req.messages) if m.get("role") == "user"), "")
    if judge_persona.is_judge(profile.name):
        planned: PlannedAnswer = judge_persona.answer(state.planner, req.messages)
    else:
        planned = state.planner.plan(profile.name, prompt)
    pieces, completion_tokens, finish_reason = planned.pieces, planned.completion_tokens, "stop"
    if req.max_tokens is not None and completion_tokens > req.max_tokens:
        text, _ = truncate_to_tokens(planned.text, req.max_tokens)
        pieces, completion_tokens, finish_reason = split_pieces(text), req.max_tokens, "length"
    prompt_tokens = sum(count_tokens_cached(t) for t in texts)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    ttft, latency = state.plan_timing(profile, "\x1e".join(texts), completion_tokens)
    ttft_applied, latency_applied = ttft, latency
    if fault == "hang":
        # A stall before anything is sent (headers included); the answer keeps its own timing after it.
        await _sleep_until(loop, start + state.hang_s)
        ttft_applied, latency_applied = state.hang_s + ttft, state.hang_s + latency
    reply = _Reply(
        id=f"chatcmpl-demo{state.config.seed}x{number:07d}",
        created=int(time.time()),
        profile=profile,
        pieces=pieces,
        finish_reason=finish_reason,
        usage=usage,
        ttft_s=ttft_applied,
        latency_s=latency_applied,
    )
    if req.stream:
        return await _stream(request, state, reply, start, req.include_usage, cut=fault == "cut")
    await _sleep_until(loop, start + (latency_applied / 2 if fault == "cut" else latency_applied))
    if fault == "cut":
        _cut(request)
        return web.Response()
    state.stats.completed += 1
    return _json(
        {
            "id": reply.id,
            "object": "chat.completion",
            "created": reply.created,
            "model": profile.name,
            "system_fingerprint": profile.fingerprint,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(pieces), "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage,
        },
        headers=reply.headers(),
    )


def _cut(request: web.Request) -> None:
    """Drop the connection: the client sees an unfinished chunked body or a disconnected server."""
    if request.transport is not None:
        request.transport.close()


async def _stream(
    request: web.Request, state: DemoState, reply: _Reply, start: float, include_usage: bool, cut: bool
) -> web.StreamResponse:
    loop = asyncio.get_running_loop()
    profile, pieces = reply.profile, reply.pieces
    head = (
        f'data: {{"id":"{reply.id}","object":"chat.completion.chunk","created":{reply.created},'
        f'"model":{_DUMPS(profile.name)},"system_fingerprint":{_DUMPS(profile.fingerprint)},'
    )
    usage_null = ',"usage":null' if include_usage else ""
    # Content chunks are string templates around the piece: one small json.dumps per chunk.
    first_pre = head + '"choices":[{"index":0,"delta":{"role":"assistant","content":'
    piece_pre = head + '"choices":[{"index":0,"delta":{"content":'
    piece_post = '},"logprobs":null,"finish_reason":null}]' + usage_null + "}\n\n"

    resp = web.StreamResponse(
        headers={**reply.headers(), "Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    n = len(pieces)
    cut_after = max(1, n // 2) if cut else n + 1
    first_at = start + reply.ttft_s
    span = reply.latency_s - reply.ttft_s
    try:
        await resp.prepare(request)
        await _sleep_until(loop, first_at)
        await resp.write((first_pre + _DUMPS(pieces[0]) + piece_post).encode())
        lateness = loop.time() - first_at
        st = state.stats
        st.late_count += 1
        st.late_sum_s += lateness
        st.late_max_s = max(st.late_max_s, lateness)
        for i in range(1, min(n, cut_after)):
            await _sleep_until(loop, first_at + span * i / (n - 1))
            await resp.write((piece_pre + _DUMPS(pieces[i]) + piece_post).encode())
        if cut_after <= n:
            _cut(request)
            return resp
        tail = (
            head
            + f'"choices":[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"{reply.finish_reason}"}}]'
        )
        tail += usage_null + "}\n\n"
        if include_usage:
            tail += head + '"choices":[],"usage":' + _DUMPS(reply.usage) + "}\n\n"
        await resp.write((tail + "data: [DONE]\n\n").encode())
        await resp.write_eof()
    except ConnectionError:
        state.stats.disconnects += 1
        return resp
    state.stats.completed += 1
    return resp


# ------------------------------------------------------------------------------------------- admin


async def _read_json(request: web.Request) -> Any:
    raw = await request.read()
    return json.loads(raw) if raw.strip() else {}


async def _admin_config(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if request.method == "POST":
        try:
            body = await _read_json(request)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _bad_request("The request body is not valid JSON.")
        if body is None:  # a bare null restores every model's own timing
            state.timing = _Timing()
        elif not isinstance(body, dict):
            return _bad_request(
                'Send a JSON object such as {"ttft_ms": 100, "latency_ms": 200, "jitter_ms": 0}.'
            )
        else:
            allowed = (*TIMING_KEYS, "retry_after_s", "hang_s")
            for key, value in body.items():
                if key not in allowed:
                    return _bad_request(
                        f"Unknown setting '{key}'; expected one of {', '.join(allowed)}.", key
                    )
                nullable = key in TIMING_KEYS
                if (value is None and not nullable) or (
                    value is not None
                    and (
                        isinstance(value, bool)
                        or not isinstance(value, int | float)
                        or not math.isfinite(value)
                        or value < 0
                    )
                ):
                    return _bad_request(
                        f"'{key}' must be a number >= 0{' or null' if nullable else ''}.", key
                    )
            for key, value in body.items():
                if key in TIMING_KEYS:
                    setattr(state.timing, key, None if value is None else float(value))
                else:
                    setattr(state, key, float(value))
    return _json(
        {
            "ttft_ms": state.timing.ttft_ms,
            "latency_ms": state.timing.latency_ms,
            "jitter_ms": state.timing.jitter_ms,
            "retry_after_s": state.retry_after_s,
            "hang_s": state.hang_s,
        }
    )


async def _admin_faults(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if request.method == "POST":
        try:
            body = await _read_json(request)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _bad_request("The request body is not valid JSON.")
        if not isinstance(body, dict) or set(body) - {"queue", "rates"}:
            return _bad_request('Send {"queue": [...]} and/or {"rates": {...}}.')
        queue, rates = body.get("queue"), body.get("rates")
        if queue is not None and not isinstance(queue, list):
            return _bad_request("'queue' must be a list of faults.", "queue")
        if rates is not None and not isinstance(rates, dict):
            return _bad_request("'rates' must be an object of fault -> probability.", "rates")
        # Validate both before applying either, so a bad request changes nothing.
        trial = FaultPlan(state.config.seed)
        try:
            trial.set_queue(queue or [])
            trial.set_rates(rates or {})
        except ValueError as exc:
            return _bad_request(str(exc))
        if queue is not None:
            state.faults.queue = trial.queue
        if rates is not None:
            state.faults.rates = trial.rates
    return _json(state.faults.snapshot())


async def _admin_stats(request: web.Request) -> web.Response:
    return _json(request.app[STATE_KEY].stats.to_dict())


async def _admin_reset(request: web.Request) -> web.Response:
    request.app[STATE_KEY].reset()
    return _json({"reset": True})


# ------------------------------------------------------------------------------------ app and runners


def create_app(config: DemoServerConfig | None = None) -> web.Application:
    """The aiohttp application; reads the golden sets once, here (raises GoldenSetError / ConfigError)."""
    config = config or DemoServerConfig()
    app = web.Application()
    app[STATE_KEY] = DemoState(config)
    app.router.add_get("/v1/models", _list_models)
    app.router.add_get("/v1/models/{model}", _get_model)
    app.router.add_post("/v1/chat/completions", _chat_completions)
    app.router.add_get("/healthz", _health)
    app.router.add_route("*", "/admin/config", _admin_config)
    app.router.add_route("*", "/admin/faults", _admin_faults)
    app.router.add_get("/admin/stats", _admin_stats)
    app.router.add_post("/admin/reset", _admin_reset)
    embeddings_api.add_routes(app)
    retriever_api.add_routes(app)
    return app


async def _start(config: DemoServerConfig) -> tuple[web.AppRunner, int]:
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=config.shutdown_timeout_s)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise EndpointError(f"demo server: cannot listen on {config.host}:{config.port}: {exc}") from exc
    return runner, runner.addresses[0][1]


def _listening_line(config: DemoServerConfig, port: int, state: DemoState) -> str:
    models = ", ".join(state.profiles)
    return (
        f"llmmon demo server listening on http://{config.host}:{port}/v1 "
        f"(models: {models}; {len(state.planner)} golden cases; seed {config.seed})"
    )


async def _serve_forever(config: DemoServerConfig) -> None:
    runner, port = await _start(config)
    state = runner.app[STATE_KEY]
    print(_listening_line(config, port, state), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signal support
            pass
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def run(config: DemoServerConfig | None = None) -> None:
    """Serve until SIGINT/SIGTERM (blocking); prints one line once listening. Used by ``llmmon demo-server``."""
    try:
        asyncio.run(_serve_forever(config or DemoServerConfig()))
    except KeyboardInterrupt:
        pass


class DemoServer:
    """The demo server on a background thread, for tests and notebooks.

    >>> with DemoServer(DemoServerConfig(port=0)) as server:
    ...     client = OpenAI(base_url=server.base_url, api_key="demo")
    """

    def __init__(self, config: DemoServerConfig | None = None) -> None:
        self.config = config or DemoServerConfig()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    # -- lifecycle
    def start(self) -> DemoServer:
        """Start listening (returns once the port is bound); raises what startup raised."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._main, name="llmmon-demo-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30.0):
            raise EndpointError("demo server: did not start within 30 s")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._runner, self._port = loop.run_until_complete(_start(self.config))
        except BaseException as exc:  # handed to start(), which re-raises it in the caller's thread
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Stop serving; in-flight requests get up to twice ``shutdown_timeout_s`` (aiohttp waits, then cancels)."""
        if self._thread is None:
            return
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30.0)
        self._thread = None
        self._loop = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- where it is
    @property
    def port(self) -> int:
        if self._port is None:
            raise EndpointError("demo server: not started")
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (``.../v1``)."""
        return f"{self.root_url}/v1"

    @property
    def state(self) -> DemoState:
        """The live state (answer index included) — read it; change it through the admin API."""
        if self._runner is None:
            raise EndpointError("demo server: not started")
        return self._runner.app[STATE_KEY]

    def expected_answer(self, model: str, prompt: str) -> PlannedAnswer:
        """What ``model`` answers to ``prompt`` (with ``correct``/``degradation``): ground truth for tests."""
        return self.state.planner.plan(model, prompt)

    # -- admin API over real HTTP (stdlib only, so callers need no client library)
    def admin(self, path: str, payload: Any = None, method: str | None = None) -> Any:
        """Call ``/admin/<path>``: POST when ``payload`` is given (or ``method="POST"``), else GET."""
        method = method or ("GET" if payload is None else "POST")
        data = None if method == "GET" else _DUMPS(payload).encode()
        req = urllib.request.Request(
            f"{self.root_url}/admin/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10.0) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise EndpointError(
                f"demo server admin {method} /admin/{path}: HTTP {exc.code}: "
                f"{exc.read().decode(errors='replace')}"
            ) from None

    def configure(self, **timing: float | None) -> dict[str, Any]:
        """Set timing (``ttft_ms``, ``latency_ms``, ``jitter_ms``; None restores the model's own)."""
        return self.admin("config", timing)

    def queue_faults(self, *faults: str) -> dict[str, Any]:
        """The next requests take these faults in order ("429", "500", "hang", "cut", "ok")."""
        return self.admin("faults", {"queue": list(faults)})

    def stats(self) -> dict[str, Any]:
        return self.admin("stats")

    def reset(self) -> dict[str, Any]:
        return self.admin("reset", method="POST")
