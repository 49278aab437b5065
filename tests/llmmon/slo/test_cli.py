"""``llmmon slo windows | aggregate | status`` on a real SQLite warehouse."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow.parquet as pq
import pytest

from llmmon.cli import main
from llmmon.config import DEFAULTS_PATH

from .conftest import ROOT, T0, arrow, ingest_rows, settings_for, span

M5 = dt.timedelta(minutes=5)


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    for key, value in {"LLMMON_WAREHOUSE_URL": url, "LLMMON_HOME": str(ROOT),
                       "LLMMON_CONFIG": str(DEFAULTS_PATH)}.items():
        monkeypatch.setenv(key, value)
    return url


def test_windows_status_and_aggregate(cli_env, tmp_path, capsys):
    from llmmon.warehouse import Warehouse

    settings = settings_for(cli_env)
    wh = Warehouse(cli_env)
    wh.upgrade()
    slow = [span(T0 + i * M5 + dt.timedelta(seconds=k), ttft_s=2.0, status="error" if k == 0 else "ok")
            for i in range(2) for k in range(25)]
    ingest_rows(settings, wh, tmp_path, slow, "b1")
    assert main(["slo", "windows", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["batches"], done["windows"], done["spans"], done["rows"]) == (["b1"], 2, 50, 10)
    assert main(["slo", "windows"]) == 0
    assert capsys.readouterr().out.startswith("0 ingestion(s)")

    assert main(["slo", "status", "--until", (T0 + 2 * M5).isoformat(), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    budgets = {b["slo"]: b for b in status["budgets"]}
    assert (budgets["ttft"]["bad"], budgets["ttft"]["total"]) == (48, 48)  # the errors have no TTFT sample
    assert (budgets["errors"]["bad"], budgets["errors"]["total"]) == (2, 50)
    assert budgets["errors"]["burn_rate"] == pytest.approx(0.04 / 0.005)
    fast = {p["slo"]: p for p in status["burn"]["fast"]}
    assert fast["ttft"]["value"] == pytest.approx(20.0) and fast["ttft"]["window_end"] == (T0 + 2 * M5).isoformat()
    assert main(["slo", "status", "--until", (T0 + 2 * M5).isoformat()]) == 0
    assert "fast burn" in capsys.readouterr().out

    path = tmp_path / "spans.parquet"
    pq.write_table(arrow([span(T0 + 3 * M5), span(T0 + 3 * M5, replica="r-1")]), path)
    assert main(["slo", "aggregate", str(path)]) == 0
    assert "1 window(s), 6 rows" in capsys.readouterr().out  # all, version, template, segment, 2 replicas
    assert main(["slo", "aggregate", str(tmp_path / "missing.parquet")]) == 2
    assert "cannot read spans" in capsys.readouterr().err
