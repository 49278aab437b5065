"""Configuration of infrastructure SLO windows, burn rates and triage (issue 7): ``settings.slo``.

Every field has a default, so the embedded defaults load without a ``slo:`` section.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SloConfig(BaseModel):
    """``settings.slo``."""

    model_config = ConfigDict(extra="forbid")
