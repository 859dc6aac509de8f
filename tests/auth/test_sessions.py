"""Staff sign-in, refresh, logout, and changes that take effect on the next request."""

from __future__ import annotations

import pytest

from participation.auth.models import Role

PASSWORD = "secret-pass-1"


def _staff_sign_in(client, username, password=PASSWORD):
    return client.post(
        "/api/v1/auth/staff-sessions", json={"username": username, "password": password}
    )


def test_staff_sign_in_with_username_and_password(client, make_staff, make_compound, auth_header):
    compound = make_compound("阳光小区")
    staff = make_staff(Role.COMPOUND, compound.id)
    response = _staff_sign_in(client, staff.username)
    assert response.status_code == 201
    me = client.get("/api/v1/me", headers=auth_header(response.json["access_token"]))
    assert me.json["kind"] == "staff"
    assert me.json["staff"]["username"] == staff.username
    assert me.json["staff"]["roles"] == [
        {
            "id": staff.roles[0].id,
            "role": "compound",
            "scope_id": compound.id,
            "place_name": "阳光小区",
        }
    ]


def test_username_is_not_case_sensitive(client, make_staff):
    staff = make_staff(Role.ADMIN)
    assert _staff_sign_in(client, f" {staff.username.upper()} ").status_code == 201


@pytest.mark.parametrize("case", ["wrong password", "unknown username", "inactive"])
def test_failed_staff_sign_in_says_the_same_whatever_the_reason(client, db, make_staff, case):
    staff = make_staff(Role.ADMIN)
    username, password = staff.username, PASSWORD
    if case == "wrong password":
        password = "not-the-password"
    elif case == "unknown username":
        username = "nobody-here"
    else:
        staff.active = False
    response = _staff_sign_in(client, username, password)
    assert response.status_code == 401
    assert response.json == {
        "code": "invalid_credentials",
        "message": "用户名或密码错误",
        "errors": {},
    }


def test_refresh_token_gives_a_new_access_token(client, phone_sign_in, auth_header):
    tokens = phone_sign_in("13812345678")
    response = client.post("/api/v1/auth/refresh", headers=auth_header(tokens["refresh_token"]))
    assert response.status_code == 200
    assert set(response.json) == {"access_token", "token_type", "expires_in"}
    me = client.get("/api/v1/me", headers=auth_header(response.json["access_token"]))
    assert me.status_code == 200


def test_access_token_cannot_refresh(client, phone_sign_in, auth_header):
    tokens = phone_sign_in("13812345678")
    response = client.post("/api/v1/auth/refresh", headers=auth_header(tokens["access_token"]))
    assert response.status_code == 401


def test_logout_stops_access_and_refresh_tokens(client, phone_sign_in, auth_header):
    tokens = phone_sign_in("13812345678")
    access, refresh = auth_header(tokens["access_token"]), auth_header(tokens["refresh_token"])
    assert client.delete("/api/v1/auth/session", headers=access).status_code == 204
    me = client.get("/api/v1/me", headers=access)
    assert me.status_code == 401
    assert me.json["code"] == "token_revoked"
    refreshed = client.post("/api/v1/auth/refresh", headers=refresh)
    assert refreshed.status_code == 401
    assert refreshed.json["code"] == "token_revoked"


def test_logout_with_the_refresh_token_works_too(client, phone_sign_in, auth_header):
    tokens = phone_sign_in("13812345678")
    refresh = auth_header(tokens["refresh_token"])
    assert client.delete("/api/v1/auth/session", headers=refresh).status_code == 204
    assert client.get("/api/v1/me", headers=auth_header(tokens["access_token"])).status_code == 401


def test_logout_ends_only_that_session(client, phone_sign_in, auth_header, limits):
    limits(SMS_PER_PHONE_PER_MINUTE=5)
    phone = auth_header(phone_sign_in("13812345678")["access_token"])
    laptop = auth_header(phone_sign_in("13812345678")["access_token"])
    assert client.delete("/api/v1/auth/session", headers=phone).status_code == 204
    me = client.get("/api/v1/me", headers=phone)
    assert (me.status_code, me.json["code"]) == (401, "token_revoked")
    assert client.get("/api/v1/me", headers=laptop).status_code == 200


def test_deactivated_staff_is_out_on_the_next_request(client, make_staff, sign_in, auth_header):
    admin = sign_in(make_staff(Role.ADMIN))
    target = make_staff(Role.ADMIN)
    tokens = _staff_sign_in(client, target.username).json
    assert client.get("/api/v1/me", headers=auth_header(tokens["access_token"])).status_code == 200
    patched = client.patch(f"/api/v1/staff/{target.id}", json={"active": False}, headers=admin)
    assert patched.status_code == 200
    assert client.get("/api/v1/me", headers=auth_header(tokens["access_token"])).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", headers=auth_header(tokens["refresh_token"]))
    assert refreshed.status_code == 401
    assert _staff_sign_in(client, target.username).status_code == 401


def test_staff_deactivated_behind_the_api_is_out_too(client, db, make_staff, sign_in):
    staff = make_staff(Role.ADMIN)
    headers = sign_in(staff)
    staff.active = False
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json["code"] == "account_unavailable"


def test_removed_role_stops_working_on_the_next_request(client, make_staff, make_compound, sign_in):
    compound = make_compound()
    committee = make_staff(Role.COMPOUND, compound.id)
    headers = sign_in(committee)
    url = f"/api/v1/compounds/{compound.id}/claims"
    assert client.get(url, headers=headers).status_code == 200
    admin = sign_in(make_staff(Role.ADMIN))
    role_id = committee.roles[0].id
    removed = client.delete(f"/api/v1/staff/{committee.id}/roles/{role_id}", headers=admin)
    assert removed.status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_signed_out_callers_get_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"
    garbage = client.get("/api/v1/me", headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401
    assert garbage.json["code"] == "invalid_token"


def test_a_request_decodes_its_token_once(client, phone_sign_in, auth_header, monkeypatch):
    """flask-jwt-extended decodes a token three times and PyJWT checks it character by
    character each time: ``extensions.OneDecodeJWTManager`` verifies it once (plus the header
    flask-jwt-extended reads for its callbacks), and still refuses what upstream refuses."""
    import jwt

    loads = []
    real_load = jwt.api_jws.PyJWS._load

    def counted(self, token):
        loads.append(token)
        return real_load(self, token)

    access = auth_header(phone_sign_in("13812345678")["access_token"])
    monkeypatch.setattr(jwt.api_jws.PyJWS, "_load", counted)
    assert client.get("/api/v1/me", headers=access).status_code == 200
    assert len(loads) == 2

    token = access["Authorization"].split()[1]
    header, payload, signature = token.split(".")
    tampered = auth_header(f"{header}.{payload}.{signature[:-2]}AA")
    refused = client.get("/api/v1/me", headers=tampered)
    assert (refused.status_code, refused.json["code"]) == (401, "invalid_token")
