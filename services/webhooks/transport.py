"""The HTTP transport deliveries go through: it resolves a receiver's host once, checks every
address (``services/webhooks/targets.py``) and connects to an address it checked. There is
no second lookup between the check and the connection for a changed DNS answer to slip
into. The request keeps its URL, so its ``Host`` header, its TLS server name (SNI) and the
certificate's verification are the receiver's host name, not the address."""

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from services.webhooks.targets import TargetRefused, checked_addresses


class CheckedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, with every TCP connection's host checked first."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await checked_addresses(host, port)  # raises TargetRefused
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"looking up {host} timed out") from error
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as error:  # the next address, as getaddrinfo's users do
                last_error = error
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """An ``httpx.AsyncHTTPTransport`` whose connections go through ``CheckedNetworkBackend``.
    No proxy from the environment: a proxy would make the connection the check cannot see."""

    def __init__(self, *, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)  # built once: it is costly
        super().__init__(limits=limits, verify=ssl_context, trust_env=False)
        # httpx takes no network backend; its pool is rebuilt with one, as httpx built it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedNetworkBackend(),
        )


def subscriber_error(failure: TargetRefused | httpx.HTTPError) -> str:
    """What a delivery's owner is told of a failed attempt (``last_error``, the attempt log):
    a refused target, ``timed out`` or ``could not connect``, never TLS or socket detail,
    which goes to the operator's log instead."""
    if isinstance(failure, TargetRefused):
        return f"target refused: {failure}"
    if isinstance(failure, httpx.TimeoutException):
        return "timed out"
    return "could not connect"


def operator_detail(failure: BaseException) -> str:
    """A failed attempt as the operator's log shows it: the error's kind and first line (a
    connection or TLS error's message carries no URL, header or secret)."""
    lines = str(failure).strip().splitlines()
    return f"{type(failure).__name__}: {lines[0][:300]}" if lines else type(failure).__name__
