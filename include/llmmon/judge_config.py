"""Configuration of LLM-as-judge on sampled production traffic (issue 4): judge endpoint, rubrics, sampling.

Every field has a default, so the embedded defaults load without a ``judge:`` section. The judge endpoint is
one of ``settings.endpoints`` by name (the defaults declare ``judge``, the demo server's judge persona). See
docs/judge.md for what each setting does.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Ratio = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JudgeSamplingConfig(_Strict):
    """Which production spans of a window are judged.

    ``uniform``: each span is in the sample when its hash draw is below ``rate``. ``stratified``: the same per
    stratum (prompt template x user segment), plus at least ``min_per_stratum`` spans of every stratum (all of
    them when it has fewer), so small strata are never left out. The draw hashes (trace id, span id, window,
    ``salt``): a retried run of the same window draws the same sample; change ``salt`` to draw another.
    """

    mode: Literal["uniform", "stratified"] = "stratified"
    rate: Ratio = 0.05
    min_per_stratum: Annotated[int, Field(ge=0, le=10_000)] = 5
    salt: str = "llmmon"


class JudgeBudgetConfig(_Strict):
    """Caps per run: judge calls and estimated USD (None: no cap). The sample is cut in priority order.

    Cost is estimated before calling, from the rendered judge prompt (about 4 characters per token) plus
    ``est_output_tokens`` per call, at the judge model's price; the cost recorded afterwards is the real one.
    """

    max_calls: Annotated[int | None, Field(ge=0)] = 2000
    max_usd: Annotated[float | None, Field(ge=0.0)] = 5.0
    est_output_tokens: Annotated[int, Field(ge=1, le=100_000)] = 80


class AgreementFloor(_Strict):
    """Judge-vs-human agreement below which a measurement alerts (per judge model and rubric version).

    ``kappa`` is checked on the kappa named by ``weights``: ``quadratic`` (default) is the weighted kappa, the
    usual agreement statistic for ordinal scores — a 4 against a human 5 is a near miss, a 1 against a 5 is not;
    ``none`` is plain Cohen's kappa, where every disagreement counts alike. ``accuracy`` is exact agreement.
    """

    kappa: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.6
    weights: Literal["quadratic", "none"] = "quadratic"
    accuracy: Ratio = 0.6


class JudgeConfig(_Strict):
    """LLM-as-judge settings (``judge:`` in the config file)."""

    endpoint: Annotated[str, Field(min_length=1)] = "judge"
    # None: only the rubrics shipped with llmmon. A folder: its *.yaml rubrics, replacing shipped ones by name.
    # A relative folder resolves against the config file's folder (embedded defaults: LLMMON_HOME).
    rubrics_dir: str | None = None
    rubrics: Annotated[list[str], Field(min_length=1)] = ["helpfulness", "groundedness", "safety", "correctness"]
    sampling: JudgeSamplingConfig = JudgeSamplingConfig()
    budget: JudgeBudgetConfig = JudgeBudgetConfig()
    concurrency: Annotated[int | None, Field(ge=1, le=1024)] = None  # None: the judge endpoint's max_concurrency
    # How the JSON answer is requested besides the prompt's own instruction: OpenAI structured outputs
    # (json_schema), JSON mode (json_object), or none for endpoints that reject response_format.
    response_format: Literal["json_schema", "json_object", "none"] = "json_schema"
    max_tokens: Annotated[int, Field(ge=16, le=100_000)] = 300
    # Share of judged items that may end in a judge error before the run is marked failed.
    error_budget: Ratio = 0.2
    # Span attribute holding the retrieved context text (groundedness needs it; spans without it are skipped).
    context_attribute: Annotated[str, Field(min_length=1)] = "llmmon.retrieval.context"
    calibration_set: Annotated[str, Field(min_length=1)] = "judge_calibration"  # folder under golden_sets_dir
    agreement_floor: AgreementFloor = AgreementFloor()

    @model_validator(mode="after")
    def _unique_rubrics(self) -> JudgeConfig:
        repeated = sorted({r for r in self.rubrics if self.rubrics.count(r) > 1})
        if repeated:
            raise ValueError(f"rubrics must be unique; repeated: {', '.join(repeated)}")
        return self
