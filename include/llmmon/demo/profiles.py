"""Model versions the demo server plays: their timing and how often (and where) they answer wrong."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Millis = Annotated[float, Field(ge=0.0)]


class ModelProfile(BaseModel):
    """One served model id.

    Timing: the first content chunk comes ``ttft_ms`` after the request, then one token every
    ``per_token_ms``; both move by up to ``jitter_ms`` either way (deterministic per request content).
    Quality: a golden case is answered wrong with probability ``max(wrong_rate, intent_wrong_rates[intent])``;
    a ``structured`` case that escaped that also loses a required field with probability ``missing_field_rate``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1)]
    ttft_ms: Millis
    per_token_ms: Millis
    jitter_ms: Millis = 0.0
    wrong_rate: Rate = 0.0
    intent_wrong_rates: dict[str, Rate] = Field(default_factory=dict)
    missing_field_rate: Rate = 0.0
    fingerprint: str = "fp_llmmon_demo"


DEMO_V1 = ModelProfile(
    name="llmmon-demo-v1",
    ttft_ms=60.0,
    per_token_ms=8.0,
    jitter_ms=12.0,
    wrong_rate=0.03,
    fingerprint="fp_llmmon_demo_v1",
)
DEMO_V2 = ModelProfile(
    name="llmmon-demo-v2",
    ttft_ms=220.0,
    per_token_ms=10.0,
    jitter_ms=40.0,
    wrong_rate=0.03,
    intent_wrong_rates={"refund": 0.40, "billing": 0.40},
    missing_field_rate=0.15,
    fingerprint="fp_llmmon_demo_v2",
)
DEFAULT_MODELS: tuple[ModelProfile, ...] = (DEMO_V1, DEMO_V2)
