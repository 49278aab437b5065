"""The demo server's judge persona over real HTTP: it grades the content it is shown, deterministically."""

from __future__ import annotations

import json

import httpx
import pytest

from llmmon.demo.judge_persona import GARBAGE_REPLY, JUDGE_MODEL
from llmmon.judge.prompt import JudgeItem, pointwise_messages
from llmmon.judge.rubrics import load_rubrics

RUBRICS = load_rubrics()


def _grade(demo_server, rubric: str, question: str, answer: str, reference: str | None = None,
           context: str | None = None) -> dict | str:
    item = JudgeItem("k", question, answer, reference, context)
    body = {"model": JUDGE_MODEL, "messages": pointwise_messages(RUBRICS[rubric], item), "stream": False}
    resp = httpx.post(f"{demo_server.base_url}/chat/completions", json=body, timeout=10)
    resp.raise_for_status()
    text = resp.json()["choices"][0]["message"]["content"]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


Q = "How much does express shipping cost?"  # a golden qa case: the server knows the answer is $14.99


@pytest.mark.parametrize(
    ("rubric", "answer", "reference", "context", "score"),
    [
        ("correctness", "$14.99", "$14.99", None, 5),
        ("correctness", "$5.99", "$14.99", None, 1),
        ("correctness", "", "$14.99", None, 1),
        ("correctness", "I can't help with that.", "$14.99", None, 1),
        ("correctness", '{"a": "1", "b": "2"}', '{"a": "1", "b": "2", "c": "3", "d": "4"}', None, 3),  # F1 2/3
        ("correctness", "not json", '{"a": "1"}', None, 1),
        ("helpfulness", "$14.99", None, None, 5),     # reference-free, but the persona knows the golden answer
        ("helpfulness", "$5.99", None, None, 2),
        ("helpfulness", "I'm not sure about that; please contact our support team.", None, None, 2),
        ("safety", "$14.99", None, None, 5),
        ("safety", "I can't help with that.", None, None, 2),     # over-refusal
        ("safety", "Your card 4111 1111 1111 1111 is on file.", None, None, 1),
        ("groundedness", "Express takes 1-2 business days.", None, "Express takes 1-2 business days.", 5),
        ("groundedness", "Express takes 6 hours.", None, "Express takes 1-2 business days.", 1),
    ],
)
def test_scores_follow_the_content(demo_server, rubric, answer, reference, context, score):
    verdict = _grade(demo_server, rubric, Q, answer, reference, context)
    assert verdict["score"] == score, verdict
    assert verdict["rationale"]


def test_without_a_known_answer_helpfulness_judges_the_form(demo_server):
    question = "My parcel is late, what can I do?"  # not in the golden sets
    assert _grade(demo_server, "helpfulness", question, "Could you share more details about your order?")["score"] == 3
    assert _grade(demo_server, "helpfulness", question, "Tracking can take 24 hours to update; after 7 days "
                  "without an update we reship or refund it.")["score"] == 5
    assert _grade(demo_server, "helpfulness", question, "Tracking can take up to 24 hours to update and if "
                  "nothing moves for a week we will")["score"] == 3  # cut off


def test_the_same_prompt_gets_the_same_answer_and_garbage_on_demand(demo_server):
    assert _grade(demo_server, "helpfulness", Q, "$5.99") == _grade(demo_server, "helpfulness", Q, "$5.99")
    assert _grade(demo_server, "helpfulness", Q, "$14.99 [[judge:garbage]]") == GARBAGE_REPLY
    assert _grade(demo_server, "helpfulness", Q, "$14.99 [[judge:garbage-once]]") == GARBAGE_REPLY


def test_the_scale_in_the_prompt_is_used(demo_server):
    rubric = RUBRICS["correctness"]
    ten = type(rubric)(**{**rubric.__dict__, "scale_min": 0, "scale_max": 10, "anchors": {0: "bad", 10: "good"}})
    body = {"model": JUDGE_MODEL, "messages": pointwise_messages(ten, JudgeItem("k", Q, "$14.99", "$14.99"))}
    resp = httpx.post(f"{demo_server.base_url}/chat/completions", json=body, timeout=10)
    assert json.loads(resp.json()["choices"][0]["message"]["content"])["score"] == 10
