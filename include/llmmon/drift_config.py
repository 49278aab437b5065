"""Configuration of input drift of production traffic (issue 5): ``settings.drift``.

Every field has a default, so the embedded defaults load without a ``drift:`` section.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DriftConfig(BaseModel):
    """``settings.drift``."""

    model_config = ConfigDict(extra="forbid")
