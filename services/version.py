"""The registry's version: one number, read from the installed package's metadata, for
``registry --version``, ``/healthz``, the OpenAPI document, the start-up log line and the
images' labels."""

from importlib.metadata import PackageNotFoundError, version

PACKAGE = "migration-network-registry"


def registry_version() -> str:
    """The installed package's version (``0.0.0+unknown`` when run from an uninstalled tree)."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "0.0.0+unknown"
