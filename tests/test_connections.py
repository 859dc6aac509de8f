"""Pooled connections are checked after sitting idle, not at every checkout."""

from __future__ import annotations

import sqlalchemy as sa

from participation import extensions
from participation.extensions import ping_after_idle


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_lost_while_idle_is_replaced_before_use(postgres_url, monkeypatch):
    engine = sa.create_engine(postgres_url, pool_size=1)
    ping_after_idle(engine)
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        first = backend_pid(engine)
        assert backend_pid(engine) == first  # busy: reused as it is, no ping
        with admin.connect() as connection:  # the server drops the idle connection
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(extensions, "IDLE_PING_SECONDS", 0.0)
        assert backend_pid(engine) != first  # pinged, found dead, replaced: no error
    finally:
        engine.dispose()
        admin.dispose()
