"""Airflow loads plugins from top-level modules of the plugins folder; this one exposes llmmon's."""

from llmmon_airflow.plugin import LlmmonPlugin

__all__ = ["LlmmonPlugin"]
