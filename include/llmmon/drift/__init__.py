"""llmmon.drift: input drift of production traffic (issue 5)."""
