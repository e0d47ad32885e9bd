"""Piccolo configuration: the engine from settings, and one Piccolo app per domain area.

Each domain keeps its tables in `server/<area>/tables.py` and its generated migrations in
`schema/migrations/<area>/`, so areas can evolve without touching each other's history.
"""

from piccolo.conf.apps import AppRegistry

from server.db import make_engine
from server.settings import settings

DB = make_engine(settings.database_url, settings.sqlite_path, settings.sqlite_busy_timeout_ms)

APP_REGISTRY = AppRegistry(
    apps=[
        "server.areas.piccolo_app",
        "server.audit.piccolo_app",
        "server.auth.piccolo_app",
        "server.people.piccolo_app",
        "server.public.piccolo_app",
        "server.records.piccolo_app",
        "server.reports.piccolo_app",
        "server.privacy.piccolo_app",
        "server.training.piccolo_app",
        "server.counselling.piccolo_app",
    ]
)
