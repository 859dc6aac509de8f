"""Odd input gets a clear 4xx in the JSON error format, never a 500, and nothing is written.
One test per class of input the fuzzer found (issue 11); the fuzzer itself is test_fuzz.py."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_jwt_extended import create_access_token

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db
from participation.votes.models import Vote

JSON = {"Content-Type": "application/json"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message", "errors"}, body
    assert body["message"]
    if code:
        assert body["code"] == code, body
    return body


@pytest.fixture
def committee(make_compound, make_staff, sign_in):
    compound = make_compound()
    return compound, sign_in(make_staff(Role.COMPOUND, compound.id))


def vote_body(**fields) -> dict:
    now = utcnow()
    return {
        "title": "更换楼道灯",
        "matter": "other",
        "opens_at": (now + timedelta(hours=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
        **fields,
    }


def votes_of(compound) -> int:
    return db.session.scalar(sa.select(sa.func.count(Vote.id)).filter_by(compound_id=compound.id))


# 1. Malformed JSON -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"phone":', b"\x00", b'{"phone": "\xff\xfe"}', b"\xff\xfe\xfd", b"[1, 2"],
    ids=["truncated", "nul-byte", "non-utf8-in-string", "non-utf8", "unclosed"],
)
def test_malformed_json_is_a_400_with_a_message(client, raw):
    body = assert_error(client.post("/api/v1/auth/codes", data=raw, headers=JSON), 400)
    assert body["message"] == "请求内容不是有效的 JSON"
    assert body["errors"] == {"_schema": ["请求内容不是有效的 JSON"]}


def test_malformed_json_to_a_signed_in_endpoint(client, committee):
    compound, headers = committee
    response = client.post(
        f"/api/v1/compounds/{compound.id}/votes", data=b'{"title": ', headers={**headers, **JSON}
    )
    assert_error(response, 400)
    assert votes_of(compound) == 0


# 2. Integers without bounds ----------------------------------------------------------------


@pytest.mark.parametrize("number", [2**31, 2**63, 2**70])
def test_an_id_too_large_for_any_row_is_a_404(client, committee, number):
    _, headers = committee
    assert_error(client.get(f"/api/v1/votes/{number}", headers=headers), 404)
    assert_error(client.get(f"/api/v1/public/compounds/{number}"), 404)  # no token needed


@pytest.mark.parametrize("query", [f"page={2**63}", f"page={2**31}", "page=0", "page_size=101"])
def test_page_numbers_are_bounded(client, committee, query):
    compound, headers = committee
    response = client.get(f"/api/v1/compounds/{compound.id}/votes?{query}", headers=headers)
    assert_error(response, 422, "validation_error")


def test_an_id_in_a_query_is_bounded(client, committee):
    compound, headers = committee
    url = f"/api/v1/compounds/{compound.id}/dwellings?building_id={2**63}"
    body = assert_error(client.get(url, headers=headers), 422)
    assert "building_id" in body["errors"]


@pytest.mark.parametrize("ids", [[2**63], [2**31], [1.5], ["1"], [True]])
def test_ids_in_a_body_are_whole_bounded_numbers(client, committee, ids):
    compound, headers = committee
    response = client.post(
        f"/api/v1/compounds/{compound.id}/votes", json=vote_body(building_ids=ids), headers=headers
    )
    body = assert_error(response, 422)
    assert "building_ids" in body["errors"]
    assert votes_of(compound) == 0


def test_a_claimed_compound_id_is_bounded(client, make_account, sign_in):
    resident = sign_in(make_account())
    response = client.post(
        "/api/v1/me/claims",
        json={"compound_id": 2**63, "building": "1", "room": "101", "name": "张三"},
        headers=resident,
    )
    body = assert_error(response, 422)
    assert "compound_id" in body["errors"]


# 3. Dates without bounds -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"closes_at": "9999-12-31T23:59:59+08:00"},
        {"opens_at": "0001-01-01T00:00:00+08:00"},
        {"opens_at": "1999-12-31T23:59:59+08:00"},
        {"closes_at": "2101-01-01T00:00:00+08:00"},
    ],
)
def test_instants_lie_between_2000_and_2100(client, committee, fields):
    compound, headers = committee
    response = client.post(
        f"/api/v1/compounds/{compound.id}/votes", json=vote_body(**fields), headers=headers
    )
    body = assert_error(response, 422)
    assert body["errors"][next(iter(fields))] == ["时间须在 2000-01-01 与 2100-12-31 之间"]
    assert votes_of(compound) == 0
    assert client.get(f"/api/v1/compounds/{compound.id}/votes", headers=headers).status_code == 200


# 4. Text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title", ["a\ud800b", "\udfff", "灯\x00"], ids=["lone-high-surrogate", "lone-low", "nul"]
)
def test_unstorable_text_is_refused_before_any_field(client, committee, title):
    compound, headers = committee
    raw = json.dumps(vote_body(title=title))  # \ud800 and \u0000 as JSON escapes
    response = client.post(
        f"/api/v1/compounds/{compound.id}/votes", data=raw, headers={**headers, **JSON}
    )
    body = assert_error(response, 400)
    assert body["message"] == "内容含有无法保存的字符（如空字符）"
    assert votes_of(compound) == 0


def test_unstorable_text_in_a_query_is_refused(client, committee):
    compound, headers = committee
    response = client.get(f"/api/v1/compounds/{compound.id}/owners?q=%00", headers=headers)
    assert_error(response, 400)


@pytest.mark.parametrize("title", ["   ", "\u3000\u3000", "\t\n"])
def test_blank_text_is_not_a_title(client, committee, title):
    compound, headers = committee
    response = client.post(
        f"/api/v1/compounds/{compound.id}/votes", json=vote_body(title=title), headers=headers
    )
    body = assert_error(response, 422)
    assert body["errors"]["title"] == ["不能为空白"]
    assert votes_of(compound) == 0


# 5. Deep nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_a_400(client, depth):
    raw = "[" * depth + "]" * depth
    body = assert_error(client.post("/api/v1/auth/codes", data=raw, headers=JSON), 400)
    assert "嵌套" in body["message"]


def test_non_finite_numbers_are_not_numbers(client, committee):
    compound, headers = committee
    raw = json.dumps(vote_body()).replace('"other"', '"other", "building_ids": [NaN, Infinity]')
    response = client.post(
        f"/api/v1/compounds/{compound.id}/votes", data=raw, headers={**headers, **JSON}
    )
    assert_error(response, 422)
    assert votes_of(compound) == 0


# 7. Staff passwords are throttled ----------------------------------------------------------


def staff_sign_in(client, username, password, address="10.0.0.1"):
    return client.post(
        "/api/v1/auth/staff-sessions",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_five_wrong_passwords_lock_the_username_for_the_right_one_too(client, make_staff):
    staff = make_staff(Role.ADMIN, password="right-password-1")
    for _ in range(5):
        assert_error(staff_sign_in(client, staff.username, "wrong-password"), 401)
    refused = staff_sign_in(client, staff.username, "right-password-1")
    assert_error(refused, 429, "rate_limited")
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    # from another address too: the limit is the username's
    assert_error(staff_sign_in(client, staff.username, "right-password-1", "10.0.0.2"), 429)


def test_wrong_passwords_from_one_address_are_limited_across_usernames(client, make_staff):
    staff = make_staff(Role.ADMIN, password="right-password-1")
    for attempt in range(20):
        assert_error(staff_sign_in(client, f"nobody-{attempt}", "wrong-password"), 401)
    assert_error(staff_sign_in(client, staff.username, "right-password-1"), 429)
    assert staff_sign_in(client, staff.username, "right-password-1", "10.0.0.3").status_code == 201


def test_a_right_password_does_not_count(client, make_staff):
    staff = make_staff(Role.ADMIN, password="right-password-1")
    for _ in range(8):
        assert staff_sign_in(client, staff.username, "right-password-1").status_code == 201


# 9. Smaller ones ---------------------------------------------------------------------------


def test_a_405_says_which_methods_are_allowed(client):
    response = client.delete("/api/v1/auth/codes")
    assert_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"POST", "OPTIONS"}


@pytest.mark.parametrize(
    "url, body",
    [("/api/v1/staff", {"username": 1}), ("/api/v1/districts", {"name": ""})],
)
def test_a_resident_is_refused_before_the_body_is_read(client, make_account, sign_in, url, body):
    resident = sign_in(make_account())
    assert_error(client.post(url, json=body, headers=resident), 403, "staff_only")


def test_staff_are_refused_a_residents_list_before_its_query_is_read(client, committee):
    _, headers = committee
    response = client.get("/api/v1/me/votes?page=abc", headers=headers)
    assert_error(response, 403, "resident_only")


def test_a_token_without_expiry_is_refused(app, client, make_staff, sign_in):
    staff = make_staff(Role.ADMIN)
    sid = sign_in(staff)  # opens a real session, whose id the forged token names
    from flask_jwt_extended import decode_token

    with app.test_request_context():
        claims = decode_token(sid["Authorization"].split()[1])
        forever = create_access_token(
            claims["sub"], additional_claims={"sid": claims["sid"]}, expires_delta=False
        )
    assert "exp" not in _payload(forever)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forever}"})
    assert_error(response, 401, "invalid_token")


def _payload(token: str) -> dict:
    import base64

    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.mark.parametrize(
    "url_of",
    [
        lambda compound, staff: f"/api/v1/compounds/{compound.id}",
        lambda compound, staff: f"/api/v1/staff/{staff.id}",
    ],
    ids=["compound", "staff"],
)
def test_a_patch_without_a_body_changes_nothing_and_says_so(
    client, make_compound, make_staff, sign_in, url_of
):
    compound = make_compound("原名小区")
    staff = make_staff(Role.COMPOUND, compound.id)
    headers = sign_in(staff)
    for kwargs in ({}, {"json": {}}):
        response = client.patch(url_of(compound, staff), headers=headers, **kwargs)
        body = assert_error(response, 422, "validation_error")
        assert body["errors"]["_schema"] == ["请至少填写一项要修改的内容"]
    assert compound.name == "原名小区"


def test_demo_seed_creates_the_instance_folder(app, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "not-yet"))
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "not-yet" / "demo-credentials.txt").read_text().startswith("demo-")
