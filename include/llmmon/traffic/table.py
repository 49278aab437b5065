"""An existing table of spans in the warehouse database (``table:<name>``, optionally ``table:<schema>.<name>``).

Same layout as Parquet files (canonical column names, or ``traffic.columns``), read in chunks of
``traffic.batch_rows`` rows with a server-side cursor where the dialect has one. Rows are read in primary-key
order (else by trace and span id), so a row number names the same row on a re-run. Timestamps without a time
zone are UTC on SQLite (it has no time-zone type; llmmon's own tables store UTC) and refused elsewhere unless
``traffic.assume_utc`` is set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from llmmon.traffic import TrafficError
from llmmon.traffic.canonical import normalize_flat
from llmmon.traffic.otlp import Chunk
from llmmon.traffic.validate import dumps_row
from llmmon.traffic_config import TrafficConfig
from llmmon.warehouse.store import READ_ONLY

TABLE_NAME = re.compile(r"^(?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)$")


def parse_table_source(source: str) -> tuple[str | None, str]:
    """``table:<schema>.<name>`` -> (schema or None, name); TrafficError for anything else."""
    name = source.removeprefix("table:")
    m = TABLE_NAME.match(name)
    if m is None:
        raise TrafficError(f"source {source!r}: expected table:<name> or table:<schema>.<name> (letters, digits, _)")
    return m.group(1), m.group(2)


def read_table(
    engine: sa.Engine, source: str, config: TrafficConfig, *, ref: Callable[[str], str], raw_chars: int,
) -> Iterator[Chunk]:
    """Working-table chunks of the table named by ``source``."""
    import pyarrow as pa

    schema, name = parse_table_source(source)
    with engine.connect() as conn:
        # Read-only: on SQLite a plain BEGIN, so this reader does not queue for the write lock that the
        # ingestion's own transaction holds (WAL lets it read beside the writer).
        conn.execution_options(**{READ_ONLY: True})
        try:
            table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
        except sa.exc.NoSuchTableError:
            raise TrafficError(f"source {source!r}: no table {name!r} in the warehouse database") from None
        order = list(table.primary_key.columns)
        if not order:
            mapped = {v: k for k, v in config.columns.items()}
            order = sorted((c for c in table.columns if mapped.get(c.name, c.name) in ("trace_id", "span_id")),
                           key=lambda c: mapped.get(c.name, c.name))
        assume_utc = config.assume_utc or engine.dialect.name == "sqlite"
        offset = 0
        result = conn.execution_options(stream_results=True, yield_per=config.batch_rows).execute(
            sa.select(table).order_by(*order)
        )
        names = list(result.keys())
        for part in result.partitions():
            columns = {n: [_plain(row[i]) for row in part] for i, n in enumerate(names)}
            try:
                arrow = pa.table(columns)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise TrafficError(f"{source}: rows {offset}..{offset + len(part) - 1} cannot be read: {exc}") from None
            working = normalize_flat(arrow, config, where=source, source=source, ref_prefix=ref("#"),
                                     offset=offset, assume_utc=assume_utc)
            rows = [dict(zip(names, row, strict=True)) for row in part]

            def raw(i: int, rows: list = rows) -> str:
                return dumps_row(rows[i])[:raw_chars]

            yield Chunk(table=working, raw=raw, read=len(part))
            offset += len(part)


def _plain(value: Any) -> Any:
    # JSON columns come back parsed: back to JSON text, which the working table expects.
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value
