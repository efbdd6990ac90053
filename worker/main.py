"""The one place that imports every actor module, and where a process starts its worker side:
its broker built, its actors bound to it, the relay nudge registered to run after commits.

Run workers with: ``dramatiq worker.main:setup`` (``registry worker`` does): dramatiq's
command imports this module, calls ``setup`` and works with the broker it made dramatiq's
global one. Importing this module builds and starts nothing."""

import dramatiq

from services.database import log_connection_budget
from services.settings import Settings, get_settings
from services.unit_of_work import register_after_commit
from worker import commitments, events, mail, meetings, mous, reviews, workplans
from worker.actors import bind_actors, bound_broker, has_broker
from worker.broker import build_broker

__all__ = [
    "commitments",
    "events",
    "mail",
    "meetings",
    "mous",
    "reviews",
    "setup",
    "start_broker",
    "workplans",
]


def start_broker(settings: Settings | None = None) -> dramatiq.Broker:
    """This process's broker: built from ``settings`` (default: the process's) on the first
    call, which binds every actor to it and makes it dramatiq's global broker; later calls
    return it. Also registers the relay nudge to run after every unit of work commits. Call
    it as a process that sends messages starts: the API's lifespan, ``registry run``,
    ``registry scheduler``, the commands that write, ``setup``, the tests' fixtures."""
    if has_broker():
        broker = bound_broker()
    else:
        broker = build_broker(settings or get_settings())
        bind_actors(broker)
        dramatiq.set_broker(broker)  # dramatiq's command works with the global broker
    register_after_commit(events.nudge_after_commit)
    return broker


def setup() -> None:
    """A ``dramatiq`` worker process's start (``dramatiq worker.main:setup``)."""
    log_connection_budget(get_settings(), "registry worker process")
    start_broker()
