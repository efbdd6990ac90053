"""A real SMTP server for the tests (aiosmtpd) on a free loopback port, keeping what it receives."""

import email
import email.message
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

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
