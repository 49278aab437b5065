"""A deterministic token counter for the demo server (no tokenizer download, hand-countable in tests).

A token is a run of word characters or one punctuation character: ``"Where is order A-1?"`` is
``Where | is | order | A | - | 1 | ?`` = 7 tokens. Real tokenizers differ; what matters for the demo is that
usage numbers are stable and plausible.
"""

from __future__ import annotations

import re
from functools import lru_cache

TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")
_PIECE_PATTERN = re.compile(r"\s*\S+")


def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    return len(TOKEN_PATTERN.findall(text))


@lru_cache(maxsize=8192)
def count_tokens_cached(text: str) -> int:
    """``count_tokens`` memoised: system prompts and golden inputs repeat across requests."""
    return count_tokens(text)


def truncate_to_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """The prefix of ``text`` holding its first ``max_tokens`` tokens, and whether anything was cut.

    The cut falls right after the last kept token, so counting the prefix gives exactly ``max_tokens``.
    """
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be >= 0, got {max_tokens}")
    if max_tokens == 0:
        return "", bool(TOKEN_PATTERN.search(text))
    for i, match in enumerate(TOKEN_PATTERN.finditer(text), start=1):
        if i == max_tokens:
            end = match.end()
            return text[:end], TOKEN_PATTERN.search(text, end) is not None
    return text, False


def split_pieces(text: str) -> tuple[str, ...]:
    """Stream pieces: one word each, with its leading whitespace; the pieces concatenate back to ``text``."""
    pieces = _PIECE_PATTERN.findall(text)
    if not pieces:
        return (text,)
    tail = len(text) - sum(len(p) for p in pieces)
    if tail:
        pieces[-1] += text[-tail:]
    return tuple(pieces)
