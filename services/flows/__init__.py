"""Flows: where domains meet. A change that spans domains (ending a membership ends the
working-group posts the entity held through it) is one function here, calling each domain's
service for its own records, in the caller's unit of work. The package sits above the
domains it composes, so each domain's service stays about its own records and imports none
above it."""
