"""Training sessions for commune and village staff (seed plan: > 80% trained): a record kind
of its own with the same contract as visits and talks (client UUID, outbox, review, audit).

Importing the package registers the kind with `server.records` (see `kind.py`).
"""

from server.training import kind as _kind  # noqa: F401 - registers the record kind
