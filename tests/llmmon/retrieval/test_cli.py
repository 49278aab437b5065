"""``llmmon retrieval ...`` end to end: validate, eval against the demo server, runs, metrics of a run file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmmon.cli import main

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def env(monkeypatch, demo_server, tmp_path):
    monkeypatch.setenv("LLMMON_HOME", str(ROOT))
    monkeypatch.setenv("LLMMON_DEMO_URL", demo_server.base_url)
    monkeypatch.setenv("LLMMON_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.delenv("LLMMON_CONFIG", raising=False)
    monkeypatch.chdir(ROOT)
    return tmp_path


def test_validate_eval_and_runs(env, capsys):
    assert main(["retrieval", "validate"]) == 0
    assert "rag_support@" in capsys.readouterr().out
    assert main(["retrieval", "eval", "--index-version", "v1", "--stage", "deploy", "--no-judge"]) == 0
    out = capsys.readouterr().out
    assert "index v1" in out and "recall@10 0.992" in out and "verdict no_baseline" in out
    assert main(["retrieval", "eval", "--index-version", "v2-degraded", "--no-judge", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"]["verdict"] == "regression" and result["n_failed"] == 0
    assert main(["retrieval", "runs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "v2-degraded manual success recall@10 0.539 verdict regression" in lines[0]


def test_metrics_of_a_run_file(env, capsys):
    run = env / "run.json"
    run.write_text(json.dumps({"rq-0001": ["kb-order-01", "kb-order-02"], "rq-0002": ["kb-order-04"]}))
    assert main(["retrieval", "metrics", str(run), "--metrics", "recall@1,mrr@2"]) == 0
    out = capsys.readouterr().out
    assert "recall@1       0.7500" in out and "mrr@2          1.0000" in out  # rq-0002: 1 of its 2 at rank 1
    run.write_text(json.dumps({"rq-0001": ["kb-order-01"], "nope": ["x"]}))
    assert main(["retrieval", "metrics", str(run)]) == 2
    assert "1 query id(s) of the run have no judgements: 'nope'" in capsys.readouterr().err
    run.write_text("{not json")
    assert main(["retrieval", "metrics", str(run)]) == 2
    assert "cannot read a JSON run" in capsys.readouterr().err
