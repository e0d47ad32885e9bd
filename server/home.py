"""What each role's home page shows, gathered from the areas that have something to say.

An area adds a coroutine `home_<role>(user) -> dict` to its `home.py`; the results are merged
into the home template's context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from server.web import CurrentUser, optional_module

CONTRIBUTORS = ("people", "records", "review", "reports", "public", "privacy", "training",
                "counselling")
HOME_TEMPLATES = Path(__file__).parent / "templates" / "home"


@cache
def contributors(role: str) -> tuple[Callable[[CurrentUser], Awaitable[dict[str, Any]]], ...]:
    """The areas' contributions for a role, looked up once per process: an area without a
    `home.py` would otherwise send the import system searching the disk on every home page."""
    found = []
    for name in CONTRIBUTORS:
        contribute = getattr(optional_module(f"server.{name}.home"), f"home_{role}", None)
        if contribute is not None:
            found.append(contribute)
    return tuple(found)


@cache
def home_templates(role: str) -> tuple[str, ...]:
    """Each area's home block for a role (`home/_<area>_<role>.html`), in the areas' order:
    the ones that exist, found once per process. Jinja caches only the templates it found, so
    an `include … ignore missing` of an absent one searched the disk on every home page."""
    return tuple(f"home/_{area}_{role}.html" for area in CONTRIBUTORS
                 if (HOME_TEMPLATES / f"_{area}_{role}.html").is_file())


async def home_context(user: CurrentUser) -> dict[str, Any]:
    context: dict[str, Any] = {"home_templates": home_templates(user.role)}
    for contribute in contributors(user.role):
        context.update(await contribute(user))
    return context
