"""Every setting of the app, read from the environment in this one place.

Each setting has a default and a help line; the README lists them all (a test checks it).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: list[Setting] = [
    Setting("DATABASE_URL", "", "postgresql://user:pass@host/db switches to PostgreSQL; "
            "unset uses the embedded SQLite file at SQLITE_PATH."),
    Setting("SQLITE_PATH", str(ROOT / "var" / "donghanh.sqlite"), "Path of the SQLite database."),
    Setting("SQLITE_BUSY_TIMEOUT_MS", "10000", "Milliseconds a SQLite write waits for another "
            "writer's lock before giving up (the phone then sends the record again later)."),
    Setting("HOST", "127.0.0.1", "Address scripts/serve binds to."),
    Setting("PORT", "8000", "Port scripts/serve listens on."),
    Setting("PUBLIC_ORIGIN", "", "Origin users open, e.g. https://donghanh.example.vn; "
            "default http://localhost:PORT. Passkeys are bound to it."),
    Setting("RP_ID", "", "WebAuthn relying-party ID: the host name of PUBLIC_ORIGIN "
            "(never an IP address); default: taken from PUBLIC_ORIGIN."),
    Setting("RP_NAME", "Đồng Hành", "Name the phone shows when it creates a passkey."),
    Setting("SECRET_KEY", "", "Secret for CSRF tokens; set a long random value in production. "
            "Unset: one is generated and kept in var/secret.key."),
    Setting("SESSION_MAX_AGE", "1209600", "Seconds a sign-in lasts (default 14 days)."),
    Setting("INVITE_TTL_HOURS", "72", "Hours an enrolment link stays valid."),
    Setting("CHALLENGE_TTL_SECONDS", "300", "Seconds a passkey challenge stays valid."),
    Setting("SIGNIN_RATE_LIMIT", "30", "Sign-in requests allowed per minute per client address."),
    Setting("DEFAULT_LOCALE", "vi", "Language of the interface when the user has not chosen one."),
    Setting("VISIT_FREQUENCY_DAYS", "30", "Default days between visits for a new commune."),
    Setting("REVIEW_OVERDUE_DAYS", "3", "Default days before a waiting entry is flagged to "
            "officials, for a new commune."),
    Setting("REPORT_H1_CUTOFF", "05-31", "Last day (MM-DD) of the 6-month report period "
            "(seed deadline: report before 10 June)."),
    Setting("REPORT_YEAR_CUTOFF", "11-30", "Last day (MM-DD) of the annual report period "
            "(seed deadline: report before 10 December)."),
    Setting("DEMO_DATA", "1", "1 loads the demo province on first start of scripts/serve."),
    Setting("BACKUP_KEY", "", "Key that encrypts backups (any long random text). Unset: one is "
            "generated and kept in var/backup.key; keep a copy apart from the backups."),
    Setting("BACKUP_DIR", "", "Folder scripts/backup writes into; default: var/backups."),
    Setting("BACKUP_KEEP", "14", "Backups kept by scripts/backup: a count (14) or days (30d)."),
    Setting("RETENTION_YEARS_AFTER_SUPPORT", "5", "Years after a person's support ended before "
            "scripts/retention anonymises their record and entries."),
    Setting("METRICS_TOKEN", "", "Bearer token that opens /metrics from other hosts; unset: "
            "/metrics answers only requests from loopback."),
]


def _env(name: str) -> str:
    for s in SETTINGS:
        if s.name == name:
            return os.environ.get(name, s.default)
    raise KeyError(name)


@dataclass(frozen=True)
class Config:
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL"))
    sqlite_path: str = field(default_factory=lambda: _env("SQLITE_PATH"))
    sqlite_busy_timeout_ms: int = field(
        default_factory=lambda: int(_env("SQLITE_BUSY_TIMEOUT_MS")))
    host: str = field(default_factory=lambda: _env("HOST"))
    port: int = field(default_factory=lambda: int(_env("PORT")))
    public_origin_raw: str = field(default_factory=lambda: _env("PUBLIC_ORIGIN"))
    rp_id_raw: str = field(default_factory=lambda: _env("RP_ID"))
    rp_name: str = field(default_factory=lambda: _env("RP_NAME"))
    secret_key_raw: str = field(default_factory=lambda: _env("SECRET_KEY"))
    session_max_age: int = field(default_factory=lambda: int(_env("SESSION_MAX_AGE")))
    invite_ttl_hours: int = field(default_factory=lambda: int(_env("INVITE_TTL_HOURS")))
    challenge_ttl_seconds: int = field(default_factory=lambda: int(_env("CHALLENGE_TTL_SECONDS")))
    signin_rate_limit: int = field(default_factory=lambda: int(_env("SIGNIN_RATE_LIMIT")))
    default_locale: str = field(default_factory=lambda: _env("DEFAULT_LOCALE"))
    visit_frequency_days: int = field(default_factory=lambda: int(_env("VISIT_FREQUENCY_DAYS")))
    review_overdue_days: int = field(default_factory=lambda: int(_env("REVIEW_OVERDUE_DAYS")))
    report_h1_cutoff: str = field(default_factory=lambda: _env("REPORT_H1_CUTOFF"))
    report_year_cutoff: str = field(default_factory=lambda: _env("REPORT_YEAR_CUTOFF"))
    demo_data: bool = field(default_factory=lambda: _env("DEMO_DATA") == "1")
    backup_key_raw: str = field(default_factory=lambda: _env("BACKUP_KEY"))
    backup_dir_raw: str = field(default_factory=lambda: _env("BACKUP_DIR"))
    backup_keep: str = field(default_factory=lambda: _env("BACKUP_KEEP"))
    retention_years: int = field(
        default_factory=lambda: int(_env("RETENTION_YEARS_AFTER_SUPPORT")))
    metrics_token: str = field(default_factory=lambda: _env("METRICS_TOKEN"))

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def public_origin(self) -> str:
        return (self.public_origin_raw or f"http://localhost:{self.port}").rstrip("/")

    @property
    def rp_id(self) -> str:
        if self.rp_id_raw:
            return self.rp_id_raw
        host = self.public_origin.split("://", 1)[-1].split("/", 1)[0]
        return host.rsplit(":", 1)[0] if not host.startswith("[") else host

    @property
    def secure_cookies(self) -> bool:
        return self.public_origin.startswith("https://")

    @property
    def backup_dir(self) -> str:
        return self.backup_dir_raw or str(Path(self.sqlite_path).parent / "backups")

    @property
    def secret_key(self) -> str:
        if self.secret_key_raw:
            return self.secret_key_raw
        path = Path(self.sqlite_path).parent / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()


settings = Config()


def reload() -> Config:
    """Re-read the environment (tests change it before building an app)."""
    global settings
    settings = Config()
    return settings
