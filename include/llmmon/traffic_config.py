"""Configuration of production-traffic ingestion (issue 4): sources and the names of slicing attributes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TrafficConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
