"""Counselling contacts — the commune's counselling hotline and its counselling work: a record
kind of its own with the same contract as visits and talks (client UUID, outbox, review,
audit), the follow-up to-do list, and the commune's list of hotline counsellors.

Importing the package registers the kind with `server.records` (see `kind.py`).
"""

from server.counselling import kind as _kind  # noqa: F401 - registers the record kind
