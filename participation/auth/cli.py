"""``flask users …``"""

from __future__ import annotations

from flask.cli import AppGroup

users_cli = AppGroup("users", help="Staff accounts.")
