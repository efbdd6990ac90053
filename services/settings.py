"""The one settings class. Every setting comes from the environment, read once."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration for every process: api, worker, scheduler, CLI and tests."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # PostgreSQL. Unset: `registry run` and the tests start an embedded server in data_dir.
    database_url: str | None = None
    database_pool_size: int = 10
    database_max_overflow: int = 10
    # Where the embedded PostgreSQL and other local state live.
    data_dir: Path = Path(".data")

    # Dramatiq broker: amqp://... (RabbitMQ) or redis://...; unset means the in-memory broker.
    broker_url: str | None = None
    worker_threads: int = 4

    # HTTP.
    host: str = "127.0.0.1"
    port: int = 8000
    page_size_default: int = 50
    page_size_max: int = 200

    # Scheduler: how often the leader sweeps for due work, in seconds.
    scheduler_interval_seconds: float = 5.0

    # Load the labelled demo data set. Unset: yes for `registry run` (a developer's or a
    # demo machine), no for `registry migrate` (production).
    load_demo_data: bool | None = None

    log_level: str = "INFO"


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    global _settings
    if _settings is None:
        _settings = Settings()
    return _settings


def use_settings(settings: Settings) -> None:
    """Replace the process-wide settings (the CLI, once it has started an embedded
    database; the tests). Call before anything has built an engine or broker."""
    global _settings
    _settings = settings
