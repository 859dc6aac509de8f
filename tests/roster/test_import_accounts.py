"""Accounts follow the roster (issue 18, item 6): a phone that signed in before the roster named
it is linked by the import that names it, and the very next request sees the vote; an import
that removes the owner or changes the phone unlinks it; links an approved claim still backs
are kept. Residents sign in by SMS code, as on a phone."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import event

from participation.auth.models import Account, ClaimKind, ClaimStatus, DwellingClaim, Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster import importer
from participation.roster.importer import REQUIRED_COLUMNS
from participation.roster.models import Owner
from participation.votes.models import Matter, Vote

PHONE = "13800000001"  # signs in before any roster names it
OTHER_PHONE = "13900000002"


def resident_id(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


ZHANG = ("张三", resident_id("11010519491231002"))
LI = ("李四", resident_id("11010519800101123"))
WANG = ("王五", resident_id("11010519900202456"))


def roster_file(*rows: tuple[str, tuple[str, str], str | None]) -> bytes:
    """``(room, (name, ID number), phone)`` per dwelling, all in 1栋1单元, 登记 80.00 m²."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REQUIRED_COLUMNS)
    for room, (name, id_number), phone in rows:
        writer.writerow(
            ["1栋", "1单元", room[0], room, "80.00", "登记", "已售", name, phone or "", id_number]
        )
    return out.getvalue().encode("utf-8")


@pytest.fixture
def client(app, scoped_client, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_PER_PHONE_PER_MINUTE", 10)
    return scoped_client


@pytest.fixture
def phone_sign_in(app, client):
    """``phone_sign_in(phone)`` → headers of a resident signed in by SMS code."""
    outbox = app.extensions["sms_sender"].outbox

    def sign_in(phone: str) -> dict:
        assert client.post("/api/v1/auth/codes", json={"phone": phone}).status_code == 202
        sent_to, code = outbox[-1]
        assert sent_to == phone
        response = client.post("/api/v1/auth/sessions", json={"phone": phone, "code": code})
        assert response.status_code == 201, response.json
        return {"Authorization": f"Bearer {response.json['access_token']}"}

    return sign_in


@pytest.fixture
def compound(make_compound):
    return make_compound()


@pytest.fixture
def staff(compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, compound.id))


def upload(client, compound, content: bytes, headers, **form):
    response = client.post(
        f"/api/v1/compounds/{compound.id}/roster-imports",
        data={"file": (io.BytesIO(content), "roster.csv"), **form},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    return response.json


def open_vote(compound, make_staff) -> Vote:
    from participation.votes.services import open_vote as open_it

    now = utcnow()
    vote = Vote(
        compound_id=compound.id,
        title="加装电梯",
        matter=Matter.OTHER,
        rule=Matter.OTHER.rule,
        building_ids=[],
        entrance_ids=[],
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=7),
        created_by_id=make_staff(Role.COMPOUND, compound.id).id,
    )
    _db.session.add(vote)
    _db.session.flush()
    open_it(vote, confirm_unknown_owners=True)
    _db.session.flush()
    return vote


def owned(client, headers) -> list[str]:
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    return [d["label"] for d in response.json["resident"]["owned"]]


def links(report: dict, action: str) -> list[dict]:
    return [link for link in report["account_links"] if link["action"] == action]


# Through the API, as a committee and a resident see it -------------------------------------


def test_a_phone_signed_in_before_the_roster_named_it_sees_the_vote_at_once(
    client, compound, staff, phone_sign_in, make_staff
):
    upload(client, compound, roster_file(("101", ZHANG, OTHER_PHONE), ("102", LI, None)), staff)
    vote = open_vote(compound, make_staff)
    resident = phone_sign_in(PHONE)
    assert client.get(f"/api/v1/votes/{vote.id}", headers=resident).status_code == 404
    assert owned(client, resident) == []

    named = upload(
        client, compound, roster_file(("101", ZHANG, OTHER_PHONE), ("102", WANG, PHONE)), staff
    )

    assert named["report"]["summary"]["accounts_linked"] == 1
    assert links(named["report"], "linked") == [
        {
            "action": "linked",
            "owner": "王*",
            "phone": "138****0001",
            "reason": importer.LINKED,
        }
    ]
    assert "业主账号：关联 1 个，解除关联 0 个" in named["message"]
    # The very next request, without a new sign-in.
    assert client.get(f"/api/v1/votes/{vote.id}", headers=resident).status_code == 200
    assert owned(client, resident) == ["1栋1单元102"]

    removed = upload(
        client, compound, roster_file(("101", ZHANG, OTHER_PHONE), ("102", LI, None)), staff
    )

    assert removed["report"]["summary"]["accounts_unlinked"] == 1
    assert links(removed["report"], "unlinked") == [
        {
            "action": "unlinked",
            "owner": "王*",
            "phone": "138****0001",
            "reason": importer.UNLINKED_REMOVED,
        }
    ]
    assert client.get(f"/api/v1/votes/{vote.id}", headers=resident).status_code == 404
    assert owned(client, resident) == []
    # Signing in again does not bring the removed owner back.
    again = phone_sign_in(PHONE)
    assert client.get(f"/api/v1/votes/{vote.id}", headers=again).status_code == 404


