"""YAML text to Python, with errors that say where: ``<source> line L, column C: not valid YAML: <problem>``."""

from __future__ import annotations

from typing import Any

import yaml

from llmmon.errors import LlmmonError


def parse_yaml(text: str, source: str, error: type[LlmmonError]) -> Any:
    """``yaml.safe_load(text)``; a syntax error raises ``error`` naming ``source`` and the line and column."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{source}{where}: not valid YAML: {problem}") from None
