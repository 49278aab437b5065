"""The example queries of docs/drift.md run on both dialects and find the rows of a drifted run."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from llmmon.drift.job import run_drift
from llmmon.drift_config import NamedReference

from .spans import T0, insert_spans, span_rows

DOC = Path(__file__).resolve().parents[3] / "docs" / "drift.md"
H = dt.timedelta(hours=1)


def test_doc_queries_run_and_find_rows(make_settings, warehouse):
    s = make_settings(warehouse.engine.url.render_as_string(hide_password=False))
    s = s.model_copy(update={"drift": s.drift.model_copy(update={
        "reference": "base", "references": {"base": NamedReference(start=T0, end=T0 + H)}, "calibration": 199})})
    insert_spans(warehouse, span_rows(300, T0, seed=1) + span_rows(100, T0 + 24 * H, seed=2, latency=4.0))
    assert run_drift(s, warehouse, window_start=T0 + 24 * H, window_end=T0 + 25 * H).run["drifted"]
    queries = re.findall(r"^```sql\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)
    assert len(queries) == 2
    for sql in queries:
        with warehouse.engine.connect() as conn:
            assert conn.exec_driver_sql(sql.strip()).fetchall(), sql
