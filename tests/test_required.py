"""The one place a test may skip: a missing service or command skips locally and fails
under CI=true, so CI never passes without running what needs it."""

import pytest

from tests.integration.required import required_command, required_url


def test_a_missing_command_or_url_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("TEST_NO_SUCH_URL", raising=False)
    with pytest.raises(pytest.skip.Exception):
        required_command("no-such-command-mnr", "test the rule")
    with pytest.raises(pytest.skip.Exception):
        required_url("TEST_NO_SUCH_URL", "rule")


def test_under_ci_a_missing_command_or_url_fails(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("TEST_NO_SUCH_URL", raising=False)
    with pytest.raises(pytest.fail.Exception, match="never a skip"):
        required_command("no-such-command-mnr", "test the rule")
    with pytest.raises(pytest.fail.Exception, match="never a skip"):
        required_url("TEST_NO_SUCH_URL", "rule")
    assert required_command("sh", "run a shell")  # present: its path, no skip, no failure
