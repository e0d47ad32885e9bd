"""Running it: request ids, one-JSON-object-per-line logs, and Prometheus metrics at /metrics.

`instrument(app)` wraps the whole Litestar ASGI handler (outside routing, so unmatched paths
and errors are counted and carry a request id too) and registers `/metrics`:

- every answer has an `X-Request-ID` header: the proxy's id when it sent a sane one (Caddy
  sends `{http.request.uuid}`, scripts/deploy/Caddyfile), else a new one; every log line
  written while the request runs carries it;
- one access log line per request, JSON, with the route *template* (`/people/{person_id:int}`),
  never the path's query string: searches hold names, and logs are not the place for them;
- metrics: requests and latencies by route, sync outcomes, outbox batch sizes, database pool
  use. With several worker processes, set PROMETHEUS_MULTIPROC_DIR (the systemd unit does) so
  /metrics adds up every worker's figures, not only those of the worker that answers.

/metrics answers requests from loopback, or with `Authorization: Bearer METRICS_TOKEN`.
"""

from __future__ import annotations

import contextvars
import hmac
import ipaddress
import json
import logging
import os
import re
import sys
import time
import uuid
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from piccolo.engine import engine_finder
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from server import settings as config

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
MULTIPROC = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter("donghanh_requests_total", "HTTP requests answered, by route and status.",
                   ["method", "route", "status"])
LATENCY = Histogram("donghanh_request_seconds", "Time to answer an HTTP request, by route.",
                    ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
SYNC_RECORDS = Counter("donghanh_sync_records_total",
                       "Records received by POST /api/v1/sync, by outcome.", ["outcome"])
SYNC_BATCH = Histogram("donghanh_sync_batch_records", "Records per outbox batch sent by phones.",
                       buckets=(1, 2, 5, 10, 20, 50, 100, 200))
POOL = Gauge("donghanh_db_pool_connections",
             "PostgreSQL connection pool of the app processes: size, in use, idle, max.",
             ["state"], multiprocess_mode="livesum")

access_log = logging.getLogger("donghanh.access")


# ---------------------------------------------------------------- logging


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields."""

    RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
            "msg": record.getMessage(), "pid": record.process,
        }
        rid = request_id_var.get()
        if rid:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in self.RESERVED and key != "color_message" and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging() -> None:
    """Every log line of the process as JSON on stderr (uvicorn's loggers included)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    # uvicorn's --log-level (e.g. `warning` in the browser tests and the bench) rules ours too.
    root.setLevel(logging.getLogger("uvicorn").level or logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    # Piccolo announces "Running Sqlite version 3.4" at start-up: the version cut to a float
    # (3.46 shows as 3.4), which misleads more than it tells.
    logging.getLogger("piccolo.engine.base").setLevel(logging.WARNING)
    # Our access line replaces uvicorn's, which would log the query string (searches hold names).
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers = []
    uvicorn_access.propagate = False


# ---------------------------------------------------------------- the wrapper


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if REQUEST_ID.match(text):
                return text
    return uuid.uuid4().hex


_engine: list[Any] = []


def _pool_figures() -> None:
    if not _engine:
        _engine.append(engine_finder())
    pool = getattr(_engine[0], "pool", None)
    if pool is None:
        return
    size, idle = pool.get_size(), pool.get_idle_size()
    POOL.labels("size").set(size)
    POOL.labels("idle").set(idle)
    POOL.labels("in_use").set(size - idle)
    POOL.labels("max").set(pool.get_max_size())


def wrap(inner: ASGIApp) -> ASGIApp:
    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        rid = _request_id(scope)
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await inner(scope, receive, send_with_id)
        finally:
            took = time.perf_counter() - start
            route = scope.get("path_template") or "(unmatched)"
            method = scope.get("method", "")
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(took)
            _pool_figures()
            access_log.info("request", extra={"method": method, "route": route,
                                              "status": status,
                                              "duration_ms": round(took * 1000, 1)})
            request_id_var.reset(token)

    return handler


def observe_sync(outcomes: list[str]) -> None:
    """Called by the sync route with each batch's outcomes."""
    SYNC_BATCH.observe(len(outcomes))
    # One increment per outcome, not per record: a batch of 100 is mostly one outcome.
    for outcome in set(outcomes):
        SYNC_RECORDS.labels(outcome).inc(outcomes.count(outcome))


# ---------------------------------------------------------------- /metrics


def _allowed(request: Request) -> bool:
    token = config.settings.metrics_token  # read per request: tests reload the settings
    if token:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@get("/metrics", include_in_schema=False, name="metrics")
async def metrics(request: Request) -> Response[bytes]:
    if not _allowed(request):
        return Response(b"metrics are readable from loopback or with METRICS_TOKEN\n",
                        status_code=403, media_type="text/plain",
                        headers={"Cache-Control": "no-store"})
    registry: Any = REGISTRY
    if MULTIPROC:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def instrument(app: Litestar) -> Litestar:
    """Add /metrics, JSON logs, request ids and measurements to the built app."""
    app.register(metrics)
    app.asgi_handler = wrap(app.asgi_handler)
    configure_logging()
    return app
