"""Golden retrieval suites: load ``suite.yaml`` + queries (with graded judgements) + corpus, validate, version.

A suite lives in ``<golden_sets_dir>/<suite>/`` (see golden_sets/rag_support/README.md). Validation is strict and
complete, like the golden sets': every problem is collected and raised together in one
:class:`~llmmon.errors.GoldenSetError` whose ``problems`` name file, line, query id, field and rule, before any
retriever call. (Plain Python rather than Great Expectations: the rules are structural, and the check costs
milliseconds instead of the ~6 s import.)
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmmon.errors import GoldenSetError
from llmmon.golden import Intents, content_version, find_suite_dir
from llmmon.yamlio import parse_yaml

SUITE_FILE = "suite.yaml"
QUERY_FIELDS = ("id", "intent", "query", "judgements", "tags")
DOC_FIELDS = ("doc_id", "title", "text")
MAX_LISTED = 100


class _SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    kind: Annotated[str, Field(pattern=r"^retrieval$")] = "retrieval"
    description: str = ""
    queries: Annotated[str, Field(min_length=1)] = "queries.jsonl"
    corpus: Annotated[str, Field(min_length=1)] | None = "corpus.jsonl"
    intents: Intents
    min_queries_per_intent: Annotated[int, Field(ge=0)] = 1
    max_grade: Annotated[int, Field(ge=1, le=100)] = 3


@dataclass(frozen=True)
class RetrievalQuery:
    """One golden query: its id, intent, text and graded judgements (document id -> grade)."""

    id: str
    intent: str
    query: str
    judgements: dict[str, int]
    line: int = 0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """A corpus document (demo corpora; a real retriever has its own index)."""

    doc_id: str
    text: str
    title: str = ""


@dataclass
class RetrievalSuite:
    """A loaded and validated golden retrieval suite; ``version`` is the content hash of its files."""

    name: str
    path: Path
    version: str
    intents: list[str]
    max_grade: int
    queries: list[RetrievalQuery]
    corpus: list[Document] = field(default_factory=list)
    description: str = ""

    @property
    def qrels(self) -> dict[str, dict[str, int]]:
        """Judgements by query id."""
        return {q.id: dict(q.judgements) for q in self.queries}

    def query(self, query_id: str) -> RetrievalQuery:
        for q in self.queries:
            if q.id == query_id:
                return q
        raise KeyError(f"suite {self.name!r} has no query {query_id!r}")


def _problem(file: Path, line: int | None, query_id: Any, field_name: str | None, rule: str) -> dict[str, Any]:
    return {"file": str(file), "line": line, "example_id": query_id, "field": field_name, "rule": rule}


def _raise(what: str, problems: list[dict[str, Any]]) -> None:
    lines = []
    for p in problems[:MAX_LISTED]:
        where = [p["file"]] + ([f"line {p['line']}"] if p["line"] else []) + (
            [f"query {p['example_id']}"] if p["example_id"] else []) + ([f"field '{p['field']}'"] if p["field"] else [])
        lines.append(f"  {': '.join(where)}: {p['rule']}")
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    raise GoldenSetError(f"{what}: {len(problems)} problem(s):\n" + "\n".join(lines) + more, problems)


def _suite_file(path: Path) -> _SuiteFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenSetError(f"{path}: cannot be read: {exc}") from None
    raw = parse_yaml(text, str(path), GoldenSetError)
    if not isinstance(raw, dict):
        raise GoldenSetError(f"{path}: the top level must be a mapping of keys")
    try:
        return _SuiteFile.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(path, None, None, ".".join(str(p) for p in e["loc"]) or "<top level>",
                             e["msg"].removeprefix("Value error, ")) for e in exc.errors()]
        _raise(f"invalid retrieval suite file {path}", problems)
        raise  # unreachable: _raise raises


def _jsonl(path: Path, problems: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(_problem(path, None, None, None, f"cannot be read: {exc.strerror or exc}"))
        return []
    rows = []
    for lineno, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").splitlines(), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(_problem(path, lineno, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
            continue
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(_problem(path, lineno, None, None, f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(row, dict):
            problems.append(_problem(path, lineno, None, None, f"must be a JSON object, not {type(row).__name__}"))
            continue
        rows.append((lineno, row))
    return rows


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _corpus(path: Path, problems: list[dict[str, Any]]) -> list[Document]:
    docs, seen = [], {}
    for line, row in _jsonl(path, problems):
        doc_id = row.get("doc_id")
        label = doc_id if isinstance(doc_id, str) else None
        for key in sorted(set(row) - set(DOC_FIELDS)):
            problems.append(_problem(path, line, label, key, "unknown field (allowed: doc_id, title, text)"))
        if not _nonempty_str(doc_id):
            problems.append(_problem(path, line, None, "doc_id", "required: a non-empty string"))
            continue
        if doc_id in seen:
            problems.append(_problem(path, line, doc_id, "doc_id", f"repeats the id of line {seen[doc_id]}"))
            continue
        seen[doc_id] = line
        if not _nonempty_str(row.get("text")):
            problems.append(_problem(path, line, doc_id, "text", "required: a non-empty string"))
            continue
        title = row.get("title", "")
        if not isinstance(title, str):
            problems.append(_problem(path, line, doc_id, "title", "must be a string"))
            continue
        docs.append(Document(doc_id=doc_id, text=row["text"], title=title))
    return docs


def _grade_problem(grade: Any, max_grade: int) -> str | None:
    if isinstance(grade, bool) or not isinstance(grade, int):
        return f"grade {grade!r} must be an integer from 0 to {max_grade}"
    if grade < 0:
        return f"grade {grade} is negative: grades run from 0 (not relevant) to {max_grade}"
    if grade > max_grade:
        return f"grade {grade} is above the suite's max_grade {max_grade}"
    return None


def _queries(path: Path, spec: _SuiteFile, doc_ids: set[str] | None,
             problems: list[dict[str, Any]]) -> list[RetrievalQuery]:
    out: list[RetrievalQuery] = []
    seen: dict[str, int] = {}
    texts: dict[str, str] = {}
    for line, row in _jsonl(path, problems):
        qid = row.get("id")
        label = qid if isinstance(qid, str) else None
        before = len(problems)
        for key in sorted(set(row) - set(QUERY_FIELDS)):
            problems.append(_problem(path, line, label, key, f"unknown field (allowed: {', '.join(QUERY_FIELDS)})"))
        if not _nonempty_str(qid):
            problems.append(_problem(path, line, None, "id", "required: a non-empty string"))
        elif qid in seen:
            problems.append(_problem(path, line, qid, "id", f"repeats the id of line {seen[qid]}"))
        else:
            seen[qid] = line
        intent = row.get("intent")
        if not _nonempty_str(intent):
            problems.append(_problem(path, line, label, "intent", "required: a non-empty string"))
        elif intent not in spec.intents:
            problems.append(_problem(path, line, label, "intent",
                                     f"'{intent}' is not an intent of the suite ({', '.join(spec.intents)})"))
        text = row.get("query")
        if not _nonempty_str(text):
            problems.append(_problem(path, line, label, "query", "required: a non-empty string"))
        else:
            key = " ".join(text.lower().split())
            if key in texts:
                problems.append(_problem(path, line, label, "query", f"same text as query {texts[key]}"))
            texts.setdefault(key, label or f"line {line}")
        judged = row.get("judgements")
        if not isinstance(judged, dict) or not judged:
            problems.append(_problem(path, line, label, "judgements",
                                     "required: an object of document id -> grade with at least one entry"))
        else:
            for doc, grade in judged.items():
                why = _grade_problem(grade, spec.max_grade)
                if why:
                    problems.append(_problem(path, line, label, f"judgements.{doc}", why))
                if doc_ids is not None and doc not in doc_ids:
                    problems.append(_problem(path, line, label, f"judgements.{doc}",
                                             "document id is not in the suite's corpus"))
            if all(isinstance(g, int) and not isinstance(g, bool) and g < 1 for g in judged.values()):
                problems.append(_problem(path, line, label, "judgements",
                                         "no relevant document (grade >= 1): recall and nDCG are undefined"))
        tags = row.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            problems.append(_problem(path, line, label, "tags", "must be a list of strings"))
        if len(problems) == before:
            out.append(RetrievalQuery(id=qid, intent=intent, query=text, judgements=dict(judged), line=line,
                                      tags=tuple(tags)))
    counts = Counter(q.intent for q in out)
    for intent in spec.intents:
        if counts[intent] < spec.min_queries_per_intent:
            problems.append(_problem(path, None, None, "intent",
                                     f"intent '{intent}' has {counts[intent]} valid queries, fewer than "
                                     f"min_queries_per_intent={spec.min_queries_per_intent}"))
    return out


def load_retrieval_suite(name_or_path: str | Path, golden_sets_dir: str | Path | None = None) -> RetrievalSuite:
    """Load and validate a golden retrieval suite by name (a folder of ``golden_sets_dir``) or path.

    Raises :class:`GoldenSetError` listing every problem (file, line, query id, field, rule): unreadable lines,
    missing or repeated ids, unknown intents, negative or non-integer grades, judged documents missing from the
    corpus, queries without a relevant document, too few queries per intent.
    """
    folder = find_suite_dir(name_or_path, golden_sets_dir, "retrieval suite")
    spec = _suite_file(folder / SUITE_FILE)
    problems: list[dict[str, Any]] = []
    corpus_path = folder / spec.corpus if spec.corpus else None
    corpus = _corpus(corpus_path, problems) if corpus_path else []
    doc_ids = {d.doc_id for d in corpus} if corpus_path else None
    queries_path = folder / spec.queries
    queries = _queries(queries_path, spec, doc_ids, problems)
    if problems:
        _raise(f"retrieval suite {spec.name} ({folder})", problems)
    files = [(b"suite", folder / SUITE_FILE), (b"queries", queries_path)]
    if corpus_path:
        files.append((b"corpus", corpus_path))
    return RetrievalSuite(name=spec.name, path=folder, version=content_version(files), intents=list(spec.intents),
                          max_grade=spec.max_grade, queries=queries, corpus=corpus, description=spec.description)
