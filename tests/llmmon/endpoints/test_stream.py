"""Folding chat-completion chunks into a reply: first-token time, finish reason, usage, errors."""

from __future__ import annotations

import json

import pytest

from llmmon.endpoints.stream import ChatAccumulator, StreamProtocolError, parse_completion, usage_tokens


def chunk(**fields: object) -> bytes:
    return json.dumps({"id": "c1", "object": "chat.completion.chunk", "model": "m-2026", **fields}).encode()


def test_role_only_chunk_is_not_the_first_token() -> None:
    acc = ChatAccumulator()
    acc.add_event(None, chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}}]))
    assert acc.first_token_at is None
    acc.add_event(None, chunk(choices=[{"index": 0, "delta": {"content": "Hel"}}]))
    first = acc.first_token_at
    assert first is not None
    acc.add_event(None, chunk(choices=[{"index": 0, "delta": {"content": "lo"}}]))
    assert acc.first_token_at == first
    assert acc.output == "Hello"
    assert acc.model == "m-2026"
    assert not acc.complete


def test_finish_usage_and_done() -> None:
    acc = ChatAccumulator()
    acc.add_event(None, chunk(choices=[{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]))
    acc.add_event(None, chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "length"}]))
    acc.add_event(None, chunk(choices=[], usage={"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}))
    acc.add_event(None, b"[DONE]")
    assert acc.complete and acc.done
    assert acc.finish_reason == "length"
    assert usage_tokens(acc.usage) == (12, 3)


def test_tool_call_delta_counts_as_first_token() -> None:
    acc = ChatAccumulator()
    acc.add_event(None, chunk(choices=[{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "t"}]}}]))
    assert acc.first_token_at is not None
    assert acc.output == ""


@pytest.mark.parametrize(
    ("event", "data", "error_type"),
    [
        (None, b"{not json", "broken_stream"),
        (None, b"[1, 2]", "broken_stream"),
        (None, b'{"error": {"message": "overloaded"}}', "server_error"),
        ("error", b'{"message": "overloaded"}', "server_error"),
    ],
)
def test_bad_chunks_raise_with_a_type(event: str | None, data: bytes, error_type: str) -> None:
    with pytest.raises(StreamProtocolError) as info:
        ChatAccumulator().add_event(event, data)
    assert info.value.error_type == error_type


def test_parse_completion_body() -> None:
    body = json.dumps({
        "model": "m-2026",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5},
    }).encode()
    output, reason, model, usage = parse_completion(body)
    assert (output, reason, model, usage_tokens(usage)) == ("Hi", "stop", "m-2026", (4, 1))


def test_usage_tokens_missing_is_none_not_zero() -> None:
    assert usage_tokens(None) == (None, None)
    assert usage_tokens({"total_tokens": 9}) == (None, None)
