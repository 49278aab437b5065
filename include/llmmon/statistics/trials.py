"""Repeated trials: aggregate each example's k results, and find the flaky examples.

An eval may sample each example k times (``trials``). The trials of one example are not independent evidence —
the example's difficulty is shared — so every test and interval works on one value per example: its pass
proportion over its valid trials (and its mean score). Endpoint errors are not wrong answers: an errored trial
is left out of the example's proportions and counted apart (``errors``).

An example is **flaky** in a run when its valid trials disagree (``0 < passes < valid``): the model's answer to it
flips from sample to sample, so a single-trial verdict on it is a coin toss.

A baseline may pool several runs of the previous version (:func:`pool_runs`): their trials become the trials of one
run, so each example's baseline proportion averages over all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class ExampleOutcome:
    """One example's results in one run, over its trials."""

    example_id: str
    intent: str | None
    trials: int  # distinct trials recorded (valid + errored)
    valid: int  # trials without an endpoint error
    passes: int  # valid trials that passed
    score_sum: float  # sum of the scores of the valid trials

    @property
    def errors(self) -> int:
        return self.trials - self.valid

    @property
    def pass_share(self) -> Fraction | None:
        """Exact pass proportion over the valid trials (a Fraction, so paired tests stay exact); None if none."""
        return Fraction(self.passes, self.valid) if self.valid else None

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.valid if self.valid else None

    @property
    def flaky(self) -> bool:
        return 0 < self.passes < self.valid


def aggregate_trials(results: Iterable[Mapping[str, Any]], *, source: str = "results") -> dict[str, ExampleOutcome]:
    """Per-example outcomes from result rows (example_id, trial, intent, passed, score, error_type).

    A row repeated for the same (example_id, trial) counts once (the last one wins, as an upsert would).
    ``source`` names the rows in error messages.
    """
    rows: dict[tuple[str, int], Mapping[str, Any]] = {}
    for i, r in enumerate(results):
        if "example_id" not in r or r["example_id"] is None:
            raise ValueError(f"{source}: row {i} has no 'example_id'")
        rows[(str(r["example_id"]), int(r.get("trial") or 0))] = r

    acc: dict[str, dict[str, Any]] = {}
    for (example_id, _trial), r in rows.items():
        a = acc.setdefault(example_id, {"intent": r.get("intent"), "trials": 0, "valid": 0, "passes": 0, "score": 0.0})
        a["trials"] += 1
        if r.get("error_type"):
            continue
        a["valid"] += 1
        a["passes"] += 1 if r.get("passed") else 0
        score = r.get("score")
        a["score"] += float(score) if score is not None else (1.0 if r.get("passed") else 0.0)
    return {
        eid: ExampleOutcome(eid, None if a["intent"] is None else str(a["intent"]), a["trials"], a["valid"],
                            a["passes"], a["score"])
        for eid, a in acc.items()
    }


def pool_runs(runs: Sequence[Iterable[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The result rows of several runs as one run whose trials are all of theirs (a pooled baseline).

    Trials are re-indexed so that runs never collide: ``trial = run_index * k + trial``, with ``k`` the number of
    trial slots of the widest run (1 + its highest trial index). Each example's outcome then averages over every
    run, so a single lucky or unlucky run weighs 1/N. Pass the runs most recent first: an example's intent is read
    from the first row seen.
    """
    materialised = [list(rows) for rows in runs]
    k = 1 + max((int(r.get("trial") or 0) for rows in materialised for r in rows), default=0)
    return [
        {**r, "trial": run_index * k + int(r.get("trial") or 0)}
        for run_index, rows in enumerate(materialised)
        for r in rows
    ]


def flaky_examples(*runs: Mapping[str, ExampleOutcome]) -> list[str]:
    """Sorted ids of the examples flaky in any of the given runs."""
    return sorted({eid for run in runs for eid, o in run.items() if o.flaky})


def max_trials(*runs: Mapping[str, ExampleOutcome]) -> int:
    """The largest number of trials any example had in the given runs (0 for no examples)."""
    return max((o.trials for run in runs for o in run.values()), default=0)
