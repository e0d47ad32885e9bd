"""What each role's home page shows, gathered from the areas that have something to say.

An area adds a coroutine `home_<role>(user) -> dict` to its `home.py`; the results are merged
into the home template's context.
"""

from __future__ import annotations

import importlib
from typing import Any

from server.web import CurrentUser

CONTRIBUTORS = ("people", "records", "review", "reports")


async def home_context(user: CurrentUser) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for name in CONTRIBUTORS:
        try:
            module = importlib.import_module(f"server.{name}.home")
        except ModuleNotFoundError as exc:
            if exc.name != f"server.{name}.home":
                raise
            continue
        contribute = getattr(module, f"home_{user.role}", None)
        if contribute is not None:
            context.update(await contribute(user))
    return context
