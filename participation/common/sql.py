"""Small SQL helpers that differ by backend (PostgreSQL in production, SQLite embedded)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from participation.common.types import UTCDateTime, utcnow
from participation.extensions import db

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def dialect_name() -> str:
    return db.session.get_bind().dialect.name


def upsert(model, dialect: str | None = None):
    """``INSERT`` with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` for ``dialect``
    (by default the session's backend)."""
    return _INSERTS[dialect or dialect_name()](model)


def db_now() -> datetime:
    """The database's clock (PostgreSQL's ``clock_timestamp()``), so that every app server
    compares deadlines against one clock. SQLite runs in-process: its clock is ours."""
    if dialect_name() == "postgresql":
        value = db.session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return UTCDateTime().process_result_value(value, None)
    return utcnow()
