"""The outbox: the one path for every message that leaves the system.

Agent replies (by email or a signed callback), the web-form acknowledgement, notification email and
survey email are each written as an `OutboundDelivery` row in the transaction of the change that causes
them (`services.outbox_email_enqueue`, `services.outbox_callback_enqueue`). A worker claims a due row
with a lease (a compare-and-swap UPDATE), sends it (`transports`), and records the outcome with another
compare-and-swap; transient failures wait `backoff.backoff_seconds`; the beat sweep
(`services.deliveries_due`) re-enqueues due rows and rows whose lease expired. Apps learn the outcome
through the hooks `OUTBOUND_SENT` and `OUTBOUND_FAILED` (tickets/hooks.py). See docs/architecture.md.
"""
