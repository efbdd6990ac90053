"""The routers of the API's modules, each declining at once a request whose path none of its
routes could match.

The application tries its included routers one after the other (about 25 of them, 200 routes
in all), and FastAPI asks each router to try each of its routes in turn, twice for the router
that matches (once to choose it, once to handle the request): a route late in the order paid
a fifth of a short request's CPU before it was reached. A route's path starts with its
literal part (``/v1/entities/`` in ``/v1/entities/{entity_id}``), so a router whose routes'
literal parts all miss the request's path has no route that matches it, and says so without
trying them. Nothing else changes: the same routes in the same order, the first full match
chosen as before, a 405 (a partial match) and the trailing-slash redirect found as before,
the same OpenAPI document."""

from fastapi import APIRouter
from starlette.routing import Match, Route
from starlette.types import Scope


class PathRouter(APIRouter):
    """An ``APIRouter`` that tries its routes only for a path that contains one of their
    literal parts. The test is a substring test, not ``startswith``, so that it stays a
    necessary condition when the router is included under a prefix of its own."""

    _literals: tuple[str, ...] | None = None
    _literals_for: int = -1

    def literals(self) -> tuple[str, ...] | None:
        """The literal parts of the routes' paths (up to their first parameter), or None when a
        route is not a plain path (a mount, an included router): then every path is tried."""
        if self._literals_for != len(self.routes):
            literals: set[str] | None = set()
            for route in self.routes:
                if not isinstance(route, Route) or literals is None:  # APIRoute is a Route
                    literals = None
                    continue
                literals.add(route.path.split("{", 1)[0])
            # "/v1/entities/" is in every path that contains "/v1/entities": only the shorter is tried.
            self._literals = (
                None
                if literals is None
                else tuple(sorted(one for one in literals if not any(o != one and o in one for o in literals)))
            )
            self._literals_for = len(self.routes)
        return self._literals

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        literals = self.literals()
        if literals is not None:
            # The whole path, root_path and all: a literal part of a route's path is in the path
            # the routes see only if it is in this one too (Starlette's private helper that
            # strips root_path is not worth a private import on every request).
            path = scope["path"]
            if not any(literal in path for literal in literals):
                return Match.NONE, {}
        return super().matches(scope)
