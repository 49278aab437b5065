"""Team-specific attribute names, the newer GenAI content conventions, and cost from the effective-dated price table."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from llmmon.config import ConfigError, Price, load_settings
from llmmon.traffic.ingest import ingest
from llmmon.traffic_config import TrafficConfig
from llmmon.warehouse.traffic_store import quarantined, read_spans

from .conftest import T0, SpanFile


def test_configured_attribute_names(warehouse, traffic_settings, span_file):
    team = {  # a team that names everything its own way, and puts content in the newer message attributes
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "llmmon-demo-v1",
        "app.customer_tier": "enterprise",
        "app.prompt.id": "refund_v3",
        "app.release": "2026.11",
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 20,
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Refund?"}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Yes."}],
                                               "finish_reason": "stop"}]),
        "gen_ai.response.time_to_first_chunk": 0.3,
        "rag.docs": '["a", "b"]',
    }
    span_file.chat(attributes=team)
    settings = traffic_settings(
        attributes={"user_segment": "app.customer_tier", "prompt_template": ["app.template", "app.prompt.id"],
                    "model_version": "app.release", "retrieved_doc_ids": "rag.docs"},
        default_endpoint="support-bot", required=["operation", "request_model", "endpoint", "user_segment"],
    )
    report = ingest(settings, warehouse, str(span_file.path), batch_id="team")
    assert report.valid == 1
    (row,) = read_spans(warehouse)
    assert (row["user_segment"], row["prompt_template"], row["model_version"]) == ("enterprise", "refund_v3", "2026.11")
    assert (row["endpoint"], row["prompt"], row["completion"]) == ("support-bot", "Refund?", "Yes.")
    assert row["ttft_s"] == 0.3 and row["retrieved_doc_ids"] == ["a", "b"]
    assert row["response_model"] is None
    # Priced by the requested model when the response names none: (10 * 0.5 + 20 * 1.5) / 1e6.
    assert row["cost_usd"] == pytest.approx(3.5e-5, rel=1e-12)
    assert not any(k.startswith("app.") or k.startswith("gen_ai.") for k in row["attributes"])

    # The same span under the default names: no segment, so the configured requirement quarantines it.
    other = SpanFile(span_file.path.with_name("other.jsonl"))
    other.chat(attributes={k: v for k, v in team.items() if k != "app.customer_tier"})
    report = ingest(settings, warehouse, str(other.path), batch_id="team2")
    assert report.by_reason == {"required_user_segment": 1}
    (bad,) = quarantined(warehouse, "team2")
    assert bad["reason"] == "user_segment: is required (traffic.required; looked for app.customer_tier)"


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ValueError, match="unknown canonical column"):
        TrafficConfig(columns={"trace": "tid"})
    path = tmp_path / "llmmon.yaml"
    path.write_text("endpoints: [{name: e, base_url: 'http://x/v1', model: m}]\n"
                    "traffic: {required: [nonsense]}\n")
    with pytest.raises(ConfigError, match=r"key 'traffic\.required\.0'"):
        load_settings(path)


def test_cost_uses_the_price_in_force_on_the_start_date(warehouse, traffic_settings, span_file):
    def attrs(model: str, **extra):
        return {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "gen_ai.response.model": model,
                "gen_ai.usage.input_tokens": 1_000_000, "gen_ai.usage.output_tokens": 500_000,
                "llmmon.endpoint": "e", **extra}

    day = dt.timedelta(days=1)
    span_file.chat(start=T0 - day, attributes=attrs("priced"))  # before the price change
    span_file.chat(start=T0.replace(hour=0), attributes=attrs("priced"))  # on the day it takes effect
    span_file.chat(start=T0, attributes=attrs("unknown-model"))
    span_file.chat(start=T0, attributes=attrs("priced", **{"llmmon.cost_usd": 0.125}))  # carried: kept
    span_file.chat(start=T0 - 40 * day, attributes=attrs("priced"))  # before any price
    settings = traffic_settings()
    settings = settings.model_copy(update={"prices": [
        Price(model="priced", input_per_mtok=2.0, output_per_mtok=8.0, effective_from=(T0 - 30 * day).date()),
        Price(model="priced", input_per_mtok=1.0, output_per_mtok=4.0, effective_from=T0.date()),
    ]})
    ingest(settings, warehouse, str(span_file.path), batch_id="cost")
    costs = sorted((r["start_time"].date(), r["request_model"], r["cost_known"], r["cost_usd"] or 0.0)
                   for r in read_spans(warehouse))
    assert costs == [
        ((T0 - 40 * day).date(), "priced", False, 0.0),  # not priced yet: NULL
        ((T0 - day).date(), "priced", True, 2.0 + 4.0),  # 1 Mtok in at 2.0, 0.5 Mtok out at 8.0
        (T0.date(), "priced", True, 0.125),  # carried by the span: kept
        (T0.date(), "priced", True, 1.0 + 2.0),  # the new price, from midnight UTC of its day
        (T0.date(), "unknown-model", False, 0.0),  # unknown: NULL, never 0
    ]
    assert [r["cost_usd"] for r in read_spans(warehouse) if not r["cost_known"]] == [None, None]
