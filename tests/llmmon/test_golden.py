"""llmmon.golden on the real customer_support suite and on broken copies of it."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from llmmon.errors import GoldenSetError, RunConfError
from llmmon.golden import (
    GoldenCase,
    build_requests,
    expected_text,
    load_suite,
    parse_request_key,
    suite_version,
)
from llmmon.scoring import score_case
from llmmon.scoring.normalize import normalize_text

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "golden_sets"
SUITE_DIR = GOLDEN / "customer_support"
INTENTS = ["order_status", "refund", "billing", "shipping", "account_access", "technical_issue", "product_info",
           "cancellation"]


@pytest.fixture(scope="module")
def suite():
    return load_suite("customer_support", GOLDEN)


@pytest.fixture
def copy(tmp_path) -> Path:
    return Path(shutil.copytree(SUITE_DIR, tmp_path / "customer_support"))


# ------------------------------------------------------------------------------------------------ the suite
def test_real_suite_shape(suite):
    assert suite.name == "customer_support"
    assert suite.path == SUITE_DIR and suite.cases_path == SUITE_DIR / "cases.jsonl"
    assert len(suite.cases) == 240
    assert suite.intents == INTENTS
    assert Counter(c.intent for c in suite.cases) == dict.fromkeys(INTENTS, 30)
    assert Counter(c.task_type for c in suite.cases) == {"classification": 84, "extraction": 60, "structured": 48,
                                                         "qa": 48}
    for intent in INTENTS:
        assert {c.task_type for c in suite.cases if c.intent == intent} == set(suite.task_types)
    assert [c.id for c in suite.cases] == [f"cs-{i:04d}" for i in range(1, 241)]
    assert [c.line for c in suite.cases] == list(range(1, 241))


def test_task_type_specs(suite):
    specs = suite.task_types
    assert {name: (s.scorer, s.threshold) for name, s in specs.items()} == {
        "classification": ("label_accuracy", 1.0), "extraction": ("json_fields", 1.0),
        "structured": ("json_schema", 1.0), "qa": ("token_f1", 0.5),
    }
    assert specs["classification"].params["labels"] == INTENTS
    schema = specs["structured"].params["schema"]
    assert schema["required"] == ["intent", "priority", "needs_human", "summary"]
    assert schema["additionalProperties"] is False and schema["properties"]["intent"]["enum"] == INTENTS
    # The qa prompt states the policy the answers come from.
    for fact in ("within 30 days of delivery", "free on orders over $50", "within 5-7 business days"):
        assert fact in specs["qa"].system_prompt


def test_qa_cases_mix_scorers(suite):
    qa = [c for c in suite.cases if c.task_type == "qa"]
    assert Counter(c.scorer for c in qa) == {None: 14, "contains": 13, "regex": 11, "numeric_tolerance": 10}


def test_every_case_passes_with_its_own_expected_text(suite):
    # The demo model server answers with expected_text: a case failing its own reference is a bug in the set.
    failures = {}
    for case in suite.cases:
        result = score_case(suite, case, expected_text(case))
        if not (result.passed and result.score == 1.0):
            failures[case.id] = result
    assert failures == {}


def test_qa_references_are_discriminative(suite):
    # Another question's answer must not pass: otherwise a confused model scores as right.
    qa = [c for c in suite.cases if c.task_type == "qa"]
    passing = [
        (case.id, other.reference)
        for case in qa
        for other in qa
        if normalize_text(other.reference) != normalize_text(case.reference)
        and score_case(suite, case, expected_text(other)).passed
    ]
    assert passing == []


def test_classification_references_are_the_intent(suite):
    assert all(c.reference == c.intent for c in suite.cases if c.task_type == "classification")


def test_extraction_references_hold_exactly_the_fields_in_the_message(suite):
    fields = {"order_id", "email", "amount", "date", "product"}
    for case in (c for c in suite.cases if c.task_type == "extraction"):
        ref, text = case.reference, case.input.lower()
        assert ref and set(ref) <= fields and all(isinstance(v, str) for v in ref.values()), case.id
        order_ids = re.findall(r"kc\d{7}", text)
        assert order_ids == ([ref["order_id"].lower()] if "order_id" in ref else []), case.id
        emails = re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+\w", text)
        assert emails == ([ref["email"].lower()] if "email" in ref else []), case.id
        if "product" in ref:
            assert ref["product"].lower() in text, case.id
        if "amount" in ref:
            assert re.fullmatch(r"\d+\.\d\d", ref["amount"]), case.id
        if "date" in ref:
            assert re.fullmatch(r"2026-\d\d-\d\d", ref["date"]), case.id


def test_structured_references_are_valid_answers(suite):
    spec = suite.task_types["structured"]
    validator = Draft202012Validator(spec.params["schema"])
    combos = Counter()
    for case in (c for c in suite.cases if c.task_type == "structured"):
        assert list(validator.iter_errors(case.reference)) == [], case.id
        assert case.reference["intent"] == case.intent
        combos[(case.reference["priority"], case.reference["needs_human"])] += 1
    assert set(combos) == {("low", False), ("low", True), ("medium", False), ("medium", True), ("high", True)}


def test_inputs_read_like_tickets_not_templates(suite):
    inputs = [c.input for c in suite.cases]
    assert len({" ".join(i.lower().split()) for i in inputs}) == 240
    # No two inputs share their first five words (a template with one word swapped would).
    openings = Counter(" ".join(i.lower().split()[:5]) for i in inputs)
    assert [o for o, n in openings.items() if n > 1] == []
    assert sum("typo" in c.tags for c in suite.cases) >= 20


def test_generator_reproduces_the_committed_cases():
    import runpy

    build = runpy.run_path(str(GOLDEN / "tools" / "build_customer_support.py"))
    text = build["to_jsonl"](build["build_cases"]())
    assert text == (SUITE_DIR / "cases.jsonl").read_text(encoding="utf-8")


# -------------------------------------------------------------------------------------------------- version
def test_version_is_stable_and_content_addressed(suite, copy):
    again = load_suite(str(SUITE_DIR))
    assert re.fullmatch(r"[0-9a-f]{12}", suite.version)
    assert suite.version == again.version == suite_version(SUITE_DIR) == suite_version(copy)

    cases = copy / "cases.jsonl"
    data = cases.read_bytes()
    cases.write_bytes(data.replace(b"cs-0001", b"cs-000I", 1))
    changed = suite_version(copy)
    assert changed != suite.version
    cases.write_bytes(data)
    assert suite_version(copy) == suite.version
    suite_yaml = copy / "suite.yaml"
    suite_yaml.write_bytes(suite_yaml.read_bytes() + b"\n# reviewed\n")
    assert suite_version(copy) not in (suite.version, changed)


def test_version_ignores_line_endings_and_bom(suite, copy):
    for name in ("suite.yaml", "cases.jsonl"):
        path = copy / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert suite_version(copy) == suite.version
    assert len(load_suite(str(copy)).cases) == 240


# -------------------------------------------------------------------------------------------------- loading
def test_load_by_name_folder_or_suite_file(copy):
    by_dir = load_suite(str(copy))
    by_file = load_suite(str(copy / "suite.yaml"), "/nonexistent")
    by_name = load_suite("customer_support", copy.parent)
    assert by_dir.path == by_file.path == by_name.path == copy


def test_load_unknown_suite_says_where_it_looked(tmp_path):
    with pytest.raises(GoldenSetError) as err:
        load_suite("nope", tmp_path)
    assert str(err.value) == (
        f"golden set 'nope' not found (looked for {tmp_path / 'nope' / 'suite.yaml'} and nope/suite.yaml)"
    )


def test_malformed_json_lines_name_file_and_line(copy):
    cases = copy / "cases.jsonl"
    lines = cases.read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6][:-1]  # line 7: drop the closing brace
    lines[9] = '["not", "an", "object"]'  # line 10
    lines.insert(3, "   ")  # blank lines are skipped but still counted: the broken lines move to 8 and 11
    cases.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(GoldenSetError) as err:
        load_suite(str(copy))
    message = str(err.value)
    assert message.startswith(f"golden set {cases}: 2 unreadable line(s):")
    assert f"{cases}: line 8: not valid JSON: Expecting ',' delimiter at column " in message
    assert f"{cases}: line 11: must be a JSON object, not list" in message
    assert [(p["file"], p["line"], p["example_id"]) for p in err.value.problems] == [
        (str(cases), 8, None), (str(cases), 11, None)
    ]


def test_non_utf8_line_is_named(copy):
    cases = copy / "cases.jsonl"
    data = cases.read_bytes().split(b"\n")
    data[1] = data[1].replace(b"Hi", b"H\xff")  # line 2... any line; the decoder names it
    data[4] = data[4][:20] + b"\xff" + data[4][20:]
    cases.write_bytes(b"\n".join(data))
    with pytest.raises(GoldenSetError, match=r"cases\.jsonl: line 5: not UTF-8 text \(invalid start byte at byte 20\)"):
        load_suite(str(copy))


def test_missing_fields_load_as_none_for_validation_to_report(copy):
    cases = copy / "cases.jsonl"
    rows = [json.loads(line) for line in cases.read_text(encoding="utf-8").splitlines()]
    del rows[0]["reference"], rows[0]["tags"]
    rows[1]["comment"] = "reviewed"
    cases.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    suite = load_suite(str(copy))
    assert (suite.cases[0].reference, suite.cases[0].tags, suite.cases[0].line) == (None, [], 1)
    assert suite.cases[1].extra == {"comment": "reviewed"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("intents"), "key 'intents': Field required"),
        (lambda d: d.update(owner="me"), "key 'owner': Extra inputs are not permitted"),
        (lambda d: d["task_types"]["qa"].update(threshold=1.5),
         "key 'task_types.qa.threshold': Input should be less than or equal to 1"),
        (lambda d: d["task_types"]["qa"].pop("system_prompt"), "key 'task_types.qa.system_prompt': Field required"),
        (lambda d: d["intents"].append("refund"), "key 'intents': intents must be unique; repeated: refund"),
    ],
)
def test_invalid_suite_file_names_key_and_rule(copy, edit, message):
    path = copy / "suite.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(GoldenSetError) as err:
        load_suite(str(copy))
    assert f"  {path}: {message}" in str(err.value)
    assert err.value.problems[0]["file"] == str(path)


def test_suite_file_that_is_not_yaml(copy):
    path = copy / "suite.yaml"
    path.write_text("name: x\nintents: [a\n", encoding="utf-8")
    with pytest.raises(GoldenSetError, match=r"suite\.yaml line 3, column 1: not valid YAML: "):
        load_suite(str(copy))


# -------------------------------------------------------------------------------------------------- requests
def test_build_requests_messages_and_keys(suite):
    requests = build_requests(suite)
    assert len(requests) == 240
    first, case = requests[0], suite.cases[0]
    assert first.key == "cs-0001#0"
    assert first.messages == [
        {"role": "system", "content": suite.task_types[case.task_type].system_prompt},
        {"role": "user", "content": case.input},
    ]
    assert (first.max_tokens, first.temperature, first.response_format) == (None, None, None)
    assert len({r.key for r in requests}) == 240


def test_build_requests_trials_are_trial_major(suite):
    requests = build_requests(suite, trials=3, case_ids=["cs-0007", "cs-0002"])
    assert [r.key for r in requests] == ["cs-0007#0", "cs-0002#0", "cs-0007#1", "cs-0002#1", "cs-0007#2",
                                         "cs-0002#2"]
    assert requests[0].messages[1]["content"] == suite.case("cs-0007").input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trials": 0}, "trials must be an integer >= 1, got 0"),
        ({"trials": True}, "trials must be an integer >= 1, got True"),
        ({"case_ids": ["cs-0001", "cs-9999"]}, "golden set customer_support: unknown case ids: cs-9999"),
        ({"case_ids": ["cs-0001", "cs-0001"]}, "golden set customer_support: case ids given more than once: cs-0001"),
    ],
)
def test_build_requests_rejects_bad_run_conf(suite, kwargs, message):
    with pytest.raises(RunConfError) as err:
        build_requests(suite, **kwargs)
    assert str(err.value) == message


def test_parse_request_key_round_trips(suite):
    for request in build_requests(suite, trials=2)[:5] + build_requests(suite, trials=2)[-5:]:
        case_id, trial = parse_request_key(request.key)
        assert f"{case_id}#{trial}" == request.key
    assert parse_request_key("a#b#12") == ("a#b", 12)


@pytest.mark.parametrize("key", ["cs-0001", "cs-0001#", "#1", "cs-0001#-1", "cs-0001#x"])
def test_parse_request_key_rejects(key):
    with pytest.raises(ValueError, match="not a golden request key"):
        parse_request_key(key)


def test_expected_text():
    def case(reference):
        return GoldenCase(id="x", intent="a", task_type="t", input="i", reference=reference)

    assert expected_text(case("30 days")) == "30 days"
    assert expected_text(case({"b": "2", "a": True})) == '{"a": true, "b": "2"}'
    assert expected_text(case({"name": "Zo\u00eb"})) == '{"name": "Zo\\u00eb"}'


def test_scorer_for_merges_params_only_for_the_task_types_scorer(suite):
    qa = suite.case("cs-0004")
    assert suite.scorer_for(qa) == ("token_f1", {})
    override = suite.case("cs-0044")
    assert suite.scorer_for(override) == ("numeric_tolerance", {"abs_tol": 0.005})
    structured = next(c for c in suite.cases if c.task_type == "structured")
    name, params = suite.scorer_for(structured)
    assert name == "json_schema" and params["ignore_fields"] == ["summary"] and "schema" in params
    tweaked = GoldenCase(**{**structured.__dict__, "params": {"ignore_fields": []}})
    assert suite.scorer_for(tweaked)[1]["ignore_fields"] == [] and "schema" in suite.scorer_for(tweaked)[1]
    other = GoldenCase(**{**structured.__dict__, "scorer": "json_fields"})
    assert suite.scorer_for(other) == ("json_fields", {})
    same = GoldenCase(**{**structured.__dict__, "scorer": "json_schema"})
    assert suite.scorer_for(same) == suite.scorer_for(structured)
