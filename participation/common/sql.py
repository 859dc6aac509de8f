"""Small SQL helpers that differ by backend (PostgreSQL in production, SQLite embedded)."""

from __future__ import annotations

import functools
from collections import namedtuple
from datetime import datetime, timedelta

from sqlalchemy import DDL, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from participation.common.types import UTCDateTime, utcnow
from participation.extensions import db

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
# Wider than any skew between an app server's clock and the database's: a deadline further
# away than this by the app's clock needs no query to ``db_now`` to know it is not due.
CLOCK_TOLERANCE = timedelta(seconds=5)


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


class DriverStatement:
    """A Core ``SELECT`` compiled once for PostgreSQL and run straight on the session's psycopg
    connection, in the session's transaction.

    On the cast path, SQLAlchemy's work per execution (cache key, execution context, result
    object) costs about as much client CPU as the round trip itself. Parameters and results
    still go through the columns' types (``bind_processor`` / ``result_processor``), so enums
    and UTC timestamps come back as from ``Connection.execute``; rows are named tuples. A
    driver error is raised as SQLAlchemy's, parameters hidden as the engine says, and a lost
    connection invalidates the pool, as it would. Not prepared by force: psycopg drops its
    prepared statements at every rollback (each read-only request's end), so it prepares by
    its own count of uses in between. SQLAlchemy's statement events do not see these.
    """

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("expanding (IN list) parameters are rendered per execution")
        self.sql = compiled.string
        self._binds = {
            name: (bind.required, bind.value, bind.type.bind_processor(dialect))
            for name, bind in compiled.binds.items()
        }
        columns = list(statement.selected_columns)
        self._results = [column.type.result_processor(dialect, None) for column in columns]
        self._row = namedtuple("Row", [column.key for column in columns])

    def rows(self, connection, params: dict) -> list:
        """The rows with ``params``, on ``connection`` (a SQLAlchemy ``Connection``)."""
        bound = {}
        for name, (required, constant, process) in self._binds.items():
            value = params[name] if required or name in params else constant
            bound[name] = process(value) if process and value is not None else value
        dbapi = connection.dialect.loaded_dbapi
        try:
            with connection.connection.driver_connection.cursor() as cursor:
                cursor.execute(self.sql, bound)
                raws = cursor.fetchall()
        except dbapi.Error as error:
            lost = connection.dialect.is_disconnect(error, connection.connection, None)
            if lost:  # as SQLAlchemy does: this connection, and the pool's (likely dead too)
                connection.invalidate(error)
                connection.engine.dispose()
            raise DBAPIError.instance(
                self.sql,
                bound,
                error,
                dbapi.Error,
                hide_parameters=connection.engine.hide_parameters,
                connection_invalidated=lost,
                dialect=connection.dialect,
            ) from error
        results = self._results
        return [
            self._row(*(p(v) if p else v for p, v in zip(results, raw, strict=True)))
            for raw in raws
        ]


@functools.cache
def _driver_statement(statement, dialect) -> DriverStatement:
    return DriverStatement(statement, dialect)


def hot_rows(statement, params: dict) -> list:
    """The rows of ``statement`` (built once: cached by identity) with ``params``: through
    ``DriverStatement`` on PostgreSQL, ``Connection.execute`` elsewhere."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, params).all()
    return _driver_statement(statement, connection.dialect).rows(connection, params)


# Append-only tables (records): the database itself refuses UPDATE and DELETE ------------

POSTGRES_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION participation_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def append_only_ddl(table: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            POSTGRES_APPEND_ONLY_FUNCTION,
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION participation_append_only()",
        ]
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only'); END",
    ]


def install_append_only(table) -> None:
    """Make the database refuse UPDATE and DELETE on ``table`` once it is created (a record)."""
    for dialect in ("postgresql", "sqlite"):
        for statement in append_only_ddl(table.name, dialect):
            ddl = DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)
            event.listen(table, "after_create", ddl)
