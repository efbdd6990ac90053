"""The one settings class. Every setting comes from the environment, read once."""

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError


class _SettingsFromFiles(PydanticBaseSettingsSource):
    """``NAME_FILE=/run/secrets/x`` sets ``NAME`` from that file's text (Docker secrets), so
    passwords, database URLs and the like need not sit in the environment or the image. The
    file wins over an empty ``NAME``; both set and non-empty is an error, not a guess."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        environ = {key.upper(): value for key, value in os.environ.items()}
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            variable = name.upper()
            path = environ.get(f"{variable}_FILE")
            if not path:
                continue
            if environ.get(variable):
                raise SettingsError(f"both {variable} and {variable}_FILE are set; set one of them")
            try:
                text = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as error:
                raise SettingsError(f"{variable}_FILE: cannot read {path} ({error.strerror})") from None
            values[name] = self.decode_complex_value(name, field, text) if self.field_is_complex(field) else text
        return values


def _with_password(url: Any, password: str, url_field: str, password_field: str) -> str:
    """``url`` with ``password`` as its user's password; refused when the URL is unset, names
    no user, or has a password already (two sources for one secret: which would win?)."""
    url_name, password_name = url_field.upper(), password_field.upper()
    if not url:
        raise ValueError(f"{password_name} is set but {url_name} is not: set {url_name} (with the user, no password)")
    parts = urlsplit(str(url))
    user, at, host = parts.netloc.rpartition("@")
    if not at or not user:
        raise ValueError(f"{password_name} is set but {url_name} names no user: write it as scheme://USER@host/...")
    if ":" in user:
        raise ValueError(
            f"{url_name} carries a password and {password_name} is set too: leave the password out of {url_name}"
        )
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


class Settings(BaseSettings):
    """Configuration for every process: api, worker, scheduler, CLI and tests."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # PostgreSQL. Unset: `registry run` and the tests start an embedded server in data_dir.
    database_url: str | None = None
    # The password of DATABASE_URL's user, when the URL names the user but no password: put in
    # the URL (escaped) as the settings are read. DATABASE_PASSWORD_FILE is how the Compose stack
    # passes it: the same Docker secret PostgreSQL's POSTGRES_PASSWORD_FILE reads.
    database_password: str | None = None
    # Connections kept open per pool; a process has two (reads, writes). Requests beyond them
    # wait for one (at most database_pool_timeout_seconds) rather than open and close overflow
    # connections under load (each new one costs a connect, type introspection and statements
    # prepared again). 10 + 10 per process keeps a Compose stack (api, two workers, scheduler,
    # migrate) and two test runs side by side within PostgreSQL's default 100 connections.
    database_pool_size: int = 10
    database_max_overflow: int = 0
    # PostgreSQL ends a pooled connection left idle this long (idle_session_timeout), so a
    # quiet process holds few connections and the budget goes to the busy ones; 0: never.
    database_idle_release_seconds: float = 60.0
    # DATABASE_URL points at PgBouncer in transaction mode: no startup parameters, no
    # statements kept prepared, unique statement names (docs/OPERATIONS.md, "Through PgBouncer").
    database_pgbouncer: bool = False
    # Where the embedded PostgreSQL and other local state live.
    data_dir: Path = Path(".data")

    # Dramatiq broker: amqp://... (RabbitMQ) or redis://...; unset means the in-memory broker.
    broker_url: str | None = None
    # The same for BROKER_URL's user (BROKER_PASSWORD_FILE: RabbitMQ's Docker secret).
    broker_password: str | None = None
    worker_threads: int = 4

    # HTTP.
    host: str = "127.0.0.1"
    port: int = 8000
    page_size_default: int = 50
    page_size_max: int = 200

    # Scheduler: how often the leader sweeps for due work, in seconds.
    scheduler_interval_seconds: float = 5.0
    # A scheduler whose lock connection is silent this long (the process frozen, stopped or
    # cut off) loses the leader lock, and a standby takes over. At least three intervals.
    scheduler_leader_silence_seconds: float = 15.0

    # Reliability under faults (docs/OPERATIONS.md, "Under faults").
    # A sweep is cut off after this long; a scheduler taking over waits at most this long
    # for the old leader's last sweep, so two sweeps never overlap.
    scheduler_sweep_timeout_seconds: float = 30.0
    # A delivery's broker message counts as queued this long: no second message is sent for
    # it meanwhile (a lost message is replaced after it).
    delivery_queue_hold_seconds: float = 600.0
    # A pooled connection idle this long is pinged before use (replacing ones a database
    # restart broke); negative: never. Busy connections are not pinged.
    database_ping_after_idle_seconds: float = 0.2
    # A request waits at most this long for a pool slot or a new connection, then gets 503.
    database_pool_timeout_seconds: float = 10.0
    database_connect_timeout_seconds: float = 5.0
    # An outage's 503 asks clients to retry after this many seconds.
    retry_after_seconds: int = 5
    # On SIGTERM the API keeps serving (readyz 503, Connection: close) this long, so a
    # balancer stops sending, then finishes in-flight requests within the grace period.
    shutdown_drain_seconds: float = 5.0
    shutdown_grace_seconds: float = 30.0

    # Load the labelled demo data set. Unset: yes for `registry run` (a developer's or a
    # demo machine), no for `registry migrate` (production).
    load_demo_data: bool | None = None

    log_level: str = "INFO"
    # json: one JSON object per line (production); text: readable lines. Unset: text for
    # `registry run`, json for every other command.
    log_format: Literal["json", "text"] | None = None

    # Prometheus metrics: each process serves them on its own port, on METRICS_HOST (an
    # internal address: whoever reaches the port may read them). 0 turns a process's off.
    # `registry run` serves everything on API_METRICS_PORT.
    metrics_host: str = "127.0.0.1"
    api_metrics_port: int = 9100
    worker_metrics_port: int = 9101
    scheduler_metrics_port: int = 9102
    # Set by `registry worker` for its worker processes (prometheus_client's multiprocess
    # mode, which reads this variable itself): where they write their metrics' values.
    prometheus_multiproc_dir: Path | None = None

    # Webhooks: hosts that may resolve to loopback or private addresses (none in production;
    # `registry run` and the tests allow 127.0.0.1).
    webhook_allowed_private_hosts: list[str] = []
    webhook_timeout_seconds: float = 15.0
    # A worker holds a delivery this long while sending; one that dies lets go after it.
    webhook_lease_seconds: float = 60.0

    # Keys that encrypt webhook signing secrets at rest: `key-id:base64-32-bytes` entries,
    # the first one encrypting, all decrypting (services/encryption.py). Unset: a development
    # key generated once in DATA_DIR; every deployment sets its own.
    secrets_encryption_keys: str | None = None

    # E-mail. No SMTP_HOST: messages are written to DATA_DIR/mail/ as .eml files.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Migration Network Registry <registry@localhost>"
    # Where people reach this service: every link that leaves the API (e-mails, calendar
    # files, calendar subscription URLs) starts here. Set it in every deployment.
    public_base_url: str = "http://127.0.0.1:8000"
    # Keys that sign the links in invitations (a meeting's page, and the answers): `key-id:
    # base64-32-bytes` entries, the first signing, all verifying, so a key can be replaced
    # without breaking the links already sent (docs/OPERATIONS.md, "Invitation links").
    # Unset: a development key generated once in DATA_DIR; every deployment sets its own.
    invitation_link_keys: str | None = None
    # An invitation's links stop working this many days after the meeting ends.
    invitation_link_days_after_meeting: int = 7

    # A MoU's review falls due this many years after it takes effect, unless it says otherwise.
    mou_review_years: int = 3
    # The parties are reminded this many days before a MoU's review falls due.
    mou_review_reminder_days: int = 60
    # A pledge's pledger contacts and the network's coordinator are reminded this many days
    # before the pledge falls due (each offset once per due date).
    pledge_reminder_offsets_days: list[int] = [30, 7]

    # Access control.
    # Bearer tokens (JWT) from the UN identity provider; all three unset: tokens are refused.
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_jwks_url: str | None = None
    # Asymmetric algorithms only: HS* would let anyone holding the public key sign tokens.
    jwt_algorithms: list[str] = ["RS256", "ES256"]
    jwt_role_claim: str = "mnr_role"
    jwt_entity_claim: str = "mnr_entity_id"
    # The person's e-mail address: a token whose address is a person of its entity acts as
    # that person (the audit trail names them, as for a key issued to a person).
    jwt_email_claim: str = "email"
    jwt_leeway_seconds: int = 30
    jwks_cache_seconds: float = 300.0
    # How long a process trusts what it learnt about a key or token; a revoked key stops
    # working everywhere within this many seconds (at once in the process that revoked it).
    auth_cache_seconds: float = 5.0
    # Where limits are counted: a Redis URL shared by every API process; unset, each process
    # counts alone (right for `registry run`; with N processes a caller gets N times each limit).
    limits_url: str | None = None
    # The longest a request waits for the limits store; past it the process counts alone a while.
    limits_timeout_seconds: float = 0.5
    # Per caller (API key, token subject or calendar subscription).
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 100
    # Failed authentications (401s, and calendar URLs that find no feed): this many at once,
    # then one more per AUTH_FAILURE_WINDOW_SECONDS / the number; past it, 429 before any check.
    auth_failures_per_address: int = 20
    auth_failures_per_key_prefix: int = 10
    calendar_failures_per_address: int = 30
    auth_failure_window_seconds: float = 600.0
    # Proxies whose X-Forwarded-For `registry serve` believes (comma-separated addresses or
    # networks, or *): the client address every per-address limit counts by.
    forwarded_allow_ips: str = "127.0.0.1"
    # Request bodies larger than this get 413.
    max_body_bytes: int = 1_048_576

    @field_validator("public_base_url")
    @classmethod
    def _an_http_base(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")) or "?" in url or "#" in url:
            raise ValueError(f"PUBLIC_BASE_URL must be an http(s) URL with no query or fragment, got {url!r}")
        return url.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Before the environment: a NAME_FILE wins over the empty NAME Compose passes through.
        return init_settings, _SettingsFromFiles(settings_cls), env_settings, dotenv_settings, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _passwords_into_their_urls(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for url_field, password_field in (("database_url", "database_password"), ("broker_url", "broker_password")):
            password = data.get(password_field)
            if password:
                data[url_field] = _with_password(data.get(url_field), str(password), url_field, password_field)
        return data

    @model_validator(mode="after")
    def _a_leader_speaks_in_time(self) -> "Settings":
        if self.scheduler_leader_silence_seconds < 3 * self.scheduler_interval_seconds:
            raise ValueError(
                "SCHEDULER_LEADER_SILENCE_SECONDS must be at least three times SCHEDULER_INTERVAL_SECONDS "
                f"({self.scheduler_leader_silence_seconds} < 3 x {self.scheduler_interval_seconds}): a standby "
                "checks its connection once an interval, and would lose it"
            )
        return self

    @model_validator(mode="after")
    def _released_connections_are_replaced(self) -> "Settings":
        if self.database_idle_release_seconds > 0 and not (
            0 <= self.database_ping_after_idle_seconds < self.database_idle_release_seconds
        ):
            raise ValueError(
                "DATABASE_PING_AFTER_IDLE_SECONDS must be at least 0 and less than DATABASE_IDLE_RELEASE_SECONDS "
                f"({self.database_ping_after_idle_seconds} vs {self.database_idle_release_seconds}): a connection the "
                "database released for idling is found and replaced by that ping; without it, the request that "
                "took it would fail (or set DATABASE_IDLE_RELEASE_SECONDS=0)"
            )
        if self.database_pool_size < 1 or self.database_max_overflow < 0:
            raise ValueError(
                f"DATABASE_POOL_SIZE must be at least 1 and DATABASE_MAX_OVERFLOW at least 0, got "
                f"{self.database_pool_size} and {self.database_max_overflow}"
            )
        return self

    @field_validator("limits_url")
    @classmethod
    def _a_redis_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"LIMITS_URL must be a redis://, rediss:// or unix:// URL, got {url.split('@')[-1]!r}")
        return url

    @field_validator(
        "rate_limit_per_minute",
        "rate_limit_burst",
        "auth_failures_per_address",
        "auth_failures_per_key_prefix",
        "calendar_failures_per_address",
        "auth_failure_window_seconds",
        "limits_timeout_seconds",
    )
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"must be greater than 0, got {value}")
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _asymmetric_only(cls, algorithms: list[str]) -> list[str]:
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
        refused = [a for a in algorithms if a not in allowed]
        if refused:
            raise ValueError(f"JWT_ALGORITHMS may hold asymmetric algorithms only ({sorted(allowed)}), not {refused}")
        return algorithms


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    global _settings
    if _settings is None:
        _settings = Settings()
    return _settings


def use_settings(settings: Settings) -> None:
    """Replace the process-wide settings (the CLI, once it has started an embedded
    database; the tests). Importing a module builds nothing: a process's engines and broker
    are built as it starts (its first unit of work or read, ``worker.main.start_broker``),
    from the settings in force then."""
    global _settings
    _settings = settings
