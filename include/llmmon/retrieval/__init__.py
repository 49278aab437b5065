"""llmmon.retrieval: RAG retrieval quality (issue 6)."""
