"""A real SMTP server for the tests (aiosmtpd) on a free loopback port, keeping what it receives."""

import email
import email.message
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.stack import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.raw: list[bytes] = []  # each message as it arrived, to parse with the reader's policy
        self.logins: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.content)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_server(inbox: Inbox | None = None, **controller: Any) -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd on 127.0.0.1 (``controller``: more of aiosmtpd's Controller options, such as an
    authenticator), yielding its inbox and port while it runs."""
    inbox = inbox if inbox is not None else Inbox()
    port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port, **controller)
    server.start()
    try:
        yield inbox, port
    finally:
        server.stop()


def self_signed_certificate(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 with a self-signed certificate, and that
    certificate's file (for SSL_CERT_FILE, so the client trusts it as a relay's CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test relay")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "relay.crt", folder / "relay.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


class Credentials:
    """An aiosmtpd authenticator accepting one login, recording every attempt's user name."""

    def __init__(self, inbox: Inbox, username: str, password: str) -> None:
        self.inbox, self.username, self.password = inbox, username, password

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.inbox.logins.append(auth_data.login)
        accepted = (auth_data.login, auth_data.password) == (self.username.encode(), self.password.encode())
        return AuthResult(success=accepted, handled=False)
