"""Ingest production LLM spans: read a source, validate every record, write the valid ones to ``llm_spans``.

``ingest(settings, warehouse, source, batch_id=...)`` reads an fsspec path (a file, a folder or a glob; local by
default, ``s3://`` and others where the filesystem is installed) of OTLP JSON or Parquet files, or
``table:<name>`` in the warehouse database. Records stream through in record batches: each becomes a working
table (``canonical``), is validated (``validate``: pyarrow rules cross-checked by Great Expectations), and its
valid rows get a cost from the price table (when the span does not carry one) and are written; failing records
go to ``llm_spans_quarantine`` with their reasons. Spans, quarantine, provider deployments (``changes``) and the
``ingest_batches`` row are written in ONE transaction: a failure leaves nothing half-written (the failure itself
is recorded in ``ingest_batches``). Idempotent: a span already stored is kept as it is, and re-running a
``batch_id`` rewrites its quarantine and batch row, so a retried task converges.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from llmmon.config import Settings
from llmmon.traffic import TrafficError
from llmmon.warehouse import Warehouse
from llmmon.warehouse.schema import KEY

log = logging.getLogger(__name__)

FORMATS = ("otlp_json", "parquet", "table")
_EXTENSIONS = {
    ".json": "otlp_json", ".jsonl": "otlp_json", ".ndjson": "otlp_json",
    ".parquet": "parquet", ".pq": "parquet",
}
_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst", ".zstd", ".lz4", ".snappy")


@dataclass
class IngestReport:
    """What one ingestion did. ``read`` = ``valid`` + ``quarantined`` + ``skipped``; ``inserted``: valid spans
    that were new (the others were already stored: an earlier batch, or repeated in this one)."""

    batch_id: str
    read: int = 0
    valid: int = 0
    quarantined: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    new_deployments: list[str] = field(default_factory=list)
    skipped: int = 0
    inserted: int = 0
    format: str | None = None
    files: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.by_reason.items())) or "none"
        line = (f"batch {self.batch_id}: read {self.read} ({len(self.files)} file(s), {self.format}), "
                f"valid {self.valid} ({self.inserted} new), quarantined {self.quarantined} [{reasons}], "
                f"skipped {self.skipped} (not LLM spans)")
        if self.new_deployments:
            line += f"; provider model changes: {', '.join(self.new_deployments)}"
        return line


# ---------------------------------------------------------------------------------------------- sources
@dataclass
class _Source:
    format: str
    files: list[tuple[Any, str, str]]  # (filesystem, path, url shown in row refs)
    table: str | None = None


def _format_of(path: str) -> str | None:
    name = path.lower()
    for ext in _COMPRESSIONS:
        name = name.removesuffix(ext)
    for ext, fmt in _EXTENSIONS.items():
        if name.endswith(ext):
            return fmt
    return None


def _is_data_file(path: str) -> bool:
    base = path.rstrip("/").rsplit("/", 1)[-1]
    return not base.startswith((".", "_")) and _format_of(path) is not None


def resolve_source(source: str, format: str | None = None) -> _Source:
    """The files (or table) of ``source`` and their format; TrafficError when it cannot be read."""
    if format is not None and format not in FORMATS:
        raise TrafficError(f"format {format!r} is not one of {', '.join(FORMATS)}")
    if source.startswith("table:"):
        if format not in (None, "table"):
            raise TrafficError(f"source {source!r} is a table; format {format!r} does not apply")
        from llmmon.traffic.table import parse_table_source

        parse_table_source(source)
        return _Source("table", [], table=source)
    if format == "table":
        raise TrafficError(f"format 'table' needs a source table:<name>, got {source!r}")
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(source)
    except (ImportError, ValueError) as exc:
        raise TrafficError(f"source {source!r}: {exc}") from None
    local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))

    def url(p: str) -> str:
        return p if local else fs.unstrip_protocol(p)

    if any(ch in path for ch in "*?["):
        paths = sorted(p for p in fs.glob(path) if fs.isfile(p))
        if not paths:
            raise TrafficError(f"source {source!r}: no file matches")
    elif fs.isdir(path):
        paths = sorted(p for p in fs.find(path) if _is_data_file(p))
    elif fs.exists(path):
        paths = [path]
    else:
        raise TrafficError(f"source {source!r}: no such file or folder")
    formats = {p: format or _format_of(p) for p in paths}
    unknown = [p for p, f in formats.items() if f is None]
    if unknown:
        raise TrafficError(
            f"source {source!r}: cannot tell the format of {url(unknown[0])} from its name "
            "(.jsonl/.json: OTLP JSON, .parquet: Parquet); pass format"
        )
    found = sorted(set(formats.values()))
    if len(found) > 1:
        raise TrafficError(f"source {source!r} mixes formats ({', '.join(found)}): ingest them as separate batches")
    chosen = found[0] if found else (format or "otlp_json")
    return _Source(chosen, [(fs, p, url(p)) for p in paths])


def resolve_default_source(settings: Settings) -> str:
    """``settings.traffic.source``, a relative local path resolved against the config file's folder (embedded
    defaults: ``LLMMON_HOME``, else the current directory)."""
    import os
    from pathlib import Path

    from llmmon.config import DEFAULTS_PATH, HOME_ENV

    src = settings.traffic.source
    if src.startswith("table:") or "://" in src or Path(src).expanduser().is_absolute():
        return src
    config_file = Path(settings.source)
    if config_file.is_file() and config_file.resolve() != DEFAULTS_PATH.resolve():
        base = config_file.parent
    else:
        base = Path(os.environ.get(HOME_ENV) or os.getcwd())
    return str(base / Path(src).expanduser())


def _row_ref(url: str) -> Callable[[str], str]:
    """Row references ``<url>:<line>[:<span>]`` or ``<url>#<row>`` that fit the key column: a URL longer than the
    key allows (less room for the suffix) keeps its tail, after a hash of the whole URL."""
    room = KEY - 24  # a line and span number, or a row number, always fit after it
    if len(url) > room:
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        url = f"{digest}~…{url[-(room - len(digest) - 2):]}"

    def ref(suffix: str) -> str:
        return f"{url}{suffix}" if suffix.startswith("#") else f"{url}:{suffix}"

    return ref


def _chunks(src: _Source, settings: Settings, warehouse: Warehouse) -> Iterator[Any]:
    from llmmon.traffic.canonical import AttributeMapper

    cfg = settings.traffic
    if src.format == "table":
        from llmmon.traffic.table import read_table

        yield from read_table(warehouse.engine, src.table, cfg, ref=_row_ref(src.table),
                              raw_chars=cfg.quarantine_raw_chars)
        return
    mapper = AttributeMapper(cfg)
    for fs, path, url in src.files:
        try:
            f = fs.open(path, "rb", compression="infer")
        except (OSError, ValueError) as exc:
            raise TrafficError(f"{url}: cannot open: {exc}") from None
        with f:
            if src.format == "parquet":
                from llmmon.traffic.parquet import read_parquet

                yield from read_parquet(f, url, cfg, ref=_row_ref(url), raw_chars=cfg.quarantine_raw_chars)
            else:
                from llmmon.traffic.otlp import read_otlp_json

                yield from read_otlp_json(f, url, mapper, ref=_row_ref(url), raw_chars=cfg.quarantine_raw_chars,
                                          chunk_spans=min(cfg.batch_rows, 5000))


# ---------------------------------------------------------------------------------------------- costs
def add_costs(table: Any, prices: Any) -> Any:
    """Fill ``cost_usd`` where the span carries none, from the price table on the span's start date (UTC): the
    response model's price, else the requested model's (as the endpoint client does). ``cost_known`` says
    whether a cost is known; an unpriced model or a missing token count leaves it null, never 0."""
    import pyarrow as pa
    import pyarrow.compute as pc

    day = pc.divide(table.column("start_ns"), 86_400 * 1_000_000_000)
    day_text = pc.cast(day, pa.string())
    epoch = dt.date(1970, 1, 1)
    inp, out = table.column("input_tokens"), table.column("output_tokens")
    costs = []
    for model_column in ("response_model", "request_model"):
        key = pc.binary_join_element_wise(table.column(model_column), day_text, "\x1f")
        unique = pc.unique(key).drop_null()
        rate_in, rate_out = [], []
        for k in unique.to_pylist():
            model, d = k.split("\x1f")
            rates = prices.rates(model, epoch + dt.timedelta(days=int(d)))
            rate_in.append(rates.input_per_mtok if rates else None)
            rate_out.append(rates.output_per_mtok if rates else None)
        idx = pc.index_in(key, value_set=unique)
        r_in = pc.take(pa.array(rate_in, pa.float64()), idx)
        r_out = pc.take(pa.array(rate_out, pa.float64()), idx)
        cost = pc.divide(pc.add(pc.multiply(pc.cast(inp, pa.float64(), safe=False), r_in),
                                pc.multiply(pc.cast(out, pa.float64(), safe=False), r_out)), 1_000_000.0)
        costs.append(cost)
    carried = table.column("cost_usd")
    cost = pc.coalesce(carried, *costs)
    i = table.schema.get_field_index("cost_usd")
    table = table.set_column(i, "cost_usd", cost)
    return table.append_column("cost_known", pc.is_valid(cost))


# ---------------------------------------------------------------------------------------------- ingest
def ingest(
    settings: Settings, warehouse: Warehouse, source: str, *, batch_id: str, format: str | None = None,
) -> IngestReport:
    """Ingest ``source`` as batch ``batch_id`` (see the module docstring); returns what it did.

    Raises :class:`~llmmon.traffic.TrafficError` when the source cannot be read as a whole (no such file, a
    Parquet schema without the required columns, an unknown table), after recording the failure.
    """
    if not isinstance(batch_id, str) or not batch_id.strip() or len(batch_id) > KEY:
        raise TrafficError(f"batch_id must be a non-empty string of at most {KEY} characters, got {batch_id!r}")
    started = dt.datetime.now(dt.UTC)
    report = IngestReport(batch_id=batch_id)
    try:
        src = resolve_source(source, format or settings.traffic.format)
        report.format = src.format
        report.files = [u for _, _, u in src.files] or ([src.table] if src.table else [])
        _run(settings, warehouse, src, report, started, source)
    except Exception as exc:
        from llmmon.warehouse.traffic_store import record_failed_batch

        try:
            record_failed_batch(warehouse, {
                "batch_id": batch_id, "source": source, "format": report.format, "files": len(report.files),
                "started_at": started, "finished_at": dt.datetime.now(dt.UTC),
                "error": f"{type(exc).__name__}: {exc}"[:4000],
            })
        except Exception:  # the original error matters more than a failure to record it
            log.exception("ingest %s: could not record the failed batch", batch_id)
        raise
    return report


def _run(settings: Settings, warehouse: Warehouse, src: _Source, report: IngestReport, started: dt.datetime,
         source: str) -> None:
    import pyarrow as pa

    from llmmon.prices import PriceTable
    from llmmon.traffic.changes import ServedModels, record_model_changes
    from llmmon.traffic.validate import Validator, add_derived, build_rules, quarantine_rows
    from llmmon.warehouse.traffic_store import BatchWriter

    cfg = settings.traffic
    prices = PriceTable(settings.prices)
    rules = build_rules(cfg, now=started)
    validator = Validator(rules, great_expectations=cfg.great_expectations)
    pool = pa.default_memory_pool()
    by_reason: Counter = Counter()
    served = ServedModels()
    t = dict.fromkeys(("read", "validate", "write"), 0.0)
    t0 = time.perf_counter()
    try:
        with BatchWriter(warehouse, report.batch_id, ingested_at=started) as writer:
            writer.clear_quarantine()
            chunks = _chunks(src, settings, warehouse)
            while True:
                mark = time.perf_counter()
                chunk = next(chunks, None)
                t["read"] += time.perf_counter() - mark
                if chunk is None:
                    break
                report.read += chunk.read
                report.skipped += chunk.skipped
                for bad in chunk.bad:
                    by_reason[bad["rule"]] += 1
                writer.quarantine(chunk.bad)
                report.quarantined += len(chunk.bad)
                if chunk.table is None or chunk.table.num_rows == 0:
                    continue
                mark = time.perf_counter()
                table = add_derived(chunk.table)
                outcome = validator.check(table)
                bad_rows = quarantine_rows(table, outcome, rules, chunk.raw, cfg.quarantine_raw_chars)
                good = table.filter(pa.array(~outcome.bad))
                good = add_costs(good, prices)
                t["validate"] += time.perf_counter() - mark
                mark = time.perf_counter()
                writer.quarantine(bad_rows)
                report.inserted += writer.insert_spans(good)
                by_reason.update(outcome.by_rule)
                report.quarantined += len(bad_rows)
                report.valid += good.num_rows
                served.add(good)
                del chunk, table, good
                pool.release_unused()  # hand freed batch memory back: peak stays about one batch
                t["write"] += time.perf_counter() - mark
            mark = time.perf_counter()
            validator.finish()  # the last pooled Great Expectations run must agree before anything commits
            t["validate"] += time.perf_counter() - mark
            mark = time.perf_counter()
            _, report.new_deployments = record_model_changes(writer, served)
            report.by_reason = dict(sorted(by_reason.items()))
            writer.finish({
                "source": source, "format": src.format, "files": len(report.files), "read": report.read,
                "valid": report.valid, "quarantined": report.quarantined, "skipped": report.skipped,
                "by_reason": report.by_reason, "started_at": started, "finished_at": dt.datetime.now(dt.UTC),
            })
            t["changes"] = time.perf_counter() - mark
        t["commit"] = writer.commit_seconds
    finally:
        validator.close()
    t["great_expectations"] = validator.ge_seconds
    t["total"] = time.perf_counter() - t0
    report.timings = {k: round(v, 3) for k, v in t.items()}
    log.info("%s", report.summary())
