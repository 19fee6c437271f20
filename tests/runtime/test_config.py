"""Configuration: config.toml then AGENTOPS_* env; bad input names file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentops.runtime import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_shipped_config_is_the_built_in_default():
    assert load_settings(ROOT / "config.toml") == Settings()


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "[retry]\nmax_retries = 4\ndeadline_s = 20\n")
    monkeypatch.setenv("AGENTOPS_RETRY__MAX_RETRIES", "2")
    s = load_settings(path)
    assert s.retry.max_retries == 2  # env wins
    assert s.retry.deadline_s == 20  # the rest of the section still comes from the file


def test_a_wrong_type_names_the_file_key_and_reason(tmp_path):
    path = write(tmp_path, '[retry]\nmax_retries = "five"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    assert "retry.max_retries" in message
    assert "valid integer" in message and "'five'" in message
    assert "AGENTOPS_RETRY__MAX_RETRIES" in message


def test_a_typo_in_an_environment_variable_names_that_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTOPS_RETRY__MAX_RETRYS", "3")
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "[retry]\nmax_retries = 4\n"))
    message = str(info.value)
    assert "retry.max_retrys: Extra inputs are not permitted" in message
    assert "[from the environment: AGENTOPS_RETRY__MAX_RETRYS]" in message


def test_a_bad_value_in_the_file_says_it_came_from_the_file(tmp_path):
    path = write(tmp_path, "[circuit]\ncooldown_s = -1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert f"[in {path}; AGENTOPS_CIRCUIT__COOLDOWN_S would override it]" in str(info.value)


def test_a_typo_is_an_error_not_ignored(tmp_path):
    with pytest.raises(ConfigError, match=r"circuit\.cooldown: Extra inputs are not permitted"):
        load_settings(write(tmp_path, "[circuit]\ncooldown = 3\n"))


def test_toml_syntax_errors_give_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 2"):
        load_settings(write(tmp_path, "[retry]\nmax_retries = = 3\n"))


def test_keys_in_the_file_are_refused(tmp_path):
    text = '[deployments.primary]\nmodel = "openai/gpt-4o"\napi_key = "sk-123"\n'
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert "api_key_env" in str(info.value)
    assert "sk-123" not in str(info.value)  # the secret is not echoed back


def test_routes_must_name_defined_deployments(tmp_path):
    text = '[routes.default]\nchain = ["primary", "backup"]\n'
    with pytest.raises(ConfigError, match="names deployment 'backup', which is not defined"):
        load_settings(write(tmp_path, text))


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_no_file_at_all_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENTOPS_CONFIG", raising=False)
    assert load_settings() == Settings()
