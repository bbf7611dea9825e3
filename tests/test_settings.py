"""Unit: settings layering, validation messages and the documented defaults file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from crawler.errors import SettingsError
from crawler.settings import FIELDS, Settings, load_settings
from scripts.settings_docs import default_toml

DEFAULT_TOML = Path(__file__).parent.parent / "config" / "default.toml"


def test_layers_apply_in_order(tmp_path: Path) -> None:
    """Config file < environment < flags: each later source wins for the settings it names."""
    config = tmp_path / "c.toml"
    config.write_text("concurrency = 5\nper_host = 3\ndelay = 1\nallow = ['x']\n")
    settings = load_settings({"concurrency": "7"}, config_file=config,
                             environ={"CRAWLER_PER_HOST": "4", "CRAWLER_QUIET": "yes"})
    assert (settings.concurrency, settings.per_host, settings.delay) == (7, 4, 1.0)
    assert settings.allow == ("x",) and settings.quiet is True


def test_environment_lists_are_json_arrays_or_one_value() -> None:
    """CRAWLER_OUTPUTS takes a JSON array, or a single value."""
    env = {"CRAWLER_OUTPUTS": '["a.jsonl", "b.db"]', "CRAWLER_DENY": "x,y"}
    settings = load_settings(environ=env)
    assert settings.outputs == ("a.jsonl", "b.db") and settings.deny == ("x,y",)


@pytest.mark.parametrize(("flags", "env", "message"), [
    ({"concurrency": "0"}, {}, "invalid setting concurrency=0 (from --concurrency): must be >= 1"),
    ({"delay": "soon"}, {}, "invalid setting delay='soon' (from --delay): must be a number"),
    ({}, {"CRAWLER_SCOPE": "web"},
     "(from environment CRAWLER_SCOPE): must be one of: host, domain, any"),
    ({}, {"CRAWLER_QUIET": "maybe"}, "must be true or false"),
    ({"deny": ["("]}, {}, "'(' is not a valid regular expression"),
    ({"log_level": "loud"}, {}, "must be one of: debug, info, warning, error"),
])
def test_invalid_values_are_named_with_what_is_allowed(flags, env, message) -> None:
    """A bad value raises SettingsError naming the setting, its source and what is allowed."""
    with pytest.raises(SettingsError) as caught:
        load_settings(flags, environ=env)
    assert message in str(caught.value)


def test_config_file_problems_are_clear(tmp_path: Path) -> None:
    """A missing file, bad TOML, an unknown key and a wrong type each say what is wrong."""
    bad_toml, unknown, wrong_type = (tmp_path / n for n in ("a.toml", "b.toml", "c.toml"))
    bad_toml.write_text("concurrency = \n")
    unknown.write_text("concurency = 4\n")
    wrong_type.write_text("max_pages = '10'\n")
    cases = [(tmp_path / "none.toml", "config file not found"), (bad_toml, "not valid TOML"),
             (unknown, "unknown setting 'concurency'"), (wrong_type, "must be an integer")]
    for path, message in cases:
        with pytest.raises(SettingsError, match=message):
            load_settings(config_file=path)


def test_settings_are_frozen() -> None:
    """Settings cannot be changed after they are built; replace() validates a copy."""
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.concurrency = 3  # type: ignore[misc]
    assert settings.replace(concurrency=3).concurrency == 3
    with pytest.raises(SettingsError):
        settings.replace(concurrency=-1)


def test_default_toml_is_generated_from_the_settings() -> None:
    """config/default.toml is what scripts/settings_docs.py writes (run it after a change)."""
    assert DEFAULT_TOML.read_text() == default_toml()


def test_default_toml_lists_every_setting_with_its_default() -> None:
    """config/default.toml names every setting, with a comment, at the built-in default."""
    data = tomllib.loads(DEFAULT_TOML.read_text())
    assert set(data) == set(FIELDS)
    defaults = Settings()
    for name, value in data.items():
        expected = getattr(defaults, name)
        assert (tuple(value) if isinstance(value, list) else value) == expected, name
    lines = DEFAULT_TOML.read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[i - 1].startswith("# "), f"{line!r} has no comment"
    assert load_settings(config_file=DEFAULT_TOML) == defaults
