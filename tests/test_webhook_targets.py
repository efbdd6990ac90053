"""Where webhooks may go: only public addresses, checked at registration and again at
delivery, where the transport connects to the address it checked (no second lookup) and
verifies TLS against the receiver's host name. Host names under ``.test`` resolve through a
stand-in for DNS (``using_resolver``); IP literals and ``localhost`` through the system's."""

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from httpx import ASGITransport, AsyncClient

from services.settings import get_settings, use_settings
from services.webhooks.targets import TargetRefused, is_public, system_resolver, using_resolver
from services.webhooks.transport import CheckedNetworkBackend, CheckedTransport, subscriber_error
from tests.conftest import committed_admin_key
from tests.served_app import served_app
from tests.stub_worker import broker, drain
from tests.webhook_receiver import Receiver

PUBLIC_V4 = "93.184.215.14"

# Spellings of addresses webhooks must not reach; each is refused at registration. The
# tests allow the literal 127.0.0.1 (their receivers listen there), and nothing else.
REFUSED_URLS = [
    # shared address space (carrier-grade NAT; cloud metadata services live here)
    "https://100.64.0.1/",
    "https://100.100.100.200/",
    "https://100.127.255.254/hook",
    # benchmarking, documentation, IETF, 6to4 relay
    "https://198.18.0.1/",
    "https://198.19.255.255/",
    "https://192.0.2.1/",
    "https://198.51.100.7/",
    "https://203.0.113.9/",
    "https://192.0.0.170/",
    "https://192.88.99.1/",
    # multicast, reserved, broadcast, "this network"
    "https://224.0.0.1/",
    "https://239.255.255.250/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://0.0.0.0/",
    "https://0.1.2.3/",
    # loopback (other than the tests' own literal), link-local, RFC 1918
    "https://127.0.0.2/",
    "https://127.255.255.254/",
    "https://localhost/",
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.1/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.1.1/",
    # IPv4 written otherwise: octal, decimal, hexadecimal, short forms, a trailing dot
    "https://0177.0.0.1/",
    "https://0177.1/",
    "https://2130706433/",
    "https://017700000001/",
    "https://0x7f000001/",
    "https://0x7f.0.0.1/",
    "https://127.1/",
    "https://127.0.0.1./",
    "https://10.1/",
    "https://0xa.0.0.1/",
    "https://1681915905/",  # 100.64.0.1
    "https://0x64.0x64.0x64.0xc8/",  # 100.100.100.200
    # IPv6: loopback, unspecified, link-local (with a zone), unique local, site-local, multicast
    "https://[::1]/",
    "https://[::]/",
    "https://[fe80::1]/",
    "https://[fe80::1%25eth0]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fec0::1]/",
    "https://[ff02::1]/",
    "https://[2001:db8::1]/",
    "https://[3fff::1]/",
    "https://[100::1]/",
    # IPv6 carrying IPv4: mapped, compatible, translated, NAT64 (both prefixes), 6to4, Teredo
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::ffff:100.64.0.1]/",
    f"https://[::ffff:{PUBLIC_V4}]/",  # a mapped form is refused whatever it maps
    "https://[::127.0.0.1]/",
    "https://[::ffff:0:a00:1]/",
    "https://[64:ff9b::a00:1]/",
    "https://[64:ff9b::6440:1]/",
    "https://[64:ff9b:1::a00:1]/",
    "https://[2002:7f00:1::1]/",
    "https://[2002:a00:1::1]/",
    "https://[2002:6440:1::1]/",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    # names: resolving to a private address, or to a public and a private one
    "https://metadata.test/",
    "https://mixed.test/",
    "https://v6-private.test/",
]

NAMES = {
    "metadata.test": ["100.100.100.200"],
    "mixed.test": [PUBLIC_V4, "10.0.0.1"],
    "v6-private.test": ["2606:4700::1111", "fd00::1"],
    "public.test": [PUBLIC_V4, "2606:4700:4700::1111"],
}


