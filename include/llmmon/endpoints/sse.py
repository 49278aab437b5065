"""A small incremental Server-Sent Events decoder for chat-completion streams, working on raw bytes.

Why not the SDK's stream: the openai SDK builds a pydantic model for every chunk, which at 32-64 concurrent
streams on two cores costs enough CPU to saturate the event loop and inflate the very TTFT being measured. Here
each event's data is returned as bytes, and the caller ``json.loads`` it once.

Follows the WHATWG event-stream rules that matter for chat streams: lines end in LF, CRLF or CR; ``data:``
lines of one event are joined with LF; a blank line dispatches the event; ``:`` lines are comments; the
``event:`` field names the event type (``None`` means the default ``message``).
"""

from __future__ import annotations

SSEEvent = tuple[str | None, bytes]


class SSEDecoder:
    """Feed it the body's byte chunks as they arrive; it returns the events completed so far."""

    __slots__ = ("_buf", "_data", "_event")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._event: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Add bytes; return the events (type, data) that this chunk completed, in order."""
        buf = self._buf + chunk if self._buf else chunk
        tail = b""
        if b"\r" in buf:
            # A CR at the very end may be the first half of a CRLF split across chunks: keep it for later.
            if buf.endswith(b"\r"):
                buf, tail = buf[:-1], b"\r"
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buf.split(b"\n")
        self._buf = lines.pop() + tail
        return self._lines(lines)

    def flush(self) -> list[SSEEvent]:
        """At end of body: treat any unterminated last line and event as complete (lenient with servers that
        omit the final blank line; a truncated JSON payload still fails to parse downstream)."""
        rest, self._buf = self._buf.rstrip(b"\r"), b""
        events = self._lines([rest, b""] if rest else [b""])
        return events

    def _lines(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append((self._event, b"\n".join(data) if len(data) > 1 else data[0]))
                    data = self._data = []
                self._event = None
                continue
            if line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            elif line.startswith(b"event:"):
                self._event = line[6:].strip().decode("utf-8", "replace") or None
            # Comments (":...") keep a connection alive; "id:" and "retry:" only matter to reconnecting
            # browsers. Both are ignored.
        return events
