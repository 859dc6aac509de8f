"""Places, compounds and the roster as committees and area staff see them."""

from __future__ import annotations

import json

from participation.auth.models import Role


def test_admin_builds_the_place_tree(client, db, make_staff, sign_in):
    admin = sign_in(make_staff(Role.ADMIN))
    district = client.post("/api/v1/districts", json={"name": "示范区"}, headers=admin)
    assert district.status_code == 201, district.json
    d = district.json["id"]
    street = client.post(f"/api/v1/districts/{d}/streets", json={"name": "和平街道"}, headers=admin)
    s = street.json["id"]
    community = client.post(
        f"/api/v1/streets/{s}/communities", json={"name": "向阳社区"}, headers=admin
    )
    c = community.json["id"]
    compound = client.post(
        f"/api/v1/communities/{c}/compounds",
        json={"name": "幸福里小区", "address": "向阳路1号"},
        headers=admin,
    )
    assert compound.status_code == 201
    assert compound.json["district"] == "示范区"
    assert compound.json["community"] == "向阳社区"

    again = client.post(
        f"/api/v1/communities/{c}/compounds", json={"name": "幸福里小区"}, headers=admin
    )
    assert again.status_code == 409
    assert again.json["code"] == "already_exists"


def test_only_admin_creates_districts(client, make_compound, make_staff, sign_in):
    compound = make_compound()
    headers = sign_in(make_staff(Role.COMMUNITY, compound.community_id))
    response = client.post("/api/v1/districts", json={"name": "新区"}, headers=headers)
    assert response.status_code == 403
    assert response.json["message"]


def test_community_staff_create_compounds_only_in_their_community(
    client, make_compound, make_staff, sign_in
):
    mine, other = make_compound(), make_compound()
    headers = sign_in(make_staff(Role.COMMUNITY, mine.community_id))
    ok = client.post(
        f"/api/v1/communities/{mine.community_id}/compounds",
        json={"name": "新小区"},
        headers=headers,
    )
    assert ok.status_code == 201
    denied = client.post(
        f"/api/v1/communities/{other.community_id}/compounds",
        json={"name": "新小区"},
        headers=headers,
    )
    assert denied.status_code == 404


def test_bad_input_is_422_with_field_errors(client, make_staff, sign_in):
    admin = sign_in(make_staff(Role.ADMIN))
    response = client.post("/api/v1/districts", json={"name": ""}, headers=admin)
    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert "name" in response.json["errors"]
    response = client.post("/api/v1/districts", json={"name": "x", "extra": 1}, headers=admin)
    assert response.status_code == 422
    assert "extra" in response.json["errors"]


def test_compound_list_is_scoped_and_paginated(client, make_compound, make_staff, sign_in):
    a = make_compound()
    siblings = [make_compound(community=a.community) for _ in range(2)]
    elsewhere = make_compound()
    community_staff = sign_in(make_staff(Role.COMMUNITY, a.community_id))
    response = client.get("/api/v1/compounds?page_size=2", headers=community_staff)
    assert response.status_code == 200
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 3
    assert len(response.json) == 2
    all_ids = {c["id"] for c in client.get("/api/v1/compounds", headers=community_staff).json}
    assert all_ids == {a.id, *(s.id for s in siblings)}
    assert elsewhere.id not in all_ids

    committee = sign_in(make_staff(Role.COMPOUND, a.id))
    assert [c["id"] for c in client.get("/api/v1/compounds", headers=committee).json] == [a.id]
    assert client.get("/api/v1/compounds?page_size=101", headers=committee).status_code == 422


def test_residents_cannot_list_compounds(client, make_account, sign_in):
    response = client.get("/api/v1/compounds", headers=sign_in(make_account()))
    assert response.status_code == 403
    assert response.json["code"] == "staff_only"


def test_owner_contact_data_only_for_the_compounds_own_committee(
    client, make_compound, make_dwelling, make_staff, sign_in
):
    compound = make_compound()
    owner = make_dwelling.owner(compound, "王建国", "13812345678", "510902194202144281")
    make_dwelling(compound, room="101", owners=[owner])
    url = f"/api/v1/compounds/{compound.id}/owners"

    full = client.get(url, headers=sign_in(make_staff(Role.COMPOUND, compound.id))).json[0]
    assert (full["name"], full["phone"], full["id_last4"]) == ("王建国", "13812345678", "4281")
    assert full["dwellings"] == ["1栋1单元101"]

    community = sign_in(make_staff(Role.COMMUNITY, compound.community_id))
    masked = client.get(url, headers=community).json[0]
    assert (masked["name"], masked["phone"], masked["id_last4"]) == ("王**", "138****5678", "")


def test_compound_detail_buildings_and_dwellings(
    client, make_compound, make_dwelling, make_staff, sign_in
):
    compound = make_compound()
    owner = make_dwelling.owner(compound, "李红梅")
    make_dwelling(compound, "1", "1", "101", area="68.45", owners=[owner])
    make_dwelling(compound, "1", "2", "101", area="70.00")
    make_dwelling(compound, "10", "", "101", area="59.80")
    make_dwelling(compound, "2", "1", "101", area="59.80")
    headers = sign_in(make_staff(Role.COMPOUND, compound.id))

    detail = client.get(f"/api/v1/compounds/{compound.id}", headers=headers).json
    assert (detail["buildings"], detail["dwellings"], detail["owners"]) == (3, 4, 1)

    buildings = client.get(f"/api/v1/compounds/{compound.id}/buildings", headers=headers).json
    assert [b["name"] for b in buildings] == ["1栋", "2栋", "10栋"]
    assert [e["name"] for e in buildings[0]["entrances"]] == ["1单元", "2单元"]
    assert buildings[2]["entrances"][0]["name"] == ""

    dwellings = client.get(
        f"/api/v1/compounds/{compound.id}/dwellings?building_id={buildings[0]['id']}",
        headers=headers,
    ).json
    assert [(d["label"], d["area"], d["owners"]) for d in dwellings] == [
        ("1栋1单元101", "68.45", ["李**"]),
        ("1栋2单元101", "70.00", []),
    ]


def test_public_compound_page_shows_no_personal_data(client, make_compound, make_dwelling):
    compound = make_compound("幸福里")
    owner = make_dwelling.owner(compound, "王建国", "13812345678")
    make_dwelling(compound, owners=[owner])
    body = client.get(f"/api/v1/public/compounds/{compound.id}").json
    assert body["name"] == "幸福里"
    assert body["buildings"][0]["name"] == "1栋"
    assert "王建国" not in json.dumps(body, ensure_ascii=False)
    assert client.get("/api/v1/public/compounds/999999").status_code == 404
