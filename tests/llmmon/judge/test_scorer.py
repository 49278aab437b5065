"""The golden-set scorer llm_judge_correctness: registered, reaches the judge named in params, never raises."""

from __future__ import annotations

import pytest

from llmmon.config import DEFAULTS_PATH
from llmmon.scoring import check_scorer_params, get_scorer
from llmmon.scoring.registry import SCORERS


@pytest.fixture(autouse=True)
def registered():
    """The scorer registered for the test, and the registry as it was afterwards (other tests list the scorers)."""
    before = dict(SCORERS)
    from llmmon.judge import scorer  # the first import registers it

    yield scorer.register()
    SCORERS.clear()
    SCORERS.update(before)


def _config(tmp_path, demo_server) -> str:
    text = DEFAULTS_PATH.read_text(encoding="utf-8").replace(
        "${LLMMON_DEMO_URL:-http://127.0.0.1:8765/v1}", demo_server.base_url)
    path = tmp_path / "llmmon.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_llm_judge_correctness_scores_against_the_reference(tmp_path, demo_server):
    spec = get_scorer("llm_judge_correctness")
    assert set(spec.reference_kinds) >= {"string", "object"}
    params = {"config": _config(tmp_path, demo_server), "endpoint": "judge"}
    right = spec("$14.99", "$14.99", params)
    assert right.score == 1.0 and right.details["judge_score"] == 5 and right.details["scale"] == [1, 5]
    assert right.details["judge_model"] == "llmmon-demo-judge" and right.details["judge_cost_usd"] > 0
    assert right.details["rubric"].startswith("correctness@")
    wrong = spec("$5.99", "$14.99", params)
    assert wrong.score == 0.0 and wrong.details["judge_score"] == 1
    reference = {"order_id": "KC6576856", "amount": "86.50"}
    partial = spec('{"order_id": "KC6576856"}', reference, params)
    # Field F1 2/3, squared 4/9: 1 + 4 * 4/9 = 2.78 -> 3 of 5 -> 0.5.
    assert partial.score == 0.5
    assert spec(None, "$14.99", params).details == {"error": "no output"}


def test_a_judge_that_cannot_be_reached_scores_zero_with_the_reason(tmp_path, demo_server):
    spec = get_scorer("llm_judge_correctness")
    result = spec("$14.99", "$14.99", {"config": _config(tmp_path, demo_server), "endpoint": "nowhere"})
    assert result.score == 0.0
    assert "unknown endpoint 'nowhere'" in result.details["error"]
    garbage = spec("[[judge:garbage]]", "$14.99", {"config": _config(tmp_path, demo_server)})
    assert garbage.score == 0.0 and garbage.details["judge_calls"] == 2
    assert garbage.details["error"].startswith("judge unparsable: unusable judge answer twice")


def test_params_are_checked():
    assert check_scorer_params("llm_judge_correctness", {"endpoint": "judge"}) == []
    assert check_scorer_params("llm_judge_correctness", {"endpoint": ""}) == ["params.endpoint must be a non-empty string"]
    assert "params.judge is not a parameter" in check_scorer_params("llm_judge_correctness", {"judge": "x"})[0]
