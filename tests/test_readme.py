"""The README's configuration example is a valid llmmon configuration (docs stay true to the code)."""

from __future__ import annotations

from pathlib import Path

from llmmon.config import load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_readme_config_example_loads(tmp_path):
    text = (ROOT / "README.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "llmmon.yaml"
    path.write_text(block)
    settings = load_settings(path, env={})
    assert [r.name for r in settings.routes] == ["oncall", "ml-slack"]
    assert settings.alert_rules[0].for_ == 2


def test_readme_names_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text
