"""Silent model changes: the provider serves another model (or backend) under the same requested model name.

For each endpoint and requested model, llmmon remembers every served model — the pair (``gen_ai.response.model``,
system fingerprint) — with its first and last sighting in ok spans (table ``llm_served_models``; first and last
are a minimum and a maximum, so re-ingesting the same spans changes nothing, and ingesting older traffic later
moves a first sighting back to when it really happened). The earliest served model is what the endpoint served
when llmmon first saw it; every later one is a change the provider made, recorded as a deployment with source
``provider`` so triage's "what changed in the last 24 hours?" sees it. Its deploy id is deterministic
(``provider:<endpoint>:<response model>:<fingerprint or ->``) and its time is the first span's start. Only the
first appearance of a served model counts: a provider alternating between two backends gives two deployments,
not one per switch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from typing import Any

from llmmon.warehouse.schema import KEY
from llmmon.warehouse.traffic_store import BatchWriter

NO_FINGERPRINT = "-"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
Key = tuple[str, str, str, str]  # endpoint, request_model, response_model, fingerprint ("" for none)


def provider_deploy_id(endpoint: str, response_model: str, fingerprint: str | None) -> str:
    """``provider:<endpoint>:<response_model>:<fingerprint or ->``, hashed down to the key length if longer."""
    deploy_id = f"provider:{endpoint}:{response_model}:{fingerprint or NO_FINGERPRINT}"
    if len(deploy_id) <= KEY:
        return deploy_id
    digest = hashlib.sha256(deploy_id.encode()).hexdigest()[:16]
    return f"{deploy_id[: KEY - 18]}~{digest}"


def _when(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


class ServedModels:
    """The served models of one ingestion: per key, (first sighting, trace id, span id) and the last sighting."""

    def __init__(self) -> None:
        self.first: dict[Key, tuple[dt.datetime, str, str]] = {}
        self.last: dict[Key, dt.datetime] = {}

    def add(self, table: Any) -> None:
        """Add the valid rows of a working table (ok spans that name a served model, endpoint and request)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        c = table.column
        ok = pc.and_(pc.equal(c("status"), "ok"), pc.and_(
            pc.and_(pc.is_valid(c("response_model")), pc.is_valid(c("endpoint"))), pc.is_valid(c("request_model"))))
        sub = table.filter(ok).select(["endpoint", "request_model", "response_model", "system_fingerprint",
                                       "start_ns", "trace_id", "span_id"])
        if sub.num_rows == 0:
            return
        sub = sub.set_column(3, "system_fingerprint", pc.fill_null(sub.column("system_fingerprint"), pa.scalar("")))
        keys = ["endpoint", "request_model", "response_model", "system_fingerprint"]
        grouped = sub.group_by(keys).aggregate([("start_ns", "min"), ("start_ns", "max")])
        # The first span of each key: rows at their key's minimum start, then the smallest ids (deterministic).
        firsts = sub.join(grouped.select([*keys, "start_ns_min"]), keys=keys)
        firsts = firsts.filter(pc.equal(firsts.column("start_ns"), firsts.column("start_ns_min")))
        for r in firsts.to_pylist():
            key = (r["endpoint"], r["request_model"], r["response_model"], r["system_fingerprint"])
            candidate = (_when(r["start_ns"]), r["trace_id"], r["span_id"])
            if key not in self.first or candidate < self.first[key]:
                self.first[key] = candidate
        for r in grouped.select([*keys, "start_ns_max"]).to_pylist():
            key = (r["endpoint"], r["request_model"], r["response_model"], r["system_fingerprint"])
            last = _when(r["start_ns_max"])
            self.last[key] = max(self.last.get(key, last), last)

    @property
    def pairs(self) -> set[tuple[str, str]]:
        return {(k[0], k[1]) for k in self.first}


def record_model_changes(writer: BatchWriter, served: ServedModels) -> tuple[list[dict[str, Any]], list[str]]:
    """Merge this ingestion's served models into ``llm_served_models`` and record every provider-side change of
    their (endpoint, requested model) pairs as a deployment. Runs inside the ingestion's transaction.

    Returns (every deployment row written, the deploy ids that are new).
    """
    if not served.first:
        return [], []
    stored = {(r["endpoint"], r["request_model"], r["response_model"], r["system_fingerprint"]): r
              for r in writer.served_rows(sorted(served.pairs))}
    merged: dict[Key, dict[str, Any]] = {}
    for key, row in stored.items():
        merged[key] = {"first": (row["first_seen_at"], row["first_trace_id"], row["first_span_id"]),
                       "last": row["last_seen_at"]}
    updates = []
    for key, first in served.first.items():
        old = merged.get(key)
        new = {"first": min(first, old["first"]) if old else first,
               "last": max(served.last[key], old["last"]) if old else served.last[key]}
        merged[key] = new
        if new != old:
            updates.append({"endpoint": key[0], "request_model": key[1], "response_model": key[2],
                            "system_fingerprint": key[3], "first_seen_at": new["first"][0],
                            "last_seen_at": new["last"], "first_trace_id": new["first"][1],
                            "first_span_id": new["first"][2]})
    writer.upsert_served(updates)

    by_pair: dict[tuple[str, str], list[tuple[Key, dict[str, Any]]]] = defaultdict(list)
    for key, value in merged.items():
        by_pair[(key[0], key[1])].append((key, value))
    rows = []
    for (endpoint, request_model), combos in sorted(by_pair.items()):
        combos.sort(key=lambda kv: (kv[1]["first"], kv[0]))
        for (prev_key, prev), (key, cur) in zip(combos, combos[1:], strict=False):
            fingerprint = key[3] or None
            rows.append({
                "deploy_id": provider_deploy_id(endpoint, key[2], fingerprint),
                "endpoint": endpoint,
                "model": key[2],
                "model_version": fingerprint or key[2],
                "stage": "deploy",
                "source": "provider",
                "deployed_at": cur["first"][0],
                "details": {
                    "detected_by": "llmmon traffic ingestion (silent model change)",
                    "request_model": request_model,
                    "response_model": key[2],
                    "system_fingerprint": fingerprint,
                    "previous": {"response_model": prev_key[2], "system_fingerprint": prev_key[3] or None,
                                 "first_seen": prev["first"][0].isoformat()},
                    "first_trace_id": cur["first"][1],
                    "first_span_id": cur["first"][2],
                },
            })
    existing = writer.existing_deployments([r["deploy_id"] for r in rows])
    if rows:
        writer.record_deployments(rows)
    return rows, [r["deploy_id"] for r in rows if r["deploy_id"] not in existing]
