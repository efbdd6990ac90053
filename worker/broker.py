"""The Dramatiq broker, chosen by BROKER_URL's scheme; in-memory when it is unset. Built when
a process starts (worker.main.start), never on import."""

from typing import Any

import dramatiq
import uvloop
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from services.settings import Settings
from worker.observability import Observability


class UvloopEventLoopThread(EventLoopThread):
    """Dramatiq's event loop thread, on uvloop (as the API runs): socket I/O and asyncpg
    cost less CPU on it (a delivery about a tenth less, measured in process)."""

    def __init__(self, logger: Any, interrupt_check_ival: float = 0.1) -> None:
        super().__init__(logger, interrupt_check_ival)
        self.loop.close()  # the plain asyncio loop the base class made, never run
        self.loop = uvloop.new_event_loop()


class UvloopAsyncIO(AsyncIO):
    """Dramatiq's AsyncIO middleware (async actors run on one event loop thread per worker
    process), with that loop on uvloop."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        thread = UvloopEventLoopThread(self.logger)
        thread.start(timeout=1.0)
        set_event_loop_thread(thread)


def build_broker(settings: Settings) -> dramatiq.Broker:
    """A broker for ``settings``, bound to nothing and registered nowhere. Building one
    connects to nothing (connections open on first send), and starts nothing."""
    url = settings.broker_url
    broker: dramatiq.Broker
    if not url:
        broker = StubBroker()
    elif url.startswith(("amqp://", "amqps://")):
        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker  # only here: the redis client is a second of imports

        broker = RedisBroker(url=url)  # type: ignore[no-untyped-call]
    else:
        raise ValueError(
            f"BROKER_URL must start with amqp://, amqps://, redis:// or rediss://, got {url.split(':')[0]}://"
        )
    broker.add_middleware(UvloopAsyncIO())
    broker.add_middleware(Observability())
    return broker


def boot_actors_here(broker: dramatiq.Broker) -> None:
    """What the ``dramatiq`` command does as a worker process boots (the time-limit thread of
    the actors starts), for a process that runs actors itself (``registry run``, tests). Not
    done on import: the API process only sends messages, and runs no such thread."""
    if not getattr(broker, "_registry_booted", False):
        setattr(broker, "_registry_booted", True)  # noqa: B010
        broker.emit_after("process_boot")


def booted_in_process(broker: dramatiq.Broker) -> bool:
    """Whether this process's actors were booted by ``boot_actors_here`` (``registry run``,
    tests), not by the ``dramatiq`` command: the process set up its own logging then."""
    return bool(getattr(broker, "_registry_booted", False))