def test_a_changed_phone_moves_the_link_and_the_new_phone_can_vote(
    client, compound, staff, phone_sign_in, make_staff
):
    upload(
        client,
        compound,
        roster_file(("101", ZHANG, OTHER_PHONE), ("102", LI, "13700000003")),
        staff,
    )
    old_phone = phone_sign_in("13700000003")
    vote = open_vote(compound, make_staff)
    new_phone = phone_sign_in(PHONE)
    assert client.get(f"/api/v1/votes/{vote.id}/my-ballots", headers=new_phone).status_code == 404

    result = upload(
        client, compound, roster_file(("101", ZHANG, OTHER_PHONE), ("102", LI, PHONE)), staff
    )

    summary = result["report"]["summary"]
    assert (summary["accounts_linked"], summary["accounts_unlinked"]) == (1, 1)
    assert [
        (link["action"], link["phone"], link["reason"])
        for link in result["report"]["account_links"]
    ] == [
        ("unlinked", "137****0003", importer.UNLINKED_PHONE),
        ("linked", "138****0001", importer.LINKED),
    ]
    mine = client.get(f"/api/v1/votes/{vote.id}/my-ballots", headers=new_phone)
    assert mine.status_code == 200
    assert [ballot["dwellings"] for ballot in mine.json] == ["1栋1单元102"]
    cast = client.post(
        f"/api/v1/votes/{vote.id}/ballots", json={"choice": "agree"}, headers=new_phone
    )
    assert cast.status_code == 201, cast.json
    assert client.get(f"/api/v1/votes/{vote.id}", headers=old_phone).status_code == 404


def test_a_dry_run_tells_the_links_and_writes_none(client, compound, staff, phone_sign_in):
    phone_sign_in(PHONE)

    preview = upload(client, compound, roster_file(("101", ZHANG, PHONE)), staff, dry_run="true")

    assert preview["report"]["summary"]["accounts_linked"] == 1
    assert links(preview["report"], "linked")[0]["phone"] == "138****0001"
    assert preview["message"].startswith("试导入")
    assert _db.session.query(Owner).filter_by(compound_id=compound.id).count() == 0


# Links made by claims ------------------------------------------------------------------------


def _claim(account, owner, dwelling_id) -> None:
    _db.session.add(
        DwellingClaim(
            account_id=account.id,
            compound_id=owner.compound_id,
            dwelling_id=dwelling_id,
            kind=ClaimKind.OWNER,
            name=owner.name,
            id_last4=owner.id_last4,
            status=ClaimStatus.APPROVED,
        )
    )
    _db.session.flush()


def _owner(compound, name: str) -> Owner:
    return _db.session.query(Owner).filter_by(compound_id=compound.id, name=name).one()


def test_a_link_an_approved_claim_still_backs_is_kept_when_the_phone_changes(
    compound, make_account
):
    importer.import_roster_file(compound.id, "a.csv", roster_file(("101", LI, PHONE)))
    account = make_account(PHONE)
    li = _owner(compound, "李四")
    li.account_id = account.id  # signed in with the roster's phone, and had a claim approved
    _claim(account, li, li.ownerships[0].dwelling_id)

    result = importer.import_roster_file(
        compound.id, "b.csv", roster_file(("101", LI, OTHER_PHONE))
    )

    assert result.report["summary"]["accounts_unlinked"] == 0
    assert links(result.report, "kept") == [
        {"action": "kept", "owner": "李*", "phone": "138****0001", "reason": importer.KEPT_CLAIM}
    ]
    _db.session.expire_all()
    assert _owner(compound, "李四").account_id == account.id


def test_a_claim_is_no_longer_backing_once_its_dwelling_changes_hands(compound, make_account):
    importer.import_roster_file(
        compound.id, "a.csv", roster_file(("101", LI, PHONE), ("102", LI, PHONE))
    )
    account = make_account(PHONE)
    li = _owner(compound, "李四")
    li.account_id = account.id
    claimed = next(o.dwelling_id for o in li.ownerships if o.dwelling.room == "101")
    _claim(account, li, claimed)

    # 101 goes to 王五 and 李四 changes phone: the claim (on 101) no longer holds.
    result = importer.import_roster_file(
        compound.id, "b.csv", roster_file(("101", WANG, None), ("102", LI, OTHER_PHONE))
    )

    assert [link["action"] for link in result.report["account_links"]] == ["unlinked"]
    _db.session.expire_all()
    assert _owner(compound, "李四").account_id is None


def test_a_link_not_made_by_phone_is_left_to_the_committee(compound, make_account):
    importer.import_roster_file(compound.id, "a.csv", roster_file(("101", LI, None)))
    account = make_account(PHONE)  # the owner has no phone in the roster: a claim linked it
    li = _owner(compound, "李四")
    li.account_id = account.id
    _db.session.flush()

    result = importer.import_roster_file(compound.id, "b.csv", roster_file(("101", WANG, None)))

    assert result.report["summary"]["accounts_unlinked"] == 0
    assert links(result.report, "kept") == [
        {
            "action": "kept",
            "owner": "李*",
            "phone": "138****0001",
            "reason": importer.KEPT_NOT_BY_PHONE,
        }
    ]
    _db.session.expire_all()
    assert _owner(compound, "李四").account_id == account.id


def test_linking_takes_no_statement_per_owner(compound):
    rooms = [f"{floor}0{n}" for floor in range(1, 7) for n in (1, 2)]
    people = [
        (f"业主{i}", resident_id(f"11010519800101{i:03d}"), f"1380000{i:04d}")
        for i in range(len(rooms))
    ]
    for _, _, phone in people:
        _db.session.add(Account(phone=phone))
    _db.session.flush()
    content = roster_file(
        *((room, (n, i), p) for room, (n, i, p) in zip(rooms, people, strict=True))
    )
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        result = importer.import_roster_file(compound.id, "a.csv", content)
    finally:
        event.remove(_db.engine, "before_cursor_execute", count)
    assert result.report["summary"]["accounts_linked"] == len(rooms)
    assert len(statements) <= 20, len(statements)
