"""Configuration of production-traffic ingestion (issue 4): ``settings.traffic``.

Every field has a default, so the embedded defaults load without a ``traffic:`` section. Every team names its
span attributes its own way: each canonical column of ``llm_spans`` lists the attribute names it is read from,
tried in order (span attributes first, then resource attributes). See docs/traffic.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

# Canonical columns a configuration may declare required (besides the ids and timestamps, always required).
REQUIRABLE = (
    "name", "operation", "request_model", "response_model", "endpoint", "model_version", "prompt_template",
    "user_segment", "replica", "input_tokens", "output_tokens", "prompt", "completion",
)
Requirable = Literal[
    "name", "operation", "request_model", "response_model", "endpoint", "model_version", "prompt_template",
    "user_segment", "replica", "input_tokens", "output_tokens", "prompt", "completion",
]
# Canonical columns a Parquet file or table may carry under another name (``traffic.columns``).
MAPPABLE_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "operation", "start_time", "end_time", "ttft_s", "status",
    "error_type", "request_model", "response_model", "system_fingerprint", "input_tokens", "output_tokens",
    "cost_usd", "endpoint", "model_version", "prompt_template", "user_segment", "replica", "retrieved_doc_ids",
    "retrieval_scores", "prompt", "completion", "finish_reason", "reference", "attributes",
)


def _names(value: object) -> object:
    # One attribute name or a list of them: "app.tier" means ["app.tier"].
    return [value] if isinstance(value, str) else value


Names = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], BeforeValidator(_names), Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpanAttributes(_Strict):
    """Where each canonical column comes from in an OTLP span: attribute names, tried in order.

    The GenAI semantic conventions give the defaults of the model, usage and content columns (with their older
    names as fallbacks); llmmon's own ``llmmon.*`` names give the slicing attributes. A team that calls its user
    segment ``app.customer_tier`` writes ``user_segment: app.customer_tier`` (or a list).
    """

    operation: Names = ("gen_ai.operation.name",)
    request_model: Names = ("gen_ai.request.model",)
    response_model: Names = ("gen_ai.response.model",)
    system_fingerprint: Names = ("openai.response.system_fingerprint", "gen_ai.openai.response.system_fingerprint")
    input_tokens: Names = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
    output_tokens: Names = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
    finish_reason: Names = ("gen_ai.response.finish_reasons",)
    error_type: Names = ("error.type",)
    ttft_s: Names = ("llmmon.ttft_s", "gen_ai.response.time_to_first_chunk")
    cost_usd: Names = ("llmmon.cost_usd",)
    endpoint: Names = ("llmmon.endpoint",)
    model_version: Names = ("llmmon.model_version",)
    prompt_template: Names = ("llmmon.prompt_template",)
    user_segment: Names = ("llmmon.user_segment",)
    replica: Names = ("llmmon.replica",)
    retrieved_doc_ids: Names = ("llmmon.retrieved_doc_ids",)
    retrieval_scores: Names = ("llmmon.retrieval_scores",)
    reference: Names = ("llmmon.reference",)
    # Content as attributes: the older gen_ai.prompt / gen_ai.completion, the newer structured messages.
    prompt: Names = ("gen_ai.prompt", "gen_ai.input.messages")
    completion: Names = ("gen_ai.completion", "gen_ai.output.messages")


class ContentEvent(_Strict):
    """A span event that carries prompt or completion content in one of its attributes."""

    event: Annotated[str, Field(min_length=1)]
    attribute: Annotated[str, Field(min_length=1)]


class TrafficLimits(_Strict):
    """Plausible values: a span outside them is quarantined, not ingested.

    ``min_start_time`` catches clocks at the epoch; ``max_clock_skew_s`` spans stamped in the future (start
    time later than the ingestion plus this). Token counts and TTFT must lie in ``[0, max]``; durations in
    ``[0, max_duration_s]`` (a negative duration, end before start, has its own rule).
    """

    max_duration_s: Annotated[float, Field(gt=0)] = 3600.0
    max_ttft_s: Annotated[float, Field(gt=0)] = 3600.0
    max_tokens: Annotated[int, Field(ge=1)] = 10_000_000
    min_start_time: dt.date = dt.date(2000, 1, 1)
    max_clock_skew_s: Annotated[float, Field(ge=0)] = 86400.0


class TrafficConfig(_Strict):
    """Production-traffic ingestion settings (``traffic:`` in the config file).

    ``source``: what ``llmmon ingest`` (and the ingest DAG) reads when no source is given: any fsspec path, glob
    or folder, or ``table:<name>``; a relative local path resolves against the config file's folder (embedded
    defaults: ``LLMMON_HOME``). ``columns`` maps canonical column names to other column names in Parquet files
    and tables. ``required``: canonical columns a span must have, besides its ids and timestamps (always
    required). Spans of an OTLP file with no ``gen_ai.*`` attribute (and none of the configured operation or
    request-model attributes) are not LLM calls: they are counted as skipped. ``default_endpoint`` fills the
    endpoint of spans that carry none. ``assume_utc``: read timestamps without a time zone in Parquet files as
    UTC (otherwise such a file is refused: a guessed time zone shifts every window). ``batch_rows``: rows per
    record batch (bounds memory). ``great_expectations``: run the Great Expectations suite on every record
    batch besides llmmon's vectorised rules (both must agree; off saves time on very large backfills).
    """

    source: Annotated[str, Field(min_length=1)] = ".llmmon/traffic"
    format: Literal["otlp_json", "parquet", "table"] | None = None
    attributes: SpanAttributes = SpanAttributes()
    prompt_events: tuple[ContentEvent, ...] = (
        ContentEvent(event="gen_ai.content.prompt", attribute="gen_ai.prompt"),
        ContentEvent(event="gen_ai.client.inference.operation.details", attribute="gen_ai.input.messages"),
    )
    completion_events: tuple[ContentEvent, ...] = (
        ContentEvent(event="gen_ai.content.completion", attribute="gen_ai.completion"),
        ContentEvent(event="gen_ai.client.inference.operation.details", attribute="gen_ai.output.messages"),
    )
    columns: dict[str, str] = {}
    required: tuple[Requirable, ...] = ("operation", "request_model", "endpoint")
    default_endpoint: str | None = None
    assume_utc: bool = False
    limits: TrafficLimits = TrafficLimits()
    batch_rows: Annotated[int, Field(ge=100, le=10_000_000)] = 100_000
    great_expectations: bool = True
    quarantine_raw_chars: Annotated[int, Field(ge=100, le=1_000_000)] = 4096

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, columns: dict[str, str]) -> dict[str, str]:
        unknown = sorted(k for k in columns if k not in MAPPABLE_COLUMNS)
        if unknown:
            raise ValueError(f"unknown canonical column(s) {unknown}; columns are: {', '.join(MAPPABLE_COLUMNS)}")
        targets = list(columns.values())
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise ValueError(f"a source column may feed one canonical column only; repeated: {repeated}")
        return columns
