"""The event types, one declaration module per domain; services.events.catalogue assembles them.
These modules import no domain package: only pydantic and the shapes in ``common``."""
