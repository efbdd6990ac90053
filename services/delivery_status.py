"""The status of a delivery row, in both delivery tables. It sits low in the layers because the
tables' models (``services/webhooks``, ``services/mail``) and a meeting's invitation status
(``services/meetings``) read it; the engine that moves rows between statuses is
``services/delivery/``, above them all."""

import enum


class DeliveryStatus(enum.StrEnum):
    """A delivery row's status, in both delivery tables (PostgreSQL enums
    ``webhook_delivery_status`` and ``email_delivery_status``, the same values)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
