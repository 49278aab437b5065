"""settings.slo: defaults, and errors that name the file and field."""

from __future__ import annotations

import datetime as dt

import pytest

from llmmon.config import DEFAULTS_PATH, load_settings
from llmmon.errors import ConfigError

from .conftest import ROOT


def test_defaults_are_the_product_brief_examples():
    slo = load_settings(DEFAULTS_PATH, env={"LLMMON_HOME": str(ROOT)}).slo
    assert slo.window == dt.timedelta(minutes=5)
    assert (slo.objectives.ttft_p95_s, slo.objectives.latency_p99_s, slo.objectives.error_rate) == (1.5, 8.0, 0.005)
    assert slo.objectives.cost_per_1k_usd == 5.0
    assert slo.slices == ("model_version", "prompt_template", "user_segment", "replica")
    assert slo.burn_rates.period == dt.timedelta(days=30)


@pytest.mark.parametrize("section, field", [
    ("window: 7m", "window"),
    ("slices: [model_version, colour]", "slices"),
    ("slices: [replica, replica]", "slices"),
    ("objectives: {error_rate: 1.5}", "error_rate"),
    ("min_requests: 0", "min_requests"),
    ("triage: {baseline: soon}", "baseline"),
    ("duckdb_memory_limit: lots", "duckdb_memory_limit"),
])
def test_bad_values_name_file_and_field(tmp_path, section, field):
    text = DEFAULTS_PATH.read_text() + "\nslo:\n  " + section + "\n"
    path = tmp_path / "llmmon.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={"LLMMON_HOME": str(ROOT)})
    assert str(path) in str(err.value) and field in str(err.value)


def test_overrides_load(tmp_path):
    path = tmp_path / "llmmon.yaml"
    path.write_text(DEFAULTS_PATH.read_text() + "\nslo:\n  window: 1m\n  slices: [replica]\n"
                    "  objectives: {ttft_p95_s: 0.8, cost_per_1k_usd: null}\n")
    slo = load_settings(path, env={"LLMMON_HOME": str(ROOT)}).slo
    assert slo.window == dt.timedelta(minutes=1) and slo.slices == ("replica",)
    assert slo.objectives.ttft_p95_s == 0.8 and slo.objectives.cost_per_1k_usd is None
