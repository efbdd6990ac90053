"""Delivery: turning committed events into messages. It sits above the domains it fans out
to (webhooks, mail), so that the event log below imports none of them.

``relay`` is the relay's database half (claim pending events, fan them out to webhook and
e-mail deliveries, mark them published; the ``relay_queue`` mark). The senders stay in
``services/webhooks/`` and ``services/mail/`` for now; what they share (a delivery row's
lease and queued mark, ``DeliveryStatus``) is ``services/leases.py``, below both."""
