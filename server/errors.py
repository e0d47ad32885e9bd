"""The project's own errors, raised by query and service modules, which know nothing of HTTP.

One place maps them to answers (`server.app`'s exception handlers, with `server.web`'s
translated pages and JSON): `NotFound` is a 404 — also for a record of another commune, whose
existence is not to be confirmed.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a query or service raises on purpose."""


class NotFound(DomainError):
    """Nothing here, or nothing this user may see."""
