"""The drift part of ``make demo``: its overlay config and the summary it prints (the DAG runs are tested in e2e)."""

from __future__ import annotations

import datetime as dt

import yaml

from llmmon.alerts.defaults import merge_rules
from llmmon.alerts.engine import evaluate_rules
from llmmon.config import DEFAULTS_PATH, load_settings
from llmmon.demo.drift_phase import REFERENCE, format_drift_summary, write_overlay
from llmmon.drift.job import run_drift, run_key_for

from .spans import T0, insert_spans, span_rows

H = dt.timedelta(hours=1)


def test_overlay_and_summary(tmp_path, warehouse):
    base = tmp_path / "demo-traffic.yaml"
    doc = yaml.safe_load(DEFAULTS_PATH.read_text())
    doc["warehouse"] = {"url": warehouse.engine.url.render_as_string(hide_password=False)}
    base.write_text(yaml.safe_dump(doc))
    overlay = write_overlay(base, tmp_path, T0)
    settings = load_settings(overlay, env={})
    assert settings.drift.reference == REFERENCE and settings.drift.window == H
    assert settings.drift.references[REFERENCE].start == T0
    assert settings.drift.artifacts == str(tmp_path / "drift-reports")

    insert_spans(warehouse, span_rows(600, T0, seed=1) + span_rows(300, T0 + 24 * H, seed=2, latency=4.0)
                 + span_rows(300, T0 + 25 * H, seed=3, latency=4.0))
    keys = []
    for start in (T0 + 24 * H, T0 + 25 * H):
        run_drift(settings, warehouse, window_start=start, window_end=start + H)
        evaluate_rules(warehouse, [r for r in merge_rules([]) if r.name == "input_drift"], now=start + H, routes={})
        keys.append(run_key_for(None, start, start + H, REFERENCE))
    text = format_drift_summary(warehouse, {"run_keys": keys})
    assert "window 2026-11-21 00:00 UTC: success, 1 of 12 features drifted (300 spans vs 600)" in text
    assert "latency_s          psi" in text and "report: (not rendered)" in text
    assert text.rstrip().endswith("alert input_drift [warning]: firing")
    assert format_drift_summary(warehouse, {}) == ""
