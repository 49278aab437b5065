"""Judge reliability: agreement of the judge with human labels on a calibration set, tracked over time.

The calibration set (``golden_sets/judge_calibration/items.jsonl``; see its README) holds answers a person
scored on each rubric. :func:`measure_agreement` has the configured judge score the same items and stores,
per rubric, the judge model, the rubric version, accuracy (exact agreement), agreement within one point, and
Cohen's kappa (J. Cohen, "A coefficient of agreement for nominal scales", 1960) plain and with quadratic
weights (Cohen 1968, "Weighted kappa"), over the rubric's whole scale. Kappa corrects accuracy for the
agreement two raters would reach by chance given how often each uses each score: a judge that says "5" to
everything agrees often with lenient humans and still earns a kappa near 0.

It alerts (returns :class:`AgreementAlert` records, and stores the flags) when kappa (quadratic-weighted by
default: the scores are ordinal) or accuracy falls below the configured floor, and when the judge model differs from the one of the previous measurement of the same
rubric — a new judge model invalidates every comparison of judge scores across the change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmmon.config import SecretResolver, Settings
from llmmon.errors import GoldenSetError
from llmmon.judge.calls import judge_many, judge_target, run_sync
from llmmon.judge.parse import parse_judgement
from llmmon.judge.prompt import JudgeItem, judge_request, pointwise_messages
from llmmon.judge.rubrics import Rubric, configured_rubrics

log = logging.getLogger("llmmon.judge")

ITEMS_FILE = "items.jsonl"
_ITEM_KEYS = ("id", "question", "answer", "reference", "context", "human", "notes")


# -- statistics ---------------------------------------------------------------------------------------------


def _pairs(a: Sequence[int], b: Sequence[int]) -> None:
    if len(a) != len(b):
        raise ValueError(f"rater sequences differ in length: {len(a)} vs {len(b)}")


def accuracy(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Share of items on which the two raters gave the same score (None for no items)."""
    _pairs(a, b)
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a) if a else None


