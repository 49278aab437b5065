"""Production traffic in: OTLP JSON files, Parquet files or a warehouse table, validated, into ``llm_spans``.

``llmmon.traffic.ingest.ingest`` is the entry point (docs/traffic.md). This package module stays light: DAG
files import it at parse time; the readers, pyarrow and Great Expectations load inside ``ingest``.
"""

from __future__ import annotations

from llmmon.errors import LlmmonError


class TrafficError(LlmmonError):
    """A traffic source cannot be read as a whole (missing file, unusable schema, unknown table or format).

    Bad records inside a readable source are never raised: they are quarantined with their reason.
    """


__all__ = ["TrafficError"]
