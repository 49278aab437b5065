"""Judge prompts: the messages sent to the judge for one item, and the JSON schema its answer must follow.

The system message holds the rubric (criteria, scale, anchors, few-shot examples) and the answer format; the
user message holds the item in tagged sections, so that neither the judge nor a parser can confuse the
question with the answer::

    <question>...</question>
    <reference>...</reference>      (when the rubric requires it, or one is known)
    <context>...</context>          (idem)
    <answer>...</answer>            (pairwise: <answer_a> and <answer_b>)

Text inside a section that looks like one of these tags is escaped (``<answer>`` becomes ``&lt;answer>``),
so a model answer cannot close its own section and inject instructions. The answer format is both asked for
in words and, where the endpoint supports it, enforced with ``response_format`` (OpenAI structured outputs).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from llmmon.judge.rubrics import WINNERS, Rubric
from llmmon.records import ChatRequest

SECTIONS = ("question", "reference", "context", "answer", "answer_a", "answer_b")
_TAG = re.compile(r"<(/?)(" + "|".join(sorted(SECTIONS, key=len, reverse=True)) + r")>")
_ESCAPED = re.compile(r"&lt;(/?)(" + "|".join(sorted(SECTIONS, key=len, reverse=True)) + r")>")
RUBRIC_LINE = "Rubric: "
SCALE_LINE = "Scale: integers from {lo} (worst) to {hi} (best)"
CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with BPE tokenizers; for budget estimates only

_SYSTEM_POINTWISE = """You are an impartial evaluator of answers given by an AI assistant to its users. \
Grade the answer in the user's message with the rubric below, and nothing else.

{header}
Criteria:
{criteria}

Score anchors:
{anchors}
{examples}
Reply with one JSON object and nothing else - no prose before or after it, no code fence:
{{"score": <integer from {lo} to {hi}>, "rationale": "<one or two sentences explaining the score>"}}"""

_SYSTEM_PAIRWISE = """You are an impartial evaluator comparing two answers an AI assistant could give to the \
same question. Decide which answer is better with the rubric below, and nothing else. The order in which the \
answers are shown says nothing about their quality.

{header}
Criteria:
{criteria}
{examples}
Reply with one JSON object and nothing else - no prose before or after it, no code fence:
{{"winner": "A" | "B" | "tie", "rationale": "<one or two sentences explaining the choice>"}}"""

_RETRY = (
    "Your reply could not be used: {problem}. Reply again with only the JSON object, exactly in the format "
    "given: {format}"
)


@dataclass(frozen=True)
class JudgeItem:
    """One answer to judge. ``key`` identifies it in results; reference and context are optional."""

    key: str
    question: str
    answer: str
    reference: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class PairItem:
    """Two answers to the same question: ``baseline`` (e.g. the serving model) and ``candidate`` (the shadow)."""

    key: str
    question: str
    baseline: str
    candidate: str
    reference: str | None = None
    context: str | None = None


def escape(text: str) -> str:
    """``text`` with anything that looks like a section tag neutralised (``<answer>`` -> ``&lt;answer>``)."""
    return _TAG.sub(r"&lt;\1\2>", text)


def unescape(text: str) -> str:
    """The inverse of :func:`escape` (for whoever parses a judge prompt, such as the demo judge persona)."""
    return _ESCAPED.sub(r"<\1\2>", text)


def _section(tag: str, text: str) -> str:
    return f"<{tag}>\n{escape(text)}\n</{tag}>"


def _header(rubric: Rubric) -> str:
    lines = [f"{RUBRIC_LINE}{rubric.name} (version {rubric.version})"]
    if rubric.scale_min is not None:
        lines.append(SCALE_LINE.format(lo=rubric.scale_min, hi=rubric.scale_max))
    return "\n".join(lines)


def _example_block(rubric: Rubric) -> str:
    if not rubric.examples:
        return ""
    blocks = []
    for i, ex in enumerate(rubric.examples, start=1):
        parts = [f"Example {i}:", _section("question", ex["question"])]
        for tag in ("reference", "context"):
            if ex.get(tag):
                parts.append(_section(tag, ex[tag]))
        if rubric.kind == "pairwise":
            parts += [_section("answer_a", ex["answer_a"]), _section("answer_b", ex["answer_b"])]
            verdict = {"winner": ex["winner"], "rationale": ex["rationale"]}
        else:
            parts.append(_section("answer", ex["answer"]))
            verdict = {"score": ex["score"], "rationale": ex["rationale"]}
        parts.append("Grade: " + json.dumps(verdict, ensure_ascii=False))
        blocks.append("\n".join(parts))
    return "\nGraded examples:\n\n" + "\n\n".join(blocks) + "\n"


def system_message(rubric: Rubric) -> str:
    """The judge's system message for ``rubric``."""
    if rubric.kind == "pairwise":
        return _SYSTEM_PAIRWISE.format(header=_header(rubric), criteria=rubric.criteria,
                                       examples=_example_block(rubric))
    anchors = "\n".join(f"{score}: {text}" for score, text in rubric.anchors.items())
    return _SYSTEM_POINTWISE.format(header=_header(rubric), criteria=rubric.criteria, anchors=anchors,
                                    examples=_example_block(rubric), lo=rubric.scale_min, hi=rubric.scale_max)


