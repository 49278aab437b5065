"""The SSE decoder: events survive any split of the byte stream, CRLF, multi-line data, comments."""

from __future__ import annotations

from llmmon.endpoints.sse import SSEDecoder

STREAM = (
    b": keep-alive comment\r\n"
    b"data: {\"a\": 1}\r\n\r\n"
    b"event: error\n"
    b"data: line one\n"
    b"data:line two\n\n"
    b"data: [DONE]\r\r"
)
EXPECTED = [(None, b'{"a": 1}'), ("error", b"line one\nline two"), (None, b"[DONE]")]


def decode_in_pieces(data: bytes, size: int) -> list[tuple[str | None, bytes]]:
    dec = SSEDecoder()
    events = []
    for i in range(0, len(data), size):
        events += dec.feed(data[i : i + size])
    return events + dec.flush()


def test_whole_stream_decodes_to_events() -> None:
    assert decode_in_pieces(STREAM, len(STREAM)) == EXPECTED


def test_every_split_gives_the_same_events() -> None:
    # Byte-by-byte splits CRLF pairs and "data:" prefixes across chunks.
    for size in (1, 2, 3, 5, 7, 13):
        assert decode_in_pieces(STREAM, size) == EXPECTED, size


def test_event_type_resets_after_dispatch() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"event: error\ndata: x\n\ndata: y\n\n") == [("error", b"x"), (None, b"y")]


def test_unterminated_last_event_is_flushed_at_end() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: {\"b\": 2}") == []
    assert dec.flush() == [(None, b'{"b": 2}')]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"\n\n: ping\n\n") == []
    assert dec.flush() == []