def within_one(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Share of items on which the two scores differ by at most 1."""
    _pairs(a, b)
    return sum(abs(x - y) <= 1 for x, y in zip(a, b, strict=True)) / len(a) if a else None


def confusion_matrix(a: Sequence[int], b: Sequence[int], labels: Sequence[int]) -> list[list[int]]:
    """``m[i][j]``: items rater a scored ``labels[i]`` and rater b scored ``labels[j]``."""
    _pairs(a, b)
    index = {label: i for i, label in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for x, y in zip(a, b, strict=True):
        if x not in index or y not in index:
            raise ValueError(f"score {x if x not in index else y} is not one of the labels {list(labels)}")
        m[index[x]][index[y]] += 1
    return m


def cohen_kappa(a: Sequence[int], b: Sequence[int], labels: Sequence[int] | None = None,
                weights: str | None = None) -> float | None:
    """Cohen's kappa of two raters; ``weights`` None, ``"linear"`` or ``"quadratic"`` (weighted kappa).

    kappa = 1 - sum(w * observed) / sum(w * expected), with disagreement weights w_ij = 0 on the diagonal and
    1 off it (unweighted), |i-j|/(k-1) (linear) or ((i-j)/(k-1))^2 (quadratic), and ``expected`` the product
    of the raters' marginals. Matches sklearn's ``cohen_kappa_score``. None when undefined (no items, or
    chance disagreement is 0: both raters used one and the same score throughout).
    """
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    if not a:
        _pairs(a, b)
        return None
    labels = list(labels) if labels is not None else sorted(set(a) | set(b))
    m = confusion_matrix(a, b, labels)
    k, n = len(labels), len(a)
    rows = [sum(r) for r in m]
    cols = [sum(m[i][j] for i in range(k)) for j in range(k)]

    def w(i: int, j: int) -> float:
        if weights is None:
            return 0.0 if i == j else 1.0
        d = abs(i - j) / (k - 1) if k > 1 else 0.0
        return d if weights == "linear" else d * d

    observed = sum(w(i, j) * m[i][j] for i in range(k) for j in range(k)) / n
    expected = sum(w(i, j) * rows[i] * cols[j] for i in range(k) for j in range(k)) / (n * n)
    if expected == 0:
        return None
    return 1.0 - observed / expected


# -- the calibration set ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationItem:
    """One human-labelled answer: ``human`` maps rubric name to the person's score."""

    id: str
    question: str
    answer: str
    reference: str | None
    context: str | None
    human: dict[str, int]
    line: int


@dataclass(frozen=True)
class CalibrationSet:
    """The items of a calibration set and its version (content hash of the items file)."""

    name: str
    version: str
    path: Path
    items: tuple[CalibrationItem, ...]


def _problem(path: Path, line: int, field_name: str | None, rule: str, item_id: str | None = None) -> GoldenSetError:
    where = f"{path}:{line}" + (f" (id {item_id})" if item_id else "")
    what = f"field '{field_name}': {rule}" if field_name else rule
    return GoldenSetError(f"{where}: {what}",
                          [{"file": str(path), "line": line, "id": item_id, "field": field_name, "rule": rule}])


def load_calibration_set(folder: str | Path) -> CalibrationSet:
    """Read ``<folder>/items.jsonl``; raise GoldenSetError naming file, line, field and rule."""
    folder = Path(folder)
    path = folder / ITEMS_FILE
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GoldenSetError(f"calibration set {path}: cannot be read: {exc}") from None
    items: list[CalibrationItem] = []
    seen: set[str] = set()
    for lineno, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _problem(path, lineno, None, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise _problem(path, lineno, None, "each line must be a JSON object")
        item_id = row.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise _problem(path, lineno, "id", "must be a non-empty string")
        if item_id in seen:
            raise _problem(path, lineno, "id", "is repeated", item_id)
        seen.add(item_id)
        unknown = sorted(set(row) - set(_ITEM_KEYS))
        if unknown:
            raise _problem(path, lineno, unknown[0], f"unknown field; fields are {', '.join(_ITEM_KEYS)}", item_id)
        for name in ("question", "answer"):
            if not isinstance(row.get(name), str):
                raise _problem(path, lineno, name, "must be a string", item_id)
        for name in ("reference", "context"):
            if row.get(name) is not None and (not isinstance(row[name], str) or not row[name].strip()):
                raise _problem(path, lineno, name, "must be a non-empty string when given", item_id)
        human = row.get("human")
        if not isinstance(human, dict) or not human:
            raise _problem(path, lineno, "human", "must map rubric names to integer scores", item_id)
        for rubric, score in human.items():
            if isinstance(score, bool) or not isinstance(score, int):
                raise _problem(path, lineno, f"human.{rubric}", f"must be an integer score, got {score!r}", item_id)
        items.append(CalibrationItem(item_id, row["question"], row["answer"], row.get("reference"),
                                     row.get("context"), dict(human), lineno))
    if not items:
        raise GoldenSetError(f"calibration set {path}: no items")
    version = hashlib.sha256(data).hexdigest()[:12]
    return CalibrationSet(folder.name, version, path, tuple(items))


def check_labels(cal: CalibrationSet, rubrics: Sequence[Rubric]) -> None:
    """Every human score of a measured rubric lies on its scale, and the items have what the rubric requires."""
    for rubric in rubrics:
        for it in cal.items:
            if rubric.name not in it.human:
                continue
            score = it.human[rubric.name]
            if not rubric.scale_min <= score <= rubric.scale_max:  # type: ignore[operator]
                raise _problem(cal.path, it.line, f"human.{rubric.name}",
                               f"score {score} is outside the rubric's scale {rubric.scale_min}..{rubric.scale_max}",
                               it.id)
            for need in rubric.requires:
                if getattr(it, need) is None:
                    raise _problem(cal.path, it.line, need, f"rubric {rubric.name} requires it", it.id)


# -- measuring --------------------------------------------------------------------------------------------


@dataclass
class AgreementResult:
    """Agreement of the judge with the humans on one rubric."""

    rubric: Rubric
    judge_model: str
    n: int
    errors: int
    accuracy: float | None
    within_one: float | None
    kappa: float | None
    weighted_kappa: float | None
    confusion: list[list[int]]
    disagreements: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AgreementAlert:
    """Why a measurement needs attention: ``below_floor`` or ``judge_model_changed``."""

    rubric: str
    reason: str
    message: str


def agreement_of(rubric: Rubric, judge_model: str, human: dict[str, int], judged: dict[str, int | None]) -> AgreementResult:
    """Agreement over the items with a human label; items the judge could not score count as errors."""
    ids = [i for i in human if judged.get(i) is not None]
    errors = sum(1 for i in human if judged.get(i) is None)
    h = [human[i] for i in ids]
    j = [judged[i] for i in ids]  # type: ignore[misc]
    labels = rubric.scores
    return AgreementResult(
        rubric=rubric, judge_model=judge_model, n=len(ids), errors=errors, accuracy=accuracy(h, j),
        within_one=within_one(h, j), kappa=cohen_kappa(h, j, labels), weighted_kappa=cohen_kappa(h, j, labels,
                                                                                                 "quadratic"),
        confusion=confusion_matrix(h, j, labels),
        disagreements=[{"id": i, "human": human[i], "judge": judged[i]} for i in ids if human[i] != judged[i]],
    )


def check_agreement(result: AgreementResult, *, kappa_floor: float, accuracy_floor: float,
                    previous_judge_model: str | None, weights: str = "quadratic") -> list[AgreementAlert]:
    """The alerts a measurement raises: kappa (weighted per ``weights``) or accuracy below its floor or
    undefined; judge model changed since ``previous_judge_model``."""
    alerts = []
    name = result.rubric.name
    kappa, label = ((result.weighted_kappa, "weighted kappa") if weights == "quadratic"
                    else (result.kappa, "kappa"))
    if kappa is None or kappa < kappa_floor:
        shown = "undefined" if kappa is None else f"{kappa:.3f}"
        alerts.append(AgreementAlert(name, "below_floor",
                                     f"{name}: judge-human {label} {shown} is below the floor {kappa_floor:g} "
                                     f"(judge {result.judge_model}, rubric {result.rubric.version}, n={result.n})"))
    if result.accuracy is None or result.accuracy < accuracy_floor:
        shown = "undefined" if result.accuracy is None else f"{result.accuracy:.3f}"
        alerts.append(AgreementAlert(name, "below_floor",
                                     f"{name}: judge-human accuracy {shown} is below the floor {accuracy_floor:g} "
                                     f"(judge {result.judge_model}, n={result.n})"))
    if previous_judge_model is not None and previous_judge_model != result.judge_model:
        alerts.append(AgreementAlert(name, "judge_model_changed",
                                     f"{name}: the judge model changed from {previous_judge_model} to "
                                     f"{result.judge_model}; judge scores before and after are not comparable"))
    return alerts


@dataclass
class AgreementReport:
    """One measurement: results per rubric, the rows stored, the alerts raised."""

    measure_key: str
    calibration: CalibrationSet
    results: list[AgreementResult]
    alerts: list[AgreementAlert]
    rows: list[dict[str, Any]]


def calibration_dir(settings: Settings) -> Path:
    """The configured calibration set's folder (``golden_sets_dir / judge.calibration_set``)."""
    p = Path(settings.judge.calibration_set)
    return p if p.is_absolute() else Path(settings.golden_sets_dir) / p


def _item_request(rubric: Rubric, it: CalibrationItem, mode: str, max_tokens: int):
    item = JudgeItem(key=f"{it.id}/{rubric.name}", question=it.question, answer=it.answer,
                     reference=it.reference if "reference" in rubric.requires else None,
                     context=it.context if "context" in rubric.requires else None)
    return judge_request(item.key, pointwise_messages(rubric, item), rubric, mode=mode, max_tokens=max_tokens)


def measure_agreement(
    settings: Settings,
    warehouse: Any,
    *,
    measure_key: str,
    rubrics: list[str] | None = None,
    secrets: SecretResolver | None = None,
    measured_at: dt.datetime | None = None,
    calibration: CalibrationSet | None = None,
) -> AgreementReport:
    """Judge the calibration set, store agreement per rubric in ``judge_agreement`` (upsert by measure_key and
    rubric), and return it with the alerts it raises. Rubrics default to the configured ones that have labels."""
    from llmmon.warehouse import judge_store

    cfg = settings.judge
    cal = calibration or load_calibration_set(calibration_dir(settings))
    chosen = configured_rubrics(settings, rubrics)
    labelled = {name for it in cal.items for name in it.human}
    chosen = [r for r in chosen if r.kind == "pointwise" and (rubrics is not None or r.name in labelled)]
    missing = [r.name for r in chosen if r.name not in labelled]
    if missing:
        raise GoldenSetError(f"calibration set {cal.path}: no human labels for rubric(s) {', '.join(missing)}")
    check_labels(cal, chosen)
    target = judge_target(settings, secrets=secrets)
    measured_at = measured_at or dt.datetime.now(dt.UTC)

    jobs = []
    for rubric in chosen:
        for it in cal.items:
            if rubric.name in it.human:
                jobs.append((_item_request(rubric, it, cfg.response_format, cfg.max_tokens),
                             lambda text, r=rubric: parse_judgement(text, r), rubric))

    async def main():
        async with target.client() as client:
            return await judge_many(client, jobs, workers=target.concurrency)

    calls = {c.key: c for c in run_sync(main)}
    results, alerts, rows = [], [], []
    for rubric in chosen:
        human = {it.id: it.human[rubric.name] for it in cal.items if rubric.name in it.human}
        judged = {i: (calls[f"{i}/{rubric.name}"].parsed.score if calls[f"{i}/{rubric.name}"].ok else None)
                  for i in human}
        models = [calls[f"{i}/{rubric.name}"].judge_model for i in human if calls[f"{i}/{rubric.name}"].judge_model]
        judge_model = max(set(models), key=models.count) if models else target.endpoint.model
        result = agreement_of(rubric, judge_model, human, judged)
        previous = judge_store.latest_agreement(warehouse, rubric.name, before=measured_at, exclude_key=measure_key)
        previous_model = previous["judge_model"] if previous else None
        raised = check_agreement(result, kappa_floor=cfg.agreement_floor.kappa,
                                 accuracy_floor=cfg.agreement_floor.accuracy, previous_judge_model=previous_model,
                                 weights=cfg.agreement_floor.weights)
        for a in raised:
            log.warning("judge agreement alert: %s", a.message)
        results.append(result)
        alerts.extend(raised)
        rows.append({
            "measure_key": measure_key, "rubric": rubric.name, "rubric_version": rubric.version,
            "judge_model": judge_model, "judge_endpoint": target.endpoint.name, "calibration_set": cal.name,
            "calibration_version": cal.version, "measured_at": measured_at, "n": result.n, "errors": result.errors,
            "accuracy": result.accuracy, "within_one": result.within_one, "kappa": result.kappa,
            "weighted_kappa": result.weighted_kappa, "kappa_floor": cfg.agreement_floor.kappa,
            "accuracy_floor": cfg.agreement_floor.accuracy,
            "below_floor": any(a.reason == "below_floor" for a in raised),
            "previous_judge_model": previous_model,
            "judge_model_changed": any(a.reason == "judge_model_changed" for a in raised),
            "details": {"floor_on": "weighted_kappa" if cfg.agreement_floor.weights == "quadratic" else "kappa",
                        "labels": rubric.scores, "confusion": result.confusion,
                        "disagreements": result.disagreements[:50]},
        })
    judge_store.write_agreement(warehouse, rows)
    return AgreementReport(measure_key, cal, results, alerts, rows)
