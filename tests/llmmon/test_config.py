"""Configuration: the embedded defaults load; bad files fail naming file, key and reason; secrets resolve."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from llmmon.config import SecretRef, env_secret_resolver, load_settings
from llmmon.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
warehouse: {url: "sqlite:///wh.db"}
golden_sets_dir: sets
endpoints:
  - name: prod
    base_url: https://api.example.com/v1/
    model: m-1
    api_key: {env: PROD_KEY}
prices:
  - {model: m-1, input_per_mtok: 1.0, output_per_mtok: 2.0, effective_from: 2026-01-01}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "llmmon.yaml"
    p.write_text(text)
    return p


def test_embedded_defaults_point_at_the_demo_server(monkeypatch, tmp_path):
    monkeypatch.delenv("LLMMON_CONFIG", raising=False)
    monkeypatch.setenv("LLMMON_HOME", str(tmp_path))
    s = load_settings()
    ep = s.endpoint()
    assert (ep.name, ep.model, ep.model_version) == ("demo", "llmmon-demo-v1", "v1")
    assert ep.base_url.startswith("http://127.0.0.1:")
    assert s.warehouse.url == f"sqlite:///{tmp_path}/.llmmon/warehouse.db"
    assert s.golden_sets_dir == str(tmp_path / "golden_sets")


def test_file_from_env_var_and_relative_paths_resolve_against_it(monkeypatch, tmp_path):
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("LLMMON_CONFIG", str(path))
    s = load_settings()
    assert s.source == str(path)
    assert s.warehouse.url == f"sqlite:///{tmp_path}/wh.db"
    assert s.golden_sets_dir == str(tmp_path / "sets")
    assert s.endpoint("prod").base_url == "https://api.example.com/v1"  # trailing slash dropped
    assert s.prices[0].effective_from == dt.date(2026, 1, 1)


def test_env_references_expand_with_defaults(tmp_path):
    text = GOOD.replace("https://api.example.com/v1/", "${API_BASE:-http://localhost:9/v1}")
    assert load_settings(write(tmp_path, text), env={}).endpoint("prod").base_url == "http://localhost:9/v1"
    s = load_settings(write(tmp_path, text), env={"API_BASE": "http://other:1/v1"})
    assert s.endpoint("prod").base_url == "http://other:1/v1"
    with pytest.raises(ConfigError, match="environment variable NOPE is referenced but not set"):
        load_settings(write(tmp_path, GOOD.replace("m-1\n    api", "${NOPE}\n    api")), env={})


@pytest.mark.parametrize(
    "mutate, key, reason",
    [
        (lambda t: t.replace("https://api.example.com/v1/", "ftp://x"), "endpoints.0.base_url", "http(s) URL"),
        (lambda t: t.replace("input_per_mtok: 1.0", "input_per_mtok: -1"), "prices.0.input_per_mtok",
         "greater than or equal to 0"),
        (lambda t: t.replace("api_key: {env: PROD_KEY}", "api_key: {env: A, airflow_connection: b}"),
         "endpoints.0.api_key", "exactly one"),
        (lambda t: t + "thresholds: {min_effect: 2}\n", "thresholds.min_effect", "less than or equal to 1"),
        (lambda t: t + "surprise: 1\n", "surprise", "Extra inputs are not permitted"),
        (lambda t: t.replace("    model: m-1\n", ""), "endpoints.0.model", "Field required"),
    ],
)
def test_invalid_file_names_file_key_and_reason(tmp_path, mutate, key, reason):
    path = write(tmp_path, mutate(GOOD))
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    msg = str(err.value)
    assert str(path) in msg and f"key '{key}'" in msg and reason in msg


def test_yaml_syntax_error_names_line(tmp_path):
    path = write(tmp_path, "endpoints: [\n  - {name: a\n")
    with pytest.raises(ConfigError, match=r"llmmon.yaml line \d+, column \d+: not valid YAML"):
        load_settings(path, env={})


def test_missing_file_and_duplicate_endpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMMON_CONFIG", str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigError, match="absent.yaml .set by LLMMON_CONFIG. does not exist"):
        load_settings()
    dup = GOOD.replace("prices:", "  - {name: prod, base_url: 'http://a/v1', model: x}\nprices:")
    with pytest.raises(ConfigError, match="repeated: prod"):
        load_settings(write(tmp_path, dup), env={})


def test_unknown_endpoint_lists_known_ones(tmp_path):
    s = load_settings(write(tmp_path, GOOD), env={})
    with pytest.raises(ConfigError, match=r"unknown endpoint 'nope' .* prod"):
        s.endpoint("nope")


def test_env_secret_resolver():
    resolve = env_secret_resolver({"KEY": "sk-123", "AIRFLOW_CONN_HOOK": "https://:tok%2Fen@hooks.example.com/x",
                                   "AIRFLOW_CONN_JSON": '{"conn_type": "http", "password": "pw"}'})
    assert resolve(SecretRef(env="KEY")) == "sk-123"
    assert resolve(SecretRef(airflow_connection="hook")) == "tok/en"
    assert resolve(SecretRef(airflow_connection="json")) == "pw"
    with pytest.raises(ConfigError, match="environment variable MISSING is not set") as err:
        resolve(SecretRef(env="MISSING"))
    assert "sk-123" not in str(err.value)
    with pytest.raises(ConfigError, match="AIRFLOW_CONN_OTHER"):
        resolve(SecretRef(airflow_connection="other"))


def test_parse_aware_time_names_the_flag_and_refuses_a_naive_time():
    import datetime as dt

    from llmmon.config import parse_aware_time
    from llmmon.errors import ConfigError

    assert parse_aware_time("2026-11-28T05:00:00Z", "--start") == dt.datetime(2026, 11, 28, 5, tzinfo=dt.UTC)
    with pytest.raises(ConfigError, match=r"--start: '2026-11-28T05:00:00' needs a time zone"):
        parse_aware_time("2026-11-28T05:00:00", "--start")
    with pytest.raises(ConfigError, match=r"--end: 'tomorrow' is not an ISO 8601 time"):
        parse_aware_time("tomorrow", "--end")
