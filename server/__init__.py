"""Đồng Hành server. Importing it points Piccolo at `server/piccolo_conf.py`."""

import os

os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")
