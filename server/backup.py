"""Encrypted backups and restores of the whole database, on either engine.

`python -m server.backup backup` (scripts/backup) and `… restore FILE` (scripts/restore).

What is written never exists in plain text on disk:
- SQLite: the online backup API copies a consistent snapshot into an **in-memory** database
  (`sqlite3.Connection.backup`, while the app goes on writing: WAL lets it), which is
  serialised to bytes in memory and encrypted from there. Memory use is the database's size.
- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot) is streamed from its stdout
  through the encryption into the file, by Debian's client binaries matching the server.

File format (version 1): `DHBACKUP`, a format byte, a 2-byte header length and a JSON header
(engine, time, key id, nonce prefix), then chunks of at most 1 MiB, each `u32 length` +
AES-256-GCM ciphertext. A chunk's nonce is the prefix + its index, and its associated data is
the header + index + a "last chunk" flag, so reordered, dropped, truncated or edited chunks and
an edited header all fail authentication. The key id (an HMAC of a fixed label) tells a wrong
key apart from a damaged file before anything is decrypted.

A restore checks everything it can before it writes anything: the engine, the key, that the
target database is empty, and that the whole file decrypts. Then it restores, runs the
migrations forward (an older backup gets the newer schema) and walks the audit hash chain.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from piccolo.engine import engine_finder

from server.audit.queries import verify_chain
from server.cli import migrate
from server.settings import Config, settings

MAGIC = b"DHBACKUP"
FORMAT_VERSION = 1
CHUNK = 1 << 20
NAME_RE = re.compile(r"^donghanh-(sqlite|postgres)-(\d{8}T\d{6}Z)\.dhbk$")


class BackupError(Exception):
    """A refusal with a message for the operator; nothing was changed."""


# ---------------------------------------------------------------- keys


def backup_key(config: Config | None = None, *, create: bool = True) -> bytes:
    """The 256-bit key: from BACKUP_KEY, or generated once into var/backup.key (0600).

    A restore never creates one (`create=False`): a new key could not read any backup.
    """
    config = config or settings
    text = config.backup_key_raw
    if not text:
        path = Path(config.sqlite_path).parent / "backup.key"
        if not path.exists() and not create:
            raise BackupError(f"no backup key: set BACKUP_KEY, or put the key file at {path}")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
        text = path.read_text().strip()
    return hashlib.sha256(b"donghanh-backup-v1:" + text.encode()).digest()


def key_id(key: bytes) -> str:
    return hmac.new(key, b"donghanh-backup-key-id", hashlib.sha256).hexdigest()[:16]


# ---------------------------------------------------------------- the container


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if last else 0)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def write_encrypted(out: IO[bytes], key: bytes, engine: str, chunks: Iterator[bytes]) -> int:
    """Encrypt `chunks` (any sizes) into `out`; returns the plaintext byte count."""
    prefix = secrets.token_bytes(8)
    header = json.dumps({
        "engine": engine, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "key_id": key_id(key), "nonce": prefix.hex(),
        "payload": "sqlite-serialized" if engine == "sqlite" else "pg_dump-custom",
    }, sort_keys=True).encode()
    out.write(MAGIC + bytes([FORMAT_VERSION]) + struct.pack(">H", len(header)) + header)
    aead = AESGCM(key)
    index, total = 0, 0
    pending = b""
    buffer = bytearray()

    def emit(block: bytes, last: bool) -> None:
        nonlocal index
        sealed = aead.encrypt(_nonce(prefix, index), block, _aad(header, index, last))
        out.write(struct.pack(">I", len(sealed)) + sealed)
        index += 1

    for piece in chunks:
        buffer.extend(piece)
        total += len(piece)
        while len(buffer) > CHUNK:  # keep one full chunk back: it may be the last
            if pending:
                emit(pending, last=False)
            pending = bytes(buffer[:CHUNK])
            del buffer[:CHUNK]
    if buffer:
        if pending:
            emit(pending, last=False)
        pending = bytes(buffer)
    emit(pending, last=True)
    return total


def read_header(f: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    start = f.read(len(MAGIC) + 3)
    if len(start) < len(MAGIC) + 3 or not start.startswith(MAGIC):
        raise BackupError("not a Đồng Hành backup file (no DHBACKUP header)")
    if start[len(MAGIC)] != FORMAT_VERSION:
        raise BackupError(f"backup format {start[len(MAGIC)]} is not supported by this version "
                          f"(it reads format {FORMAT_VERSION})")
    (length,) = struct.unpack(">H", start[len(MAGIC) + 1:])
    header = f.read(length)
    if len(header) < length:
        raise BackupError("the backup file is truncated (its header is incomplete)")
    try:
        meta = json.loads(header)
    except ValueError as exc:
        raise BackupError("the backup file's header is damaged") from exc
    return meta, header


def read_decrypted(f: IO[bytes], key: bytes, meta: dict[str, Any],
                   header: bytes) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk; raises BackupError on any damage or truncation."""
    if meta.get("key_id") != key_id(key):
        raise BackupError("wrong key: this backup was encrypted with another BACKUP_KEY "
                          f"(key id {meta.get('key_id')}, the configured key is {key_id(key)})")
    aead = AESGCM(key)
    prefix = bytes.fromhex(meta["nonce"])
    index = 0
    size = f.read(4)
    if len(size) < 4:
        raise BackupError("the backup file is truncated (no data after the header)")
    while True:
        (length,) = struct.unpack(">I", size)
        sealed = f.read(length)
        if len(sealed) < length:
            raise BackupError(f"the backup file is truncated (in chunk {index + 1})")
        size = f.read(4)
        last = len(size) == 0
        if 0 < len(size) < 4:
            raise BackupError(f"the backup file is truncated (after chunk {index + 1})")
        try:
            yield aead.decrypt(_nonce(prefix, index), sealed, _aad(header, index, last))
        except InvalidTag:
            if last:
                raise BackupError("the backup file is truncated or damaged: its last chunk "
                                  "is missing or does not authenticate") from None
            raise BackupError(f"the backup file is damaged (chunk {index + 1} does not "
                              "authenticate)") from None
        if last:
            return
        index += 1


