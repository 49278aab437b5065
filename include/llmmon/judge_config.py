"""Configuration of LLM-as-judge on sampled production traffic (issue 4): judge endpoint, rubrics, sampling."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class JudgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
