"""LLM-as-judge on sampled production traffic: rubrics, prompts, strict parsing, sampling, pairwise, agreement.

Entry points: :func:`run_judging` (judge a traffic window into ``judge_scores``), :func:`load_rubrics`,
:func:`judge_pairs` / :func:`run_pairwise` (both-order pairwise comparisons), :func:`measure_agreement`
(judge vs human labels). The golden-set scorer ``llm_judge_correctness`` registers when
``llmmon.judge.scorer`` is imported. See docs/judge.md.

Names are imported lazily, so importing a light submodule (rubrics, prompt) from a DAG file or the demo server
does not pay for the endpoint client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["JudgeRunError", "judge_pairs", "load_rubrics", "measure_agreement", "run_judging", "run_pairwise"]

_WHERE = {
    "JudgeRunError": "llmmon.judge.run",
    "run_judging": "llmmon.judge.run",
    "load_rubrics": "llmmon.judge.rubrics",
    "judge_pairs": "llmmon.judge.pairwise",
    "run_pairwise": "llmmon.judge.pairwise",
    "measure_agreement": "llmmon.judge.agreement",
}

if TYPE_CHECKING:
    from llmmon.judge.agreement import measure_agreement
    from llmmon.judge.pairwise import judge_pairs, run_pairwise
    from llmmon.judge.rubrics import load_rubrics
    from llmmon.judge.run import JudgeRunError, run_judging


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'llmmon.judge' has no attribute {name!r}")