class FakeDns:
    """The outside world's DNS, for names under .test; answers can change, lookups are counted."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = dict(names)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host.endswith(".test"):
            if host not in self.names:
                import socket

                raise socket.gaierror(f"{host}: no such name")
            return self.names[host]
        return await system_resolver(host, port)


@pytest.fixture
def dns() -> Iterator[FakeDns]:
    fake = FakeDns(NAMES)
    with using_resolver(fake):
        yield fake


@pytest.fixture
def allowed_private_hosts() -> Iterator[list[str]]:
    """The tests' allowance (127.0.0.1), to which a test may add names for its run."""
    previous = get_settings()
    hosts = list(previous.webhook_allowed_private_hosts)
    use_settings(previous.model_copy(update={"webhook_allowed_private_hosts": hosts}))
    yield hosts
    use_settings(previous)


async def test_every_spelling_of_a_non_public_address_is_refused_at_registration(client, dns):
    for url in REFUSED_URLS:
        refused = await client.post("/v1/webhook-endpoints", json={"url": url, "event_types": ["*"]})
        assert refused.status_code == 422, (url, refused.text)
        assert refused.json()["type"] == "/problems/webhook-url-refused", url
    assert (await client.get("/v1/webhook-endpoints")).json()["items"] == []


async def test_public_targets_are_accepted(client, dns):
    for url in (
        f"https://{PUBLIC_V4}/hooks",
        "https://[2606:4700:4700::1111]/hooks",
        "https://[2002:5db8:d70e::1]/hooks",  # 6to4 of a public address
        "https://public.test/hooks",
    ):
        created = await client.post("/v1/webhook-endpoints", json={"url": url, "event_types": ["*"]})
        assert created.status_code == 201, (url, created.text)


def test_the_address_policy_does_not_depend_on_pythons_idea_of_private():
    # Python 3.11 calls these neither private nor refused; the policy refuses them.
    for address in ("100.64.0.1", "100.100.100.200", "192.0.0.9", "64:ff9b::808:808", "::7f00:1"):
        assert not is_public(ipaddress.ip_address(address)), address
    for address in (PUBLIC_V4, "8.8.8.8", "2606:4700:4700::1111", "2002:5db8:d70e::1"):
        assert is_public(ipaddress.ip_address(address)), address


async def test_every_non_public_address_is_refused_at_connection(dns):
    """At delivery the host is looked up again by the transport: a name that now resolves to
    any refused address is never connected to."""
    backend = CheckedNetworkBackend()
    for url in REFUSED_URLS:
        host = urlsplit(url).hostname or ""
        with pytest.raises(TargetRefused):
            await backend.connect_tcp(host, 443, timeout=5)
        try:
            address = str(ipaddress.ip_address(host.split("%")[0]))
        except ValueError:  # a name, or a loose spelling (refused before any lookup)
            continue
        dns.names["rebound.test"] = [address]  # a name that resolves there now
        with pytest.raises(TargetRefused):
            await backend.connect_tcp("rebound.test", 443, timeout=5)


@pytest.fixture
async def committed_world(committed):
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    client = AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=headers)
    broker.flush_all()
    yield client
    await client.aclose()


async def test_a_name_that_turns_private_after_registration_is_refused_at_delivery(committed_world, dns):
    client = committed_world
    dns.names["turns.test"] = [PUBLIC_V4]
    endpoints = []
    for _ in range(2):
        created = await client.post(
            "/v1/webhook-endpoints", json={"url": "https://turns.test/hooks", "event_types": ["entity.*"]}
        )
        assert created.status_code == 201, created.text
        endpoints.append(created.json())
    dns.names["turns.test"] = ["100.64.0.1"]
    await client.post("/v1/entities", json={"acronym": "TURN", "name": "Turned", "kind": "un_system"})
    await drain(threads=2)
    for endpoint in endpoints:
        (delivery,) = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["items"]
        assert delivery["status"] == "pending" and delivery["last_status_code"] is None
        assert delivery["last_error"].startswith("target refused: turns.test resolves to an address that is not public")
        assert delivery["attempt_log"][0]["error"] == delivery["last_error"]


