"""scripts/backup and scripts/restore on the real engine, while sync batches are being written.

The backup and restore run as the real command (a subprocess with its own settings); the
writer is the real sync write path (`store_batch`) in another thread, so the snapshot is
taken in the middle of a stream of write transactions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IS_PG, run
from tests.factories import make_person

ROOT_DIR = Path(__file__).resolve().parent.parent
KEY = "test-backup-key-" + "k" * 32


def _env(tmp: Path, **over: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    env.update(BACKUP_DIR=str(tmp / "backups"), BACKUP_KEY=KEY, BACKUP_KEEP="14",
               PICCOLO_CONF="server.piccolo_conf")
    env.update(over)
    return env


def _source_env(tmp: Path) -> dict[str, str]:
    from server.piccolo_conf import DB

    if IS_PG:
        return _env(tmp, DATABASE_URL=os.environ["DATABASE_URL"])
    return _env(tmp, SQLITE_PATH=DB.connection_kwargs["database"])


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.backup", *args], cwd=ROOT_DIR, env=env,
                          capture_output=True, text=True, timeout=300)


class Target:
    """An empty database of the engine under test, to restore into, and SQL to read it."""

    def __init__(self, tmp: Path, name: str) -> None:
        self.tmp = tmp
        if IS_PG:
            base = os.environ["DATABASE_URL"].rpartition("/")[0]
            self.db = f"restore_{name}_{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}"
            self.url = f"{base}/{self.db}"
            self._admin(f'DROP DATABASE IF EXISTS "{self.db}"')
            self._admin(f'CREATE DATABASE "{self.db}"')
        else:
            self.path = tmp / f"{name}.sqlite"

    def _admin(self, sql: str) -> None:
        import asyncpg

        async def go() -> None:
            conn = await asyncpg.connect(os.environ["DATABASE_URL"])
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(go())

    @property
    def env(self) -> dict[str, str]:
        if IS_PG:
            return _env(self.tmp, DATABASE_URL=self.url)
        return _env(self.tmp, SQLITE_PATH=str(self.path))

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        if IS_PG:
            import asyncpg

            async def go() -> list[tuple[Any, ...]]:
                conn = await asyncpg.connect(self.url)
                try:
                    return [tuple(r) for r in await conn.fetch(query)]
                finally:
                    await conn.close()

            return asyncio.run(go())
        con = sqlite3.connect(self.path)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()

    def tables(self) -> int:
        if IS_PG:
            return self.sql("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")[0][0]
        if not self.path.exists():
            return 0
        return self.sql("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")[0][0]

    def drop(self) -> None:
        if IS_PG:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db}"')


def _visit(pid: int) -> dict[str, Any]:
    return {"person": pid, "date": "2026-11-20", "visit_kind": "home", "met": True,
            "drug_signs": "none", "risk": "low", "support": ["counselling"], "notes": "Ổn định"}


class Writer(threading.Thread):
    """Sync batches of 10 visits, one after another, until stopped."""

    def __init__(self, world: dict[str, Any], pid: int) -> None:
        super().__init__(daemon=True)
        from server.web import CurrentUser

        self.user = CurrentUser(id=world["bob"], role="volunteer", name="Bob",
                                area_id=world["A"], area_name="A", area_level="commune")
        self.pid = pid
        self.batches = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        from schema.records import SyncRecord
        from server.records.batch import store_batch

        async def loop() -> None:
            while not self.stop.is_set():
                batch = [SyncRecord(id=uuid.uuid4(), kind="visit", version=1,
                                    recorded_at=dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.UTC),
                                    data=_visit(self.pid)) for _ in range(10)]
                results = await store_batch(self.user, batch)
                assert [r.outcome for r in results] == ["stored"] * 10
                self.batches += 1

        try:
            asyncio.run(loop())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def wait_for(self, n: int) -> None:
        while self.batches < n and self.error is None and self.is_alive():
            self.stop.wait(0.05)
        assert self.error is None, self.error


CONSISTENCY = {
    "entries without their current version": """
        SELECT COUNT(*) FROM entry e WHERE NOT EXISTS (
          SELECT 1 FROM entry_version v WHERE v.entry = e.id AND v.version = e.version)""",
    "entries without their audit row": """
        SELECT COUNT(*) FROM entry e WHERE NOT EXISTS (
          SELECT 1 FROM audit_event a WHERE a.action = 'entry.submit'
            AND a.subject_id = {id_text})""",
    "audit rows of entries that are missing": """
        SELECT COUNT(*) FROM audit_event a WHERE a.action = 'entry.submit' AND NOT EXISTS (
          SELECT 1 FROM entry e WHERE {id_text} = a.subject_id)""",
}


def _check_consistent(target: Target) -> None:
    id_text = "e.id::text" if IS_PG else "e.id"
    for what, sql in CONSISTENCY.items():
        assert target.sql(sql.format(id_text=id_text))[0][0] == 0, what


@pytest.fixture
def written(world: dict[str, Any], tmp_path: Path) -> Any:
    """A backup taken while sync batches are being written; the writer is stopped after."""
    pid = run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]],
                          start=dt.date(2025, 1, 1)))
    writer = Writer(world, pid)
    writer.start()
    try:
        writer.wait_for(2)
        out = _cli(_source_env(tmp_path), "backup")
        during = writer.batches
        writer.wait_for(during + 2)  # the writer went on after the snapshot
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.error is None, writer.error
    assert out.returncode == 0, out.stderr
    return Path(out.stdout.strip().splitlines()[-1]), writer


def test_backup_while_syncing_restores_consistent(written, tmp_path):
    backup, writer = written
    assert backup.parent == tmp_path / "backups"
    assert backup.name.startswith(f"donghanh-{'postgres' if IS_PG else 'sqlite'}-")
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    raw = backup.read_bytes()
    assert raw.startswith(b"DHBACKUP")
    assert "Ổn định".encode() not in raw and b"CREATE TABLE" not in raw  # encrypted

    target = Target(tmp_path, "ok")
    try:
        out = _cli(target.env, "restore", str(backup))
        assert out.returncode == 0, out.stderr
        assert "audit chain intact" in out.stdout
        assert out.stdout.strip().splitlines()[-1] == "restore complete"
        entries = target.sql("SELECT COUNT(*) FROM entry")[0][0]
        assert 20 <= entries < writer.batches * 10  # a snapshot from the middle of the stream
        assert entries % 10 == 0  # batches are whole: one transaction each
        _check_consistent(target)
        check = subprocess.run([sys.executable, "-m", "server.cli", "verify-audit"],
                               cwd=ROOT_DIR, env=target.env, capture_output=True, text=True,
                               timeout=120)
        assert check.returncode == 0, check.stdout
        assert "audit chain intact" in check.stdout
    finally:
        target.drop()


def test_wrong_key_truncated_file_and_non_empty_target_change_nothing(written, tmp_path):
    backup, _writer = written
    target = Target(tmp_path, "refused")
    try:
        out = _cli({**target.env, "BACKUP_KEY": "another-key-" + "z" * 32}, "restore", str(backup))
        assert out.returncode == 1
        assert "wrong key" in out.stderr
        assert target.tables() == 0

        for cut in (len(backup.read_bytes()) - 5, len(backup.read_bytes()) // 2, 40):
            short = tmp_path / f"short-{cut}.dhbk"
            short.write_bytes(backup.read_bytes()[:cut])
            out = _cli(target.env, "restore", str(short))
            assert out.returncode == 1
            assert "truncated" in out.stderr, out.stderr
            assert target.tables() == 0

        # Into the database it came from: not empty, refused, nothing touched.
        source = _source_env(tmp_path)
        out = _cli(source, "restore", str(backup))
        assert out.returncode == 1
        assert "not empty" in out.stderr
    finally:
        target.drop()


def test_backup_of_the_other_engine_is_refused(written, tmp_path):
    backup, _writer = written
    if IS_PG:  # a PostgreSQL backup offered to SQLite settings
        other = _env(tmp_path, SQLITE_PATH=str(tmp_path / "other.sqlite"))
        message = "backup of a PostgreSQL database, but the settings point to SQLite"
    else:  # a SQLite backup offered to PostgreSQL settings: refused before connecting
        other = _env(tmp_path, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
        message = "backup of a SQLite database, but the settings point to PostgreSQL"
    out = _cli(other, "restore", str(backup))
    assert out.returncode == 1
    assert message in out.stderr
    assert not (tmp_path / "other.sqlite").exists()


def test_prune_keeps_a_count_or_days(tmp_path):
    from server.backup import backup_name, prune

    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    names = [backup_name("sqlite", now - dt.timedelta(days=d)) for d in range(6)]
    for n in [*names, "notes.txt"]:
        (tmp_path / n).write_bytes(b"x")
    gone = prune(tmp_path, "4", now=now)
    assert sorted(p.name for p in gone) == sorted(names[4:])
    gone = prune(tmp_path, "2d", now=now)
    assert sorted(p.name for p in gone) == sorted(names[3:4])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[:3], "notes.txt"])
    from server.backup import BackupError

    with pytest.raises(BackupError, match="BACKUP_KEEP must be"):
        prune(tmp_path, "a week", now=now)
    assert len(list(tmp_path.iterdir())) == 4


def test_generated_key_is_private_and_stable(tmp_path):
    from server.backup import BackupError, backup_key
    from server.settings import Config

    config = Config(sqlite_path=str(tmp_path / "db.sqlite"), backup_key_raw="")
    with pytest.raises(BackupError, match="no backup key"):  # a restore never makes one
        backup_key(config, create=False)
    assert not (tmp_path / "backup.key").exists()
    first = backup_key(config)
    assert oct((tmp_path / "backup.key").stat().st_mode & 0o777) == "0o600"
    assert backup_key(config) == first and len(first) == 32


def test_older_backup_is_migrated_forward(world, tmp_path):
    """A backup from before the last records migration gets it when restored."""
    from server.piccolo_conf import DB

    migration = "2026-11-24T09:12:33:827824"  # covering indexes for reports
    run(DB.run_ddl("DROP INDEX entry_report_cover"))
    run(DB.run_ddl("DROP INDEX entry_person_state"))
    run(DB.run_ddl(f"DELETE FROM migration WHERE name = '{migration}'"))
    if not IS_PG:
        run(DB.checkpoint())
    out = _cli(_source_env(tmp_path), "backup")
    assert out.returncode == 0, out.stderr
    target = Target(tmp_path, "older")
    try:
        out = _cli(target.env, "restore", out.stdout.strip().splitlines()[-1])
        assert out.returncode == 0, out.stderr
        assert "running migrations forward" in out.stdout
        assert target.sql(f"SELECT COUNT(*) FROM migration WHERE name = '{migration}'") == [(1,)]
        if IS_PG:
            indexes = target.sql("SELECT indexname FROM pg_indexes WHERE tablename = 'entry'")
        else:
            indexes = target.sql("SELECT name FROM sqlite_master WHERE type = 'index' "
                                 "AND tbl_name = 'entry'")
        assert {"entry_report_cover", "entry_person_state"} <= {n for (n,) in indexes}
    finally:
        target.drop()