# ---------------------------------------------------------------- backup


def _sqlite_snapshot(path: str) -> bytes:
    """A consistent copy of the live database, made in memory and serialised there."""
    if not Path(path).exists():
        raise BackupError(f"no SQLite database at {path}")
    source = sqlite3.connect(path, timeout=30)
    memory = sqlite3.connect(":memory:")
    try:
        source.backup(memory)
        data = bytearray(memory.serialize())
    finally:
        source.close()
        memory.close()
    # Page 1 still says "WAL" (file format bytes 18-19 = 2) as the live file does; a restored
    # file starts in rollback mode (1, 1) and the app switches it to WAL when it opens it.
    if data[18:20] == b"\x02\x02":
        data[18:20] = b"\x01\x01"
    return bytes(data)


def pg_binary(name: str, server_major: int) -> str:
    """Debian's client binary for the server's major version (or the newest newer one)."""
    root = Path("/usr/lib/postgresql")
    installed = sorted((int(p.name) for p in root.glob("*") if p.name.isdigit()
                        and (p / "bin" / name).exists()), reverse=True) if root.exists() else []
    if server_major in installed:
        return str(root / str(server_major) / "bin" / name)
    newer = [v for v in installed if v > server_major]
    if newer:
        return str(root / str(min(newer)) / "bin" / name)
    raise BackupError(f"{name} for PostgreSQL {server_major} is not installed "
                      f"(apt-get install postgresql-client-{server_major})")


