"""``hot_rows``: the cast path's statements, run on the driver on PostgreSQL, give what
``Connection.execute`` gives — typed values, SQLAlchemy's errors with parameters hidden, a
lost connection invalidated with the pool (elsewhere they go through ``Connection.execute``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import bindparam, func, literal, select

from participation.auth.models import AuthSession, SubjectKind
from participation.common.sql import hot_rows
from participation.common.types import UTCDateTime
from participation.extensions import db as _db

KIND = AuthSession.__table__.c.subject_kind.type
BEIJING = timezone(timedelta(hours=8))

TYPED = select(
    bindparam("kind", type_=KIND).label("kind"),
    bindparam("at", type_=UTCDateTime).label("at"),
    literal(SubjectKind.RESIDENT, KIND).label("constant"),
    bindparam("missing", type_=UTCDateTime).label("missing"),
)


def test_values_come_back_typed_as_from_execute(db):
    at = datetime(2026, 12, 2, 15, 30, tzinfo=BEIJING)
    params = {"kind": SubjectKind.STAFF, "at": at, "missing": None}
    rows = hot_rows(TYPED, params)
    assert rows == [tuple(row) for row in db.session.connection().execute(TYPED, params)]
    (row,) = rows
    assert row.kind is SubjectKind.STAFF and row.constant is SubjectKind.RESIDENT
    assert row.at == at and row.at.tzinfo is UTC
    assert row.missing is None


@pytest.mark.postgres
def test_every_parameter_without_a_value_must_be_given(db, postgres_url):
    with pytest.raises(KeyError, match="missing"):
        hot_rows(TYPED, {"kind": SubjectKind.STAFF, "at": datetime.now(UTC)})


@pytest.mark.postgres
def test_a_driver_error_is_sqlalchemys(db, postgres_url, monkeypatch):
    monkeypatch.setattr(db.engine, "hide_parameters", True)  # production's: no personal data
    divide = select((literal(1) / bindparam("by", type_=sa.Integer)).label("quotient"))
    with pytest.raises(sa.exc.DBAPIError) as raised, db.session.begin_nested():
        hot_rows(divide, {"by": 0})
    assert not raised.value.connection_invalidated
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(raised.value)
    assert hot_rows(divide, {"by": 1}) == [(1,)]


@pytest.mark.postgres
def test_an_in_list_is_refused_up_front(db, postgres_url):
    listed = select(AuthSession.id).where(AuthSession.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="expanding"):
        hot_rows(listed, {"ids": ["a"]})


@pytest.mark.postgres
def test_a_lost_connection_is_invalidated_and_replaced(app, postgres_url):
    backend = select(func.pg_backend_pid().label("pid"))
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with app.app_context():
        try:
            (first,) = hot_rows(backend, {})
            with admin.connect() as connection:
                connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), first._asdict())
            pool = _db.engine.pool
            with pytest.raises(sa.exc.OperationalError) as raised:
                hot_rows(backend, {})
            assert raised.value.connection_invalidated
            assert _db.engine.pool is not pool  # the other pooled connections go too
            _db.session.rollback()
            (second,) = hot_rows(backend, {})
            assert second.pid != first.pid
        finally:
            _db.session.remove()
            admin.dispose()
