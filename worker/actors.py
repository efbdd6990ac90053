"""Actors declared without a broker, bound to one when the process builds it.

``dramatiq.actor`` binds an actor as it is declared, and without ``broker=`` it builds and
registers a default (RabbitMQ) broker then: importing an actor module would build a broker.
Here a module declares its actors with ``@actor(...)``, which records the function and its
options only; the process, as it starts, builds its broker and ``bind_actors`` declares every
one of them on it (worker.main.start_broker)."""

from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

import dramatiq

P = ParamSpec("P")
R = TypeVar("R")

QUEUE_NAME = "default"


class DeclaredActor(Generic[P, R]):
    """An actor's function, name and options; its messages go through the broker it is
    bound to. Sending before the process has bound its actors is a defect, and raises."""

    def __init__(self, fn: Callable[P, Any], *, actor_name: str, options: dict[str, Any]) -> None:
        self.fn = fn
        self.actor_name = actor_name
        self.queue_name = QUEUE_NAME
        self.options = options
        self._bound: dramatiq.Actor[P, R] | None = None

    @property
    def bound(self) -> "dramatiq.Actor[P, R]":
        """The dramatiq actor on this process's broker."""
        if self._bound is None:
            raise RuntimeError(
                f"actor {self.actor_name} has no broker: the process binds its actors as it starts (worker.main.start_broker)"
            )
        return self._bound

    def send(self, *args: P.args, **kwargs: P.kwargs) -> dramatiq.Message[R]:
        return self.bound.send(*args, **kwargs)

    def send_with_options(
        self, *, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, **options: Any
    ) -> dramatiq.Message[R]:
        return self.bound.send_with_options(args=args, kwargs=kwargs, **options)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Run the function here and now (as ``dramatiq.Actor`` does)."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"DeclaredActor({self.actor_name!r})"


_declared: dict[str, DeclaredActor[Any, Any]] = {}
_bound_to: list[dramatiq.Broker] = []  # the broker the actors are bound to (none, or one)


def actor(*, actor_name: str, **options: Any) -> Callable[[Callable[P, Any]], DeclaredActor[P, Any]]:
    """Declare an actor named ``actor_name`` (``domain.verb``) with dramatiq's actor
    ``options`` (``max_retries``, ``time_limit``...), on the ``default`` queue."""

    def declare(fn: Callable[P, Any]) -> DeclaredActor[P, Any]:
        if actor_name in _declared:
            raise ValueError(f"an actor named {actor_name!r} is declared already")
        declared: DeclaredActor[P, Any] = DeclaredActor(fn, actor_name=actor_name, options=options)
        _declared[actor_name] = declared
        return declared

    return declare


def declared_actors() -> list[DeclaredActor[Any, Any]]:
    """Every actor declared so far (worker.main imports every actor module)."""
    return list(_declared.values())


def bind_actors(broker: dramatiq.Broker) -> None:
    """Declare every actor on ``broker``, the process's broker from now on. Binding to the
    same broker again changes nothing; binding to another (a test's fresh broker) moves
    every actor to it."""
    for declared in _declared.values():
        if declared._bound is not None and declared._bound.broker is broker:
            continue
        invalid = set(declared.options) - broker.actor_options
        if invalid:
            raise ValueError(
                f"actor {declared.actor_name}: options {sorted(invalid)} need a middleware the broker lacks"
            )
        declared._bound = dramatiq.Actor(
            declared.fn,
            broker=broker,
            actor_name=declared.actor_name,
            queue_name=declared.queue_name,
            priority=0,
            options=declared.options,
        )
    _bound_to[:] = [broker]


def bound_broker() -> dramatiq.Broker:
    """The broker this process bound its actors to; raises if it has none yet."""
    if not _bound_to:
        raise RuntimeError("this process has built no broker yet (worker.main.start_broker)")
    return _bound_to[0]


def has_broker() -> bool:
    """Whether this process has bound its actors to a broker."""
    return bool(_bound_to)
