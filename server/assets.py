"""The files of `pwa/` as the phone receives them: built once per process, served from memory.

The repository keeps the readable sources; what goes over the wire is smaller:
- first-party JavaScript is minified with rjsmin (comments and whitespace out, nothing
  renamed), CSS loses its comments and indentation; vendored `*.min.js` files are served as
  they are (they are never edited, STYLE.md);
- every text file is compressed once: gzip at level 9 (instead of level 6 on each request) and
  brotli at quality 11, which browsers ask for (Chromium says `br` on http://127.0.0.1 too)
  and which takes ~10% more off (htmx 16.9 → 15.3 KB): the first visit's JavaScript budget
  (DESIGN §10, ≤ 30 KB) is met with it, not without;
- the version in a static URL (`/static/outbox.js?v=…`) is a hash of the bytes served, so it
  changes exactly when what the phone downloads changes (not for a comment in the source).

Nothing here is cached per user or per request: the build depends only on the files.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import brotli
import rjsmin

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"

# Text types worth compressing; PNGs are compressed already.
_COMPRESSIBLE = (".js", ".css", ".webmanifest", ".json", ".svg", ".txt")
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".webmanifest": "application/manifest+json",
                ".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json"}
_CSS_COMMENT = re.compile(rb"/\*.*?\*/", re.S)


@dataclass(frozen=True)
class Asset:
    body: bytes          # what is served without compression
    gzip: bytes | None   # the same, gzip-compressed (None: not worth it)
    brotli: bytes | None  # the same, brotli-compressed (None: not worth it)
    media_type: str
    version: str         # the hash of `body`, for the URL


def minify(name: str, source: bytes) -> bytes:
    """The bytes served for a source file. JavaScript: rjsmin keeps `/*!` licence comments and
    every string and regular expression literal as written. CSS: comments, indentation and
    blank lines out; nothing inside a rule changes (app.css has no `/*` inside a string)."""
    if name.endswith(".js") and not name.endswith(".min.js"):
        minified: bytes = rjsmin.jsmin(source)
        return minified
    if name.endswith(".css"):
        text = _CSS_COMMENT.sub(b"", source)
        return b"\n".join(line.strip() for line in text.splitlines() if line.strip()) + b"\n"
    return source


def build_file(name: str, source: bytes) -> Asset:
    body = minify(name, source)
    suffix = Path(name).suffix
    packed = gzip.compress(body, compresslevel=9, mtime=0) if suffix in _COMPRESSIBLE else None
    if packed is not None and len(packed) >= len(body):
        packed = None
    squeezed = brotli.compress(body, quality=11) if packed is not None else None
    if squeezed is not None and len(squeezed) >= len(packed or body):
        squeezed = None
    media_type = _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Asset(body=body, gzip=packed, brotli=squeezed, media_type=media_type,
                 version=hashlib.sha256(body).hexdigest()[:10])


def build(directory: Path) -> dict[str, Asset]:
    """Every file under `directory`, by its path relative to it ("vendor/htmx-2.0.11.min.js")."""
    return {path.relative_to(directory).as_posix(): build_file(path.name, path.read_bytes())
            for path in sorted(directory.rglob("*")) if path.is_file()}


@cache
def _built() -> dict[str, Asset]:
    """Once per process: the files cannot change under a running server."""
    return build(PWA_DIR)


def get(path: str) -> Asset | None:
    """The built file at `path` (relative to pwa/), or None: only files that exist are served,
    and a request's path is only ever a key looked up here, never opened."""
    return _built().get(path.lstrip("/"))


def version(path: str) -> str:
    asset = get(path)
    if asset is None:
        raise FileNotFoundError(f"pwa/{path}")
    return asset.version
