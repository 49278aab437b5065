"""The demo model server's retriever over the demo corpus (with a degraded index version for the demo)."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Register this module's routes on the demo server's application."""
