"""The shipped Prometheus rules: ``promtool check rules`` and ``promtool test rules`` (their unit tests).

Skipped when promtool is missing, unless LLMMON_REQUIRE_PROMTOOL=1 (CI installs it and sets that): then a missing
promtool fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from llmmon.slo.prometheus import RULE_FILES, RULES_DIR, SCRAPE_CONFIG_EXAMPLE, TEST_FILES


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("LLMMON_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is required (LLMMON_REQUIRE_PROMTOOL=1) but not on PATH; install Debian's "
                        "prometheus package")
        pytest.skip("promtool not installed (Debian: apt-get install prometheus)")
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=RULES_DIR, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", RULE_FILES)
def test_rules_check(promtool, name):
    out = _run(promtool, "check", "rules", name)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


@pytest.mark.parametrize("name", TEST_FILES)
def test_rule_unit_tests_pass(promtool, name):
    out = _run(promtool, "test", "rules", name)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_scrape_config_example_checks(promtool):
    out = _run(promtool, "check", "config", SCRAPE_CONFIG_EXAMPLE)
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_detects_a_broken_expectation(promtool, tmp_path):
    # The unit tests can fail: the same TTFT test expecting no alert at 10 minutes is reported as a failure.
    for name in RULE_FILES:
        shutil.copy(RULES_DIR / name, tmp_path / name)
    doc = yaml.safe_load((RULES_DIR / "vllm.rules.test.yml").read_text())
    doc["tests"][0]["alert_rule_test"][1]["exp_alerts"] = []
    (tmp_path / "broken.test.yml").write_text(yaml.safe_dump(doc))
    out = subprocess.run([promtool, "test", "rules", "broken.test.yml"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0 and "LlmmonVllmTtftP95High" in out.stdout + out.stderr


def test_every_alert_mirrors_the_warehouse_objectives():
    thresholds = {"ttft_p95": "> 1.5", "latency_p99": "> 8", "error_rate": "> 0.005"}
    for name in RULE_FILES:
        doc = yaml.safe_load((RULES_DIR / name).read_text())
        alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
        assert alerts
        for rule in alerts:
            slo = rule["labels"]["slo"]
            if "Burn" in rule["alert"]:
                assert "for" not in rule  # the long and short windows are the confirmation
                assert "0.005" in rule["expr"]
            else:
                assert rule["for"] == "5m", rule["alert"]  # two consecutive 5-minute windows
                assert thresholds[slo] in rule["expr"] and ">= 20" in rule["expr"], rule["alert"]
