"""The HTTP face of the registry: app factory, dependencies, error handlers, one router per domain."""
