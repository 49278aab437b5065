"""Errors that name what is wrong and where, so a user can fix input without reading code."""

from __future__ import annotations


class LlmmonError(Exception):
    """Base class for every error llmmon raises on purpose."""


class ConfigError(LlmmonError):
    """The configuration file is missing, unparsable or invalid."""


class GoldenSetError(LlmmonError):
    """A golden set failed validation; the message names file, example id, field and rule."""

    def __init__(self, message: str, problems: list[dict] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class RunConfError(LlmmonError):
    """Run conf (from a DAG trigger or the command line) is invalid."""


class EndpointError(LlmmonError):
    """An endpoint is unknown or unreachable."""
