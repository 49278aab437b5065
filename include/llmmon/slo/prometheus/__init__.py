"""Prometheus rules shipped with llmmon: live SLO alerting over vLLM and Ray Serve metrics (package data).

``vllm.rules.yml`` and ``ray-serve.rules.yml`` hold recording and alerting rules for the same objectives as
llmmon's warehouse SLOs; ``*.rules.test.yml`` are their ``promtool test rules`` unit tests;
``scrape-config.example.yml`` is an example ``prometheus.yml``. See docs/slo.md.
"""

from __future__ import annotations

from pathlib import Path

RULES_DIR = Path(__file__).resolve().parent
RULE_FILES = ("vllm.rules.yml", "ray-serve.rules.yml")
TEST_FILES = ("vllm.rules.test.yml", "ray-serve.rules.test.yml")
SCRAPE_CONFIG_EXAMPLE = "scrape-config.example.yml"
