"""Silent model changes: the provider serves another model (or backend) under the same requested model name.

For each (endpoint, requested model) of an ingestion, llmmon lists every served model — the pair
(``gen_ai.response.model``, system fingerprint) — with the start time of its first ok span in ``llm_spans``.
The earliest is what the endpoint served when llmmon first saw it; every later one is a change the provider
made, recorded as a deployment with source ``provider`` so triage's "what changed in the last 24 hours?" sees
it. The deploy id is deterministic (``provider:<endpoint>:<response model>:<fingerprint>``) and the deployment
time is the first span's start, so re-ingesting the same traffic records nothing new, and ingesting older
traffic later moves the change to when it really happened. Only the first appearance of a served model counts:
a provider that alternates between two backends yields two deployments, not one per switch.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from llmmon.warehouse.schema import KEY
from llmmon.warehouse.traffic_store import BatchWriter

NO_FINGERPRINT = "-"


def provider_deploy_id(endpoint: str, response_model: str, fingerprint: str | None) -> str:
    """``provider:<endpoint>:<response_model>:<fingerprint or ->``, hashed down to the key length if longer."""
    deploy_id = f"provider:{endpoint}:{response_model}:{fingerprint or NO_FINGERPRINT}"
    if len(deploy_id) <= KEY:
        return deploy_id
    digest = hashlib.sha256(deploy_id.encode()).hexdigest()[:16]
    return f"{deploy_id[: KEY - 18]}~{digest}"


def record_model_changes(writer: BatchWriter, pairs: Iterable[tuple[str, str]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Record the provider deployments of the (endpoint, request_model) ``pairs`` seen in this ingestion.

    Runs inside the ingestion's transaction, after its spans are written. Returns (every deployment row
    written, the deploy ids that are new).
    """
    served = writer.served_models(sorted(set(pairs)))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in served:
        groups[(row["endpoint"], row["request_model"])].append(row)
    rows = []
    for (endpoint, request_model), combos in sorted(groups.items()):
        combos.sort(key=lambda r: (r["first_seen"], r["response_model"], r["system_fingerprint"] or ""))
        for previous, current in zip(combos, combos[1:], strict=False):
            first = writer.first_span(current) or {}
            rows.append({
                "deploy_id": provider_deploy_id(endpoint, current["response_model"], current["system_fingerprint"]),
                "endpoint": endpoint,
                "model": current["response_model"],
                "model_version": current["system_fingerprint"] or current["response_model"],
                "stage": "deploy",
                "source": "provider",
                "deployed_at": current["first_seen"],
                "details": {
                    "detected_by": "llmmon traffic ingestion (silent model change)",
                    "request_model": request_model,
                    "response_model": current["response_model"],
                    "system_fingerprint": current["system_fingerprint"],
                    "previous": {"response_model": previous["response_model"],
                                 "system_fingerprint": previous["system_fingerprint"],
                                 "first_seen": previous["first_seen"].isoformat()},
                    "first_trace_id": first.get("trace_id"),
                    "first_span_id": first.get("span_id"),
                    "span_model_version": first.get("model_version"),
                },
            })
    existing = writer.existing_deployments([r["deploy_id"] for r in rows])
    if rows:
        writer.record_deployments(rows)
    return rows, [r["deploy_id"] for r in rows if r["deploy_id"] not in existing]
