"""A bare Litestar endpoint — no middleware, no database — served by the bench beside the app,
the same way (uvicorn, one process, loopback), as the ceiling real pages are compared with.

The app's own /healthz is not bare: it passes the session middleware, which touches the
session table on every response.
"""

from litestar import Litestar, get


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[healthz], openapi_config=None)
