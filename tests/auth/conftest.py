"""Fixtures for the auth tests: the SMS outbox, phone sign-in, config limits, a frozen rate-limit
clock, and a client whose requests end the way they do on a real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def client(scoped_client):
    return scoped_client


@pytest.fixture
def outbox(app):
    """``[(phone, code), …]`` sent by the test SMS sender during this test, newest last."""
    sent = app.extensions["sms_sender"].outbox
    sent.clear()
    yield sent
    sent.clear()


@pytest.fixture
def request_code(client, outbox):
    """``request_code(phone)`` → the code the SMS carried."""

    def request(phone: str, **kwargs) -> str:
        response = client.post("/api/v1/auth/codes", json={"phone": phone}, **kwargs)
        assert response.status_code == 202, response.json
        sent_to, code = outbox[-1]
        assert sent_to == phone
        return code

    return request


@pytest.fixture
def phone_sign_in(client, request_code):
    """``phone_sign_in(phone)`` → the token pair of a full sign-in by SMS code."""

    def sign_in(phone: str) -> dict:
        code = request_code(phone)
        response = client.post("/api/v1/auth/sessions", json={"phone": phone, "code": code})
        assert response.status_code == 201, response.json
        return response.json

    return sign_in


@pytest.fixture
def limits(app, monkeypatch):
    """``limits(SMS_PER_PHONE_PER_MINUTE=5, …)``: config for this test only."""

    def set_limits(**values) -> None:
        for key, value in values.items():
            monkeypatch.setitem(app.config, key, value)

    return set_limits


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def rate_clock(monkeypatch) -> Clock:
    """The rate limiter's clock, stopped 5 seconds into a minute and moved only by the test, so
    that waits and ``Retry-After`` values are exact."""
    clock = Clock(datetime(2030, 1, 1, 8, 0, 5, tzinfo=UTC))
    monkeypatch.setattr("participation.auth.ratelimit.utcnow", clock)
    return clock


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth_header():
    """``auth_header(token)`` → the Authorization header."""
    return bearer
