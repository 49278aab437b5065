"""Command-line commands of the drift capability (wired into ``llmmon.cli`` by ``register``)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this capability's subcommands to the ``llmmon`` parser."""
