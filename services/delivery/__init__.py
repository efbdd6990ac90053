"""Delivery: turning committed events into messages, and sending them — one engine for both
transports. It sits above the domains it fans out to and sends for (webhooks, mail), so that
the event log below imports none of them.

- ``relay``: the relay's database half (claim pending events, fan them out to webhook and
  e-mail deliveries, mark them published; the ``relay_queue`` mark).
- ``engine``: a batch of deliveries leased, composed and sent, every outcome recorded with
  the lease's release; ``transport`` is what a transport gives it, ``transports/`` the two
  (``webhook``: signed HTTP; ``smtp``: e-mail), ``senders`` one instance of each.
- ``leases`` (a row's lease and queued mark, the due rows and where they stand), ``schedule``
  (the one retry schedule), ``replay`` (failed deliveries again; waiting ones due now).

The status both tables share, ``DeliveryStatus``, is ``services/delivery_status.py``: the
domains' models below read it."""
