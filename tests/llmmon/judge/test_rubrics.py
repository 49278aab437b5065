"""Rubrics: the shipped ones load; versions follow content; every malformed rubric is a ConfigError naming file and key."""

from __future__ import annotations

import textwrap

import pytest

from llmmon.errors import ConfigError
from llmmon.judge.rubrics import (
    SHIPPED_DIR,
    configured_rubrics,
    load_rubric,
    load_rubrics,
    parse_rubric,
    rubrics_dir,
)

GOOD = """\
name: tone
kind: pointwise
description: Is the tone right?
criteria: Polite and plain.
scale: {min: 1, max: 3}
anchors:
  1: Rude.
  2: Stiff.
  3: Warm and plain.
examples:
  - {question: "Hi?", answer: "Hello!", score: 3, rationale: "Warm."}
"""


def _write(tmp_path, text: str, name: str = "tone.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_shipped_rubrics_load_with_their_kinds_and_requirements():
    rubrics = load_rubrics()
    assert set(rubrics) == {"helpfulness", "correctness", "groundedness", "safety", "preference"}
    assert rubrics["correctness"].requires == ("reference",)
    assert rubrics["groundedness"].requires == ("context",)
    assert rubrics["helpfulness"].requires == () and rubrics["safety"].requires == ()
    assert rubrics["preference"].kind == "pairwise" and rubrics["preference"].scale_min is None
    for name in ("helpfulness", "correctness", "groundedness", "safety"):
        r = rubrics[name]
        assert (r.scale_min, r.scale_max) == (1, 5) and list(r.anchors) == [1, 2, 3, 4, 5]
        assert len(r.version) == 12 and r.label == f"{name}@{r.version}"
    assert rubrics["helpfulness"].normalize(4) == 0.75


def test_version_is_a_content_hash_that_ignores_comments_and_layout(tmp_path):
    a = load_rubric(_write(tmp_path, GOOD))
    b = load_rubric(_write(tmp_path / "..", "# a comment\n" + GOOD.replace("{min: 1, max: 3}", "\n  min: 1\n  max: 3"),
                           "tone.yaml"))
    c = load_rubric(_write(tmp_path, GOOD.replace("Polite and plain.", "Polite, plain and short.")))
    assert a.version == b.version
    assert a.version != c.version


@pytest.mark.parametrize(
    ("change", "key", "rule"),
    [
        (lambda t: t.replace("scale: {min: 1, max: 3}\n", ""), "scale", "is required for a pointwise rubric"),
        (lambda t: t.replace("{min: 1, max: 3}", "{min: 3, max: 1}"), "scale", "min (3) must be below max (1)"),
        (lambda t: t.replace("{min: 1, max: 3}", "{min: 1, max: high}"), "scale.max", "must be an integer"),
        (lambda t: t.replace("{min: 1, max: 3}", "[1, 3]"), "scale", "exactly the keys min and max"),
        (lambda t: t.replace("  3: Warm and plain.", "  3: Warm and plain.\n  7: Perfect."), "anchors.7",
         "score 7 is outside the scale 1..3"),
        (lambda t: t.replace("  3: Warm and plain.\n", ""), "anchors", "score 3 has no anchor"),
        (lambda t: t.replace("  2: Stiff.", "  two: Stiff."), "anchors.two", "must be integer scores"),
        (lambda t: t.replace("kind: pointwise", "kind: listwise"), "kind", "'listwise' is not one of"),
        (lambda t: t.replace("criteria: Polite and plain.\n", ""), "criteria", "is required"),
        (lambda t: t + "weights: [1, 2]\n", "weights", "unknown key"),
        (lambda t: t + "requires: [labels]\n", "requires.0", "'labels' is not one of reference, context"),
        (lambda t: t.replace("score: 3,", "score: 9,"), "examples.0.score", "score 9 is outside the scale 1..3"),
        (lambda t: t.replace('answer: "Hello!", ', ""), "examples.0.answer", "is required"),
        (lambda t: t.replace("kind: pointwise", "kind: pairwise"), "scale", "takes no scale"),
        (lambda t: t.replace("name: tone", "name: Tone!"), "name", "may hold only"),
    ],
)
def test_bad_rubrics_name_file_and_key(tmp_path, change, key, rule):
    path = _write(tmp_path, change(GOOD))
    with pytest.raises(ConfigError) as err:
        load_rubric(path)
    message = str(err.value)
    assert str(path) in message
    assert f"key '{key}'" in message
    assert rule in message


def test_name_must_match_the_file_and_yaml_errors_give_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"key 'name': 'tone' must match the file name \('other'\)"):
        load_rubric(_write(tmp_path, GOOD, "other.yaml"))
    with pytest.raises(ConfigError, match=r"bad\.yaml line 3, column 1: not valid YAML: expected ',' or ']'"):
        load_rubric(_write(tmp_path, "name: bad\ncriteria: [unclosed\n", "bad.yaml"))
    with pytest.raises(ConfigError, match="the top level must be a mapping"):
        parse_rubric(["not", "a", "mapping"], "x.yaml")


def test_a_rubrics_dir_adds_rubrics_and_replaces_shipped_ones_by_name(tmp_path, make_settings):
    _write(tmp_path, GOOD)
    _write(tmp_path, (SHIPPED_DIR / "safety.yaml").read_text().replace("Is the answer safe", "Is it safe"),
           "safety.yaml")
    rubrics = load_rubrics(tmp_path)
    assert "tone" in rubrics and "helpfulness" in rubrics
    assert rubrics["safety"].path == str(tmp_path / "safety.yaml")
    assert rubrics["safety"].version != load_rubrics()["safety"].version
    with pytest.raises(ConfigError, match="does not exist"):
        load_rubrics(tmp_path / "missing")

    settings = make_settings("sqlite://")
    settings = settings.model_copy(update={"judge": settings.judge.model_copy(update={"rubrics_dir": str(tmp_path)})})
    assert rubrics_dir(settings) == tmp_path
    assert [r.name for r in configured_rubrics(settings, ["tone", "helpfulness"])] == ["tone", "helpfulness"]
    with pytest.raises(ConfigError, match=r"unknown rubric\(s\) 'nope'; available: .*tone"):
        configured_rubrics(settings, ["nope"])
