"""settings.drift: defaults, named references, and errors that name the key."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from llmmon.config import DEFAULTS_PATH, load_settings
from llmmon.errors import ConfigError


def _load(tmp_path, drift: dict):
    doc = yaml.safe_load(DEFAULTS_PATH.read_text())
    doc["drift"] = drift
    path = tmp_path / "llmmon.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_settings(path, env={})


def test_defaults():
    d = load_settings(DEFAULTS_PATH, env={}).drift
    assert d.window == dt.timedelta(days=1) and d.reference == "rolling" and d.rolling_days == 7
    assert d.floor("prompt_chars") == 40.0 and d.embedding.provider == "local" and not d.report.include_text


def test_named_reference_and_floors(tmp_path):
    d = _load(tmp_path, {"reference": "blessed", "window": "1h", "effect_floors": {"latency_s": 0.5},
                         "references": {"blessed": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"}}}
              ).drift
    assert d.references["blessed"].end - d.references["blessed"].start == dt.timedelta(days=7)
    assert d.floor("latency_s") == 0.5 and d.window == dt.timedelta(hours=1)


@pytest.mark.parametrize("drift, message", [
    ({"reference": "nope"}, "key 'drift': reference 'nope' is neither 'rolling' nor one of references"),
    ({"features": ["prompt_chars", "shoe_size"]}, "key 'drift.features': unknown feature(s) ['shoe_size']"),
    ({"effect_floors": {"bogus": 1}}, "key 'drift.effect_floors': unknown feature(s) ['bogus']"),
    ({"window": "7m"}, "key 'drift.window'"),
    ({"references": {"b": {"start": "2026-11-02T00:00:00", "end": "2026-11-03T00:00:00Z"}}}, "needs a time zone"),
    ({"references": {"b": {"start": "2026-11-03T00:00:00Z", "end": "2026-11-02T00:00:00Z"}}}, "must be after start"),
    ({"embedding": {"provider": "openai"}}, "provider openai needs 'endpoint'"),
    ({"attacks": {"patterns": ["(bad"]}}, "patterns[0] '(bad' does not compile"),
    ({"alpha": 1.5}, "key 'drift.alpha'"),
])
def test_errors_name_file_and_key(tmp_path, drift, message):
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, drift)
    assert message in str(exc.value) and "llmmon.yaml" in str(exc.value)
