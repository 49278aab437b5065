"""The golden-set scorer ``llm_judge_correctness``: an LLM judge compares the output with the golden reference.

Use it in a suite like any scorer::

    task_types:
      qa:
        scorer: llm_judge_correctness
        threshold: 0.75            # score_norm: 0.75 is 4 of 5 on the shipped correctness rubric
        params: {endpoint: judge}  # optional; every key is optional

How it reaches the judge: a scorer is a plain synchronous function ``(output, reference, params)``, and the
judge is an outside call that needs an endpoint. The scorer loads the llmmon configuration the same way every
llmmon process does (``params.config``, else ``LLMMON_CONFIG``, else the embedded defaults; loaded once per
process), takes the judge endpoint named by ``params.endpoint`` (default ``judge.endpoint``), resolves its API
key from the environment, and makes one synchronous judge call per output through the project's
EndpointClient (strict parsing, one retry on an unusable answer). ``params.rubric`` picks another
reference-based pointwise rubric (default ``correctness``).

The score is the judge's score mapped onto 0..1. The scorer never raises on an output: a judge error scores 0
with ``details["error"]``. One call per output, in sequence: for thousands of outputs, judge production traffic
with :func:`llmmon.judge.run_judging` instead, which runs calls concurrently.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from llmmon.scoring.registry import SCORERS, ScoreResult, ScorerSpec, register_scorer

NAME = "llm_judge_correctness"
PARAMS = ("endpoint", "rubric", "config")
_CACHE: dict[str | None, Any] = {}
_LOCK = threading.Lock()


def _check(params: dict[str, Any]) -> list[str]:
    return [f"params.{k} must be a non-empty string" for k in PARAMS
            if k in params and (not isinstance(params[k], str) or not params[k].strip())]


def _settings(config: str | None) -> Any:
    import os

    from llmmon.config import CONFIG_ENV, load_settings

    key = config or os.environ.get(CONFIG_ENV)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_settings(config)
        return _CACHE[key]


def _reference_text(reference: Any) -> str:
    return reference if isinstance(reference, str) else json.dumps(reference, sort_keys=True, ensure_ascii=False)


def llm_judge_correctness(output: str, reference: Any, params: dict[str, Any]) -> ScoreResult:
    """An LLM judge grades the output against the reference on the correctness rubric (score 0..1)."""
    try:
        return _judge(output, reference, params)
    except Exception as exc:  # noqa: BLE001 - a scorer records a failure per item and never sinks the run
        return ScoreResult(0.0, details={"error": f"llm judge failed: {type(exc).__name__}: {exc}"})


def register() -> ScorerSpec:
    """Register the scorer (once; importing this module does it) and return its spec."""
    if NAME not in SCORERS:
        register_scorer(NAME, reference_kinds=("string", "object", "number", "boolean", "array"), params=PARAMS,
                        params_check=_check)(llm_judge_correctness)
    return SCORERS[NAME]


def _judge(output: str, reference: Any, params: dict[str, Any]) -> ScoreResult:
    from llmmon.judge.calls import judge_many, judge_target, run_sync
    from llmmon.judge.parse import parse_judgement
    from llmmon.judge.prompt import JudgeItem, judge_request, pointwise_messages
    from llmmon.judge.rubrics import configured_rubrics

    settings = _settings(params.get("config"))
    rubric = configured_rubrics(settings, [params.get("rubric", "correctness")])[0]
    if rubric.kind != "pointwise" or "reference" not in rubric.requires:
        return ScoreResult(0.0, details={"error": f"rubric {rubric.name!r} is not a reference-based pointwise rubric"})
    target = judge_target(settings, endpoint=params.get("endpoint"))
    item = JudgeItem(key="llm_judge_correctness", question="(not shown: judge the answer against the reference)",
                     answer=output, reference=_reference_text(reference))
    request = judge_request(item.key, pointwise_messages(rubric, item), rubric,
                            mode=settings.judge.response_format, max_tokens=settings.judge.max_tokens)

    async def main():
        async with target.client() as client:
            return await judge_many(client, [(request, lambda t: parse_judgement(t, rubric), rubric)], workers=1)

    call = run_sync(main)[0]
    details: dict[str, Any] = {"rubric": rubric.label, "judge_model": call.judge_model, "judge_calls": call.calls,
                               "judge_cost_usd": call.cost_usd}
    if not call.ok:
        return ScoreResult(0.0, details={**details, "error": f"judge {call.error_type}: {call.error}"})
    judgement = call.parsed
    return ScoreResult(rubric.normalize(judgement.score), details={
        **details, "judge_score": judgement.score, "scale": [rubric.scale_min, rubric.scale_max],
        "rationale": judgement.rationale})


register()
