"""What the browser tests and `scripts/bench` share: a free loopback port, the Chromium flags
this machine needs, and an app process (uvicorn on 127.0.0.1) that can be started, killed and
stopped. Neither pytest nor Playwright is imported here, so the bench can use it as a library.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium (Playwright cannot download its own here), headless."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)


class AppProcess:
    """One uvicorn process on 127.0.0.1 serving `target` with `env` over the current
    environment (with `workers` > 1, uvicorn's worker processes under it). Its output goes to
    `log` (a path) or is inherited."""

    def __init__(self, env: dict[str, str] | None = None, target: str = "server.app:app",
                 port: int | None = None, log: Path | None = None,
                 start_timeout: float = 60, workers: int = 1) -> None:
        self.target = target
        self.workers = workers
        self.port = port or free_port()
        self.extra_env = dict(env or {})
        self.log_path = log
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, **self.extra_env}

    def start(self) -> None:
        out: IO[bytes] | None = self.log_path.open("wb") if self.log_path else None
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", self.target, "--host", "127.0.0.1",
                 "--port", str(self.port), "--no-access-log", "--log-level", "warning",
                 *(["--workers", str(self.workers)] if self.workers > 1 else [])],
                cwd=ROOT, env=self.env, stdout=out,
                stderr=subprocess.STDOUT if out else None)
        finally:
            if out:
                out.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app process exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the app did not answer /healthz within {self.start_timeout} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush — what a crash looks like."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def peak_rss_mb(self) -> float | None:
        """The peak resident memory of the process, and of its workers added up."""
        if self.proc is None:
            return None
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            pids += [int(p) for p in children.split()]
            total = 0
            for pid in pids:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            return None
        return total / 1024
