"""The process's Great Expectations context: ephemeral, offline, silent. Shared by every llmmon validation.

Imported lazily (great_expectations costs ~6 s and ~250 MB): callers import this module inside the function that
validates. Each capability adds its own uniquely named data source to the one context.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def gx_context() -> tuple[Any, Any]:
    """``(great_expectations module, ephemeral context)``, created once per process."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,  # a monitor must not phone home from inside a customer's Airflow
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),  # no tqdm in task logs
    )
    return gx, gx.get_context(mode="ephemeral", project_config=config)
