"""Text of list rows, computed once per distinct value and not once per row.

A list page shows the same few kinds, states and dates over and over: formatting each cell in
the template (a filter call, a `_()` lookup, Markup escaping of the result) was most of a
50-row page's time. `once(fn)` keeps what `fn` gave for each value for one request, so a
page of 50 rows formats its ~20 distinct dates once each."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


def once(fn: Callable[[Any], str]) -> Callable[[Any], str]:
    """`fn` with its answers kept per value (build one per request: labels follow the
    request's locale)."""
    seen: dict[Hashable, str] = {}

    def text(value: Any) -> str:
        try:
            return seen[value]
        except KeyError:
            seen[value] = found = fn(value)
            return found

    return text
