"""Where a webhook may go: never to loopback, link-local or private addresses, unless the
operator allows a host (tests and `make run` allow 127.0.0.1)."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from services.errors import InvalidInput
from services.settings import get_settings


class TargetRefused(Exception):
    """The URL resolves somewhere webhooks must not go."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def _allowed_private(host: str, addresses: list[str]) -> bool:
    allowed = set(get_settings().webhook_allowed_private_hosts)
    return host in allowed or all(a in allowed for a in addresses)


async def resolve_target(url: str) -> list[str]:
    """The addresses ``url`` reaches; raises TargetRefused if any is not allowed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise TargetRefused(f"{host} does not resolve") from error
    except ValueError as error:  # a port out of range, or a name IDNA cannot encode (UnicodeError)
        raise TargetRefused("the URL's host name or port is not one that can be looked up") from error
    addresses = sorted({str(info[4][0]) for info in infos})
    if not all(_public(a) for a in addresses) and not _allowed_private(host, addresses):
        raise TargetRefused(f"{host} resolves to a loopback, link-local or private address")
    return addresses


async def check_endpoint_url(url: str) -> None:
    """At registration: a URL webhooks may be sent to, as a clear 422 when not."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    allowed_hosts = set(get_settings().webhook_allowed_private_hosts)
    if parts.scheme != "https" and not (parts.scheme == "http" and host in allowed_hosts):
        raise InvalidInput("webhook-url-refused", "Webhook URLs use https://.")
    try:
        await resolve_target(url)
    except TargetRefused as refused:
        raise InvalidInput("webhook-url-refused", f"Webhooks are not sent there: {refused}.") from refused
