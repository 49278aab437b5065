"""llmmon.retrieval: RAG retrieval quality (issue 6; docs/retrieval.md).

``metrics`` (recall@k, precision@k, hit@k, MRR@k, nDCG@k, MAP; vectorised), ``suite`` (golden retrieval suites),
``retriever`` (the adapter and its HTTP implementation), ``run`` (the rag_eval steps), ``compare`` (the verdict
against the baseline index version), ``relevance`` and ``traffic`` (LLM-judge context relevance on golden runs and
production spans), ``series`` and ``rules`` (alerting). Importing the package imports nothing heavy.
"""
