"""Staff accounts and roles: each caller manages only staff within their own area."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from participation.auth.models import AuthSession, Role, StaffUser

PASSWORD = "a-long-password"


def _new(username="wang.wu", roles=None, **fields) -> dict:
    return {
        "username": username,
        "password": PASSWORD,
        "display_name": "王五",
        "roles": roles or [],
        **fields,
    }


def _count(db, username: str) -> int:
    return db.session.scalar(select(func.count()).where(StaffUser.username == username))


@pytest.fixture
def area(make_compound):
    """Two compounds in one community and one compound in another community."""
    here = make_compound("甲小区")
    next_door = make_compound("乙小区", community=here.community)
    elsewhere = make_compound("丙小区")
    return here, next_door, elsewhere


def test_admin_creates_a_committee_account_that_can_sign_in(client, make_staff, sign_in, area):
    here = area[0]
    admin = sign_in(make_staff(Role.ADMIN))
    body = _new(roles=[{"role": "compound", "scope_id": here.id}], phone="13812345678")
    response = client.post("/api/v1/staff", json=body, headers=admin)
    assert response.status_code == 201
    assert response.json["username"] == "wang.wu"
    assert response.json["active"] is True
    assert "password" not in response.json
    assert [(r["role"], r["place_name"]) for r in response.json["roles"]] == [
        ("compound", "甲小区")
    ]
    signed_in = client.post(
        "/api/v1/auth/staff-sessions", json={"username": "wang.wu", "password": PASSWORD}
    )
    assert signed_in.status_code == 201


def test_community_staff_create_committee_accounts_within_their_community(
    client, db, make_staff, sign_in, area
):
    here, next_door, elsewhere = area
    community = sign_in(make_staff(Role.COMMUNITY, here.community_id))
    ok = _new(
        roles=[
            {"role": "compound", "scope_id": here.id},
            {"role": "compound", "scope_id": next_door.id},
        ]
    )
    assert client.post("/api/v1/staff", json=ok, headers=community).status_code == 201
    outside = _new("zhao.liu", roles=[{"role": "compound", "scope_id": elsewhere.id}])
    response = client.post("/api/v1/staff", json=outside, headers=community)
    assert response.status_code == 403
    assert response.json["code"] == "outside_scope"
    assert _count(db, "zhao.liu") == 0


def test_one_role_outside_the_cover_refuses_the_whole_account(
    client, db, make_staff, sign_in, area
):
    here, _, elsewhere = area
    committee = sign_in(make_staff(Role.COMPOUND, here.id))
    body = _new(
        roles=[
            {"role": "compound", "scope_id": here.id},
            {"role": "compound", "scope_id": elsewhere.id},
        ]
    )
    assert client.post("/api/v1/staff", json=body, headers=committee).status_code == 403
    assert _count(db, "wang.wu") == 0


@pytest.mark.parametrize("level", [Role.COMMUNITY, Role.COMPOUND])
def test_only_admin_grants_admin_or_wider_roles(client, make_staff, sign_in, area, level):
    here = area[0]
    scope = here.community_id if level is Role.COMMUNITY else here.id
    caller = sign_in(make_staff(level, scope))
    admin_role = _new(roles=[{"role": "admin", "scope_id": 0}])
    response = client.post("/api/v1/staff", json=admin_role, headers=caller)
    assert response.status_code == 403
    street = _new(roles=[{"role": "street", "scope_id": here.community.street_id}])
    assert client.post("/api/v1/staff", json=street, headers=caller).status_code == 403


def test_duplicate_username_is_409_whatever_the_case(client, db, make_staff, sign_in, area):
    admin = sign_in(make_staff(Role.ADMIN))
    roles = [{"role": "compound", "scope_id": area[0].id}]
    assert client.post("/api/v1/staff", json=_new(roles=roles), headers=admin).status_code == 201
    again = client.post("/api/v1/staff", json=_new("Wang.Wu", roles=roles), headers=admin)
    assert again.status_code == 409
    assert again.json["code"] == "username_taken"
    assert _count(db, "wang.wu") == 1


def test_role_over_a_place_that_does_not_exist_is_422(client, make_staff, sign_in):
    admin = sign_in(make_staff(Role.ADMIN))
    body = _new(roles=[{"role": "compound", "scope_id": 999_999}])
    response = client.post("/api/v1/staff", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json["code"] == "place_not_found"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short"}, "password"),
        ({"username": "张三"}, "username"),
        ({"roles": []}, "roles"),
        ({"roles": [{"role": "admin", "scope_id": 3}]}, "roles"),
        ({"roles": [{"role": "compound", "scope_id": 0}]}, "roles"),
        ({"phone": "12345"}, "phone"),
    ],
)
def test_bad_staff_fields_are_422(client, db, make_staff, sign_in, area, changes, field):
    admin = sign_in(make_staff(Role.ADMIN))
    body = {**_new(roles=[{"role": "compound", "scope_id": area[0].id}]), **changes}
    response = client.post("/api/v1/staff", json=body, headers=admin)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert _count(db, body["username"]) == 0


def test_residents_get_staff_only(client, make_account, sign_in, area):
    resident = sign_in(make_account())
    body = _new(roles=[{"role": "compound", "scope_id": area[0].id}])
    for response in (
        client.get("/api/v1/staff", headers=resident),
        client.post("/api/v1/staff", json=body, headers=resident),
    ):
        assert response.status_code == 403
        assert response.json["code"] == "staff_only"


def test_list_shows_only_staff_whose_roles_all_lie_in_the_callers_area(
    client, db, make_staff, sign_in, area
):
    here, next_door, elsewhere = area
    community_staff = make_staff(Role.COMMUNITY, here.community_id)
    mine = [make_staff(Role.COMPOUND, here.id), make_staff(Role.COMPOUND, next_door.id)]
    straddling = make_staff(Role.COMPOUND, here.id)
    straddling.roles.append(type(straddling.roles[0])(role=Role.COMPOUND, scope_id=elsewhere.id))
    make_staff(Role.COMPOUND, elsewhere.id)
    make_staff(Role.ADMIN)
    db.session.flush()
    response = client.get("/api/v1/staff?page_size=100", headers=sign_in(community_staff))
    assert response.status_code == 200
    assert {s["id"] for s in response.json} == {community_staff.id, *(s.id for s in mine)}


def test_admin_lists_everyone_paginated(client, make_staff, sign_in):
    admin = sign_in(make_staff(Role.ADMIN))
    for _ in range(3):
        make_staff(Role.ADMIN)
    response = client.get("/api/v1/staff?page=1&page_size=2", headers=admin)
    assert len(response.json) == 2
    assert '"total": 4' in response.headers["X-Pagination"]


def test_staff_outside_the_area_are_404(client, make_staff, sign_in, area):
    here, _, elsewhere = area
    committee = sign_in(make_staff(Role.COMPOUND, here.id))
    other = make_staff(Role.COMPOUND, elsewhere.id)
    admin = make_staff(Role.ADMIN)
    for target in (other, admin):
        assert client.get(f"/api/v1/staff/{target.id}", headers=committee).status_code == 404
        patch = client.patch(
            f"/api/v1/staff/{target.id}", json={"active": False}, headers=committee
        )
        assert patch.status_code == 404
    assert admin.active


def test_patch_renames_and_sets_a_new_password_that_signs_out_everywhere(
    client, db, make_staff, sign_in, area
):
    admin = sign_in(make_staff(Role.ADMIN))
    target = make_staff(Role.COMPOUND, area[0].id)
    target_headers = sign_in(target)
    body = {"display_name": "新名字", "password": "another-long-one"}
    response = client.patch(f"/api/v1/staff/{target.id}", json=body, headers=admin)
    assert response.status_code == 200
    assert response.json["display_name"] == "新名字"
    assert client.get("/api/v1/me", headers=target_headers).status_code == 401
    old = client.post(
        "/api/v1/auth/staff-sessions",
        json={"username": target.username, "password": "secret-pass-1"},
    )
    assert old.status_code == 401
    new = client.post(
        "/api/v1/auth/staff-sessions",
        json={"username": target.username, "password": "another-long-one"},
    )
    assert new.status_code == 201


def test_reactivated_staff_can_sign_in_again(client, make_staff, sign_in):
    admin = sign_in(make_staff(Role.ADMIN))
    target = make_staff(Role.ADMIN)
    client.patch(f"/api/v1/staff/{target.id}", json={"active": False}, headers=admin)
    client.patch(f"/api/v1/staff/{target.id}", json={"active": True}, headers=admin)
    response = client.post(
        "/api/v1/auth/staff-sessions",
        json={"username": target.username, "password": "secret-pass-1"},
    )
    assert response.status_code == 201


def test_nobody_deactivates_themselves(client, db, make_staff, sign_in):
    admin = make_staff(Role.ADMIN)
    headers = sign_in(admin)
    response = client.patch(f"/api/v1/staff/{admin.id}", json={"active": False}, headers=headers)
    assert response.status_code == 422
    assert response.json["code"] == "self_deactivation"
    assert (
        db.session.scalar(
            select(func.count()).where(
                AuthSession.subject_id == admin.id, AuthSession.revoked_at.is_not(None)
            )
        )
        == 0
    )


def test_grant_and_remove_roles(client, make_staff, sign_in, area):
    here, next_door, elsewhere = area
    community = sign_in(make_staff(Role.COMMUNITY, here.community_id))
    target = make_staff(Role.COMPOUND, here.id)
    url = f"/api/v1/staff/{target.id}/roles"
    granted = client.post(
        url, json={"role": "compound", "scope_id": next_door.id}, headers=community
    )
    assert granted.status_code == 201
    assert granted.json["place_name"] == "乙小区"
    duplicate = client.post(
        url, json={"role": "compound", "scope_id": next_door.id}, headers=community
    )
    assert duplicate.status_code == 409
    assert duplicate.json["code"] == "role_exists"
    outside = client.post(
        url, json={"role": "compound", "scope_id": elsewhere.id}, headers=community
    )
    assert outside.status_code == 403
    removed = client.delete(f"{url}/{granted.json['id']}", headers=community)
    assert removed.status_code == 204
    roles = client.get(f"/api/v1/staff/{target.id}", headers=community).json["roles"]
    assert [r["scope_id"] for r in roles] == [here.id]


def test_only_admin_removes_the_last_role(client, make_staff, sign_in, area):
    here = area[0]
    target = make_staff(Role.COMPOUND, here.id)
    url = f"/api/v1/staff/{target.id}/roles/{target.roles[0].id}"
    community = sign_in(make_staff(Role.COMMUNITY, here.community_id))
    refused = client.delete(url, headers=community)
    assert refused.status_code == 409
    assert refused.json["code"] == "last_role"
    assert client.delete(url, headers=sign_in(make_staff(Role.ADMIN))).status_code == 204


def test_role_of_another_staff_member_is_404(client, make_staff, sign_in, area):
    admin = sign_in(make_staff(Role.ADMIN))
    first, second = make_staff(Role.COMPOUND, area[0].id), make_staff(Role.COMPOUND, area[0].id)
    url = f"/api/v1/staff/{first.id}/roles/{second.roles[0].id}"
    assert client.delete(url, headers=admin).status_code == 404
    assert len(second.roles) == 1
