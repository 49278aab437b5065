"""The drift job: a window of production spans against a reference, tested feature by feature, written whole.

``run_drift`` reads the spans of both windows (``drift_store.span_columns``), computes the per-request features
(``features``), tests each with a threshold calibrated at the actual sizes (``stats``), corrects across features,
and replaces the run in ``drift_runs`` / ``drift_metrics``. The random draws (reference split, embedding sample,
bootstrap) are seeded by the run key: re-running a window gives the same rows. A bounded sample of the features
is kept for the Evidently report (``report``), which runs in its own step.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llmmon.drift.features import ATTACK, Features, compute_features
from llmmon.drift.stats import DriftResult, categorical_drift, decide, numeric_drift, vocabulary_drift
from llmmon.drift_config import CATEGORICAL_FEATURES, NUMERIC_FEATURES, DriftConfig
from llmmon.errors import RunConfError
from llmmon.warehouse.schema import to_utc

if TYPE_CHECKING:
    from llmmon.config import SecretResolver, Settings
    from llmmon.drift.embeddings import Embedder
    from llmmon.warehouse import Warehouse

DAG_ID = "drift_report"
VOCABULARY_SIZE = 500  # tokens compared one by one, the rest pooled: more would inflate JS with sampling noise


@dataclass(frozen=True)
class Reference:
    """The reference window of a run: its label (a named reference or ``rolling-<N>d``) and bounds."""

    label: str
    start: dt.datetime
    end: dt.datetime


@dataclass
class DriftOutcome:
    """What a drift run decided and wrote."""

    run: dict[str, Any]
    metrics: list[dict[str, Any]]
    sample: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    @property
    def drifted_features(self) -> list[dict[str, Any]]:
        return [m for m in self.metrics if m["decisive"] and m["drifted"]]


def resolve_reference(cfg: DriftConfig, window_start: dt.datetime, name: str | None = None) -> Reference:
    """The reference for a window starting at ``window_start``: ``name`` (or ``cfg.reference``) — a named fixed
    period, or ``rolling``, the ``cfg.rolling_days`` days before the window."""
    name = name or cfg.reference
    if name == "rolling":
        return Reference(f"rolling-{cfg.rolling_days}d", window_start - dt.timedelta(days=cfg.rolling_days),
                         window_start)
    ref = cfg.references.get(name)
    if ref is None:
        raise RunConfError(f"unknown drift reference {name!r}; configured: rolling, "
                           f"{', '.join(sorted(cfg.references)) or '(no named references)'}")
    return Reference(name, to_utc(ref.start), to_utc(ref.end))


def run_key_for(endpoint: str | None, start: dt.datetime, end: dt.datetime, reference: str) -> str:
    """``drift_report/<endpoint or all>/<window start>..<window end>/<reference>``: one key per window and
    reference, so a retry or a re-run replaces the run."""
    return f"{DAG_ID}/{endpoint or 'all'}/{to_utc(start).isoformat()}..{to_utc(end).isoformat()}/{reference}"


def artifacts_root(cfg: DriftConfig, env: dict[str, str] | None = None) -> str:
    """Where reports go: ``drift.artifacts`` (folder or fsspec URL; a relative folder resolves against
    ``LLMMON_HOME``, else the current directory), by default ``$LLMMON_HOME/.llmmon/drift-reports``."""
    env = os.environ if env is None else env
    home = Path(env.get("LLMMON_HOME") or os.getcwd())
    value = cfg.artifacts or ".llmmon/drift-reports"
    if "://" in value:
        return value.rstrip("/")
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else home / p)


def artifact_dir(root: str, run_key: str) -> str:
    """The run's folder under the artifact root (run key made path-safe)."""
    return f"{root}/{re.sub(r'[^A-Za-z0-9_.-]+', '_', run_key.removeprefix(DAG_ID + '/'))}"


