"""E-mail through an operator's relay: STARTTLS (the relay's certificate verified) and a login
(SMTP_USERNAME, SMTP_PASSWORD or SMTP_PASSWORD_FILE), against a real SMTP server (aiosmtpd on
loopback) that refuses mail before TLS and logins in clear."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.database import get_database
from services.mail.models import EmailDelivery
from services.settings import Settings, get_settings, use_settings
from tests.smtp_server import Credentials, Inbox, self_signed_certificate, smtp_server
from tests.test_mail import _meeting, _relay_and_send


@pytest.fixture
def relay(tmp_path, monkeypatch):
    """A relay that needs STARTTLS and the login relay-user / s3cret; the client trusts its
    certificate (SSL_CERT_FILE, as an operator would for a private CA)."""
    context, certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    inbox = Inbox()
    options = {
        "tls_context": context,
        "require_starttls": True,
        "auth_require_tls": True,
        "authenticator": Credentials(inbox, "relay-user", "s3cret"),
    }
    with smtp_server(inbox, **options) as (inbox, port):
        yield inbox, port


async def _send_through(settings: Settings) -> None:
    previous = get_settings()
    use_settings(settings)
    try:
        await _meeting(datetime.now(UTC) + timedelta(days=5))
        await _relay_and_send()
    finally:
        use_settings(previous)


async def test_mail_goes_through_a_relay_with_starttls_and_a_login_from_a_file(committed, relay, tmp_path, monkeypatch):
    inbox, port = relay
    (tmp_path / "smtp_password").write_text("s3cret\n")
    monkeypatch.setenv("SMTP_PASSWORD_FILE", str(tmp_path / "smtp_password"))
    monkeypatch.setenv("SMTP_PASSWORD", "")
    password = Settings().smtp_password  # as a process reads it at start
    assert password == "s3cret"
    settings = get_settings().model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": True,
            "smtp_username": "relay-user",
            "smtp_password": password,
        }
    )
    await _send_through(settings)
    assert sorted(m["To"] for m in inbox.messages) == ["focal@un.example", "mf@example.org"]
    assert set(inbox.logins) == {b"relay-user"}


async def test_without_starttls_the_relay_refuses_and_the_mail_waits(committed, relay):
    inbox, port = relay
    settings = get_settings().model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False, "smtp_username": "relay-user"}
    )
    await _send_through(settings.model_copy(update={"smtp_password": "s3cret"}))
    assert inbox.messages == []
    assert inbox.logins == []  # the password never crossed the wire in clear
    async with get_database().read() as conn:
        rows = (await conn.execute(select(EmailDelivery.status, EmailDelivery.last_error))).all()
    # Before STARTTLS the relay offers no AUTH: the client stops there, to try again later.
    assert {r.status for r in rows} == {"pending"}
    assert all("AUTH" in r.last_error for r in rows), rows


async def test_a_wrong_password_is_refused_and_the_mail_waits(committed, relay):
    inbox, port = relay
    settings = get_settings().model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": True,
            "smtp_username": "relay-user",
            "smtp_password": "wrong",
        }
    )
    await _send_through(settings)
    assert inbox.messages == []
    assert set(inbox.logins) == {b"relay-user"}
    async with get_database().read() as conn:
        rows = (
            await conn.execute(select(EmailDelivery.status, EmailDelivery.last_status_code, EmailDelivery.last_error))
        ).all()
    assert {(r.status, r.last_status_code) for r in rows} == {("pending", 535)}, rows
