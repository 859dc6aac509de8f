"""The life of a vote through the API: draft, edit, open, cancel, materials, and what staff and
residents see of it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.auth.models import Role, Tenancy
from participation.common.schemas import SHANGHAI
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building, Dwelling
from participation.votes.models import (
    Matter,
    Vote,
    VoteAttachment,
    VoteEvent,
    VotePerson,
    VoteStatus,
)
from participation.votes.services import record_cast

PDF = b"%PDF-1.4\n plan of the elevator \n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def client(scoped_client):
    return scoped_client


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


def iso(delta: timedelta) -> str:
    return (utcnow() + delta).astimezone(SHANGHAI).isoformat()


def building_id(compound, number: str) -> int:
    return _db.session.scalar(
        sa.select(Building.id).filter_by(compound_id=compound.id, number=number)
    )


def draft(compound, **fields) -> dict:
    body = {
        "title": "2栋加装电梯",
        "description": "是否同意为2栋加装电梯",
        "matter": "elevator",
        "building_ids": [building_id(compound, "2")],
        "opens_at": iso(-timedelta(minutes=1)),
        "closes_at": iso(timedelta(days=7)),
    }
    body.update(fields)
    return body


def vote_count() -> int:
    return _db.session.scalar(sa.select(sa.func.count(Vote.id)))


# Drafts ------------------------------------------------------------------------------------


def test_staff_create_a_draft_and_list_it(client, sample_compound, committee):
    url = f"/api/v1/compounds/{sample_compound.id}/votes"
    created = client.post(url, json=draft(sample_compound), headers=committee)
    assert created.status_code == 201, created.json
    vote = created.json
    assert vote["status"] == "draft" and vote["rule"] == "civil_code_major"
    assert vote["objection_days"] == 7  # VOTE_OBJECTION_DAYS
    assert vote["t_cnt"] is None and vote["attachments"] == []
    assert vote["building_ids"] == [building_id(sample_compound, "2")]

    listed = client.get(url, headers=committee)
    assert [v["id"] for v in listed.json] == [vote["id"]]
    assert "X-Pagination" in listed.headers
    assert [v["id"] for v in client.get(f"{url}?status=draft", headers=committee).json] == [
        vote["id"]
    ]
    assert client.get(f"{url}?status=open", headers=committee).json == []


def test_matter_selects_the_rule(client, sample_compound, committee):
    body = draft(sample_compound, matter="property_service", building_ids=[])
    created = client.post(
        f"/api/v1/compounds/{sample_compound.id}/votes", json=body, headers=committee
    )
    assert created.json["rule"] == "civil_code_ordinary"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"closes_at": iso(-timedelta(days=1))}, "closes_before_opens", "closes_at"),
        (
            {"opens_at": iso(-timedelta(days=3)), "closes_at": iso(-timedelta(days=1))},
            "closes_in_past",
            "closes_at",
        ),
        ({"building_ids": []}, "elevator_scope_required", "building_ids"),
        ({"building_ids": [987654]}, "scope_invalid", "building_ids"),
        ({"entrance_ids": [987654]}, "scope_invalid", "entrance_ids"),
        ({"title": ""}, "validation_error", "title"),
        ({"matter": "lottery"}, "validation_error", "matter"),
        ({"objection_days": -1}, "validation_error", "objection_days"),
        ({"closes_at": "next week"}, "validation_error", "closes_at"),
        ({"t_cnt": 3}, "validation_error", "t_cnt"),
    ],
)
def test_bad_drafts_are_refused_and_nothing_is_written(
    client, sample_compound, committee, fields, code, field
):
    before = vote_count()
    response = client.post(
        f"/api/v1/compounds/{sample_compound.id}/votes",
        json=draft(sample_compound, **fields),
        headers=committee,
    )
    assert response.status_code == 422, response.json
    assert response.json["code"] == code
    assert field in response.json["errors"]
    assert vote_count() == before


def test_residents_and_neighbours_reach_no_draft(
    client, sample_compound, committee, make_compound, make_staff, sign_in, owner_account
):
    vote_id = client.post(
        f"/api/v1/compounds/{sample_compound.id}/votes",
        json=draft(sample_compound),
        headers=committee,
    ).json["id"]
    resident = sign_in(owner_account(sample_compound, "2栋1单元101"))
    neighbour = sign_in(make_staff(Role.COMPOUND, make_compound().id))
    for headers in (resident, neighbour):
        assert client.get(f"/api/v1/votes/{vote_id}", headers=headers).status_code == 404
        created = client.post(
            f"/api/v1/compounds/{sample_compound.id}/votes",
            json=draft(sample_compound),
            headers=headers,
        )
        assert created.status_code == 404
    district_staff = sign_in(
        make_staff(Role.DISTRICT, sample_compound.community.street.district_id)
    )
    assert client.get(f"/api/v1/votes/{vote_id}", headers=district_staff).status_code == 200


def test_only_a_draft_can_be_edited(client, sample_compound, committee, make_vote):
    vote = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR)
    url = f"/api/v1/votes/{vote.id}"
    edited = client.patch(url, json={"title": "2栋加装电梯（修订）"}, headers=committee)
    assert edited.status_code == 200, edited.json
    assert edited.json["title"] == "2栋加装电梯（修订）"
    assert edited.json["matter"] == "elevator"

    refused = client.patch(url, json={"building_ids": []}, headers=committee)
    assert refused.json["code"] == "elevator_scope_required"
    to_ordinary = client.patch(
        url, json={"matter": "use_maintenance_fund", "building_ids": []}, headers=committee
    )
    assert to_ordinary.json["rule"] == "civil_code_ordinary"
    assert to_ordinary.json["building_ids"] == []

    client.post(f"{url}/open", json={"confirm_unknown_owners": True}, headers=committee)
    late = client.patch(url, json={"title": "改"}, headers=committee)
    assert (late.status_code, late.json["code"]) == (409, "vote_not_draft")


# Opening -----------------------------------------------------------------------------------

# An elevator vote opens only with a cost plan or this declaration (test_campaign_rules.py).
NO_COST_PLAN = {"no_cost_plan": True, "no_cost_plan_reason": "费用由产权单位承担"}


def test_opening_freezes_the_electorate(client, sample_compound, committee, make_vote):
    vote = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, **NO_COST_PLAN)
    url = f"/api/v1/votes/{vote.id}/open"
    response = client.post(url, json={}, headers=committee)
    # building 2 has developer dwellings, but every sold one has a known owner
    assert response.status_code == 200, response.json
    opened = response.json
    assert (opened["status"], opened["t_cnt"], opened["t_area"]) == ("open", 22, "1814.14")
    assert (opened["unknown_owners"], opened["unknown_dwellings"]) == (0, [])
    assert opened["opened_at"] is not None and opened["accepting_casts"] is True
    again = client.post(url, json={}, headers=committee)
    assert (again.status_code, again.json["code"]) == (409, "vote_not_draft")


def test_unknown_owners_need_confirmation_and_nothing_is_written_before(
    client, make_compound, make_dwelling, make_staff, sign_in, make_vote
):
    compound = make_compound()
    make_dwelling(compound, room="101", owners=[make_dwelling.owner(compound)])
    make_dwelling(compound, room="102", area="90.50")  # sold, owner unknown
    committee = sign_in(make_staff(Role.COMPOUND, compound.id))
    vote = make_vote(compound)
    url = f"/api/v1/votes/{vote.id}/open"

    refused = client.post(url, json={"confirm_unknown_owners": False}, headers=committee)
    assert (refused.status_code, refused.json["code"]) == (409, "unknown_owners")
    assert refused.json["errors"] == {"dwellings": ["1栋1单元102"]}
    _db.session.refresh(vote)
    assert vote.status is VoteStatus.DRAFT and vote.t_cnt is None
    assert _db.session.scalar(sa.select(sa.func.count(VotePerson.id))) == 0

    opened = client.post(url, json={"confirm_unknown_owners": True}, headers=committee)
    assert opened.status_code == 200, opened.json
    assert (opened.json["t_cnt"], opened.json["t_area"]) == (2, "170.50")
    assert (opened.json["unknown_owners"], opened.json["unknown_dwellings"]) == (
        1,
        ["1栋1单元102"],
    )


def test_a_draft_whose_closing_time_passed_cannot_open(
    client, sample_compound, committee, make_vote
):
    vote = make_vote(sample_compound)
    vote.opens_at = utcnow() - timedelta(days=2)
    vote.closes_at = utcnow() - timedelta(days=1)
    response = client.post(f"/api/v1/votes/{vote.id}/open", json={}, headers=committee)
    assert (response.status_code, response.json["code"]) == (422, "closes_in_past")
    _db.session.refresh(vote)
    assert vote.status is VoteStatus.DRAFT


# What staff and residents see --------------------------------------------------------------


def test_residents_see_the_vote_itself_staff_also_the_totals(
    client, sample_compound, committee, make_vote, owner_account, sign_in
):
    vote = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, open=True)
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))  # outside the scope
    seen = client.get(f"/api/v1/votes/{vote.id}", headers=resident)
    assert seen.status_code == 200
    assert seen.json["status"] == "open" and seen.json["matter"] == "elevator"
    assert not {"t_cnt", "t_area", "created_by_id", "opened_at"} & set(seen.json)
    staff_view = client.get(f"/api/v1/votes/{vote.id}", headers=committee).json
    assert (staff_view["t_cnt"], staff_view["t_area"]) == (22, "1814.14")


@pytest.mark.parametrize("reader", ["committee", "resident"])
def test_reading_a_vote_past_its_closing_time_closes_it(
    client, sample_compound, committee, make_vote, owner_account, sign_in, reader
):
    vote = make_vote(sample_compound, buildings=("2",), open=True)
    account = owner_account(sample_compound, "2栋1单元101")
    person_id = _db.session.scalar(sa.select(VotePerson.id).filter_by(vote_id=vote.id))
    record_cast(vote.id, person_id, "agree", "online", account_id=account.id)
    vote.closes_at = utcnow() - timedelta(seconds=1)
    headers = committee if reader == "committee" else sign_in(account)
    seen = client.get(f"/api/v1/votes/{vote.id}", headers=headers)
    assert seen.json["status"] == "closed"
    _db.session.refresh(vote)
    assert vote.status is VoteStatus.CLOSED and vote.closed_at == vote.closes_at
    assert vote.result is not None


def test_my_votes_tell_whether_i_may_vote_and_have_voted(
    client, sample_compound, make_vote, owner_account, make_account, sign_in
):
    elevator = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, open=True)
    compound_wide = make_vote(sample_compound, open=True)
    make_vote(sample_compound, title="草稿")  # drafts are not shown
    owner = owner_account(sample_compound, "1栋1单元101")
    headers = sign_in(owner)
    person_id = _db.session.scalar(
        sa.select(VotePerson.id).filter_by(vote_id=compound_wide.id).order_by(VotePerson.id)
    )
    record_cast(compound_wide.id, person_id, "agree", "online", account_id=owner.id)

    listed = client.get("/api/v1/me/votes", headers=headers)
    assert listed.status_code == 200
    mine = {v["id"]: v for v in listed.json}
    assert set(mine) == {elevator.id, compound_wide.id}
    flags = ("eligible", "can_vote", "has_voted")
    assert [mine[elevator.id][f] for f in flags] == [False, False, False]  # 1栋 is outside
    assert [mine[compound_wide.id][f] for f in flags] == [True, True, True]

    tenant = make_account()
    dwelling = _db.session.scalar(sa.select(Dwelling).filter_by(compound_id=sample_compound.id))
    _db.session.add(Tenancy(account_id=tenant.id, dwelling_id=dwelling.id))
    tenant_view = client.get("/api/v1/me/votes", headers=sign_in(tenant)).json
    assert len(tenant_view) == 2 and not any(v["eligible"] for v in tenant_view)
    stranger = client.get("/api/v1/me/votes", headers=sign_in(make_account())).json
    assert stranger == []


def test_my_votes_are_for_residents(client, committee):
    response = client.get("/api/v1/me/votes", headers=committee)
    assert (response.status_code, response.json["code"]) == (403, "resident_only")


# Cancelling --------------------------------------------------------------------------------


def test_cancel_a_draft(client, sample_compound, committee, make_vote):
    vote = make_vote(sample_compound)
    response = client.post(f"/api/v1/votes/{vote.id}/cancel", headers=committee)
    assert (response.status_code, response.json["status"]) == (200, "cancelled")
    again = client.post(f"/api/v1/votes/{vote.id}/cancel", headers=committee)
    assert (again.status_code, again.json["code"]) == (409, "vote_not_cancellable")


def test_cancel_an_open_vote_before_anyone_cast(
    client, sample_compound, committee, make_vote, owner_account, sign_in
):
    vote = make_vote(sample_compound, open=True)
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    response = client.post(f"/api/v1/votes/{vote.id}/cancel", headers=committee)
    assert (response.status_code, response.json["status"]) == (200, "cancelled")
    kinds = _db.session.scalars(sa.select(VoteEvent.kind).filter_by(vote_id=vote.id)).all()
    assert kinds == ["opened", "cancelled"]
    assert client.get(f"/api/v1/votes/{vote.id}", headers=resident).status_code == 404
    cast = client.post(
        f"/api/v1/votes/{vote.id}/ballots", json={"choice": "agree"}, headers=resident
    )
    assert cast.status_code == 404


def test_a_vote_with_a_cast_runs_to_its_end(
    client, sample_compound, committee, make_vote, owner_account, sign_in
):
    vote = make_vote(sample_compound, open=True)
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    client.post(f"/api/v1/votes/{vote.id}/ballots", json={"choice": "agree"}, headers=resident)
    response = client.post(f"/api/v1/votes/{vote.id}/cancel", headers=committee)
    assert (response.status_code, response.json["code"]) == (409, "vote_has_ballots")
    _db.session.refresh(vote)
    assert vote.status is VoteStatus.OPEN


def test_residents_cannot_manage_votes(client, sample_compound, make_vote, owner_account, sign_in):
    vote = make_vote(sample_compound, open=True)
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    for method, path in (("PATCH", ""), ("POST", "/open"), ("POST", "/cancel")):
        response = client.open(
            f"/api/v1/votes/{vote.id}{path}", method=method, json={}, headers=resident
        )
        assert (response.status_code, response.json["code"]) == (403, "staff_only"), path


# Materials ---------------------------------------------------------------------------------


def upload(client, vote_id, headers, content=PDF, kind="plan", name="方案.pdf"):
    return client.post(
        f"/api/v1/votes/{vote_id}/attachments",
        data={"kind": kind, "file": (io.BytesIO(content), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_materials_are_attached_to_a_draft_and_downloaded_by_residents(
    client, sample_compound, committee, make_vote, owner_account, sign_in
):
    vote = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, **NO_COST_PLAN)
    created = upload(client, vote.id, committee)
    assert created.status_code == 201, created.json
    assert created.json["content_type"] == "application/pdf"
    assert created.json["filename"] == "方案.pdf"
    upload(client, vote.id, committee, PNG, "cost_estimate", "../../预算.png")
    client.post(f"/api/v1/votes/{vote.id}/open", json={}, headers=committee)

    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    seen = client.get(f"/api/v1/votes/{vote.id}", headers=resident).json
    assert [(a["kind"], a["filename"]) for a in seen["attachments"]] == [
        ("plan", "方案.pdf"),
        ("cost_estimate", "预算.png"),
    ]
    file = client.get(seen["attachments"][0]["url"], headers=resident)
    assert file.status_code == 200 and file.data == PDF
    assert file.mimetype == "application/pdf"
    assert "attachment" in file.headers["Content-Disposition"]

    late = upload(client, vote.id, committee)
    assert (late.status_code, late.json["code"]) == (409, "vote_not_draft")


@pytest.mark.parametrize(
    ("content", "kind", "status", "code"),
    [
        (b"MZ\x90\x00 not a document", "plan", 415, "unsupported_file_type"),
        (PDF + b"\x00" * (10 * 2**20), "plan", 413, "file_too_large"),
        (PDF, "paper_ballot", 422, "validation_error"),
    ],
)
def test_bad_materials_are_refused(
    client, sample_compound, committee, make_vote, content, kind, status, code
):
    vote = make_vote(sample_compound)
    response = upload(client, vote.id, committee, content, kind)
    assert (response.status_code, response.json["code"]) == (status, code)
    assert _db.session.scalar(sa.select(sa.func.count(VoteAttachment.id))) == 0


def test_paper_ballot_photos_are_for_staff_and_attachments_stay_with_their_vote(
    client, sample_compound, committee, make_vote, owner_account, sign_in
):
    vote = make_vote(sample_compound, open=True)
    other = make_vote(sample_compound, open=True)
    photo = VoteAttachment(
        vote_id=vote.id,
        kind="paper_ballot",
        filename="ballot.png",
        content_type="image/png",
        content=PNG,
        sha256="0" * 64,
    )
    _db.session.add(photo)
    _db.session.flush()
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    url = f"/api/v1/votes/{vote.id}/attachments/{photo.id}"
    assert client.get(url, headers=resident).status_code == 404
    assert client.get(url, headers=committee).status_code == 200
    assert client.get(f"/api/v1/votes/{vote.id}", headers=committee).json["attachments"] == []
    wrong_vote = f"/api/v1/votes/{other.id}/attachments/{photo.id}"
    assert client.get(wrong_vote, headers=committee).status_code == 404
