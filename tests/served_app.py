"""The API as the tests create it: composed as ``registry serve`` composes it
(``api.cli.composition``), so that a test entering its lifespan gets the broker, the relay
nudge and the nudges settled at shutdown, as the process does."""

from fastapi import FastAPI

from api.cli.composition import compose_api


def served_app() -> FastAPI:
    """A new API app, as ``registry serve`` builds it, without a metrics server (tests run side
    by side, and a fixed port would collide). The relay nudge is registered as the test process
    starts (tests/conftest.py), as ``registry serve`` registers it as it starts."""
    return compose_api(metrics_port=0)