async def test_the_transport_connects_to_the_address_it_checked(committed_world, dns, allowed_private_hosts):
    """``receiver.test`` exists only in the stand-in DNS: the delivery reaches the receiver
    because the transport connected to the checked answer, with one lookup, and the
    request still names the host."""
    client = committed_world
    receivers = [Receiver(), Receiver()]
    try:
        allowed_private_hosts.append("receiver.test")
        dns.names["receiver.test"] = ["127.0.0.1"]
        for receiver in receivers:
            url = receiver.url.replace("127.0.0.1", "receiver.test")
            created = await client.post("/v1/webhook-endpoints", json={"url": url, "event_types": ["entity.*"]})
            assert created.status_code == 201, created.text
        dns.lookups.clear()
        await client.post("/v1/entities", json={"acronym": "PIN", "name": "Pinned", "kind": "un_system"})
        await drain(threads=2)
        for receiver in receivers:
            assert len(receiver.requests) == 1
            port = receiver.server.server_address[1]
            assert receiver.requests[0]["headers"]["host"] == f"receiver.test:{port}"
        assert dns.lookups == ["receiver.test", "receiver.test"]  # one per connection, none more
    finally:
        for receiver in receivers:
            receiver.close()


# TLS: a receiver whose certificate names receiver.test, reached at 127.0.0.1.


def _certificate(name: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class TlsReceiver:
    """An HTTPS receiver on 127.0.0.1 that records the server name (SNI) each client asked for."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.server_names: list[str | None] = []
        self.hosts: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.hosts.append(self.headers["host"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, name, ctx: receiver.server_names.append(name)  # type: ignore[assignment,func-returns-value]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_tls_is_verified_against_the_host_name_not_the_address(tmp_path, dns, allowed_private_hosts):
    allowed_private_hosts.extend(["receiver.test", "impostor.test"])
    dns.names.update({"receiver.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]})
    cert, key = _certificate("receiver.test", tmp_path)
    trusted = ssl.create_default_context(cafile=str(cert))
    server = TlsReceiver(cert, key)
    limits = httpx.Limits(max_connections=4)
    try:
        async with httpx.AsyncClient(transport=CheckedTransport(limits=limits, verify=trusted)) as http:
            answer = await http.post(f"https://receiver.test:{server.port}/hooks", content=b"{}")
            assert answer.status_code == 204
            assert server.server_names == ["receiver.test"] and server.hosts == [f"receiver.test:{server.port}"]
            # the same address under a name the certificate does not carry: refused, and the
            # subscriber is told no more than that
            with pytest.raises(httpx.ConnectError) as failure:
                await http.post(f"https://impostor.test:{server.port}/hooks", content=b"{}")
            assert "certificate" in str(failure.value).lower()
            assert subscriber_error(failure.value) == "could not connect"
    finally:
        server.close()


async def test_a_delivery_error_tells_the_subscriber_no_socket_or_tls_detail(committed_world, allowed_private_hosts):
    client = committed_world
    receiver = Receiver()
    port = receiver.server.server_address[1]
    receiver.close()  # nothing listens there now: connection refused
    created = await client.post(
        "/v1/webhook-endpoints", json={"url": f"http://127.0.0.1:{port}/hooks", "event_types": ["entity.*"]}
    )
    await client.post("/v1/entities", json={"acronym": "DOWN", "name": "Down", "kind": "un_system"})
    await drain()
    (delivery,) = (await client.get(f"/v1/webhook-endpoints/{created.json()['id']}/deliveries")).json()["items"]
    assert delivery["last_error"] == "could not connect"
    assert delivery["attempt_log"][0]["error"] == "could not connect"
