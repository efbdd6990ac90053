"""What an integration test needs from the machine. Locally a missing service skips the
test; under CI=true it fails it, so CI can never pass without running it."""

import ctypes.util
import os
import shutil

import pytest


def _missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true makes a missing service a failure, never a skip)")
    pytest.skip(message)


def required_url(variable: str, what: str) -> str:
    """The URL in ``variable``, for a test that needs ``what``."""
    url = os.environ.get(variable)
    if not url:
        _missing(f"{variable} is not set, so the {what} test cannot run")
    assert url is not None
    return url


def required_command(name: str, what: str) -> str:
    """The path of the command ``name``, for a test that needs it to ``what``."""
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} is not on PATH; it is needed to {what}")
    assert path is not None
    return path


def required_library(name: str, what: str) -> None:
    """The shared library ``name`` (as ``ctypes.util.find_library`` names it), for a test that
    needs it to ``what``."""
    if ctypes.util.find_library(name) is None:
        _missing(f"the {name} library is not installed; it is needed to {what}")
