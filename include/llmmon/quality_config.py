"""Configuration of all-traffic quality checks and judge-score shift detection (issue 4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
