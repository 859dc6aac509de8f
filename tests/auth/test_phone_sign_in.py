"""Residents sign in with a code sent by SMS."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import jwt
import pytest
from flask import Flask
from sqlalchemy import func, select, update

from participation.auth import sms
from participation.auth.models import Account, PhoneCode, RateLog
from participation.common.types import utcnow

PHONE = "13812345678"


def _sign_in(client, phone, code):
    return client.post("/api/v1/auth/sessions", json={"phone": phone, "code": code})


def _other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_from_the_sms_signs_in_and_creates_the_account(client, db, request_code, auth_header):
    code = request_code(PHONE)
    response = _sign_in(client, PHONE, code)
    assert response.status_code == 201
    assert response.json["token_type"] == "Bearer"
    assert 0 < response.json["expires_in"] <= 15 * 60
    me = client.get("/api/v1/me", headers=auth_header(response.json["access_token"]))
    assert me.status_code == 200
    assert me.json["kind"] == "resident"
    assert me.json["resident"]["phone"] == "138****5678"
    account = db.session.scalar(select(Account).where(Account.phone == PHONE))
    assert account.last_sign_in_at is not None


def test_second_sign_in_uses_the_same_account(db, phone_sign_in, limits):
    limits(SMS_PER_PHONE_PER_MINUTE=5)
    phone_sign_in(PHONE)
    phone_sign_in(PHONE)
    assert db.session.scalar(select(func.count()).where(Account.phone == PHONE)) == 1


def test_same_answer_whether_or_not_the_phone_is_in_a_roster(
    client, outbox, make_compound, make_dwelling
):
    compound = make_compound()
    make_dwelling(compound, owners=[make_dwelling.owner(compound, "张三", "13800000001")])
    known = client.post("/api/v1/auth/codes", json={"phone": "13800000001"})
    unknown = client.post("/api/v1/auth/codes", json={"phone": "13900000002"})
    assert known.status_code == unknown.status_code == 202
    assert known.json == unknown.json
    assert [phone for phone, _ in outbox] == ["13800000001", "13900000002"]


@pytest.mark.parametrize("phone", ["12345678901", "1381234567", "138123456789", "1381234567a"])
def test_not_a_mainland_mobile_is_422_in_chinese(client, outbox, phone):
    response = client.post("/api/v1/auth/codes", json={"phone": phone})
    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert response.json["errors"]["phone"] == ["请输入正确的 11 位手机号"]
    assert outbox == []


def test_missing_phone_is_422_in_chinese(client):
    response = client.post("/api/v1/auth/codes", json={})
    assert response.status_code == 422
    assert response.json["errors"]["phone"] == ["请输入手机号"]


def test_spaces_dashes_and_country_code_are_ignored(client, outbox):
    response = client.post("/api/v1/auth/codes", json={"phone": "+86 138-1234-5678"})
    assert response.status_code == 202
    assert outbox[-1][0] == PHONE


def test_codes_and_counters_hold_no_phone_number_or_address_in_clear(db, request_code):
    code = request_code(PHONE)
    row = db.session.scalar(select(PhoneCode))
    assert PHONE not in row.phone_hash
    assert code not in row.code_hash
    assert row.attempts == 0
    assert row.used_at is None
    keys = db.session.scalars(select(RateLog.key)).all()
    assert len(keys) == 3
    assert not any(PHONE in key or "127.0.0.1" in key for key in keys)


def test_expired_code_is_refused(client, db, request_code):
    code = request_code(PHONE)
    db.session.execute(update(PhoneCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = _sign_in(client, PHONE, code)
    assert response.status_code == 401
    assert response.json["code"] == "code_expired"
    assert response.json["message"] == "验证码已过期，请重新获取"


def test_code_lives_for_the_configured_time(db, request_code, app):
    before = utcnow()
    request_code(PHONE)
    expires_at = db.session.scalar(select(PhoneCode.expires_at))
    ttl = timedelta(seconds=app.config["SMS_CODE_TTL_SECONDS"])
    assert before + ttl <= expires_at <= utcnow() + ttl


def test_five_wrong_attempts_kill_the_code(client, db, request_code):
    code = request_code(PHONE)
    for left in (4, 3, 2, 1):
        response = _sign_in(client, PHONE, _other(code))
        assert response.status_code == 401
        assert response.json["code"] == "code_invalid"
        assert response.json["message"] == f"验证码错误，还可尝试 {left} 次"
    fifth = _sign_in(client, PHONE, _other(code))
    assert fifth.status_code == 401
    assert fifth.json["code"] == "code_attempts_exceeded"
    right = _sign_in(client, PHONE, code)
    assert right.status_code == 401
    assert right.json["code"] == "code_attempts_exceeded"
    assert db.session.scalar(select(PhoneCode.attempts)) == 5
    assert db.session.scalar(select(Account).where(Account.phone == PHONE)) is None


def test_right_code_on_the_last_attempt_still_signs_in(client, request_code):
    code = request_code(PHONE)
    for _ in range(4):
        assert _sign_in(client, PHONE, _other(code)).status_code == 401
    assert _sign_in(client, PHONE, code).status_code == 201


def test_code_is_single_use(client, request_code):
    code = request_code(PHONE)
    assert _sign_in(client, PHONE, code).status_code == 201
    again = _sign_in(client, PHONE, code)
    assert again.status_code == 401
    assert again.json["code"] == "code_used"


def test_new_code_invalidates_the_older_one(client, request_code, limits):
    limits(SMS_PER_PHONE_PER_MINUTE=5)
    first = request_code(PHONE)
    second = request_code(PHONE)
    while second == first:  # one chance in a million
        second = request_code(PHONE)
    assert _sign_in(client, PHONE, first).status_code == 401
    assert _sign_in(client, PHONE, second).status_code == 201


def test_code_for_another_phone_does_not_work(client, request_code):
    code = request_code(PHONE)
    response = _sign_in(client, "13912345678", code)
    assert response.status_code == 401
    assert response.json["code"] == "code_invalid"


def test_malformed_code_is_422(client):
    response = _sign_in(client, PHONE, "12ab")
    assert response.status_code == 422
    assert response.json["errors"]["code"] == ["请输入 6 位数字验证码"]


# --- rate limits ----------------------------------------------------------------------------


def test_second_code_within_a_minute_is_429_with_retry_after(client, outbox, rate_clock):
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 202
    rate_clock.advance(5)
    refused = client.post("/api/v1/auth/codes", json={"phone": PHONE})
    assert refused.status_code == 429
    assert refused.json["code"] == "rate_limited"
    assert refused.json["message"] == "操作过于频繁，请 55 秒后再试"
    assert refused.headers["Retry-After"] == "55"
    assert len(outbox) == 1
    rate_clock.advance(54.999)
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 429
    rate_clock.advance(0.001)
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 202
    assert len(outbox) == 2


def test_the_minute_is_counted_from_the_last_code_not_from_the_clock(client, outbox, rate_clock):
    rate_clock.advance(54.5)  # 08:00:59.5
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 202
    rate_clock.advance(1)  # 08:01:00.5, a new minute on the clock, one second later
    refused = client.post("/api/v1/auth/codes", json={"phone": PHONE})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "59"
    assert len(outbox) == 1


def test_codes_per_phone_per_hour(client, limits, rate_clock):
    limits(SMS_PER_PHONE_PER_MINUTE=10, SMS_PER_PHONE_PER_HOUR=2)
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 202
    rate_clock.advance(1800)
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 202
    rate_clock.advance(5)
    refused = client.post("/api/v1/auth/codes", json={"phone": PHONE})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(1800 - 5)
    assert refused.json["message"] == "操作过于频繁，请 30 分钟后再试"
    other = client.post("/api/v1/auth/codes", json={"phone": "13912345678"})
    assert other.status_code == 202
    # An hour after the first code, it no longer counts; the second still does.
    rate_clock.advance(1800 - 5)
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 202
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 429


def test_codes_per_address_per_hour(client, limits, rate_clock):
    limits(SMS_PER_ADDRESS_PER_HOUR=2)
    for phone in ("13800000001", "13800000002"):
        assert client.post("/api/v1/auth/codes", json={"phone": phone}).status_code == 202
    refused = client.post("/api/v1/auth/codes", json={"phone": "13800000003"})
    assert refused.status_code == 429
    assert refused.json["code"] == "rate_limited"
    elsewhere = client.post(
        "/api/v1/auth/codes",
        json={"phone": "13800000003"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert elsewhere.status_code == 202


def test_refused_requests_are_not_counted(client, db, limits, rate_clock):
    limits(SMS_PER_PHONE_PER_HOUR=2)
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 202
    for _ in range(3):
        assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 429
    rate_clock.advance(60)
    assert client.post("/api/v1/auth/codes", json={"phone": PHONE}).status_code == 202
    # Kept: the phone's latest code for the minute; both codes for the phone's and the
    # address's hour.
    logged = db.session.scalars(select(RateLog.hits))
    assert sorted(len(hits.split()) for hits in logged) == [1, 2, 2]


# --- linking roster owners ----------------------------------------------------------------


def test_sign_in_links_roster_owners_with_that_phone_in_every_compound(
    db, phone_sign_in, make_compound, make_dwelling
):
    east, west = make_compound("东区"), make_compound("西区")
    mine = [make_dwelling.owner(east, "张三", PHONE), make_dwelling.owner(west, "张三", PHONE)]
    someone_else = make_dwelling.owner(east, "李四", "13900000000")
    for compound, owner in ((east, mine[0]), (west, mine[1]), (east, someone_else)):
        make_dwelling(compound, room=f"{owner.id}01", owners=[owner])
    phone_sign_in(PHONE)
    account = db.session.scalar(select(Account).where(Account.phone == PHONE))
    assert [o.account_id for o in mine] == [account.id, account.id]
    assert someone_else.account_id is None


def test_sign_in_leaves_an_owner_linked_to_another_account_alone(
    db, phone_sign_in, make_compound, make_dwelling, make_account
):
    compound = make_compound()
    owner = make_dwelling.owner(compound, "张三", PHONE)
    earlier = make_account("13700000000")
    owner.account_id = earlier.id
    make_dwelling(compound, owners=[owner])
    phone_sign_in(PHONE)
    assert owner.account_id == earlier.id


# --- tokens and the SMS sender ------------------------------------------------------------


def test_tokens_carry_no_personal_data(phone_sign_in):
    tokens = phone_sign_in(PHONE)
    for kind in ("access", "refresh"):
        payload = jwt.decode(tokens[f"{kind}_token"], options={"verify_signature": False})
        standard = {"sub", "sid", "iat", "nbf", "jti", "exp", "type", "fresh", "csrf"}
        assert set(payload) <= standard
        assert payload["type"] == kind
        assert payload["sub"].startswith("resident:")
        text = json.dumps(payload)
        assert PHONE not in text
        assert "5678" not in text


def test_console_sender_logs_the_code_with_the_phone_masked(caplog):
    with caplog.at_level(logging.INFO, logger="participation.auth.sms"):
        sms.ConsoleSender().send_code(PHONE, "123456")
    assert "sign-in code for 138****5678: 123456" in caplog.text
    assert PHONE not in caplog.text


def test_unknown_sms_sender_is_refused_at_start():
    app = Flask(__name__)
    app.config["SMS_SENDER"] = "carrier-pigeon"
    with pytest.raises(RuntimeError, match="SMS_SENDER"):
        sms.init_app(app)
