"""The demo model server's ``POST /v1/embeddings`` (OpenAI-compatible, deterministic)."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Register this module's routes on the demo server's application."""
