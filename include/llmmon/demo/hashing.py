"""Stable pseudo-random draws for the demo server: the same parts give the same number on every run.

Python's ``hash()`` is salted per process and ``random`` is not promised stable across versions, so every
decision the demo server makes (wrong answers, timing jitter, fault rates) goes through a keyed digest instead.
"""

from __future__ import annotations

import hashlib

_SEP = "\x1f"  # unit separator: cannot occur in the numbers and names we join, rarely in prompts
_SCALE = float(2**64)


def stable_unit(*parts: object) -> float:
    """A number in [0, 1) that depends only on ``parts``."""
    digest = hashlib.blake2b(_SEP.join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def stable_index(n: int, *parts: object) -> int:
    """An index in ``range(n)`` that depends only on ``parts`` (``n`` must be positive)."""
    if n <= 0:
        raise ValueError(f"stable_index needs a positive n, got {n}")
    return min(int(stable_unit(*parts) * n), n - 1)
