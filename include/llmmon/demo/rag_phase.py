"""The retrieval part of ``make demo`` (runs after the traffic phase, inside the demo server's lifetime)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def run_rag_phase(
    *, settings, state: Path, server, env: dict[str, str], run_dag: Callable[[list[str], str, str], None],
    traffic: dict[str, Any],
) -> dict[str, Any]:
    """Run this capability's DAG(s) on the demo data; return what the summary prints."""
    return {}


def format_rag_summary(warehouse, result: dict[str, Any]) -> str:
    """The lines ``make demo`` prints for this capability ("" to print nothing)."""
    return ""
