"""Golden sets: load a suite (``suite.yaml`` + ``cases.jsonl``), version it by content, build its requests.

A suite lives in ``<golden_sets_dir>/<suite>/``. Loading checks only what it must to build the objects: the
suite file's structure (with pydantic) and that every non-blank line of the cases file is a JSON object.
Everything about the cases themselves (required fields, unique ids, known intents, task types and scorers,
examples per intent) is checked by :func:`llmmon.golden_validation.validate_golden_set`, before any model call.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from llmmon.errors import GoldenSetError, RunConfError
from llmmon.records import ChatRequest
from llmmon.yamlio import parse_yaml

SUITE_FILE = "suite.yaml"


def _unique_intents(intents: list[str]) -> list[str]:
    repeated = sorted({i for i in intents if intents.count(i) > 1})
    if repeated:
        raise ValueError(f"intents must be unique; repeated: {', '.join(repeated)}")
    return intents


# The intents a suite file declares (golden sets and retrieval suites): at least one, none empty, none repeated.
Intents = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1), AfterValidator(_unique_intents)]
CASE_FIELDS = ("id", "intent", "task_type", "input", "reference", "tags", "scorer", "params")
KEY_SEPARATOR = "#"


class _SuiteFileTaskType(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scorer: Annotated[str, Field(min_length=1)]
    threshold: Annotated[float, Field(ge=0, le=1)]
    params: dict[str, Any] = {}
    system_prompt: Annotated[str, Field(min_length=1)]


class _SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    cases: Annotated[str, Field(min_length=1)] = "cases.jsonl"
    intents: Intents
    min_examples_per_intent: Annotated[int, Field(ge=0)] = 1
    task_types: Annotated[dict[str, _SuiteFileTaskType], Field(min_length=1)]


@dataclass(frozen=True)
class TaskTypeSpec:
    """How one task type is asked and scored: its scorer, pass threshold, scorer params and system prompt."""

    scorer: str
    threshold: float
    params: dict[str, Any]
    system_prompt: str


@dataclass
class GoldenCase:
    """One golden example, as read from its JSONL line (``line`` is 1-based).

    Loading does not check field values: before :func:`~llmmon.golden_validation.validate_golden_set` passes,
    any field may be None or of the wrong type. ``extra`` holds keys the format does not know (validation
    reports them).
    """

    id: str
    intent: str
    task_type: str
    input: str
    reference: Any
    tags: list[str] = field(default_factory=list)
    scorer: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class GoldenSuite:
    """A loaded golden set. ``path`` is the suite folder; ``version`` its content hash (:func:`suite_version`)."""

    name: str
    path: Path
    cases_path: Path
    version: str
    intents: list[str]
    min_examples_per_intent: int
    task_types: dict[str, TaskTypeSpec]
    cases: list[GoldenCase]
    description: str = ""

    @property
    def suite_file(self) -> Path:
        return self.path / SUITE_FILE

    def case(self, case_id: str) -> GoldenCase:
        """The case with id ``case_id`` (KeyError when there is none)."""
        for c in self.cases:
            if c.id == case_id:
                return c
        raise KeyError(f"suite {self.name!r} has no case {case_id!r}")

    def scorer_for(self, case: GoldenCase) -> tuple[str | None, dict[str, Any]]:
        """The scorer name and params that score ``case``.

        A case without a ``scorer`` (or naming its task type's) uses its task type's scorer with the task type's
        params, updated by the case's ``params``. A case naming another scorer uses only its own ``params``:
        params belong to a scorer, and the task type's (a schema, a label list) mean nothing to another one.
        The name is None when neither the case nor a known task type names a scorer.
        """
        spec = self.task_types.get(case.task_type) if isinstance(case.task_type, str) else None
        case_params = case.params if isinstance(case.params, dict) else {}
        if case.scorer is not None and (spec is None or case.scorer != spec.scorer):
            return case.scorer, dict(case_params)
        if spec is None:
            return None, dict(case_params)
        return spec.scorer, {**spec.params, **case_params}


def _canonical_bytes(path: Path) -> bytes:
    # Line endings and a UTF-8 byte-order mark do not change a set's content: a Windows checkout with
    # autocrlf must report the same version as Linux.
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _cases_file_name(suite_yaml: Path) -> str:
    try:
        raw = yaml.safe_load(suite_yaml.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return "cases.jsonl"
    value = raw.get("cases") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and value else "cases.jsonl"


def suite_version(suite_dir: str | Path) -> str:
    """The set's version: the first 12 hex digits of SHA-256 over the canonical bytes of its two files.

    Canonical bytes: the file with ``\\r\\n``/``\\r`` line endings as ``\\n`` and no UTF-8 BOM. Each file is
    hashed with a label and its length, so moving bytes from one file to the other changes the version.
    """
    suite_dir = Path(suite_dir)
    suite_yaml = suite_dir / SUITE_FILE
    return content_version([(b"suite", suite_yaml), (b"cases", suite_dir / _cases_file_name(suite_yaml))])


def content_version(files: Sequence[tuple[bytes, Path]]) -> str:
    """12 hex digits of SHA-256 over labelled files' canonical bytes: the version of a suite made of these files
    (golden sets, retrieval suites). Raises GoldenSetError naming a file that cannot be read."""
    digest = hashlib.sha256()
    for label, path in files:
        try:
            data = _canonical_bytes(path)
        except OSError as exc:
            raise GoldenSetError(f"{path}: cannot be read: {exc.strerror or exc}") from None
        digest.update(label + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:12]


def find_suite_dir(name_or_path: str | Path, golden_sets_dir: str | Path | None, what: str = "golden set") -> Path:
    """The folder of a suite given by name (a folder of ``golden_sets_dir``), folder path or suite-file path;
    GoldenSetError lists where it looked."""
    candidate = Path(name_or_path)
    if candidate.name == SUITE_FILE and candidate.is_file():
        return candidate.parent
    looked = []
    if golden_sets_dir is not None:
        by_name = Path(golden_sets_dir) / candidate
        if (by_name / SUITE_FILE).is_file():
            return by_name
        looked.append(str(by_name / SUITE_FILE))
    if (candidate / SUITE_FILE).is_file():
        return candidate
    looked.append(str(candidate / SUITE_FILE))
    raise GoldenSetError(f"{what} {str(name_or_path)!r} not found (looked for {' and '.join(looked)})")


def _load_suite_file(path: Path) -> _SuiteFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GoldenSetError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise GoldenSetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    raw = parse_yaml(text, str(path), GoldenSetError)
    if not isinstance(raw, dict):
        raise GoldenSetError(f"{path}: the top level must be a mapping of keys")
    try:
        return _SuiteFile.model_validate(raw)
    except ValidationError as exc:
        problems, lines = [], [f"invalid suite file {path}:"]
        for e in exc.errors():
            key = ".".join(str(p) for p in e["loc"]) or "<top level>"
            rule = e["msg"].removeprefix("Value error, ")
            lines.append(f"  {path}: key '{key}': {rule}")
            problems.append({"file": str(path), "example_id": None, "line": None, "field": key, "rule": rule})
        raise GoldenSetError("\n".join(lines), problems) from None


def _read_cases(path: Path) -> list[GoldenCase]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GoldenSetError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    cases: list[GoldenCase] = []
    problems: list[dict[str, Any]] = []
    for lineno, raw_line in enumerate(data.removeprefix(b"\xef\xbb\xbf").splitlines(), start=1):
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(_line_problem(path, lineno, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
            continue
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(_line_problem(path, lineno, f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(row, dict):
            problems.append(_line_problem(path, lineno, f"must be a JSON object, not {type(row).__name__}"))
            continue
        cases.append(
            GoldenCase(
                id=row.get("id"),
                intent=row.get("intent"),
                task_type=row.get("task_type"),
                input=row.get("input"),
                reference=row.get("reference"),
                tags=row.get("tags") if row.get("tags") is not None else [],
                scorer=row.get("scorer"),
                params=row.get("params") if row.get("params") is not None else {},
                line=lineno,
                extra={k: v for k, v in row.items() if k not in CASE_FIELDS},
            )
        )
    if problems:
        listing = "\n".join(f"  {p['file']}: line {p['line']}: {p['rule']}" for p in problems)
        raise GoldenSetError(f"golden set {path}: {len(problems)} unreadable line(s):\n{listing}", problems)
    return cases


def _line_problem(path: Path, lineno: int, rule: str) -> dict[str, Any]:
    return {"file": str(path), "example_id": None, "line": lineno, "field": None, "rule": rule}


def load_suite(name_or_path: str | Path, golden_sets_dir: str | Path | None = None) -> GoldenSuite:
    """Load a golden set by name (a folder of ``golden_sets_dir``) or by path (its folder or its suite.yaml).

    Raises :class:`GoldenSetError` when the suite is not found, its suite file is invalid, or a line of its
    cases file is not a JSON object (every such line is listed, with file and line number). The cases are not
    validated here: call :func:`llmmon.golden_validation.validate_golden_set` before using them.
    """
    suite_dir = find_suite_dir(name_or_path, golden_sets_dir)
    suite_file = _load_suite_file(suite_dir / SUITE_FILE)
    cases_path = suite_dir / suite_file.cases
    cases = _read_cases(cases_path)
    return GoldenSuite(
        name=suite_file.name,
        path=suite_dir,
        cases_path=cases_path,
        version=suite_version(suite_dir),
        intents=list(suite_file.intents),
        min_examples_per_intent=suite_file.min_examples_per_intent,
        task_types={
            name: TaskTypeSpec(t.scorer, t.threshold, dict(t.params), t.system_prompt)
            for name, t in suite_file.task_types.items()
        },
        cases=cases,
        description=suite_file.description,
    )


def messages_for(suite: GoldenSuite, case: GoldenCase) -> list[dict[str, str]]:
    """The chat messages sent for ``case``: its task type's system prompt, then the case input as the user."""
    spec = suite.task_types.get(case.task_type)
    if spec is None:
        raise GoldenSetError(
            f"{suite.cases_path}: example {case.id} (line {case.line}): field 'task_type': "
            f"'{case.task_type}' is not a task type of suite '{suite.name}'"
        )
    return [{"role": "system", "content": spec.system_prompt}, {"role": "user", "content": case.input}]


def build_requests(suite: GoldenSuite, trials: int = 1, case_ids: list[str] | None = None) -> list[ChatRequest]:
    """One request per case and trial, keyed ``"<case id>#<trial>"`` (trials count from 0).

    Order: trial 0 of every case (in suite order, or the order of ``case_ids``), then trial 1, and so on, so a
    partial run covers every case once before repeating any. Raises :class:`RunConfError` for ``trials`` < 1 or
    case ids the suite does not have.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise RunConfError(f"trials must be an integer >= 1, got {trials!r}")
    if case_ids is None:
        cases = list(suite.cases)
    else:
        by_id = {c.id: c for c in suite.cases}
        unknown = [i for i in case_ids if i not in by_id]
        if unknown:
            shown = ", ".join(map(str, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
            raise RunConfError(f"golden set {suite.name}: unknown case ids: {shown}")
        repeated = sorted(i for i, n in Counter(case_ids).items() if n > 1)
        if repeated:
            raise RunConfError(f"golden set {suite.name}: case ids given more than once: {', '.join(repeated)}")
        cases = [by_id[i] for i in case_ids]
    messages = {c.id: messages_for(suite, c) for c in cases}
    return [
        ChatRequest(key=f"{c.id}{KEY_SEPARATOR}{trial}", messages=messages[c.id])
        for trial in range(trials)
        for c in cases
    ]


def parse_request_key(key: str) -> tuple[str, int]:
    """``"cs-0001#2"`` -> ``("cs-0001", 2)``; ValueError for a key not made by :func:`build_requests`."""
    case_id, sep, trial = key.rpartition(KEY_SEPARATOR)
    if not sep or not case_id or not trial.isdigit():
        raise ValueError(f"not a golden request key (expected '<case id>#<trial>'): {key!r}")
    return case_id, int(trial)


def expected_text(case: GoldenCase) -> str:
    """The expected answer text: the reference string itself, or sorted-key JSON for any other reference."""
    if isinstance(case.reference, str):
        return case.reference
    return json.dumps(case.reference, sort_keys=True)
