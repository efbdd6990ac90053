"""The audit trail: who changed what, when, from which request. Append-only in the database."""