def answer_format(rubric: Rubric) -> str:
    """The JSON answer format in words (repeated in the retry message)."""
    if rubric.kind == "pairwise":
        return '{"winner": "A" | "B" | "tie", "rationale": "<one or two sentences>"}'
    return f'{{"score": <integer from {rubric.scale_min} to {rubric.scale_max}>, "rationale": "<one or two sentences>"}}'


def answer_schema(rubric: Rubric) -> dict[str, Any]:
    """The JSON schema of a judge answer (an enum for the score: strict structured outputs support it)."""
    if rubric.kind == "pairwise":
        first = {"winner": {"type": "string", "enum": list(WINNERS)}}
    else:
        first = {"score": {"type": "integer", "enum": rubric.scores}}
    key = next(iter(first))
    return {
        "type": "object",
        "properties": {**first, "rationale": {"type": "string"}},
        "required": [key, "rationale"],
        "additionalProperties": False,
    }


def response_format(rubric: Rubric, mode: str) -> dict[str, Any] | None:
    """The ``response_format`` request field for ``mode`` (json_schema, json_object or none)."""
    if mode == "none":
        return None
    if mode == "json_object":
        return {"type": "json_object"}
    name = "judge_preference" if rubric.kind == "pairwise" else "judge_score"
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": answer_schema(rubric)}}


def pointwise_messages(rubric: Rubric, item: JudgeItem) -> list[dict[str, str]]:
    """System and user messages that ask the judge to grade ``item`` with ``rubric``."""
    parts = [_section("question", item.question)]
    if item.reference is not None:
        parts.append(_section("reference", item.reference))
    if item.context is not None:
        parts.append(_section("context", item.context))
    parts.append(_section("answer", item.answer))
    parts.append(f"Grade the answer with the {rubric.name} rubric. Reply with the JSON object only.")
    return [{"role": "system", "content": system_message(rubric)}, {"role": "user", "content": "\n".join(parts)}]


def pairwise_messages(rubric: Rubric, item: PairItem, *, baseline_first: bool) -> list[dict[str, str]]:
    """Messages showing the two answers of ``item`` as A and B, baseline first or candidate first."""
    a, b = (item.baseline, item.candidate) if baseline_first else (item.candidate, item.baseline)
    parts = [_section("question", item.question)]
    if item.reference is not None:
        parts.append(_section("reference", item.reference))
    if item.context is not None:
        parts.append(_section("context", item.context))
    parts += [_section("answer_a", a), _section("answer_b", b)]
    parts.append(f"Which answer is better by the {rubric.name} rubric? Reply with the JSON object only.")
    return [{"role": "system", "content": system_message(rubric)}, {"role": "user", "content": "\n".join(parts)}]


def judge_request(key: str, messages: list[dict[str, str]], rubric: Rubric, *, mode: str,
                  max_tokens: int | None = None) -> ChatRequest:
    """A ChatRequest for the judge: temperature 0, the answer format enforced per ``mode``."""
    return ChatRequest(key=key, messages=messages, max_tokens=max_tokens, temperature=0.0,
                       response_format=response_format(rubric, mode))


def retry_request(request: ChatRequest, bad_reply: str | None, problem: str, rubric: Rubric) -> ChatRequest:
    """The one retry after an unusable answer: the conversation so far, the bad reply, and what was wrong."""
    messages = [*request.messages, {"role": "assistant", "content": bad_reply or ""},
                {"role": "user", "content": _RETRY.format(problem=problem, format=answer_format(rubric))}]
    return ChatRequest(key=request.key, messages=messages, max_tokens=request.max_tokens,
                       temperature=request.temperature, response_format=request.response_format)


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    """Rough prompt tokens of ``messages`` for budget estimates: characters / 4, plus 4 per message."""
    return sum(math.ceil(len(m.get("content") or "") / CHARS_PER_TOKEN) + 4 for m in messages)
