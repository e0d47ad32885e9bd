"""The answer the sync API gives for one record: the shape shared by the sync queries (which
make it) and the sync routes (which send it), kept below both."""

from __future__ import annotations

import msgspec

# What the phone does with each outcome:
#   stored / unchanged  the server holds the record: keep only its receipt and state
#   conflict / invalid / forbidden  a person must act (fix or discard): "needs attention"
#   retry               the server could not store it for a reason that is not the record's
#                       (a locked database, a dropped connection): keep it waiting and send
#                       it again by itself, with backoff
OUTCOMES = ("stored", "unchanged", "conflict", "invalid", "forbidden", "retry")


class SyncResult(msgspec.Struct, omit_defaults=False):
    id: str
    outcome: str
    state: str | None = None
    receipt: str | None = None
    version: int | None = None
    errors: dict[str, str] = msgspec.field(default_factory=dict)
    # Why a `retry` happened, in the user's language (empty for the other outcomes).
    reason: str = ""
