"""Parquet files of spans, one row per span, read in record batches (memory stays bounded by the batch size).

Columns carry the canonical names of ``llm_spans`` (or are mapped to them with ``traffic.columns``): ``trace_id``,
``span_id``, ``start_time`` and ``end_time`` (timestamps with a time zone, or ``*_unix_nano`` integers) are
required; every other canonical column is optional. ``retrieved_doc_ids``/``retrieval_scores`` may be lists or
JSON text, ``attributes`` JSON text, a struct or a map. A file whose schema cannot be read that way is refused
as a whole (:class:`~llmmon.traffic.TrafficError`, nothing written): that is a configuration problem, not a
bad row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from llmmon.traffic.canonical import normalize_flat
from llmmon.traffic.otlp import Chunk
from llmmon.traffic.validate import dumps_row
from llmmon.traffic_config import TrafficConfig


def read_parquet(
    fileobj: Any, url: str, config: TrafficConfig, *, ref: Callable[[str], str], raw_chars: int,
) -> Iterator[Chunk]:
    """Working-table chunks of one Parquet file, ``config.batch_rows`` rows at a time."""
    import pyarrow.parquet as pq

    from llmmon.traffic import TrafficError

    try:
        parquet = pq.ParquetFile(fileobj)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise TrafficError(f"{url}: not a readable Parquet file: {exc}") from None
    offset = 0
    for batch in parquet.iter_batches(batch_size=config.batch_rows):
        table = normalize_flat(batch, config, where=url, source=url, ref_prefix=ref("#"), offset=offset)

        def raw(i: int, batch: Any = batch) -> str:
            return dumps_row(batch.slice(i, 1).to_pylist()[0])[:raw_chars]

        yield Chunk(table=table, raw=raw, read=batch.num_rows)
        offset += batch.num_rows