def windows_to_test(
    cfg: DriftConfig,
    window_start: str | dt.datetime | None,
    window_end: str | dt.datetime | None,
    *,
    data_interval_start: dt.datetime | None = None,
    data_interval_end: dt.datetime | None = None,
    run_after: dt.datetime | None = None,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The windows a run tests: the one given (both bounds, ISO 8601 with an offset), else the ``drift.window``
    windows of the data interval (one with the default 1d window), else the last complete window before
    ``run_after`` (now). Raises RunConfError for one bound without the other, or a bound without an offset."""
    from llmmon.quality.windows import run_window, windows_in

    if bool(window_start) != bool(window_end):
        raise RunConfError("give both window_start and window_end, or neither")
    if window_start:
        try:
            bounds = [b if isinstance(b, dt.datetime) else dt.datetime.fromisoformat(b)
                      for b in (window_start, window_end)]
        except ValueError as exc:
            raise RunConfError(f"window_start/window_end: {exc}") from None
        if any(b.tzinfo is None for b in bounds):
            raise RunConfError("window_start and window_end need a UTC offset, e.g. 2026-11-27T00:00:00Z")
        return [(bounds[0], bounds[1])]
    start, end = run_window(data_interval_start, data_interval_end, run_after or dt.datetime.now(dt.UTC), cfg.window)
    return windows_in(start, end, cfg.window)


def stage_report(cfg: DriftConfig, outcome: DriftOutcome) -> str | None:
    """Prepare the run's report folder (its feature sample, when there is one) for ``report.write_report``;
    None when reports are disabled."""
    if not cfg.report.enabled:
        return None
    root = artifacts_root(cfg)
    if outcome.sample:
        from llmmon.drift.report import save_sample  # report imports this module

        return save_sample(root, outcome.run["run_key"], outcome.sample)
    return artifact_dir(root, outcome.run["run_key"])


def _seed(run_key: str) -> int:
    return zlib.crc32(run_key.encode())


def evaluate_features(
    f_ref: Features, f_cur: Features, cfg: DriftConfig, *, seed: int, features: list[str] | None = None
) -> list[DriftResult]:
    """Every configured feature's tests, corrected across features and decided (see ``stats.decide``)."""
    rng = np.random.default_rng(seed)
    results: list[DriftResult] = []
    common = {"replicates": cfg.calibration, "alpha": cfg.alpha, "min_values": cfg.min_feature_values, "rng": rng}
    for name in features or cfg.features:
        if name in NUMERIC_FEATURES and name in f_ref.numeric:
            results += numeric_drift(name, f_ref.numeric[name], f_cur.numeric[name], floor=cfg.floor(name),
                                     bins=cfg.bins, **common)
        elif name in CATEGORICAL_FEATURES and name in f_ref.categorical:
            results += categorical_drift(name, f_ref.categorical[name], f_cur.categorical[name],
                                         floor=cfg.floor(name), max_categories=cfg.max_categories,
                                         increase_of=ATTACK if name == "attack_signal" else None, **common)
        elif name == "vocabulary":
            results += vocabulary_drift(f_ref.token_counts, f_cur.token_counts, f_ref.token_sample,
                                        f_cur.token_sample, floor=cfg.floor(name), vocabulary=VOCABULARY_SIZE,
                                        **common)
    return decide(results, alpha=cfg.alpha, correction=cfg.correction)


def _share(values: list[Any] | None) -> float | None:
    if not values:
        return None
    present = [v for v in values if v is not None]
    return sum(1 for v in present if v == ATTACK) / len(present) if present else None


def _sample(f: Features, rows: int, seed: int) -> dict[str, list[Any]]:
    """Up to ``rows`` rows of the features (no prompt text) for the report."""
    rng = np.random.default_rng(seed)
    idx = np.arange(f.n) if f.n <= rows else np.sort(rng.choice(f.n, size=rows, replace=False))
    out: dict[str, list[Any]] = {}
    for name, arr in f.numeric.items():
        out[name] = [None if np.isnan(x) else float(x) for x in arr[idx]]
    for name, values in f.categorical.items():
        out[name] = [values[i] for i in idx]
    return out


def run_drift(
    settings: Settings,
    warehouse: Warehouse,
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    endpoint: str | None = None,
    reference: str | None = None,
    embedder: Embedder | None = None,
    secrets: SecretResolver | None = None,
    now: dt.datetime | None = None,
) -> DriftOutcome:
    """Test the window ``[window_start, window_end)`` against its reference and write the run (see module doc)."""
    from llmmon.drift.embeddings import make_embedder
    from llmmon.warehouse.drift_store import replace_drift_run, span_columns

    cfg = settings.drift
    start, end = to_utc(window_start), to_utc(window_end)
    if end <= start:
        raise RunConfError(f"drift window end {end.isoformat()} must be after its start {start.isoformat()}")
    # Any endpoint name the spans carry (llm_spans.endpoint), not only the endpoints llmmon calls itself.
    endpoint = endpoint if endpoint is not None else cfg.endpoint
    ref = resolve_reference(cfg, start, reference)
    run_key = run_key_for(endpoint, start, end, ref.label)
    cur_cols = span_columns(warehouse, start, end, endpoint=endpoint or None)
    ref_cols = span_columns(warehouse, ref.start, ref.end, endpoint=endpoint or None)
    n_cur, n_ref = len(cur_cols["prompt"]), len(ref_cols["prompt"])
    run: dict[str, Any] = {
        "run_key": run_key, "endpoint": endpoint or "", "window_start": start, "window_end": end,
        "reference": ref.label, "reference_start": ref.start, "reference_end": ref.end, "n_ref": n_ref,
        "n_cur": n_cur, "n_features_tested": 0, "n_features_drifted": 0, "drifted": False,
        "settings": {"alpha": cfg.alpha, "correction": cfg.correction, "calibration": cfg.calibration,
                     "bins": cfg.bins, "features": list(cfg.features),
                     "effect_floors": {f: cfg.floor(f) for f in cfg.features}},
        "computed_at": now or dt.datetime.now(dt.UTC),
    }
    problems = []
    if n_ref < cfg.min_reference:
        problems.append(f"the reference {ref.label} ({ref.start.isoformat()}..{ref.end.isoformat()}) has {n_ref} "
                        f"spans, fewer than drift.min_reference={cfg.min_reference}")
    if n_cur < cfg.min_current:
        problems.append(f"the window has {n_cur} spans" + (f" of endpoint {endpoint!r}" if endpoint else "")
                        + f", fewer than drift.min_current={cfg.min_current}")
    if ref.end > start and ref.start < end:
        problems.append(f"the reference {ref.label} overlaps the window: a window cannot be its own reference")
    if problems:
        run.update(status="inconclusive", reason="; ".join(problems))
        replace_drift_run(warehouse, run, [])
        return DriftOutcome(run=run, metrics=[])

    try:
        return _test_and_write(settings, warehouse, run, ref_cols, cur_cols, embedder or make_embedder(settings, secrets))
    except Exception as exc:  # recorded, then raised: the run row says why it failed, the task retries or fails
        run.update(status="failed", reason=f"{type(exc).__name__}: {exc}"[:2000])
        try:
            replace_drift_run(warehouse, run, [])
        except Exception:  # the warehouse itself failed: the original error is the one to see
            pass
        raise


def _test_and_write(
    settings: Settings, warehouse: Warehouse, run: dict[str, Any], ref_cols: dict[str, list[Any]],
    cur_cols: dict[str, list[Any]], embedder: Embedder,
) -> DriftOutcome:
    from llmmon.drift.text import AttackSet
    from llmmon.warehouse.drift_store import replace_drift_run

    cfg = settings.drift
    seed = _seed(run["run_key"])
    run["embedding_provider"] = embedder.name
    attacks = AttackSet.from_config(cfg.attacks)
    f_ref, f_cur = compute_features(ref_cols, cur_cols, features=cfg.features, embedder=embedder, attacks=attacks,
                                    similarity=cfg.attacks.similarity, max_embed=cfg.embedding.max_rows, seed=seed)
    results = evaluate_features(f_ref, f_cur, cfg, seed=seed)
    metrics = [r.row() for r in results]
    decisive = [m for m in metrics if m["decisive"]]
    tested = [m for m in decisive if m["tested"]]
    run.update(
        n_features_tested=len(tested), n_features_drifted=sum(1 for m in tested if m["drifted"]),
        drifted=any(m["drifted"] for m in tested),
        attack_share_ref=_share(f_ref.categorical.get("attack_signal")),
        attack_share_cur=_share(f_cur.categorical.get("attack_signal")),
    )
    untested = [m for m in decisive if not m["tested"]]
    if not tested:
        run.update(status="inconclusive", reason="no feature could be tested: " + "; ".join(
            f"{m['feature']}: {m['reason']}" for m in untested))
    else:
        run.update(status="success", reason=("untested: " + "; ".join(f"{m['feature']}: {m['reason']}"
                                                                      for m in untested)) if untested else None)
    replace_drift_run(warehouse, run, metrics)
    sample = {"reference": _sample(f_ref, cfg.report.sample_rows, seed + 1),
              "current": _sample(f_cur, cfg.report.sample_rows, seed + 2)}
    if cfg.report.include_text:
        for side, cols in (("reference", ref_cols), ("current", cur_cols)):
            n = len(cols["prompt"])
            rng = np.random.default_rng(seed + (1 if side == "reference" else 2))
            idx = np.arange(n) if n <= cfg.report.sample_rows else np.sort(
                rng.choice(n, size=cfg.report.sample_rows, replace=False))
            sample[side]["prompt"] = [cols["prompt"][i] for i in idx]
    return DriftOutcome(run=run, metrics=metrics, sample=sample)
