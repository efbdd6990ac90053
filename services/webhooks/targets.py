"""Where a webhook may go: only to addresses that are routable on the public internet.

A URL's host must resolve to public addresses only, every one of them; loopback, private,
shared (carrier-grade NAT), link-local, benchmarking, documentation, multicast and reserved
ranges are refused, and so are IPv6 forms that carry an IPv4 address (mapped, NAT64,
IPv4-compatible) and 6to4 or Teredo addresses whose embedded IPv4 address is not public. An
IPv4 address must be written as four decimal numbers: ``0177.0.0.1``, ``2130706433`` and
``0x7f.1`` are refused rather than guessed at.

The check runs at registration (a clear 422) and at delivery, where the transport
(``services/webhooks/transport.py``) connects to the very address it checked. The operator
may allow named hosts on private networks (``WEBHOOK_ALLOWED_PRIVATE_HOSTS``: none in
production; `registry run` and the tests allow ``127.0.0.1``)."""

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from services.errors import InvalidInput
from services.settings import get_settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses the host name resolves to (IP literals resolve to themselves)
Resolver = Callable[[str, int], Awaitable[list[str]]]


class TargetRefused(Exception):
    """The URL resolves somewhere webhooks must not go."""


# Refused whatever the Python version's ipaddress thinks of them (3.11 calls 100.64.0.0/10
# neither private nor global, and 64:ff9b::/96 global).
REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT, cloud metadata services)
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/96",  # unspecified, loopback and IPv4-compatible
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local use
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)

# What inet_aton would read as an IPv4 address although it is not four decimal numbers.
_LOOSE_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)


def is_public(address: Address) -> bool:
    """Whether webhooks may go to ``address``: globally routable, in none of the refused
    ranges, and (6to4, Teredo) embedding no IPv4 address that is not public itself."""
    if any(address in network for network in REFUSED_NETWORKS if network.version == address.version):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.sixtofour, *(address.teredo or ())]
        if any(v4 is not None and not is_public(v4) for v4 in embedded):
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def parse_address(text: str) -> Address:
    """An address as a resolver gives it (an IPv6 zone id, ``%eth0``, dropped)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (getaddrinfo), off the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


_resolver: Resolver = system_resolver


@contextmanager
def using_resolver(resolver: Resolver) -> Iterator[None]:
    """Resolve host names with ``resolver`` inside the block (the tests' stand-in for DNS)."""
    global _resolver
    previous, _resolver = _resolver, resolver
    try:
        yield
    finally:
        _resolver = previous


def private_host_allowed(host: str) -> bool:
    """The operator allowed this host name (or literal) to resolve to private addresses."""
    return host in get_settings().webhook_allowed_private_hosts


def check_host_spelling(host: str) -> None:
    """Refuse a host a resolver would read as an IPv4 address written some other way."""
    if not host:
        raise TargetRefused("the URL has no host")
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    if _LOOSE_IPV4.match(host):
        raise TargetRefused(f"{host} is not an address written as four decimal numbers (a.b.c.d)")


async def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, looked up once, in the resolver's order; raises
    TargetRefused unless every one of them may receive webhooks. Connect only to these."""
    check_host_spelling(host)
    try:
        found = await _resolver(host, port)
    except socket.gaierror as error:
        raise TargetRefused(f"{host} does not resolve") from error
    except ValueError as error:  # a name IDNA cannot encode (UnicodeError)
        raise TargetRefused("the URL's host name is not one that can be looked up") from error
    addresses = list(dict.fromkeys(found))
    if not addresses:
        raise TargetRefused(f"{host} does not resolve")
    if not private_host_allowed(host) and not all(is_public(parse_address(a)) for a in addresses):
        raise TargetRefused(f"{host} resolves to an address that is not public (private, loopback, reserved …)")
    return addresses


async def resolve_target(url: str) -> list[str]:
    """The addresses ``url`` reaches; raises TargetRefused if any is not allowed."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:  # a port out of range
        raise TargetRefused("the URL's host name or port is not one that can be looked up") from error
    return await checked_addresses(parts.hostname or "", port)


async def check_endpoint_url(url: str) -> None:
    """At registration: a URL webhooks may be sent to, as a clear 422 when not."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" and not (parts.scheme == "http" and private_host_allowed(host)):
        raise InvalidInput("webhook-url-refused", "Webhook URLs use https://.")
    try:
        await resolve_target(url)
    except TargetRefused as refused:
        raise InvalidInput("webhook-url-refused", f"Webhooks are not sent there: {refused}.") from refused
