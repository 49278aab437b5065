"""Statistics behind llmmon's verdicts: one small module per idea (see docs/verdicts.md).

- :mod:`~llmmon.statistics.mcnemar` — exact McNemar test on paired pass/fail outcomes;
- :mod:`~llmmon.statistics.trials` — per-example aggregation over repeated trials, flaky examples;
- :mod:`~llmmon.statistics.signflip` — the sign-flip permutation test on per-example differences (McNemar's test
  generalised to k trials);
- :mod:`~llmmon.statistics.bootstrap` — paired (cluster) bootstrap confidence intervals of mean differences;
- :mod:`~llmmon.statistics.multiple` — Holm and Benjamini-Hochberg adjusted p-values;
- :mod:`~llmmon.statistics.power` — the minimum detectable effect of a paired comparison.

Importing this package imports nothing heavy; :mod:`bootstrap` and :mod:`signflip` import numpy.
"""
