"""GET /me: what residents and staff see of themselves."""

from __future__ import annotations

from participation.auth.models import ClaimKind, DwellingClaim, Role, Tenancy

PHONE = "13812345678"


def test_resident_sees_dwellings_masked_phone_and_names(
    client, db, phone_sign_in, make_compound, make_dwelling, make_account
):
    east, west = make_compound("东苑"), make_compound("西苑")
    me_east = make_dwelling.owner(east, "欧阳娜娜", PHONE)
    spouse = make_dwelling.owner(east, "李四", "13900000000")
    make_dwelling(east, "1", "2", "501", area="68.45", owners=[me_east, spouse])
    me_west = make_dwelling.owner(west, "欧阳娜娜", PHONE)
    make_dwelling(west, "3", "", "101", area="90", owners=[me_west])
    rented = make_dwelling(west, "3", "", "102")
    claimed = make_dwelling(west, "3", "", "103")

    tokens = phone_sign_in(PHONE)  # links both owners
    account_id = me_east.account_id
    db.session.add_all(
        [
            Tenancy(account_id=account_id, dwelling_id=rented.id),
            DwellingClaim(
                account_id=account_id,
                compound_id=west.id,
                dwelling_id=claimed.id,
                kind=ClaimKind.OWNER,
                name="欧阳娜娜",
                id_last4="1234",
            ),
        ]
    )
    response = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200
    assert response.json["kind"] == "resident"
    assert response.json["staff"] is None
    profile = response.json["resident"]
    assert profile["phone"] == "138****5678"
    assert [
        (d["compound_name"], d["label"], d["area"], d["owner_name"], d["co_owners"])
        for d in profile["owned"]
    ] == [("东苑", "1栋2单元501", "68.45", "欧***", 1), ("西苑", "3栋101", "90.00", "欧***", 0)]
    assert [(d["compound_name"], d["label"]) for d in profile["rented"]] == [("西苑", "3栋102")]
    assert [(c["dwelling_label"], c["status"]) for c in profile["pending_claims"]] == [
        ("3栋103", "pending")
    ]
    body = response.get_data(as_text=True)
    assert PHONE not in body
    assert "欧阳娜娜" not in body
    assert "李四" not in body


def test_resident_without_dwellings(client, make_account, sign_in):
    response = client.get("/api/v1/me", headers=sign_in(make_account(PHONE)))
    assert response.json["resident"] == {
        "phone": "138****5678",
        "owned": [],
        "rented": [],
        "pending_claims": [],
        "wechat_bound": False,
    }


def test_staff_see_their_roles_with_place_names(client, db, make_staff, make_compound, sign_in):
    compound = make_compound("阳光小区")
    staff = make_staff(Role.COMMUNITY, compound.community_id)
    response = client.get("/api/v1/me", headers=sign_in(staff))
    assert response.json["kind"] == "staff"
    assert response.json["resident"] is None
    assert response.json["staff"]["display_name"] == staff.display_name
    assert response.json["staff"]["roles"] == [
        {
            "id": staff.roles[0].id,
            "role": "community",
            "scope_id": compound.community_id,
            "place_name": compound.community.name,
        }
    ]


def test_admin_role_has_no_place(client, make_staff, sign_in):
    response = client.get("/api/v1/me", headers=sign_in(make_staff(Role.ADMIN)))
    assert response.json["staff"]["roles"][0]["place_name"] is None
