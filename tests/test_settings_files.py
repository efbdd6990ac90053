"""Secrets from files: NAME_FILE points at a file (a Docker secret) holding NAME's value."""

from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from services.settings import Settings


def _secret(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_secrets_are_read_from_files_without_their_trailing_newline(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL_FILE", _secret(tmp_path, "db", "postgresql://registry:s3cret@db:5432/registry\n"))
    monkeypatch.setenv("BROKER_URL_FILE", _secret(tmp_path, "broker", "amqp://registry:pw@rabbitmq:5672/\n"))
    monkeypatch.setenv("SMTP_PASSWORD_FILE", _secret(tmp_path, "smtp", "pass word with spaces\n"))
    monkeypatch.setenv("JWT_AUDIENCE_FILE", _secret(tmp_path, "aud", "migration-registry"))
    monkeypatch.setenv("JWT_ALGORITHMS_FILE", _secret(tmp_path, "algs", '["ES256"]\n'))

    settings = Settings()

    assert settings.database_url == "postgresql://registry:s3cret@db:5432/registry"
    assert settings.broker_url == "amqp://registry:pw@rabbitmq:5672/"
    assert settings.smtp_password == "pass word with spaces"
    assert settings.jwt_audience == "migration-registry"
    assert settings.jwt_algorithms == ["ES256"]


def test_a_file_wins_over_the_empty_variable_compose_passes_through(tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "")
    monkeypatch.setenv("SMTP_PASSWORD_FILE", _secret(tmp_path, "smtp", "from-the-file"))
    assert Settings().smtp_password == "from-the-file"


def test_a_variable_and_its_file_both_set_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "from-the-environment")
    monkeypatch.setenv("SMTP_PASSWORD_FILE", _secret(tmp_path, "smtp", "from-the-file"))
    with pytest.raises(SettingsError, match="both SMTP_PASSWORD and SMTP_PASSWORD_FILE"):
        Settings()


def test_a_missing_file_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("JWT_ISSUER", raising=False)
    monkeypatch.setenv("JWT_ISSUER_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match="JWT_ISSUER_FILE: cannot read"):
        Settings()


def test_a_file_value_is_validated_like_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("JWT_ALGORITHMS_FILE", _secret(tmp_path, "algs", '["HS256"]'))
    with pytest.raises(ValueError, match="asymmetric algorithms only"):
        Settings()


def test_a_leader_silence_shorter_than_three_intervals_is_refused(monkeypatch):
    monkeypatch.setenv("SCHEDULER_INTERVAL_SECONDS", "5")
    monkeypatch.setenv("SCHEDULER_LEADER_SILENCE_SECONDS", "10")
    with pytest.raises(ValueError, match="SCHEDULER_LEADER_SILENCE_SECONDS must be at least three times"):
        Settings()
    monkeypatch.setenv("SCHEDULER_LEADER_SILENCE_SECONDS", "15")
    assert Settings().scheduler_leader_silence_seconds == 15


def test_a_password_file_goes_into_the_url_that_names_only_the_user(tmp_path, monkeypatch):
    # The Compose stack: the URLs name the user, the passwords are Docker secrets (shared with
    # PostgreSQL and RabbitMQ), escaped so that any character may be in them.
    monkeypatch.setenv("DATABASE_URL", "postgresql://registry@postgres:5432/registry")
    monkeypatch.setenv("DATABASE_PASSWORD", "")
    monkeypatch.setenv("DATABASE_PASSWORD_FILE", _secret(tmp_path, "pg", "p@ss/w:rd%\n"))
    monkeypatch.setenv("BROKER_URL", "amqp://registry@rabbitmq:5672/")
    monkeypatch.setenv("BROKER_PASSWORD_FILE", _secret(tmp_path, "mq", "s3cret\n"))

    settings = Settings()

    assert settings.database_url == "postgresql://registry:p%40ss%2Fw%3Ard%25@postgres:5432/registry"
    assert settings.broker_url == "amqp://registry:s3cret@rabbitmq:5672/"


def test_a_password_for_a_url_that_has_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://registry:old@postgres:5432/registry")
    monkeypatch.setenv("DATABASE_PASSWORD_FILE", _secret(tmp_path, "pg", "new"))
    with pytest.raises(ValueError, match="DATABASE_URL carries a password and DATABASE_PASSWORD is set too"):
        Settings()


def test_a_password_for_a_url_without_a_user_is_refused(monkeypatch):
    monkeypatch.setenv("BROKER_URL", "amqp://rabbitmq:5672/")
    monkeypatch.setenv("BROKER_PASSWORD", "s3cret")
    with pytest.raises(ValueError, match="BROKER_PASSWORD is set but BROKER_URL names no user"):
        Settings()


def test_a_password_without_its_url_is_refused(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_PASSWORD", "s3cret")
    with pytest.raises(ValueError, match="DATABASE_PASSWORD is set but DATABASE_URL is not"):
        Settings()
