"""Configuration of input drift of production traffic (issue 5): ``settings.drift``.

Every field has a default, so the embedded defaults load without a ``drift:`` section. See docs/drift.md.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator


def _duration(value: object) -> dt.timedelta:
    from llmmon.config import parse_duration  # llmmon.config imports this module: import at validation time

    return parse_duration(value)


Window = Annotated[dt.timedelta, BeforeValidator(_duration)]
Rate = Annotated[float, Field(gt=0.0, lt=1.0)]

NUMERIC_FEATURES = (
    "prompt_chars", "prompt_tokens", "output_tokens", "ttft_s", "latency_s", "embedding_distance", "oov_rate",
)
CATEGORICAL_FEATURES = ("prompt_template", "user_segment", "language", "attack_signal")
WINDOW_FEATURES = ("vocabulary",)  # one statistic per window (token distributions), not one value per request
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES + WINDOW_FEATURES

# Effect-size floors in each feature's own units: the smallest change worth calling drift, however significant.
# Numeric features: Wasserstein-1 distance (the average shift of the distribution, in the feature's unit).
# Categorical features: total variation distance (share of requests that moved category, 0..1); attack_signal:
# the increase of the share of attack-like prompts. vocabulary: Jensen-Shannon divergence (base 2, 0..1).
DEFAULT_EFFECT_FLOORS: dict[str, float] = {
    "prompt_chars": 40.0,
    "prompt_tokens": 8.0,
    "output_tokens": 16.0,
    "ttft_s": 0.1,
    "latency_s": 0.25,
    "embedding_distance": 0.03,
    "oov_rate": 0.03,
    "prompt_template": 0.05,
    "user_segment": 0.05,
    "language": 0.03,
    "attack_signal": 0.01,
    "vocabulary": 0.02,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NamedReference(_Strict):
    """A fixed, blessed period of traffic that current windows are compared with."""

    start: dt.datetime
    end: dt.datetime
    description: str = ""

    @model_validator(mode="after")
    def _ordered_aware(self) -> NamedReference:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} {value.isoformat()} needs a time zone (e.g. 2026-11-01T00:00:00Z)")
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} must be after start {self.start.isoformat()}")
        return self


class EmbeddingConfig(_Strict):
    """Where prompt embeddings come from.

    ``local`` (default): hashed character n-grams folded by a fixed signed projection into ``dimensions`` numbers,
    numpy only, no network, no model download. ``openai``: any OpenAI-compatible ``/v1/embeddings`` endpoint, named
    from ``settings.endpoints`` (its base URL and API key; ``model`` overrides the endpoint's model).
    ``sentence_transformers``: a local sentence-transformers ``model`` (an optional extra: torch and a model are
    about 1.4 GB; not installed by default).
    At most ``max_rows`` prompts per side are embedded (a seeded uniform sample beyond that).
    """

    provider: Literal["local", "openai", "sentence_transformers"] = "local"
    endpoint: str | None = None
    model: str | None = None
    dimensions: Annotated[int, Field(ge=16, le=4096)] = 256
    batch_size: Annotated[int, Field(ge=1, le=2048)] = 256
    max_rows: Annotated[int, Field(ge=100)] = 100_000

    @model_validator(mode="after")
    def _endpoint_for_openai(self) -> EmbeddingConfig:
        if self.provider == "openai" and not self.endpoint:
            raise ValueError("provider openai needs 'endpoint': the name of one of settings.endpoints")
        if self.provider == "sentence_transformers" and not self.model:
            raise ValueError("provider sentence_transformers needs 'model' (a model name or local path)")
        return self


class AttackConfig(_Strict):
    """The attack signal: a prompt is attack-like when it matches one of the injection/jailbreak patterns, or its
    embedding's cosine similarity to one of the known attack prompts is at least ``similarity``.

    ``file`` (a YAML file with ``patterns`` and ``prompts`` lists) replaces the shipped set
    (``llmmon/drift/attacks.yaml``); ``patterns`` and ``prompts`` add to it.
    """

    similarity: Annotated[float, Field(gt=0.0, le=1.0)] = 0.7
    patterns: list[str] = []
    prompts: list[str] = []
    file: str | None = None

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for i, p in enumerate(patterns):
            try:
                re.compile(p, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"patterns[{i}] {p!r} does not compile: {exc}") from None
        return patterns


class ReportConfig(_Strict):
    """The Evidently HTML report: a bounded sample for people (the verdict comes from all rows).

    ``include_text``: also give Evidently the prompt text (its text drift shows example prompts and top words in
    the HTML) — off by default: prompts can hold personal data.
    """

    enabled: bool = True
    sample_rows: Annotated[int, Field(ge=50, le=200_000)] = 2000
    include_text: bool = False


class DriftConfig(_Strict):
    """``settings.drift``: per-request features of production spans tested against a reference window.

    The current window is ``window`` long (runs read by their data interval). The reference is a named fixed
    period from ``references`` or, with ``reference: rolling``, the ``rolling_days`` days before the window.
    A feature drifts when its calibrated p-value (null calibrated at the actual sample sizes, ``calibration``
    replicates), adjusted across features by ``correction``, is below ``alpha`` AND its effect is at least its
    floor (``effect_floors``, in the feature's own units). Fewer than ``min_reference`` / ``min_current`` spans:
    inconclusive. ``artifacts`` is a folder or any fsspec URL for the HTML reports (default
    ``$LLMMON_HOME/.llmmon/drift-reports``).
    """

    window: Window = dt.timedelta(days=1)
    reference: str = "rolling"
    rolling_days: Annotated[int, Field(ge=1, le=90)] = 7
    references: dict[str, NamedReference] = {}
    endpoint: str | None = None
    features: list[str] = list(FEATURES)
    effect_floors: dict[str, Annotated[float, Field(ge=0.0)]] = {}
    alpha: Rate = 0.05
    correction: Literal["holm", "bh"] = "holm"
    calibration: Annotated[int, Field(ge=99, le=20_000)] = 499
    bins: Annotated[int, Field(ge=3, le=100)] = 10
    max_categories: Annotated[int, Field(ge=2, le=1000)] = 30
    min_reference: Annotated[int, Field(ge=10)] = 200
    min_current: Annotated[int, Field(ge=10)] = 50
    min_feature_values: Annotated[int, Field(ge=2)] = 20
    embedding: EmbeddingConfig = EmbeddingConfig()
    attacks: AttackConfig = AttackConfig()
    report: ReportConfig = ReportConfig()
    artifacts: str | None = None

    @field_validator("window")
    @classmethod
    def _window_divides_a_day(cls, value: dt.timedelta) -> dt.timedelta:
        seconds = value.total_seconds()
        if seconds < 60 or seconds != int(seconds) or (86400 % int(seconds) and seconds % 86400):
            raise ValueError(f"window {value} must divide a day evenly (5m, 1h, 6h) or be whole days (1d, 7d)")
        return value

    @field_validator("features")
    @classmethod
    def _known_features(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in FEATURES]
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; known: {list(FEATURES)}")
        if not value:
            raise ValueError("list at least one feature")
        return value

    @field_validator("effect_floors")
    @classmethod
    def _known_floors(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = [f for f in value if f not in FEATURES]
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; known: {list(FEATURES)}")
        return value

    @model_validator(mode="after")
    def _reference_known(self) -> DriftConfig:
        if self.reference != "rolling" and self.reference not in self.references:
            raise ValueError(f"reference {self.reference!r} is neither 'rolling' nor one of references: "
                             f"{sorted(self.references)}")
        if "rolling" in self.references:
            raise ValueError("'rolling' is reserved: name the fixed reference otherwise")
        return self

    def floor(self, feature: str) -> float:
        """The effect-size floor of ``feature`` (configured, else the default)."""
        return float(self.effect_floors.get(feature, DEFAULT_EFFECT_FLOORS[feature]))
