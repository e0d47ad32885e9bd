"""Record kinds that live in their own packages (training sessions, counselling contacts):
what the one write path and the entry pages need from them.

A package registers its kind with `register(kind, ExtraKind(...))` when it is imported (its
`__init__`), so `records` never imports the packages above it. The kind's input Struct is in
`schema.records.INPUTS` like every other; a kind declared there but not registered is refused
as unknown by `submit_record`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from server.web import CurrentUser

Data = dict[str, Any]


@dataclass(frozen=True)
class ExtraKind:
    # Whether this user may record the kind at all (a role, a commune setting); False answers
    # "forbidden" like a person outside the caseload.
    may_record: Callable[[CurrentUser], Awaitable[bool]]
    # Checks that need the database; adds translated messages to `errors` by field name.
    check: Callable[[CurrentUser, Data, dict[str, str]], Awaitable[None]]
    # Canonical form of valid data (sorted lists), so the same record hashes the same.
    normalise: Callable[[Data], Data]
    # Entry columns besides entry_date and notes (person, village) from normalised data and
    # the person the write path loaded (or None).
    columns: Callable[[Data, Data | None], Data]
    # The kind's own rows, written inside the entry's write transaction (insert and correct).
    store: Callable[[CurrentUser, uuid.UUID, Data], Awaitable[None]]
    # Display names of reference fields of one entry's data, e.g. participants' names.
    names: Callable[[Data, int], Awaitable[dict[str, str]]]
    # The form's page context, like `server.records.contexts.CONTEXTS`.
    context: Callable[[CurrentUser, Data], Awaitable[Data]]


EXTRA: dict[str, ExtraKind] = {}


def register(kind: str, spec: ExtraKind) -> None:
    EXTRA[kind] = spec
