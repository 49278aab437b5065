"""Registers llmmon with Airflow's plugin manager (UI pages are added by later capabilities)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class LlmmonPlugin(AirflowPlugin):
    name = "llmmon"
