"""Turn a chat-completion response (streamed chunks or one JSON body) into the fields a CallResult needs.

Works on plain dicts from ``json.loads``: no pydantic model per chunk (see ``sse.py`` for why).
"""

from __future__ import annotations

import json
import time
from typing import Any

# Delta fields that mean the model has started producing output. Content is what TTFT is usually about;
# reasoning, refusals and tool calls are tokens too, and a reply made only of them still has a first token.
_TOKEN_FIELDS = ("content", "reasoning_content", "reasoning", "refusal", "tool_calls")


class StreamProtocolError(Exception):
    """The stream carried something that is not a chat-completion chunk (bad JSON, an error event)."""

    def __init__(self, message: str, *, error_type: str = "broken_stream") -> None:
        super().__init__(message)
        self.error_type = error_type


class ChatAccumulator:
    """Collects one streamed reply: text, finish reason, model, usage and the time of the first token."""

    __slots__ = ("parts", "finish_reason", "model", "usage", "first_token_at", "done")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.usage: dict[str, Any] | None = None
        self.first_token_at: float | None = None  # time.perf_counter()
        self.done = False  # saw "data: [DONE]"

    @property
    def complete(self) -> bool:
        """Whether the stream ended properly: a finish reason or the [DONE] sentinel was seen."""
        return self.done or self.finish_reason is not None

    @property
    def output(self) -> str:
        return "".join(self.parts)

    def add_event(self, event: str | None, data: bytes) -> None:
        """Fold one SSE event into the reply; raise StreamProtocolError on an error event or bad JSON."""
        if data == b"[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise StreamProtocolError(f"stream chunk is not JSON: {data[:80]!r}") from None
        if not isinstance(chunk, dict):
            raise StreamProtocolError(f"stream chunk is not a JSON object: {data[:80]!r}")
        if event == "error" or "error" in chunk:
            raise StreamProtocolError(
                f"error event in stream: {_error_text(chunk.get('error', chunk))}", error_type="server_error"
            )
        if self.model is None:
            self.model = chunk.get("model") or None
        choices = chunk.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content:
                    self.parts.append(content)
                    if self.first_token_at is None:
                        self.first_token_at = time.perf_counter()
                elif self.first_token_at is None and any(delta.get(f) for f in _TOKEN_FIELDS):
                    self.first_token_at = time.perf_counter()
            reason = choice.get("finish_reason")
            if reason:
                self.finish_reason = reason
        usage = chunk.get("usage")
        if usage:
            self.usage = usage


def parse_completion(body: bytes) -> tuple[str | None, str | None, str | None, dict[str, Any] | None]:
    """(output, finish_reason, model, usage) of a non-streamed chat completion body."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise StreamProtocolError(f"response body is not JSON: {body[:80]!r}") from None
    if not isinstance(doc, dict):
        raise StreamProtocolError(f"response body is not a JSON object: {body[:80]!r}")
    if "error" in doc:
        raise StreamProtocolError(f"error in response body: {_error_text(doc['error'])}", error_type="server_error")
    choices = doc.get("choices") or []
    if not choices:
        raise StreamProtocolError("response has no choices", error_type="bad_response")
    choice = choices[0]
    message = choice.get("message") or {}
    return message.get("content"), choice.get("finish_reason"), doc.get("model") or None, doc.get("usage") or None


def usage_tokens(usage: dict[str, Any] | None) -> tuple[int | None, int | None]:
    """(input_tokens, output_tokens) from an OpenAI ``usage`` object; None where absent."""
    if not usage:
        return None, None
    inp, out = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (inp if isinstance(inp, int) else None), (out if isinstance(out, int) else None)


def _error_text(err: object) -> str:
    if isinstance(err, dict):
        return str(err.get("message") or err.get("type") or err)[:200]
    return str(err)[:200]
