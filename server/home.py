"""What each role's home page shows, gathered from the areas that have something to say.

An area adds a coroutine `home_<role>(user) -> dict` to its `home.py`; the results are merged
into the home template's context.
"""

from __future__ import annotations

from typing import Any

from server.web import CurrentUser, optional_module

CONTRIBUTORS = ("people", "records", "review", "reports", "public", "privacy", "training",
                "counselling")


async def home_context(user: CurrentUser) -> dict[str, Any]:
    context: dict[str, Any] = {"home_areas": CONTRIBUTORS}
    for name in CONTRIBUTORS:
        module = optional_module(f"server.{name}.home")
        contribute = getattr(module, f"home_{user.role}", None)
        if contribute is not None:
            context.update(await contribute(user))
    return context
