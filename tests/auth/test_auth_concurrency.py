"""Rate limits and single-use codes hold under concurrent requests (real PostgreSQL).

These tests do not run inside the rolled-back test transaction, which would hide races: each
thread's request commits for real, and the rows are deleted afterwards.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from participation.auth.models import Account, AuthSession, PhoneCode, RateLog
from participation.extensions import db

pytestmark = pytest.mark.postgres

PHONE = "13812340000"
THREADS = 8


@pytest.fixture
def live_app(app, postgres_url):
    """The app with its own sessions, committing for real; cleaned up afterwards."""
    yield app
    with app.app_context():
        for model in (AuthSession, PhoneCode, RateLog):
            db.session.execute(delete(model))
        db.session.execute(delete(Account).where(Account.phone == PHONE))
        db.session.commit()


def _all_at_once(app, method: str, url: str, body: dict) -> list[int]:
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []

    def call():
        client = app.test_client()
        barrier.wait()
        response = client.open(url, method=method, json=body)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=call) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_concurrent_code_requests_send_exactly_one(live_app):
    outbox = live_app.extensions["sms_sender"].outbox
    outbox.clear()
    statuses = _all_at_once(live_app, "POST", "/api/v1/auth/codes", {"phone": PHONE})
    assert statuses == [202] + [429] * (THREADS - 1)
    assert [phone for phone, _ in outbox] == [PHONE]
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PhoneCode)) == 1
        assert [len(hits.split()) for hits in db.session.scalars(select(RateLog.hits))] == [1] * 3


def test_one_code_signs_in_once_however_many_try(live_app):
    outbox = live_app.extensions["sms_sender"].outbox
    outbox.clear()
    client = live_app.test_client()
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 202
    code = outbox[-1][1]
    statuses = _all_at_once(
        live_app, "POST", "/api/v1/auth/sessions", {"phone": PHONE, "code": code}
    )
    assert statuses == [201] + [401] * (THREADS - 1)
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).where(Account.phone == PHONE)) == 1
        assert db.session.scalar(select(func.count()).select_from(AuthSession)) == 1
        assert db.session.scalar(select(PhoneCode.used_at)) is not None