async def _pg_server_major(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


def _pg_dump_chunks(url: str) -> Iterator[bytes]:
    binary = pg_binary("pg_dump", asyncio.run(_pg_server_major(url)))
    proc = subprocess.Popen([binary, "--format=custom", "--no-owner", "--no-acl",
                             f"--dbname={url}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    while block := proc.stdout.read(CHUNK):
        yield block
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.wait() != 0:
        raise BackupError(f"pg_dump failed: {err.strip()}")


def backup_name(engine: str, at: dt.datetime) -> str:
    return f"donghanh-{engine}-{at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.dhbk"


def make_backup(config: Config | None = None, *, log: Any = print) -> Path:
    """Write one encrypted backup into BACKUP_DIR, prune old ones, return its path."""
    config = config or settings
    key = backup_key(config)
    engine = "postgres" if config.is_postgres else "sqlite"
    folder = Path(config.backup_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    target = folder / backup_name(engine, dt.datetime.now(dt.UTC))
    n = 1
    while target.exists():  # two backups in one second keep both
        n += 1
        target = target.with_name(target.name.replace(".dhbk", f"-{n}.dhbk"))
    part = target.with_name(target.name + ".part")
    if engine == "sqlite":
        log(f"backing up SQLite {config.sqlite_path} (online backup into memory)")
        chunks: Iterator[bytes] = iter([_sqlite_snapshot(config.sqlite_path)])
    else:
        log("backing up PostgreSQL with pg_dump")
        chunks = _pg_dump_chunks(config.database_url)
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            size = write_encrypted(out, key, engine, chunks)
            out.flush()
            os.fsync(out.fileno())
        part.rename(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    log(f"{size} bytes of {engine} data encrypted (key id {key_id(key)})")
    try:
        pruned = prune(folder, config.backup_keep, keep=target)
    except BackupError as exc:
        raise BackupError(f"{exc}; the backup is {target}") from None
    for old in pruned:
        log(f"pruned {old.name}")
    return target


def prune(folder: Path, rule: str, *, keep: Path | None = None,
          now: dt.datetime | None = None) -> list[Path]:
    """Delete backups beyond BACKUP_KEEP: `N` keeps the N newest, `Nd` those of the last N days."""
    rule = rule.strip().lower()
    if not re.fullmatch(r"[1-9]\d*d?", rule):
        raise BackupError(f"BACKUP_KEEP must be a count (14) or days (30d), not {rule!r}: "
                          "nothing was pruned")
    found = []
    for p in folder.iterdir():
        m = NAME_RE.match(re.sub(r"-\d+\.dhbk$", ".dhbk", p.name))
        if m:
            at = dt.datetime.strptime(m.group(2), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            found.append((at, p.name, p))
    found.sort(reverse=True)
    if rule.endswith("d"):
        limit = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=int(rule[:-1]))
        doomed = [p for at, _n, p in found if at < limit]
    else:
        doomed = [p for _at, _n, p in found[max(1, int(rule)):]]
    doomed = [p for p in doomed if p != keep]
    for p in doomed:
        p.unlink()
    return doomed


# ---------------------------------------------------------------- restore


def _sqlite_is_empty(path: str) -> bool:
    if not Path(path).exists() or Path(path).stat().st_size == 0:
        return True
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0
    finally:
        con.close()


async def _pg_is_empty(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema')") == 0
    finally:
        await conn.close()


def restore(file: Path, config: Config | None = None, *, log: Any = print) -> None:
    """Restore `file` into the configured, empty database; migrate forward; check the chain."""
    config = config or settings
    key = backup_key(config, create=False)
    engine = "postgres" if config.is_postgres else "sqlite"
    if not file.exists():
        raise BackupError(f"no such file: {file}")
    with file.open("rb") as f:
        meta, header = read_header(f)
        log(f"backup of {meta.get('engine')} made {meta.get('created')}, "
            f"{file.stat().st_size} bytes")
        if meta.get("engine") != engine:
            theirs = "SQLite" if meta.get("engine") == "sqlite" else "PostgreSQL"
            ours = "PostgreSQL (DATABASE_URL)" if engine == "postgres" else "SQLite (SQLITE_PATH)"
            raise BackupError(f"this is a backup of a {theirs} database, but the settings point "
                              f"to {ours}; restore it into the same engine")
        where = config.database_url.rsplit("@", 1)[-1] if engine == "postgres" \
            else config.sqlite_path
        empty = asyncio.run(_pg_is_empty(config.database_url)) if engine == "postgres" \
            else _sqlite_is_empty(config.sqlite_path)
        if not empty:
            raise BackupError(f"the target database {where} is not empty; restore only into an "
                              "empty database (create a new one, or move the old file away)")
        log("checking the whole file decrypts …")
        plain = bytearray() if engine == "sqlite" else None
        size = 0
        for block in read_decrypted(f, key, meta, header):
            size += len(block)
            if plain is not None:
                plain.extend(block)
        log(f"ok: {size} bytes of data, key id {meta['key_id']}")
    log(f"restoring into {where} …")
    if plain is not None:
        _restore_sqlite(bytes(plain), config.sqlite_path)
    else:
        _restore_postgres(file, key, config.database_url, log)
    log("running migrations forward …")
    asyncio.run(_after_restore(log))


def _restore_sqlite(data: bytes, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    memory = sqlite3.connect(":memory:")
    target = sqlite3.connect(path)
    try:
        memory.deserialize(data)
        memory.backup(target)
    finally:
        memory.close()
        target.close()


def _restore_postgres(file: Path, key: bytes, url: str, log: Any) -> None:
    binary = pg_binary("pg_restore", asyncio.run(_pg_server_major(url)))
    # One transaction: a failure half-way leaves the target as empty as it was.
    proc = subprocess.Popen([binary, "--no-owner", "--no-acl", "--single-transaction",
                             "--exit-on-error", f"--dbname={url}"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    written = 0
    try:
        with file.open("rb") as f:
            meta, header = read_header(f)
            for block in read_decrypted(f, key, meta, header):
                proc.stdin.write(block)
                written += len(block)
                if written % (16 * CHUNK) < CHUNK:
                    log(f"  {written // CHUNK} MiB …")
    finally:
        proc.stdin.close()
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.wait() != 0:
        raise BackupError(f"pg_restore failed (nothing was kept): {err.strip()}")


async def _after_restore(log: Any) -> None:
    await migrate(quiet=True)
    log("checking the audit hash chain …")
    checked, broken = await verify_chain()
    if broken is not None:
        raise BackupError(f"restored, but the audit chain is BROKEN at row id {broken} "
                          f"(after {checked} intact rows)")
    log(f"audit chain intact: {checked} rows")
    engine: Any = engine_finder()
    if hasattr(engine, "close_kept"):
        await engine.close_kept()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="donghanh-backup")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("backup", help="write an encrypted backup; prints its path last")
    p = sub.add_parser("restore", help="restore a backup into the configured, empty database")
    p.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "backup":
            print(make_backup())
        else:
            restore(args.file)
            print("restore complete")
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
