"""OpenAI-compatible endpoint client: streaming, TTFT, retries, cost, spans, and a watch on its own event loop.

The public names are imported lazily, so importing a light submodule (e.g. ``llmmon.endpoints.looplag``) or
this package from a DAG file does not pay for the openai SDK import (about a second).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["BatchOutcome", "ClientStats", "EndpointClient", "probe_endpoint", "run_requests"]

if TYPE_CHECKING:
    from llmmon.endpoints.client import (
        BatchOutcome,
        ClientStats,
        EndpointClient,
        probe_endpoint,
        run_requests,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        from llmmon.endpoints import client

        return getattr(client, name)
    raise AttributeError(f"module 'llmmon.endpoints' has no attribute {name!r}")
