"""Fault tests run on throwaway services of their own (tests/faults/stack.py), started once
per run; each test gets a fresh, migrated database (a copy of one migrated once per run, with
its admin key) and the registry's processes on it."""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.load import Load
from tests.faults.stack import (
    API_PORT,
    API_PORTS,
    RECEIVER_PORT,
    Processes,
    ThrowawayPostgres,
    ThrowawayRabbit,
    admin_key,
    migrate,
    registry_env,
)
from tests.webhook_receiver import Receiver

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    yield server
    server.close()


@pytest.fixture(scope="session")
def rabbit() -> Iterator[ThrowawayRabbit]:
    node = ThrowawayRabbit()
    yield node
    node.close()


@dataclass
class Stack:
    postgres: ThrowawayPostgres
    rabbit: ThrowawayRabbit
    database_url: str
    processes: Processes
    receiver: Receiver
    client: httpx.Client

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.processes.log(name)[-3000:]}" for name in self.processes.running)

    def subscribe(self) -> None:
        """A webhook endpoint at the receiver, for every entity created (each write of the load)."""
        response = self.client.post(
            "/v1/webhook-endpoints", json={"url": self.receiver.url, "event_types": ["entity.created"]}
        )
        assert response.status_code == 201, response.text

    @property
    def key_header(self) -> dict[str, str]:
        return {"Authorization": self.client.headers["Authorization"]}

    def start_everything(self) -> None:
        """Two API replicas, two workers and two schedulers, and the receiver subscribed."""
        self.processes.worker("worker-1")
        self.processes.worker("worker-2")
        self.processes.scheduler("scheduler-1")
        self.processes.scheduler("scheduler-2")
        self.processes.apis((("api", API_PORT), ("api-2", API_PORTS[1])))
        self.subscribe()

    def load(self, **options: Any) -> Load:
        """A load spread over both API replicas (caller n on replica n mod 2), not yet started."""
        return Load(key_header=self.key_header, ports=API_PORTS[:2], **options)


TEMPLATE = "faults_template"


@pytest.fixture(scope="session")
def migrated_template(postgres: ThrowawayPostgres, rabbit: ThrowawayRabbit) -> str:
    """A database migrated by `registry migrate` and given an admin key by `registry
    create-admin-key`, once per run: each test's database is a copy of it (CREATE DATABASE ...
    TEMPLATE), which costs a fraction of a second where the two commands cost several seconds
    of CPU per test. Nothing connects to it after these two commands exit. Its admin key."""
    env = registry_env(postgres.create_database(TEMPLATE), rabbit.url)
    migrate(env)
    return admin_key(env)


@pytest.fixture
def stack(
    postgres: ThrowawayPostgres, rabbit: ThrowawayRabbit, migrated_template: str, tmp_path: Path
) -> Iterator[Stack]:
    database_url = postgres.create_database(f"faults_{next(_databases)}", template=TEMPLATE)
    env = registry_env(database_url, rabbit.url)
    key = migrated_template
    processes = Processes(tmp_path, env)
    receiver = Receiver(port=RECEIVER_PORT)
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{API_PORT}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    try:
        yield Stack(postgres, rabbit, database_url, processes, receiver, client)
    finally:
        client.close()
        processes.stop_all()
        receiver.close()
