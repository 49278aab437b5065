"""Keep the garbage collector's full passes short while a batch is being timed.

A full (generation 2) collection walks every tracked object in the process — with the openai SDK, pydantic and
aiohttp loaded, 100k+ objects and ~50 ms during which the event loop stands still and every timestamp waits
(measured here: one such pause flagged a whole wave of 32 calls). ``gc.freeze()`` moves the objects that
exist before the batch into a permanent generation the collector skips, so a full pass only walks what the
batch itself allocated; ``gc.unfreeze()`` hands them back when the last batch ends, so nothing is kept alive
for longer than it would have been. Reference counting frees memory as usual throughout.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_holders = 0


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze the existing heap for the duration (nested and concurrent uses share one freeze)."""
    global _holders
    if _holders == 0:
        gc.freeze()
    _holders += 1
    try:
        yield
    finally:
        _holders -= 1
        if _holders == 0:
            gc.unfreeze()
