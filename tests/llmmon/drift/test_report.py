"""The Evidently report of a drift run: stored through fsspec, linked from the run, and free of prompt text."""

from __future__ import annotations

import datetime as dt
import random

import fsspec
import pytest

from llmmon.config import DEFAULTS_PATH, load_settings
from llmmon.drift.job import artifacts_root, run_drift
from llmmon.drift.report import save_sample, write_report
from llmmon.drift_config import NamedReference
from llmmon.warehouse import Warehouse
from llmmon.warehouse.drift_store import get_drift_run

from .spans import T0, insert_spans, span_rows

H = dt.timedelta(hours=1)
SECRET = "Zanzibar-kumquat-7731"  # a distinctive string in every prompt: must never reach the HTML


def _prompt(rng: random.Random, i: int) -> str:
    return f"My name is {SECRET} and my order {rng.randint(100, 999)} is late, {'please help ' * (i % 4)}"


@pytest.fixture
def drift_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    wh = Warehouse(url)
    wh.upgrade()
    insert_spans(wh, span_rows(400, T0, seed=1, prompt=_prompt) + span_rows(
        200, T0 + dt.timedelta(days=1), seed=2, prompt=_prompt, latency=3.0))
    yield wh
    wh.dispose()


def _settings(wh, artifacts: str, **report):
    s = load_settings(DEFAULTS_PATH, env={})
    drift = s.drift.model_copy(update={
        "reference": "base", "references": {"base": NamedReference(start=T0, end=T0 + H)}, "artifacts": artifacts,
        "calibration": 199, "report": s.drift.report.model_copy(update={"sample_rows": 150, **report}),
    })
    return s.model_copy(update={"drift": drift})


def test_report_is_stored_linked_and_has_no_prompt_text(drift_run):
    s = _settings(drift_run, "memory://llmmon-test/reports")
    out = run_drift(s, drift_run, window_start=T0 + dt.timedelta(days=1), window_end=T0 + dt.timedelta(days=1) + H)
    assert out.run["drifted"]  # latency tripled
    assert all(SECRET not in str(v) for side in out.sample.values() for col in side.values() for v in col)
    folder = save_sample(artifacts_root(s.drift), out.run["run_key"], out.sample)
    uri = write_report(s, drift_run, out.run["run_key"], folder)
    assert uri.startswith("memory://llmmon-test/reports/") and uri.endswith("/report.html")
    assert get_drift_run(drift_run, out.run["run_key"])["report_uri"] == uri
    with fsspec.open(uri, "r", encoding="utf-8") as fh:
        page = fh.read()
    assert "llmmon drift verdict" in page and "latency_s" in page and "DRIFTED" in page
    assert len(page) > 1_000_000  # Evidently's page (its JavaScript bundle) with our verdict on top
    assert SECRET not in page and "please help" not in page
    # a re-run of the window keeps the link
    run_drift(s, drift_run, window_start=T0 + dt.timedelta(days=1), window_end=T0 + dt.timedelta(days=1) + H)
    assert get_drift_run(drift_run, out.run["run_key"])["report_uri"] == uri


def test_prompt_text_reaches_the_report_sample_only_when_allowed(drift_run):
    window = {"window_start": T0 + dt.timedelta(days=1), "window_end": T0 + dt.timedelta(days=1) + H}
    private = run_drift(_settings(drift_run, "memory://x"), drift_run, **window)
    assert "prompt" not in private.sample["current"]
    allowed = run_drift(_settings(drift_run, "memory://x", include_text=True), drift_run, **window)
    assert len(allowed.sample["current"]["prompt"]) == 150
    assert all(SECRET in p for p in allowed.sample["current"]["prompt"])
