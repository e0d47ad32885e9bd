"""What every request pays before its handler runs: nothing of it may hop to a thread.

Litestar runs a guard, dependency or hook written as a plain function on its thread pool
(`AsyncCallable`): a round trip to another thread on every request it applies to, which at
one client cost more than the guard's own work and at 32 clients queues on the pool."""

from __future__ import annotations

from typing import Any

from litestar.routes import HTTPRoute
from litestar.utils.sync import AsyncCallable


def test_no_guard_or_hook_of_any_route_runs_on_a_thread(app: Any) -> None:
    handlers = [h for route in app.routes if isinstance(route, HTTPRoute)
                for h in route.route_handlers]
    assert len(handlers) > 50  # every route of the app, not an empty list
    on_threads = []
    for handler in handlers:
        for guard in handler.resolve_guards():
            if isinstance(guard, AsyncCallable):
                on_threads.append((str(handler), "guard", getattr(guard, "func", guard)))
        for hook in (handler.resolve_before_request(), handler.resolve_after_response()):
            if isinstance(hook, AsyncCallable):
                on_threads.append((str(handler), "hook", hook))
        for name, provider in handler.resolve_dependencies().items():
            if provider.has_sync_callable and provider.sync_to_thread:
                on_threads.append((str(handler), "dependency", name))
    assert on_threads == []
