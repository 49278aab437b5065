"""The ``llmmon`` command line, run as a user would (a real subprocess), against the demo server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
LLMMON = str(Path(sys.executable).with_name("llmmon"))


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([LLMMON, *args], capture_output=True, text=True, env={**os.environ, **env}, cwd=ROOT,
                          timeout=300)


def test_eval_then_report_against_the_demo_server(demo_server, tmp_path):
    db = tmp_path / "wh.db"
    env = {"LLMMON_DEMO_URL": demo_server.base_url, "LLMMON_WAREHOUSE_URL": f"sqlite:///{db}"}
    first = run(["eval", "--max-examples", "16", "--model", "llmmon-demo-v1", "--model-version", "v1",
                 "--deploy-id", "cli-1", "--run-id", "one"], env)
    assert first.returncode == 0, first.stderr
    assert "pass rate" in first.stdout and "verdict vs baseline: no_baseline" in first.stdout
    assert "16/16 examples (shard 1/1) (100%), 0 errors" in first.stderr  # progress, with the final count
    second = run(["eval", "--max-examples", "16", "--model", "llmmon-demo-v2", "--model-version", "v2",
                  "--deploy-id", "cli-2", "--run-id", "two"], env)
    assert second.returncode == 0, second.stderr
    assert "(baseline cli/one)" in second.stdout
    report = run(["report", "cli/two"], env)
    assert report.returncode == 0 and "Run cli/two" in report.stdout and "SELECT" in report.stdout
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT COUNT(*) FROM eval_results")).scalar_one()
    engine.dispose()
    assert n == 32


def test_validate_golden_set():
    out = run(["validate-golden-set"], {})
    assert out.returncode == 0, out.stderr
    assert "golden set customer_support version" in out.stdout and "240 cases valid" in out.stdout


def test_bad_config_exits_2_naming_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("endpoints:\n  - {name: x, base_url: nope, model: m}\n")
    out = run(["validate-golden-set"], {"LLMMON_CONFIG": str(bad)})
    assert out.returncode == 2
    assert str(bad) in out.stderr and "key 'endpoints.0.base_url'" in out.stderr


def test_eval_on_unreachable_endpoint_fails_and_records_the_run(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "wh.db"
    env = {"LLMMON_DEMO_URL": f"http://127.0.0.1:{port}/v1", "LLMMON_WAREHOUSE_URL": f"sqlite:///{db}"}
    out = run(["eval", "--max-examples", "4", "--run-id", "down"], env)
    assert out.returncode == 2
    assert f"127.0.0.1:{port}" in out.stderr and "unreachable" in out.stderr
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT status, error FROM eval_runs WHERE run_key = 'cli/down'")).one()
        n = conn.execute(sa.text("SELECT COUNT(*) FROM eval_results")).scalar_one()
    engine.dispose()
    assert row.status == "failed" and "unreachable" in row.error and n == 0
