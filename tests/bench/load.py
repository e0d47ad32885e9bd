"""An async HTTP load generator for loopback: N concurrent clients send GET requests until a
request count or a time limit is reached, whichever comes first, then stop by themselves."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    url: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def percentile(self, p: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[k]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "concurrency": self.concurrency, "requests": self.requests,
                "errors": self.errors, "seconds": round(self.seconds, 3),
                "p50_ms": self.percentile(50), "p95_ms": self.percentile(95),
                "p99_ms": self.percentile(99), "throughput_rps": round(self.throughput, 1),
                "statuses": {str(k): v for k, v in self.statuses.items()}}


class _Connection:
    """One keep-alive HTTP/1.1 connection: a GET, then its body read by Content-Length or
    chunks. Hand-written because httpx spends more CPU per request than the server does,
    which would measure the client instead of the server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def get(self, request: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        reader = self.reader
        self.writer.write(request)
        status = int((await reader.readuntil(b"\r\n")).split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _sep, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await reader.readexactly(length)
        if close:
            await self.close()
        return status


async def run_load(base_url: str, path: str, *, concurrency: int, max_requests: int,
                   max_seconds: float, cookies: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, warmup: int = 5) -> LoadResult:
    """GET `path` from `concurrency` clients, each on its own keep-alive connection; 2xx
    counts as success, anything else (or a transport error) as an error. Stops at
    `max_requests` or after `max_seconds`, whichever comes first."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    lines = [f"GET {path} HTTP/1.1", f"Host: {url.netloc}", "Accept-Encoding: gzip",
             "Connection: keep-alive"]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    connections = [_Connection("127.0.0.1" if host == "localhost" else host, port)
                   for _ in range(concurrency)]
    result = LoadResult(url=path, concurrency=concurrency, requests=0, errors=0, seconds=0)
    try:
        for i in range(warmup):
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
                await connections[i % concurrency].get(request)
        sent = 0
        began = time.perf_counter()
        deadline = began + max_seconds

        async def worker(conn: _Connection) -> None:
            nonlocal sent
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                t0 = time.perf_counter()
                try:
                    status = await asyncio.wait_for(conn.get(request), 30)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    status = 0
                    await conn.close()
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.requests += 1
                if not 200 <= status < 300:
                    result.errors += 1

        await asyncio.gather(*(worker(c) for c in connections))
        result.seconds = time.perf_counter() - began
    finally:
        for c in connections:
            await c.close()
    return result
