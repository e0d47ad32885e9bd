"""The project's own errors, raised by query and service modules, which know nothing of HTTP.

One handler maps them to answers (`web.domain_error_handler`, registered in `server.app` for
`DomainError`): the translated error page, its htmx fragment, or JSON for the API. A route
that can do better (re-render a form with the message next to what was typed) catches them
itself; whatever it does not catch still gets a clear 4xx, never a 500.

- `NotFound` is a 404 — also for a record of another commune, whose existence is not to be
  confirmed.
- `Conflict` is a 409: the request was fine but the record's state does not allow it now.
- `Invalid` is a 422: what was sent breaks a rule.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a query or service raises on purpose; `status` is its HTTP answer
    and `message` (translated where it is raised, or empty for the default text) what the
    user reads."""

    status = 409

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """Nothing here, or nothing this user may see."""

    status = 404


class Conflict(DomainError):
    """The record's current state does not allow this (already decided, already waiting)."""

    status = 409


class Invalid(DomainError):
    """What was sent breaks a rule of the data."""

    status = 422
