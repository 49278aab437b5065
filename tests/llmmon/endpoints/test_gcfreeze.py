"""The heap is frozen while any batch runs and handed back to the collector when the last one ends."""

from __future__ import annotations

import gc

from llmmon.endpoints.gcfreeze import frozen_heap


def test_freeze_is_scoped_and_shared() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        outer = gc.get_freeze_count()
        assert outer > 0
        with frozen_heap():  # a second, overlapping batch
            assert gc.get_freeze_count() >= outer
        assert gc.get_freeze_count() > 0  # still held by the first
    assert gc.get_freeze_count() == 0


def test_freeze_is_released_on_error() -> None:
    try:
        with frozen_heap():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0
