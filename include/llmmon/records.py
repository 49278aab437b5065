"""Plain records passed between the library's parts (endpoint calls, scoring, the warehouse)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to send. ``key`` identifies it in results (e.g. ``"cs-0001#0"``)."""

    key: str
    messages: list[dict[str, str]]
    max_tokens: int | None = None
    temperature: float | None = None
    response_format: dict[str, Any] | None = None


@dataclass
class CallResult:
    """What one call did, measured at the client. Times are seconds; ``error_type`` is None on success.

    ``ttft_s`` runs from the moment the request is written to the socket to the first content chunk;
    ``latency_s`` to the end of the stream. ``loop_lag_max_ms`` is the worst event-loop lag the client saw
    while the call was in flight: when it exceeds the client's tolerance, ``timing_suspect`` is set,
    because the client (not the model) may have delayed the timings.
    """

    key: str
    output: str | None = None
    finish_reason: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    started_at: float | None = None  # unix epoch seconds
    attempts: int = 0
    error_type: str | None = None
    error: str | None = None
    server_ttft_s: float | None = None  # the TTFT the server says it applied (demo server header), if any
    loop_lag_max_ms: float | None = None
    timing_suspect: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_type is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallResult:
        return cls(**data)
