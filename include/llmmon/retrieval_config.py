"""Configuration of RAG retrieval quality (issue 6): ``settings.retrieval``.

Every field has a default, so the embedded defaults load without a ``retrieval:`` section.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RetrievalConfig(BaseModel):
    """``settings.retrieval``."""

    model_config = ConfigDict(extra="forbid")
