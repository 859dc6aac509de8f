"""Pooled connections are checked without a round trip at every checkout: their socket is
polled, and they are pinged after sitting idle; a dropped connection is replaced before use."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from participation import create_app, extensions
from participation.auth.models import Account, SubjectKind
from participation.auth.tokens import issue_tokens
from participation.extensions import db, ping_after_idle
from participation.roster.models import Community, Compound, District, Street


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


def test_a_connection_the_server_dropped_is_replaced_before_use_without_waiting(postgres_url):
    engine = sa.create_engine(postgres_url, pool_size=1)
    ping_after_idle(engine)
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        first = backend_pid(engine)
        with admin.connect() as connection:  # busy moments ago: no idle ping due
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        time.sleep(0.05)  # the server's goodbye reaches the socket
        assert backend_pid(engine) != first
    finally:
        engine.dispose()
        admin.dispose()


@pytest.fixture
def own_database(own_postgres_database):
    """A database of this test's own (its rows are committed for real), dropped afterwards."""
    return own_postgres_database("connections")


def test_after_the_database_drops_every_app_connection_the_next_requests_succeed(own_database):
    name = f"participation-test-{uuid.uuid4().hex[:8]}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": own_database.render_as_string(hide_password=False),
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_size": 4,
                "connect_args": {"application_name": name},
            },
            "REDIS_URL": None,
            "SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "JWT_SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
        }
    )
    with app.app_context():
        db.create_all()
        compound = Compound(
            community=Community(
                street=Street(district=District(name="区"), name="街道"), name="社区"
            ),
            name="小区",
        )
        account = Account(phone="13900000000")
        db.session.add_all([compound, account])
        db.session.commit()
        with app.test_request_context():
            token = issue_tokens(SubjectKind.RESIDENT, account.id)["access_token"]
        db.session.commit()
        urls = [
            (f"/api/v1/public/compounds/{compound.id}", {}),
            ("/api/v1/me/votes", {"Authorization": f"Bearer {token}"}),
        ]
        db.session.remove()
    client = app.test_client()

    def requests_at_once(threads: int) -> list[int]:
        barrier = threading.Barrier(threads)
        statuses = []

        def run(i):
            url, headers = urls[i % len(urls)]
            barrier.wait()
            statuses.append(client.get(url, headers=headers).status_code)

        workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return statuses

    admin = sa.create_engine(own_database, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        assert requests_at_once(4) == [200] * 4  # several pooled connections
        with admin.connect() as connection:
            terminated = connection.execute(
                sa.text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar_one()
        assert terminated >= 2
        time.sleep(0.05)
        assert requests_at_once(8) == [200] * 8
    finally:
        admin.dispose()
        with app.app_context():
            db.engine.dispose()
