"""Calling the judge: one request, strict parsing, one retry on an unusable answer, usage and cost added up.

Every judge call goes through the project's :class:`~llmmon.endpoints.EndpointClient` (bounded concurrency,
HTTP retries with backoff, cost from the price table). On top of it, an answer that fails strict parsing is
retried once, in the same conversation with a message saying what was wrong; a second unusable answer is a
judge error ``unparsable``. An endpoint failure (after the client's own retries) is a judge error named by its
error class. Nothing here raises for a per-item failure: the caller records the error row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from llmmon.config import EndpointConfig, SecretResolver, Settings, env_secret_resolver
from llmmon.judge.parse import JudgeParseError
from llmmon.judge.prompt import retry_request
from llmmon.judge.rubrics import Rubric
from llmmon.records import CallResult, ChatRequest

UNPARSABLE = "unparsable"
T = TypeVar("T")


@dataclass
class JudgeCall:
    """The outcome of judging one item: the parsed answer or an error, with what the calls consumed.

    ``cost_usd`` is None when any call's cost is unknown (no price for the judge model); tokens add up what
    the endpoint reported. ``problems`` holds the parse problem of each unusable answer.
    """

    key: str
    parsed: Any = None
    error_type: str | None = None
    error: str | None = None
    calls: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    judge_model: str | None = None
    problems: list[str] = field(default_factory=list)
    answered_at: dt.datetime | None = None
    _cost_known: bool = True
    _cost_sum: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_type is None

    def add(self, result: CallResult) -> None:
        """Count one call's usage and cost."""
        self.calls += 1
        self.judge_model = result.response_model or result.request_model or self.judge_model
        if result.input_tokens is not None:
            self.input_tokens = (self.input_tokens or 0) + result.input_tokens
        if result.output_tokens is not None:
            self.output_tokens = (self.output_tokens or 0) + result.output_tokens
        if result.cost_usd is not None:
            self._cost_sum += result.cost_usd
        elif result.ok or result.input_tokens is not None:
            # Tokens were spent at a price we do not know. (A failed call that reported no usage cost nothing.)
            self._cost_known = False
        self.cost_usd = self._cost_sum if self._cost_known else None


async def judge_once(client: Any, request: ChatRequest, parse: Callable[[str | None], T], rubric: Rubric) -> JudgeCall:
    """Call the judge for ``request``, parse with ``parse``; retry once when the answer is unusable."""
    out = JudgeCall(key=request.key)
    result = await client.complete(request)
    out.add(result)
    for attempt in (1, 2):
        if not result.ok:
            out.error_type, out.error = result.error_type, result.error
            break
        try:
            out.parsed = parse(result.output)
            break
        except JudgeParseError as exc:
            out.problems.append(str(exc))
            if attempt == 2:
                out.error_type = UNPARSABLE
                out.error = f"unusable judge answer twice: {'; then: '.join(out.problems)}"
                break
            result = await client.complete(retry_request(request, result.output, str(exc), rubric))
            out.add(result)
    out.answered_at = dt.datetime.now(dt.UTC)
    return out


async def judge_many(
    client: Any,
    jobs: Iterable[tuple[ChatRequest, Callable[[str | None], Any], Rubric]],
    *,
    workers: int,
    on_done: Callable[[JudgeCall], Any] | None = None,
) -> list[JudgeCall]:
    """Judge every job (request, parser, rubric) with ``workers`` items in flight; results in job order.

    The client's own semaphore bounds concurrent HTTP calls; ``workers`` bounds items in flight (set it to
    the client's concurrency so retries never wait behind a queue of first calls).
    ``on_done`` is called on the event loop as each item finishes; it may be a coroutine function.
    """
    jobs = list(jobs)
    results: list[JudgeCall | None] = [None] * len(jobs)
    pending = iter(enumerate(jobs))

    async def worker() -> None:
        for i, (request, parse, rubric) in pending:  # next() never awaits: each job is taken once
            call = await judge_once(client, request, parse, rubric)
            results[i] = call
            if on_done is not None:
                maybe = on_done(call)
                if asyncio.iscoroutine(maybe):
                    await maybe

    async with asyncio.TaskGroup() as tg:
        for _ in range(max(1, min(workers, len(jobs)))):
            tg.create_task(worker())
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class JudgeTarget:
    """The judge endpoint, resolved: config, API key, prices and concurrency."""

    endpoint: EndpointConfig
    api_key: str | None
    prices: Any
    concurrency: int

    def client(self) -> Any:
        """A new EndpointClient for the judge (use inside one event loop, then close it)."""
        from llmmon.endpoints import EndpointClient

        return EndpointClient(self.endpoint, api_key=self.api_key, prices=self.prices, concurrency=self.concurrency)


def judge_target(settings: Settings, *, endpoint: str | None = None, secrets: SecretResolver | None = None) -> JudgeTarget:
    """Resolve the judge endpoint (``endpoint`` or ``settings.judge.endpoint``); ConfigError when unknown."""
    from llmmon.prices import PriceTable

    ep = settings.endpoint(endpoint or settings.judge.endpoint)
    resolve = secrets or env_secret_resolver()
    api_key = resolve(ep.api_key) if ep.api_key else None
    concurrency = settings.judge.concurrency or ep.max_concurrency
    return JudgeTarget(ep, api_key, PriceTable(settings.prices), concurrency)


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``factory()`` to completion from synchronous code.

    In a thread that already runs an event loop (a notebook, an async caller), it runs on a fresh loop in a
    helper thread instead of failing with "asyncio.run() cannot be called from a running event loop".
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    box: dict[str, Any] = {}

    def main() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=main, name="llmmon-judge-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
