"""The Evidently HTML report of a drift run: for people, on a bounded sample; the verdict is llmmon's, on all rows.

The drift step keeps a sample of the features (``sample_rows`` per side; no prompt text unless
``drift.report.include_text``) next to the report, as Parquet under the run's artifact folder. This step reads it,
runs Evidently's ``DataDriftPreset`` with explicit methods (KS for numeric columns, Jensen-Shannon for categorical
ones), puts llmmon's verdict table on top of the page, writes ``report.html`` through fsspec (a local folder or any
fsspec URL) and links it from ``drift_runs.report_uri``. Evidently is imported here only: it costs about 7 s.
"""

from __future__ import annotations

import html
import io
import json
from typing import TYPE_CHECKING, Any

from llmmon.drift.job import artifact_dir, artifacts_root
from llmmon.drift_config import CATEGORICAL_FEATURES, NUMERIC_FEATURES

if TYPE_CHECKING:
    from llmmon.config import Settings
    from llmmon.warehouse import Warehouse

SIDES = ("reference", "current")


def save_sample(root: str, run_key: str, sample: dict[str, dict[str, list[Any]]]) -> str:
    """Write the report sample (one Parquet file per side) under the run's folder; returns the folder."""
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = artifact_dir(root, run_key)
    for side in SIDES:
        columns = sample.get(side) or {}
        table = pa.table({k: pa.array(v, type=pa.string() if k not in NUMERIC_FEATURES else pa.float64())
                          for k, v in columns.items()})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        with fsspec.open(f"{folder}/sample-{side}.parquet", "wb", auto_mkdir=True) as fh:
            fh.write(buf.getvalue())
    return folder


def load_sample(folder: str) -> dict[str, Any]:
    """The two sides' samples as pandas DataFrames."""
    import fsspec
    import pyarrow.parquet as pq

    out = {}
    for side in SIDES:
        with fsspec.open(f"{folder}/sample-{side}.parquet", "rb") as fh:
            out[side] = pq.read_table(io.BytesIO(fh.read())).to_pandas()
    return out


def _verdict_html(run: dict[str, Any], metrics: list[dict[str, Any]]) -> str:
    esc = html.escape
    rows = []
    for m in metrics:
        if not m["decisive"] and m["method"] != "new_categories":
            continue

        def num(x: Any) -> str:
            return "" if x is None else f"{x:.4g}"

        verdict = "DRIFTED" if m["drifted"] else ("not tested" if not m["tested"] else "no drift")
        rows.append(f"<tr><td>{esc(m['feature'])}</td><td>{esc(m['method'])}</td><td>{num(m['statistic'])}</td>"
                    f"<td>{num(m['threshold'])}</td><td>{num(m['p_adjusted'])}</td><td>{num(m['effect'])}</td>"
                    f"<td>{num(m['effect_floor'])}</td><td><b>{verdict}</b></td><td>{esc(m['reason'] or '')}</td></tr>")
    head = (f"llmmon drift verdict (all rows: {run['n_cur']:,} current vs {run['n_ref']:,} reference spans; "
            f"the Evidently report below is a sample): {'DRIFTED' if run['drifted'] else run['status']}")
    return (
        '<div style="font-family:sans-serif;margin:16px;padding:12px;border:1px solid #999">'
        f"<h2>{esc(head)}</h2><p>window {esc(str(run['window_start']))} .. {esc(str(run['window_end']))}, "
        f"reference {esc(run['reference'])} ({esc(str(run['reference_start']))} .. "
        f"{esc(str(run['reference_end']))}), endpoint {esc(run['endpoint'] or 'all')}</p>"
        + (f"<p>{esc(run['reason'])}</p>" if run.get("reason") else "")
        + '<table border="1" cellpadding="4" style="border-collapse:collapse"><tr><th>feature</th><th>method</th>'
        "<th>statistic</th><th>calibrated threshold</th><th>adjusted p</th><th>effect</th><th>effect floor</th>"
        "<th>verdict</th><th>reason</th></tr>" + "".join(rows) + "</table></div>"
    )


def render_html(run: dict[str, Any], metrics: list[dict[str, Any]], frames: dict[str, Any],
                include_text: bool = False) -> str:
    """Evidently's DataDriftPreset on the sample, with llmmon's verdict on top. Columns that are null throughout
    either side are left out (Evidently fails on them) and named on the page."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = frames["reference"], frames["current"]
    usable = [c for c in ref.columns if c in cur.columns and ref[c].notna().any() and cur[c].notna().any()]
    if not include_text:
        usable = [c for c in usable if c != "prompt"]
    skipped = sorted(set(ref.columns) - set(usable) - ({"prompt"} if not include_text else set()))
    numeric = [c for c in usable if c in NUMERIC_FEATURES]
    categorical = [c for c in usable if c in CATEGORICAL_FEATURES]
    text = ["prompt"] if include_text and "prompt" in usable else []
    top = _verdict_html(run, metrics)
    if skipped:
        top += f"<p style='margin:16px'>Left out of the report (no values on one side): {html.escape(', '.join(skipped))}</p>"
    if not usable or len(ref) < 2 or len(cur) < 2:
        return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{top}</body></html>"
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical,
                                text_columns=text or None)
    data_ref = Dataset.from_pandas(ref[usable], data_definition=definition)
    data_cur = Dataset.from_pandas(cur[usable], data_definition=definition)
    report = Report([DataDriftPreset(columns=usable, num_method="ks", cat_method="jensenshannon")],
                    metadata={"llmmon_run_key": run["run_key"]})
    snapshot = report.run(data_cur, data_ref)
    page = snapshot.get_html_str(as_iframe=False)
    marker = page.find("<body")
    if marker >= 0:
        close = page.find(">", marker) + 1
        return page[:close] + top + page[close:]
    return top + page


def write_report(settings: Settings, warehouse: Warehouse, run_key: str, folder: str | None = None) -> str | None:
    """Render the run's report from its saved sample, store it and link it from ``drift_runs``; returns the URI
    (None when reports are disabled)."""
    import fsspec

    from llmmon.warehouse.drift_store import drift_metric_rows, get_drift_run, set_report_uri

    cfg = settings.drift.report
    if not cfg.enabled:
        return None
    run = get_drift_run(warehouse, run_key)
    if run is None:
        raise LookupError(f"no drift run {run_key!r}")
    folder = folder or artifact_dir(artifacts_root(settings.drift), run_key)
    metrics = drift_metric_rows(warehouse, run_key)
    try:
        frames = load_sample(folder)
    except FileNotFoundError:  # an inconclusive run keeps no sample: the page still says why
        import pandas as pd

        frames = {side: pd.DataFrame() for side in SIDES}
    page = render_html(run, metrics, frames, include_text=cfg.include_text)
    uri = f"{folder}/report.html"
    with fsspec.open(uri, "w", encoding="utf-8", auto_mkdir=True) as fh:
        fh.write(page)
    with fsspec.open(f"{folder}/verdict.json", "w", encoding="utf-8", auto_mkdir=True) as fh:
        json.dump({"run": run, "metrics": metrics}, fh, default=str, indent=1)
    set_report_uri(warehouse, run_key, uri)
    return uri
