"""The Dramatiq broker, chosen by BROKER_URL's scheme; in-memory when it is unset."""

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from services.settings import Settings, get_settings


def build_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker_url
    broker: dramatiq.Broker
    if not url:
        broker = StubBroker()
        broker.emit_after("process_boot")
    elif url.startswith(("amqp://", "amqps://")):
        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    elif url.startswith(("redis://", "rediss://", "unix://")):
        broker = RedisBroker(url=url)  # type: ignore[no-untyped-call]
    else:
        raise ValueError(
            f"BROKER_URL must start with amqp://, amqps://, redis:// or rediss://, got {url.split(':')[0]}://"
        )
    broker.add_middleware(AsyncIO())
    return broker


broker = build_broker(get_settings())
dramatiq.set_broker(broker)
