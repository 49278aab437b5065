"""Text normalisation and output parsing shared by the scorers.

Every comparison first applies Unicode NFKC (full-width digits, ligatures and non-breaking spaces become their
plain forms), so two strings that render the same compare the same.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

_WS = re.compile(r"\s+")
_LABEL_SEP = re.compile(r"[\s\-]+")
_FENCE = re.compile(r"```[ \t]*(?:json|JSON|jsonc)?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```", re.S)
# A number as people write it: optional sign, thousands separators, decimals. Not part of a word or a larger
# number (so "A10293" and "v2" hold no number), but "$1,249.00", "30-day", "5-7" and "50%" do.
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d,]*\d)|(?<![\w.])[-+]?\.\d+")
# An amount written as a string in a JSON value: "$1,249.00", "49.99", "-3". No leading zeros ("00123" is an
# identifier, not a number).
_AMOUNT = re.compile(r"^[-+]?[$€£]?\s*(?:0|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*)(?:\.\d+)?$")


def _is_edge_char(ch: str) -> bool:
    # The backtick is a "modifier symbol" in Unicode, but models use it as a quote (`refund`).
    return ch.isspace() or ch == "`" or unicodedata.category(ch).startswith("P")


def strip_edge_punctuation(text: str) -> str:
    """``text`` without whitespace, Unicode punctuation (quotes, periods, brackets, '*', '_') and backticks at
    its ends."""
    start, end = 0, len(text)
    while start < end and _is_edge_char(text[start]):
        start += 1
    while end > start and _is_edge_char(text[end - 1]):
        end -= 1
    return text[start:end]


def normalize_text(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed, punctuation stripped at both ends (not inside).

    ``'  "Refund."  '`` -> ``'refund'``; ``'5-7 Business  days'`` -> ``'5-7 business days'``.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return _WS.sub(" ", strip_edge_punctuation(text)).strip()


def normalize_label(text: str) -> str:
    """A class label as a model may write it, reduced to the ``snake_case`` form labels are declared in.

    Surrounding quotes, backticks, asterisks and a trailing period are ignored, and inner spaces or hyphens
    become underscores: ``'"Order status."'`` -> ``'order_status'``.
    """
    return _LABEL_SEP.sub("_", normalize_text(text))


def first_number(text: str) -> float | None:
    """The first number written in ``text`` ("$1,249.50 total" -> 1249.5), or None when there is none."""
    match = NUMBER.search(unicodedata.normalize("NFKC", text))
    if match is None:
        return None
    return float(match.group(0).replace(",", ""))


def parse_json_output(output: str) -> tuple[Any, str | None]:
    """Parse a model's JSON answer; return ``(value, None)`` or ``(None, error message)``.

    The whole output is tried first; failing that, the first fenced code block (```json ... ```), as models
    often wrap JSON in a fence with a sentence around it. Nothing else is forgiven: prose with bare JSON inside
    is an error, because the system prompts ask for JSON only.
    """
    text = output.strip()
    if not text:
        return None, "empty output"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        first_error = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    fence = _FENCE.search(text)
    if fence is None:
        return None, first_error
    try:
        return json.loads(fence.group(1)), None
    except json.JSONDecodeError as exc:
        return None, f"fenced block is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


def normalize_value(value: Any) -> Any:
    """A JSON value in a comparable form: text normalised, amounts and numbers as floats, containers recursively.

    ``"$1,249.00"``, ``"1249"`` and ``1249`` all become ``1249.0``; ``" Aeris 2 Earbuds "`` becomes
    ``"aeris 2 earbuds"``; booleans stay booleans (``"true"`` is not ``True``).
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if _AMOUNT.match(text):
            return float(re.sub(r"[$€£,\s]", "", text))
        return normalize_text(text)
    if isinstance(value, list):
        return [normalize_value(v) for v in value]
    if isinstance(value, dict):
        return {normalize_text(str(k)): normalize_value(v) for k, v in value.items()}
    return value
