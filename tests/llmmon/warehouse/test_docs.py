"""docs/warehouse.md mirrors schema.py, and every example query on it runs on both dialects."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from llmmon.warehouse.schema import TABLES

DOC = Path(__file__).resolve().parents[3] / "docs" / "warehouse.md"
BASE = "golden_eval/manual__2026-11-27T09:00:00+00:00"
CUR = "golden_eval/manual__2026-11-28T09:00:00+00:00"


def _doc() -> str:
    """docs/warehouse.md and the capability pages it links (docs/warehouse/*.md), as one text."""
    pages = [DOC, *sorted(DOC.with_suffix("").glob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages)


def _section(text: str, table: str) -> str:
    match = re.search(rf"^### `{table}`\n(.*?)(?=^#{{2,3}} |\Z)", text, re.S | re.M)
    if match is None:
        pytest.fail(f"{DOC}: no '### `{table}`' section")
    return match.group(1)


def test_every_table_and_column_has_a_comment():
    for table in TABLES:
        assert table.comment, f"table {table.name} has no comment"
        for column in table.columns:
            assert column.comment, f"column {table.name}.{column.name} has no comment"


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_docs_mirror_the_table_and_column_comments(table):
    section = _section(_doc(), table.name)
    assert section.strip().splitlines()[0] == table.comment
    documented = {}
    for line in section.splitlines():
        row = re.match(r"^\| `(\w+)`( \(key\))? \| [^|]+ \| (yes|no) \| (.*) \|$", line)
        if row:
            documented[row.group(1)] = (bool(row.group(2)), row.group(3) == "yes", row.group(4))
    expected = {c.name: (c.primary_key, c.nullable, c.comment) for c in table.columns}
    assert documented == expected


def _queries() -> list[tuple[str, str]]:
    """(info string, SQL) of every ```sql block: "sql" runs everywhere, "sql <dialect>" on that dialect."""
    return re.findall(r"^```(sql(?: \w+)?)\n(.*?)^```", _doc(), re.S | re.M)


def test_the_page_has_the_promised_example_queries():
    portable = [q for info, q in _queries() if info == "sql"]
    assert len(portable) >= 5
    for needle in ("pass_rate", "dimension = 'intent'", "ORDER BY latency_s DESC", "cost_usd", "state IN ('pending', 'firing')"):
        assert any(needle in q for q in portable), f"no example query uses {needle!r}"


def _populate(wh) -> None:
    now = dt.datetime.now(dt.UTC)
    wh.record_deployment("rel-41", endpoint="demo", model="llmmon-demo-v1", model_version="v1",
                         deployed_at=now - dt.timedelta(days=3), source="deploy_hook")
    wh.record_deployment("rel-42", endpoint="demo", model="llmmon-demo-v2", model_version="v2",
                         deployed_at=now - dt.timedelta(hours=1), source="deploy_hook")
    for key, version, day, passed in ((BASE, "v1", 27, (True, True, True)), (CUR, "v2", 28, (True, False, False))):
        start = dt.datetime(2026, 11, day, 9, tzinfo=dt.UTC)
        wh.start_eval_run({"run_key": key, "suite": "customer_support", "suite_version": "3", "endpoint": "demo",
                           "model_version": version, "started_at": start})
        results = [
            {"example_id": f"cs-{i}", "trial": 0, "intent": intent, "passed": ok, "score": float(ok),
             "latency_s": 0.4 + i, "ttft_s": 0.1, "cost_usd": 0.001, "score_details": {"ok": ok}}
            for i, (intent, ok) in enumerate(zip(("refund", "refund", "billing"), passed, strict=True))
        ]
        summaries = [
            {"dimension": "overall", "value": "all", "n": 3, "n_passed": sum(passed), "pass_rate": sum(passed) / 3},
            {"dimension": "intent", "value": "refund", "n": 2, "n_passed": sum(passed[:2]),
             "pass_rate": sum(passed[:2]) / 2},
            {"dimension": "intent", "value": "billing", "n": 1, "n_passed": int(passed[2]),
             "pass_rate": float(passed[2])},
        ]
        wh.write_eval_results(key, results, summaries, {
            "finished_at": start + dt.timedelta(minutes=5), "n_calls": 3, "n_passed": sum(passed),
            "pass_rate": sum(passed) / 3, "cost_usd": 0.003, "timing_suspect_share": 0.02, "loop_lag_p95_ms": 40.0,
        })
    from llmmon.alerts.defaults import merge_rules
    from llmmon.alerts.engine import evaluate_rules

    for key in (BASE, CUR):
        wh.set_verdict(key, None if key == BASE else BASE, "regression", {
            "verdict": "regression", "overall": {"subject": "overall", "regressed": True, "judged": True},
            "intents": []})
    evaluate_rules(wh, merge_rules([], default_routes=["oncall"]), now=dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC),
                   routes={})


def test_every_example_query_runs_and_finds_rows(warehouse):
    _populate(warehouse)
    dialect = warehouse.engine.dialect.name
    ran = 0
    for info, sql in _queries():
        if info not in ("sql", f"sql {dialect}"):
            continue
        with warehouse.engine.connect() as conn:
            rows = conn.exec_driver_sql(sql.strip().rstrip(";")).fetchall()
        assert rows, f"example query returned nothing on {dialect}:\n{sql}"
        ran += 1
    assert ran >= 6
