"""成立组织: the compound's self-governing organisation and its members; members with committee
rights get (or are linked to) a staff account with the compound's committee role; phones and
names in full to the compound's committee only."""

from __future__ import annotations

import sqlalchemy as sa

from participation.auth.models import Role, RoleAssignment, StaffUser
from participation.extensions import db as _db
from participation.projects.models import OrganisationMember

from .conftest import api, refused


def members_url(compound) -> str:
    return f"/compounds/{compound.id}/organisation/members"


def record(client, compound, committee):
    response = api(
        client,
        "PUT",
        f"/compounds/{compound.id}/organisation",
        committee,
        kind="residents_council",
        name="幸福小区居民议事会",
        established_on="2026-03-15",
    )
    assert response.status_code == 200, response.json
    return response.json


def test_members_need_the_organisation_first(client, compound, committee):
    refused(
        api(client, "POST", members_url(compound), committee, name="王五", role="member"),
        409,
        "organisation_missing",
    )
    assert (
        client.get(f"/api/v1/compounds/{compound.id}/organisation", headers=committee).json["code"]
        == "not_found"
    )
    organisation = record(client, compound, committee)
    assert organisation["kind"] == "residents_council"
    assert organisation["established_on"] == "2026-03-15"


def test_a_chair_gets_a_committee_account_that_signs_in(client, compound, committee):
    record(client, compound, committee)
    refused(
        api(client, "POST", members_url(compound), committee, name="赵主任", role="chair"),
        422,
        "phone_required",
    )
    added = api(
        client,
        "POST",
        members_url(compound),
        committee,
        name="赵主任",
        phone="138 1234 5678",
        role="chair",
    )
    assert added.status_code == 201, added.json
    account = added.json["account"]
    assert account["created"] is True and account["initial_password"]
    assert added.json["member"]["phone"] == "13812345678"  # the committee sees it in full
    staff = _db.session.get(StaffUser, account["staff_id"])
    assert staff.phone == "13812345678" and staff.display_name == "赵主任"
    assert [(r.role, r.scope_id) for r in staff.roles] == [(Role.COMPOUND, compound.id)]

    signed_in = client.post(
        "/api/v1/auth/staff-sessions",
        json={"username": account["username"], "password": account["initial_password"]},
    )
    assert signed_in.status_code in (200, 201), signed_in.json
    token = {"Authorization": f"Bearer {signed_in.json['access_token']}"}
    # the new account acts for the compound: it sees the organisation's members
    listed = client.get(f"/api/v1{members_url(compound)}", headers=token)
    assert [m["name"] for m in listed.json] == ["赵主任"]

    again = api(
        client,
        "POST",
        members_url(compound),
        committee,
        name="赵某",
        phone="13812345678",
        role="member",
    )
    refused(again, 409, "member_exists")


def test_an_existing_account_is_linked_not_duplicated(
    client, compound, committee, make_staff, make_compound
):
    record(client, compound, committee)
    elsewhere = make_compound("别处小区", community=compound.community)
    existing = make_staff(Role.COMPOUND, elsewhere.id)
    existing.phone = "13600000001"
    _db.session.flush()
    staff_before = _db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser))
    added = api(
        client,
        "POST",
        members_url(compound),
        committee,
        name="钱秘书",
        phone="13600000001",
        role="secretary",
    )
    assert added.status_code == 201, added.json
    assert added.json["account"] == {
        "staff_id": existing.id,
        "username": existing.username,
        "created": False,
    }
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == staff_before
    roles = _db.session.execute(
        sa.select(RoleAssignment.role, RoleAssignment.scope_id).filter_by(staff_id=existing.id)
    ).all()
    assert sorted(roles) == sorted([(Role.COMPOUND, elsewhere.id), (Role.COMPOUND, compound.id)])

    plain = api(client, "POST", members_url(compound), committee, name="孙委员", role="member")
    assert plain.status_code == 201 and plain.json["account"] is None
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == staff_before


def test_staff_above_see_names_and_phones_masked(
    client, compound, committee, make_staff, sign_in, neighbour
):
    record(client, compound, committee)
    api(
        client,
        "POST",
        members_url(compound),
        committee,
        name="李四",
        phone="13912345678",
        role="vice_chair",
    )
    community = sign_in(make_staff(Role.COMMUNITY, compound.community_id))
    seen = client.get(f"/api/v1{members_url(compound)}", headers=community).json
    assert [(m["name"], m["phone"], m["role_label"]) for m in seen] == [
        ("李*", "139****5678", "副主任")
    ]
    mine = client.get(f"/api/v1{members_url(compound)}", headers=committee).json
    assert (mine[0]["name"], mine[0]["phone"]) == ("李四", "13912345678")
    for method, body in (("GET", {}), ("POST", {"name": "x", "role": "member"})):
        response = api(client, method, members_url(compound), neighbour, **body)
        assert (response.status_code, response.json["code"]) == (404, "not_found")
    count = sa.select(sa.func.count()).select_from(OrganisationMember)
    assert _db.session.scalar(count) == 1
