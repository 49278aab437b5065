"""Rubrics: what a judge scores and how, declared in YAML, validated on load, versioned by content.

A rubric file (``<name>.yaml``)::

    name: correctness
    kind: pointwise              # or pairwise (compares two answers; takes no scale)
    description: One line for reports.
    criteria: |
      What the judge looks at.
    scale: {min: 1, max: 5}      # integer scores; both ends must be anchored
    anchors:                     # what each score means (anchored scoring is what makes judges consistent)
      1: The answer contradicts the reference.
      5: The answer says everything the reference says.
    requires: [reference]        # reference and/or context: items without them are skipped for this rubric
    examples:                    # optional few-shot examples, shown to the judge
      - {question: ..., reference: ..., answer: ..., score: 5, rationale: ...}

The version is a hash of the parsed content (YAML comments and layout do not change it; any change to what
the judge is told does), so scores and agreement figures are always tied to the exact rubric that produced
them. Errors are :class:`~llmmon.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from llmmon.errors import ConfigError
from llmmon.yamlio import parse_yaml

SHIPPED_DIR = Path(__file__).parent / "rubrics"
KINDS = ("pointwise", "pairwise")
REQUIREMENTS = ("reference", "context")
WINNERS = ("A", "B", "tie")
MAX_SCALE_POINTS = 11
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")
_KEYS = ("name", "kind", "description", "criteria", "scale", "anchors", "requires", "examples")


@dataclass(frozen=True)
class Rubric:
    """A validated rubric. ``scale_min``/``scale_max`` are None for pairwise rubrics."""

    name: str
    version: str
    kind: Literal["pointwise", "pairwise"]
    description: str
    criteria: str
    scale_min: int | None
    scale_max: int | None
    anchors: dict[int, str]
    requires: tuple[str, ...]
    examples: tuple[dict[str, Any], ...]
    path: str = field(default="<memory>", compare=False)

    @property
    def scores(self) -> list[int]:
        """Every score of the scale, lowest first (empty for pairwise rubrics)."""
        if self.scale_min is None or self.scale_max is None:
            return []
        return list(range(self.scale_min, self.scale_max + 1))

    def normalize(self, score: float) -> float:
        """``score`` mapped onto 0..1 (scale minimum 0, maximum 1)."""
        if self.scale_min is None or self.scale_max is None:
            raise ValueError(f"rubric {self.name!r} is pairwise and has no scale")
        return (score - self.scale_min) / (self.scale_max - self.scale_min)

    @property
    def label(self) -> str:
        """``name@version``, as stored in run records."""
        return f"{self.name}@{self.version}"


def _fail(path: str, key: str | None, rule: str) -> ConfigError:
    where = f"{path}: key '{key}'" if key else path
    return ConfigError(f"rubric {where}: {rule}")


def _text(raw: dict[str, Any], key: str, path: str, required: bool) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise _fail(path, key, "is required and must be a non-empty string")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(path, key, "must be a non-empty string")
    return value.strip()


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _scale(raw: dict[str, Any], path: str) -> tuple[int, int]:
    scale = raw.get("scale")
    if scale is None:
        raise _fail(path, "scale", "is required for a pointwise rubric: give {min: <int>, max: <int>}")
    if not isinstance(scale, dict) or set(scale) != {"min", "max"}:
        raise _fail(path, "scale", "must be a mapping with exactly the keys min and max, e.g. {min: 1, max: 5}")
    lo, hi = scale["min"], scale["max"]
    for key, value in (("min", lo), ("max", hi)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, f"scale.{key}", f"must be an integer, got {value!r}")
    if lo >= hi:
        raise _fail(path, "scale", f"min ({lo}) must be below max ({hi})")
    if hi - lo + 1 > MAX_SCALE_POINTS:
        raise _fail(path, "scale", f"at most {MAX_SCALE_POINTS} points; {lo}..{hi} has {hi - lo + 1}")
    return lo, hi


def _anchors(raw: dict[str, Any], path: str, lo: int, hi: int) -> dict[int, str]:
    anchors = raw.get("anchors")
    if not isinstance(anchors, dict) or not anchors:
        raise _fail(path, "anchors", "is required: a mapping of score to what that score means")
    out: dict[int, str] = {}
    for key, text in anchors.items():
        score = _int(key)
        if score is None:
            raise _fail(path, f"anchors.{key}", "anchor keys must be integer scores")
        if not lo <= score <= hi:
            raise _fail(path, f"anchors.{key}", f"score {score} is outside the scale {lo}..{hi}")
        if not isinstance(text, str) or not text.strip():
            raise _fail(path, f"anchors.{key}", "must be a non-empty description")
        out[score] = " ".join(text.split())
    for end in (lo, hi):
        if end not in out:
            raise _fail(path, "anchors", f"both ends of the scale must be anchored; score {end} has no anchor")
    return dict(sorted(out.items()))


def _requires(raw: dict[str, Any], path: str) -> tuple[str, ...]:
    value = raw.get("requires") or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _fail(path, "requires", f"must be a list of {' and/or '.join(REQUIREMENTS)}")
    for i, item in enumerate(value):
        if item not in REQUIREMENTS:
            raise _fail(path, f"requires.{i}", f"{item!r} is not one of {', '.join(REQUIREMENTS)}")
    return tuple(dict.fromkeys(value))


def _examples(raw: dict[str, Any], path: str, kind: str, lo: int | None, hi: int | None,
              requires: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    value = raw.get("examples") or []
    if not isinstance(value, list):
        raise _fail(path, "examples", "must be a list of example mappings")
    answers = ("answer_a", "answer_b") if kind == "pairwise" else ("answer",)
    allowed = {"question", *answers, "reference", "context", "rationale", "winner" if kind == "pairwise" else "score"}
    out = []
    for i, ex in enumerate(value):
        key = f"examples.{i}"
        if not isinstance(ex, dict):
            raise _fail(path, key, "must be a mapping")
        unknown = sorted(set(ex) - allowed)
        if unknown:
            raise _fail(path, f"{key}.{unknown[0]}", f"unknown key; allowed: {', '.join(sorted(allowed))}")
        for name in ("question", *answers, "rationale", *requires):
            if not isinstance(ex.get(name), str) or not ex[name].strip():
                raise _fail(path, f"{key}.{name}", "is required and must be a non-empty string")
        if kind == "pairwise":
            if ex.get("winner") not in WINNERS:
                raise _fail(path, f"{key}.winner", f"must be one of {', '.join(WINNERS)}")
        else:
            score = ex.get("score")
            if isinstance(score, bool) or not isinstance(score, int):
                raise _fail(path, f"{key}.score", f"must be an integer, got {score!r}")
            if not lo <= score <= hi:  # type: ignore[operator]
                raise _fail(path, f"{key}.score", f"score {score} is outside the scale {lo}..{hi}")
        out.append(dict(ex))
    return tuple(out)


def rubric_version(raw: dict[str, Any]) -> str:
    """Content hash of a parsed rubric: 12 hex digits of SHA-256 over its canonical JSON."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def parse_rubric(raw: Any, path: str = "<memory>") -> Rubric:
    """Validate a parsed rubric mapping; raise ConfigError naming ``path`` and the key at fault."""
    if not isinstance(raw, dict):
        raise _fail(path, None, "the top level must be a mapping of keys")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise _fail(path, unknown[0], f"unknown key; rubric keys are: {', '.join(_KEYS)}")
    name = _text(raw, "name", path, required=True)
    if not set(name) <= _NAME_CHARS:
        raise _fail(path, "name", f"{name!r} may hold only lower-case letters, digits, '_' and '-'")
    kind = raw.get("kind", "pointwise")
    if kind not in KINDS:
        raise _fail(path, "kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    criteria = _text(raw, "criteria", path, required=True)
    description = _text(raw, "description", path, required=False)
    requires = _requires(raw, path)
    if kind == "pairwise":
        for key in ("scale", "anchors"):
            if key in raw:
                raise _fail(path, key, "a pairwise rubric compares two answers (winner A, B or tie) and takes no "
                                       f"{key}")
        lo = hi = None
        anchors: dict[int, str] = {}
    else:
        lo, hi = _scale(raw, path)
        anchors = _anchors(raw, path, lo, hi)
    examples = _examples(raw, path, kind, lo, hi, requires)
    return Rubric(
        name=name, version=rubric_version(raw), kind=kind, description=description, criteria=criteria,
        scale_min=lo, scale_max=hi, anchors=anchors, requires=requires, examples=examples, path=path,
    )


def load_rubric(path: str | Path) -> Rubric:
    """Read and validate one rubric file; its ``name`` must match the file name."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"rubric {p}: cannot be read: {exc}") from None
    raw = parse_yaml(text, f"rubric {p}", ConfigError)
    rubric = parse_rubric(raw, str(p))
    if rubric.name != p.stem:
        raise _fail(str(p), "name", f"{rubric.name!r} must match the file name ({p.stem!r})")
    return rubric


def load_rubrics(directory: str | Path | None = None, *, shipped: bool = True) -> dict[str, Rubric]:
    """Rubrics by name: the shipped ones (unless ``shipped=False``), then ``directory``'s ``*.yaml``, which
    replace shipped rubrics of the same name. A directory that does not exist is a ConfigError."""
    rubrics: dict[str, Rubric] = {}
    folders = [SHIPPED_DIR] if shipped else []
    if directory is not None:
        d = Path(directory)
        if not d.is_dir():
            raise ConfigError(f"rubrics directory {d} does not exist or is not a folder")
        folders.append(d)
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")):
            rubric = load_rubric(path)
            rubrics[rubric.name] = rubric
    return rubrics


def rubrics_dir(settings: Any) -> Path | None:
    """The configured rubrics folder as an absolute path (relative to the config file, or for the embedded
    defaults to LLMMON_HOME / the current directory), or None when only shipped rubrics are used."""
    import os

    from llmmon.config import DEFAULTS_PATH, HOME_ENV

    value = settings.judge.rubrics_dir
    if value is None:
        return None
    p = Path(value).expanduser()
    if p.is_absolute():
        return p
    source = Path(settings.source)
    if settings.source == "<memory>" or source == DEFAULTS_PATH:
        base = Path(os.environ.get(HOME_ENV) or os.getcwd())
    else:
        base = source.parent
    return base / p


def configured_rubrics(settings: Any, names: list[str] | None = None) -> list[Rubric]:
    """The rubrics ``names`` (default: ``settings.judge.rubrics``) in that order; ConfigError for unknown ones."""
    available = load_rubrics(rubrics_dir(settings))
    wanted = list(names) if names is not None else list(settings.judge.rubrics)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise ConfigError(
            f"unknown rubric(s) {', '.join(map(repr, unknown))}; available: {', '.join(sorted(available))}"
        )
    return [available[n] for n in wanted]
