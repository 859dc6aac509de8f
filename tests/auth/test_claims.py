"""Residents not in the roster claim a dwelling; committee staff approve or reject."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from participation.auth.models import ClaimStatus, DwellingClaim, Role, Tenancy

RESIDENT_PHONE = "13712345678"


@dataclass
class Setting:
    compound: object
    dwelling: object
    owner: object
    account: object
    resident: dict
    committee: dict


@pytest.fixture
def setting(make_compound, make_dwelling, make_account, make_staff, sign_in) -> Setting:
    compound = make_compound("幸福小区")
    owner = make_dwelling.owner(compound, "张三", "13800000001", "110101199001011234")
    dwelling = make_dwelling(compound, "1", "2", "501", area="68.45", owners=[owner])
    account = make_account(RESIDENT_PHONE)
    return Setting(
        compound=compound,
        dwelling=dwelling,
        owner=owner,
        account=account,
        resident=sign_in(account),
        committee=sign_in(make_staff(Role.COMPOUND, compound.id)),
    )


def _claim(setting, **changes) -> dict:
    body = {
        "compound_id": setting.compound.id,
        "building": "1栋",
        "entrance": "2单元",
        "room": "501",
        "name": "张三",
        "id_last4": "1234",
        "kind": "owner",
    }
    return {**body, **changes}


def _file(client, setting, **changes):
    return client.post(
        "/api/v1/me/claims", json=_claim(setting, **changes), headers=setting.resident
    )


# --- filing -------------------------------------------------------------------------------


def test_resident_files_a_claim_and_nothing_is_linked_yet(client, setting):
    response = _file(client, setting)
    assert response.status_code == 201
    assert response.json["status"] == "pending"
    assert response.json["dwelling_label"] == "1栋2单元501"
    assert response.json["compound_name"] == "幸福小区"
    assert "name" not in response.json
    assert "id_last4" not in response.json
    assert setting.owner.account_id is None
    mine = client.get("/api/v1/me/claims", headers=setting.resident)
    assert [c["id"] for c in mine.json] == [response.json["id"]]


@pytest.mark.parametrize(
    ("building", "entrance", "room"),
    [
        ("1号楼", "2", "501"),
        ("01", "2单元", "501室"),
        ("１栋", " 2单元 ", "５０１"),
        ("1幢", "02", "501"),
    ],
)
def test_building_and_entrance_as_residents_write_them(client, setting, building, entrance, room):
    response = _file(client, setting, building=building, entrance=entrance, room=room)
    assert response.status_code == 201, response.json
    assert response.json["dwelling_id"] == setting.dwelling.id


def test_single_entrance_building(client, setting, make_dwelling):
    dwelling = make_dwelling(setting.compound, "3", "", "101")
    response = _file(client, setting, building="3号楼", entrance="", room="101", kind="tenant")
    assert response.status_code == 201
    assert response.json["dwelling_id"] == dwelling.id


def test_unknown_dwelling_and_unknown_compound_get_the_same_answer(client, setting):
    no_room = _file(client, setting, room="999")
    no_compound = _file(client, setting, compound_id=999_999)
    assert no_room.status_code == no_compound.status_code == 422
    assert no_room.json == no_compound.json
    assert no_room.json["code"] == "dwelling_not_found"
    assert no_room.json["message"] == "未找到该房屋，请核对小区、楼栋、单元和房号"


def test_dwelling_of_another_compound_is_not_found(client, setting, make_compound, make_dwelling):
    other = make_compound()
    make_dwelling(other, "5", "1", "101")
    response = _file(client, setting, building="5", entrance="1", room="101")
    assert response.status_code == 422


def test_owner_claim_needs_the_id_digits(client, db, setting):
    response = _file(client, setting, id_last4=None)
    assert response.status_code == 422
    assert response.json["errors"]["id_last4"] == ["业主申请请填写证件号码后四位"]
    assert db.session.scalar(select(DwellingClaim)) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "landlord"), ("id_last4", "12345"), ("name", " "), ("building", ""), ("room", None)],
)
def test_bad_claim_fields_are_422(client, db, setting, field, value):
    response = _file(client, setting, **{field: value})
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert db.session.scalar(select(DwellingClaim)) is None


def test_unknown_field_is_422(client, setting):
    response = _file(client, setting, nickname="老张")
    assert response.status_code == 422
    assert "nickname" in response.json["errors"]


def test_second_pending_claim_for_the_same_dwelling_is_409(client, db, setting):
    assert _file(client, setting).status_code == 201
    again = _file(client, setting, kind="tenant", id_last4=None)
    assert again.status_code == 409
    assert again.json["code"] == "claim_pending"
    assert len(db.session.scalars(select(DwellingClaim)).all()) == 1


def test_after_a_rejection_the_resident_may_claim_again(client, setting):
    first = _file(client, setting, id_last4="9999").json
    client.post(
        f"/api/v1/claims/{first['id']}/reject",
        json={"note": "证件号不符"},
        headers=setting.committee,
    )
    assert _file(client, setting).status_code == 201


def test_staff_cannot_file_claims(client, setting):
    response = client.post("/api/v1/me/claims", json=_claim(setting), headers=setting.committee)
    assert response.status_code == 403
    assert response.json["code"] == "resident_only"


# --- deciding -----------------------------------------------------------------------------


def test_approving_an_owner_claim_links_the_owner(client, setting):
    claim = _file(client, setting).json
    response = client.post(
        f"/api/v1/claims/{claim['id']}/approve", json={}, headers=setting.committee
    )
    assert response.status_code == 200
    assert response.json["status"] == "approved"
    assert response.json["decided_at"] is not None
    assert setting.owner.account_id == setting.account.id
    me = client.get("/api/v1/me", headers=setting.resident).json["resident"]
    assert [d["label"] for d in me["owned"]] == ["1栋2单元501"]
    assert me["pending_claims"] == []


def test_id_digits_match_whatever_the_case_of_x(client, make_dwelling, setting):
    owner = make_dwelling.owner(setting.compound, "李四", None, "11010119900101123X")
    make_dwelling(setting.compound, "1", "2", "502", owners=[owner])
    claim = _file(client, setting, room="502", name="李四", id_last4="123x").json
    response = client.post(
        f"/api/v1/claims/{claim['id']}/approve", json={}, headers=setting.committee
    )
    assert response.status_code == 200
    assert owner.account_id == setting.account.id


@pytest.mark.parametrize("changes", [{"id_last4": "4321"}, {"name": "张四"}])
def test_mismatch_is_409_and_changes_nothing(client, db, setting, changes):
    claim = _file(client, setting, **changes).json
    response = client.post(
        f"/api/v1/claims/{claim['id']}/approve", json={}, headers=setting.committee
    )
    assert response.status_code == 409
    assert response.json["code"] == "claim_mismatch"
    assert "姓名和证件号码后四位" in response.json["message"]
    assert db.session.get(DwellingClaim, claim["id"]).status is ClaimStatus.PENDING
    assert setting.owner.account_id is None


def test_owner_linked_to_another_phone_is_409(client, setting, make_account):
    setting.owner.account_id = make_account("13600000000").id
    claim = _file(client, setting).json
    response = client.post(
        f"/api/v1/claims/{claim['id']}/approve", json={}, headers=setting.committee
    )
    assert response.status_code == 409
    assert response.json["code"] == "owner_linked"


def test_approving_a_tenant_claim_records_a_tenancy_and_no_ownership(client, db, setting):
    claim = _file(client, setting, kind="tenant", name="王五", id_last4=None).json
    response = client.post(
        f"/api/v1/claims/{claim['id']}/approve",
        json={"note": "租赁合同已核"},
        headers=setting.committee,
    )
    assert response.status_code == 200
    assert response.json["decision_note"] == "租赁合同已核"
    tenancy = db.session.scalar(select(Tenancy))
    assert (tenancy.account_id, tenancy.dwelling_id) == (setting.account.id, setting.dwelling.id)
    assert setting.owner.account_id is None
    me = client.get("/api/v1/me", headers=setting.resident).json["resident"]
    assert me["owned"] == []
    assert [d["label"] for d in me["rented"]] == ["1栋2单元501"]


def test_rejecting_needs_a_reason_the_resident_sees(client, setting):
    claim = _file(client, setting).json
    url = f"/api/v1/claims/{claim['id']}/reject"
    missing = client.post(url, json={}, headers=setting.committee)
    assert missing.status_code == 422
    assert missing.json["errors"]["note"] == ["请填写驳回理由"]
    response = client.post(
        url, json={"note": "请携带房产证到居委会核实"}, headers=setting.committee
    )
    assert response.status_code == 200
    assert response.json["status"] == "rejected"
    mine = client.get("/api/v1/me/claims", headers=setting.resident).json
    assert mine[0]["status"] == "rejected"
    assert mine[0]["decision_note"] == "请携带房产证到居委会核实"
    assert setting.owner.account_id is None


@pytest.mark.parametrize("first", ["approve", "reject"])
def test_a_decided_claim_cannot_be_decided_again(client, setting, first):
    claim = _file(client, setting).json
    url = f"/api/v1/claims/{claim['id']}"
    note = {"note": "已核实"}
    assert client.post(f"{url}/{first}", json=note, headers=setting.committee).status_code == 200
    for action in ("approve", "reject"):
        again = client.post(f"{url}/{action}", json=note, headers=setting.committee)
        assert again.status_code == 409
        assert again.json["code"] == "claim_decided"


def test_claims_of_a_neighbouring_compound_are_404(
    client, setting, make_compound, make_staff, sign_in
):
    claim = _file(client, setting).json
    neighbour = sign_in(
        make_staff(Role.COMPOUND, make_compound(community=setting.compound.community).id)
    )
    approve = client.post(f"/api/v1/claims/{claim['id']}/approve", json={}, headers=neighbour)
    assert approve.status_code == 404
    listing = client.get(f"/api/v1/compounds/{setting.compound.id}/claims", headers=neighbour)
    assert listing.status_code == 404
    assert setting.owner.account_id is None


def test_residents_cannot_decide_claims(client, setting):
    claim = _file(client, setting).json
    response = client.post(
        f"/api/v1/claims/{claim['id']}/approve", json={}, headers=setting.resident
    )
    assert response.status_code == 404


# --- listing for staff --------------------------------------------------------------------


def test_committee_lists_pending_claims_with_full_contact_data(client, setting, make_dwelling):
    make_dwelling(setting.compound, "1", "2", "502")
    pending = _file(client, setting).json
    decided = _file(client, setting, room="502", kind="tenant", id_last4=None).json
    client.post(
        f"/api/v1/claims/{decided['id']}/reject", json={"note": "否"}, headers=setting.committee
    )
    url = f"/api/v1/compounds/{setting.compound.id}/claims"
    response = client.get(f"{url}?status=pending", headers=setting.committee)
    assert response.status_code == 200
    assert [c["id"] for c in response.json] == [pending["id"]]
    assert response.json[0]["name"] == "张三"
    assert response.json[0]["phone"] == RESIDENT_PHONE
    assert response.json[0]["id_last4"] == "1234"
    assert '"total": 1' in response.headers["X-Pagination"]
    everything = client.get(url, headers=setting.committee)
    assert len(everything.json) == 2


def test_staff_above_the_compound_see_contact_data_masked(client, setting, make_staff, sign_in):
    _file(client, setting)
    community = sign_in(make_staff(Role.COMMUNITY, setting.compound.community_id))
    response = client.get(f"/api/v1/compounds/{setting.compound.id}/claims", headers=community)
    assert response.status_code == 200
    assert response.json[0]["name"] == "张*"
    assert response.json[0]["phone"] == "137****5678"
    assert response.json[0]["id_last4"] is None


def test_bad_status_filter_is_422(client, setting):
    response = client.get(
        f"/api/v1/compounds/{setting.compound.id}/claims?status=maybe", headers=setting.committee
    )
    assert response.status_code == 422


def test_what_differs_from_the_roster_is_flagged_for_the_committee(
    client, db, setting, make_account, make_staff, sign_in
):
    """The roster has 张三 with an ID ending in 1234. A claim as 张珊 ending 9999 is flagged on
    both; once the owner is linked to another phone, that is flagged too. Staff above the
    compound see the flags without the roster's values."""
    url = f"/api/v1/compounds/{setting.compound.id}/claims"
    _file(client, setting)  # matches the roster
    [clean] = client.get(url, headers=setting.committee).json
    assert clean["flags"] == []

    client.post(f"/api/v1/claims/{clean['id']}/reject", json={"note": "重复"},
                headers=setting.committee)  # fmt: skip
    _file(client, setting, name="张珊", id_last4="9999")
    setting.owner.account_id = make_account("13600000009").id
    db.session.flush()
    [claim] = client.get(f"{url}?status=pending", headers=setting.committee).json
    assert [(f["code"], f["message"]) for f in claim["flags"]] == [
        ("name_differs", "姓名与花名册不一致（花名册：张三）"),
        ("id_differs", "证件号码后四位与花名册不一致（花名册：1234）"),
        ("dwelling_linked", "该房屋的业主已关联其他手机号：13600000009"),
    ]
    community = sign_in(make_staff(Role.COMMUNITY, setting.compound.community_id))
    [masked] = client.get(f"{url}?status=pending", headers=community).json
    assert [f["message"] for f in masked["flags"]] == [
        "姓名与花名册不一致（花名册：张*）",
        "证件号码后四位与花名册不一致（花名册：已脱敏）",
        "该房屋的业主已关联其他手机号：136****0009",
    ]
    # The resident's own view carries no flags (nothing of the roster leaks to them).
    assert "flags" not in client.get("/api/v1/me/claims", headers=setting.resident).json[0]
