"""A contested vote (DESIGN.md, "Contested votes"): owners object from the phone during 公示,
the committee answers each publicly, an upheld objection corrects the count (a ballot voided,
a paper ballot signed in time admitted), the result is republished with a new objection
period, and ``votes verify`` checks every step from the record."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.notices.models import Notice, Objection, ObjectionPhoto
from participation.votes import record
from participation.votes.models import (
    Ballot,
    Channel,
    Choice,
    Matter,
    VoteEvent,
    VotePerson,
    VotePersonDwelling,
    VoteStatus,
)
from participation.votes.services import record_cast

JPEG = b"\xff\xd8\xff\xe0" + b"photo of the notice board" * 10


@pytest.fixture
def client(scoped_client):
    return scoped_client


def labels_by_area(vote) -> list[str]:
    """The room labels of the vote's persons (each of one dwelling here), largest first."""
    return list(
        _db.session.scalars(
            sa.select(VotePersonDwelling.label)
            .filter_by(vote_id=vote.id)
            .order_by(VotePersonDwelling.area.desc(), VotePersonDwelling.label)
        )
    )


def person_of(vote, label: str) -> int:
    return _db.session.scalar(
        sa.select(VotePersonDwelling.person_id).filter_by(vote_id=vote.id, label=label)
    )


@pytest.fixture
def case(sample_compound, make_vote, make_staff, owner_account, sign_in):
    """A 2栋 elevator vote (22 persons, civil_code_major): the 14 largest persons agreed
    online, one short of the two-thirds quorum by headcount; closed. ``late`` is the 15th
    largest, whose paper ballot, signed before the closing time, was never entered."""
    vote = make_vote(
        sample_compound,
        buildings=("2",),
        matter=Matter.ELEVATOR,
        open=True,
        opens_at=utcnow() - timedelta(days=2),
    )
    assert _db.session.scalar(sa.select(sa.func.count()).where(VotePerson.vote_id == vote.id)) == 22
    labels = labels_by_area(vote)
    for label in labels[:14]:
        record_cast(vote.id, person_of(vote, label), Choice.AGREE, Channel.ONLINE)
    vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    committee = make_staff(Role.COMPOUND, sample_compound.id)
    late = labels[14]
    return SimpleNamespace(
        vote=vote,
        compound=sample_compound,
        late=late,
        as_committee=sign_in(committee),
        as_late=sign_in(owner_account(sample_compound, late)),
        as_other_building=sign_in(owner_account(sample_compound, "1栋1单元101")),
    )


def post(client, url, headers, **body):
    return client.post(f"/api/v1{url}", headers=headers, json=body)


def refused(response, status: int, code: str) -> None:
    assert (response.status_code, response.json["code"]) == (status, code), response.json
    assert response.json["message"]


def publish(client, case):
    response = post(client, f"/votes/{case.vote.id}/publish", case.as_committee)
    assert response.status_code == 200, response.json
    return response.json


def object_(client, case, headers=None, summary="截止前我已签纸质票，但结果中没有计入", photos=()):
    data = {"summary": summary, "photos": [(io.BytesIO(c), name) for c, name in photos]}
    return client.post(
        f"/api/v1/votes/{case.vote.id}/my-objections",
        data=data,
        headers=headers or case.as_late,
        content_type="multipart/form-data",
    )


def answer(client, case, objection_id, verdict="upheld", resolution="经核实，纸质票确于截止前签署"):
    return post(
        client,
        f"/objections/{objection_id}/resolve",
        case.as_committee,
        verdict=verdict,
        resolution=resolution,
    )


def admit(client, case, objection_id, signed_at=None, **fields):
    signed_at = signed_at or case.vote.closes_at - timedelta(hours=1)
    data = {
        "dwelling": case.late,
        "choice": "agree",
        "signed_at": signed_at.isoformat(),
        "reason": "纸质票于截止前签署，漏录",
        "photo": (io.BytesIO(JPEG), "ballot.jpg"),
        **fields,
    }
    return client.post(
        f"/api/v1/objections/{objection_id}/paper-ballots",
        data={k: v for k, v in data.items() if v is not None},
        headers=case.as_committee,
        content_type="multipart/form-data",
    )


def notice(client, case) -> dict:
    response = client.get(f"/api/v1/public/votes/{case.vote.id}/notice")
    assert response.status_code == 200, response.json
    return response.json


def counts() -> tuple[int, int, int]:
    """(objections, casts and corrections in the record, photos)."""
    return (
        _db.session.scalar(sa.select(sa.func.count(Objection.id))),
        _db.session.scalar(
            sa.select(sa.func.count(VoteEvent.id)).where(VoteEvent.kind.in_(("cast", "void")))
        ),
        _db.session.scalar(sa.select(sa.func.count(ObjectionPhoto.id))),
    )


def test_an_upheld_objection_admits_a_paper_ballot_and_the_vote_passes(client, case):
    first = publish(client, case)
    _db.session.refresh(case.vote)
    assert case.vote.result["passed"] is False and case.vote.result["p_cnt"] == 14

    filed = object_(client, case, photos=[(JPEG, "签字票.jpg")])
    assert filed.status_code == 201, filed.json
    objection = filed.json
    assert objection["filer"].startswith("2栋") and objection["filer"].endswith("业主")
    assert objection["verdict"] is None and len(objection["photos"]) == 1

    # Not yet answered: no correction, no final result.
    refused(admit(client, case, objection["id"]), 409, "objection_not_upheld")
    refused(post(client, f"/votes/{case.vote.id}/finalize", case.as_committee), 409,
            "objection_period_running")  # fmt: skip
    answered = answer(client, case, objection["id"])
    assert (answered.status_code, answered.json["verdict"]) == (200, "upheld")

    admitted = admit(client, case, objection["id"])
    assert admitted.status_code == 201, admitted.json
    assert admitted.json["channel"] == "paper"
    _db.session.expire_all()
    vote = case.vote
    assert vote.status is VoteStatus.PUBLISHED
    assert (vote.result["p_cnt"], vote.result["quorum_met"], vote.result["passed"]) == (
        15,
        True,
        True,
    )
    assert vote.published_at > utcnow() - timedelta(minutes=1)
    assert vote.objection_until > datetime.fromisoformat(first["objection_until"])  # restarted
    cast = _db.session.scalar(sa.select(VoteEvent).filter_by(receipt=admitted.json["receipt"]))
    assert (cast.objection_id, cast.note) == (objection["id"], "纸质票于截止前签署，漏录")
    assert cast.signed_at == vote.closes_at - timedelta(hours=1)
    assert cast.created_at > vote.closes_at  # entered after the closing time, counted

    report = record.verify(vote.id)
    assert report.ok, report.problems
    kinds = list(
        _db.session.scalars(
            sa.select(VoteEvent.kind).filter_by(vote_id=vote.id).order_by(VoteEvent.id)
        )
    )
    assert kinds[-3:] == ["published", "cast", "published"]
    assert report.pending == 0  # republishing sealed the correction

    shown = notice(client, case)
    assert shown["result"]["passed"] is True
    assert [c["action"] for c in shown["corrections"]] == ["paper_ballot"]
    (item,) = shown["objections"]["items"]
    assert (item["verdict"], item["answer"]) == ("upheld", "经核实，纸质票确于截止前签署")
    board = _db.session.scalar(sa.select(Notice).filter_by(source=f"vote:{vote.id}:result"))
    assert board.title.startswith("更正后重新公示") and board.pinned
    page = client.get(f"/notices/votes/{vote.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "更正记录" in text and "补录一张截止前签署的纸质票" in text and "异议成立" in text

    # The new objection period runs: finalising waits for it.
    refused(post(client, f"/votes/{vote.id}/finalize", case.as_committee), 409,
            "objection_period_running")  # fmt: skip
    vote.objection_until = utcnow() - timedelta(microseconds=1)
    _db.session.commit()
    final = post(client, f"/votes/{vote.id}/finalize", case.as_committee)
    assert (final.status_code, final.json["status"]) == (200, "final")


def test_an_upheld_objection_voids_a_ballot_and_the_owner_falls_back(client, case):
    """An owner who cast twice: the later cast is voided (say, cast by someone not entitled),
    the earlier one counts again; the receipt says voided; voiding twice is refused."""
    vote = case.vote
    vote.closes_at = utcnow() + timedelta(minutes=5)
    _db.session.flush()
    person = person_of(vote, case.late)
    earlier = record_cast(vote.id, person, Choice.DISAGREE, Channel.ONLINE)
    later = record_cast(vote.id, person, Choice.AGREE, Channel.ONLINE)
    vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    publish(client, case)
    _db.session.refresh(vote)
    assert (vote.result["p_cnt"], vote.result["y_cnt"]) == (15, 15)

    objection = post(client, f"/votes/{vote.id}/objections", case.as_committee, summary="代投")
    assert answer(client, case, objection.json["id"], resolution="非本人投票").status_code == 200
    voided = post(
        client,
        f"/objections/{objection.json['id']}/voids",
        case.as_committee,
        receipt=later.receipt.lower(),
        reason="经核实非业主本人投票",
    )
    assert voided.status_code == 200, voided.json
    _db.session.expire_all()
    ballot = _db.session.get(Ballot, (vote.id, person))
    assert (ballot.event_id, ballot.choice) == (earlier.event_id, Choice.DISAGREE)
    assert (vote.result["p_cnt"], vote.result["y_cnt"]) == (15, 14)
    assert record.verify(vote.id).ok, record.verify(vote.id).problems

    receipt = client.get(f"/api/v1/public/votes/{vote.id}/receipts/{later.receipt}").json
    assert (receipt["voided"], receipt["counted"]) == (True, False)
    assert receipt["void_reason"] == "经核实非业主本人投票"
    refused(
        post(client, f"/objections/{objection.json['id']}/voids", case.as_committee,
             receipt=later.receipt, reason="再次作废"),
        409,
        "cast_voided",
    )  # fmt: skip
    assert [c["action"] for c in notice(client, case)["corrections"]] == ["void"]


def test_the_owners_objection_is_public_but_masked(client, case, sample_compound):
    publish(client, case)
    filed = object_(client, case, summary="徐丽华 19018159083 反映通知未张贴")
    assert filed.status_code == 201, filed.json
    (item,) = notice(client, case)["objections"]["items"]
    assert item["summary"] == "徐** 190******83 反映通知未张贴"
    assert "室" not in item["filer"] and item["filer"].endswith("业主")
    mine = client.get(f"/api/v1/votes/{case.vote.id}/my-objections", headers=case.as_late)
    assert [o["id"] for o in mine.json] == [filed.json["id"]]
    assert client.get(
        f"/api/v1/votes/{case.vote.id}/my-objections", headers=case.as_other_building
    ).json == []


def test_objection_photos_reach_the_committee_and_the_filer_only(client, case):
    publish(client, case)
    filed = object_(client, case, photos=[(JPEG, "a.jpg")]).json
    url = filed["photos"][0]["url"]
    for headers in (case.as_late, case.as_committee):
        response = client.get(url, headers=headers)
        assert (response.status_code, response.data) == (200, JPEG)
    assert client.get(url, headers=case.as_other_building).status_code == 404


@pytest.mark.parametrize(
    ("who", "setup", "fields", "status", "code"),
    [
        ("late", "open", {}, 409, "vote_not_published"),
        ("late", "over", {}, 409, "objection_period_over"),
        ("other_building", "published", {}, 403, "not_an_owner"),
        ("committee", "published", {}, 403, "resident_only"),
        ("late", "published", {"summary": "  "}, 422, "validation_error"),
        ("late", "published", {"photos": [(JPEG, f"{i}.jpg") for i in range(7)]}, 422,
         "too_many_photos"),
        ("late", "published", {"photos": [(b"GIF89a...", "a.gif")]}, 415,
         "unsupported_file_type"),
    ],
)  # fmt: skip
def test_bad_objections_are_refused_and_nothing_written(client, case, who, setup, fields, status,
                                                        code):  # fmt: skip
    if setup != "open":
        publish(client, case)
    if setup == "over":
        case.vote.objection_until = utcnow() - timedelta(microseconds=1)
        _db.session.commit()
    refused(object_(client, case, headers=getattr(case, f"as_{who}"), **fields), status, code)
    assert counts()[0] == counts()[2] == 0


def test_an_owner_with_three_unanswered_objections_waits(client, case):
    publish(client, case)
    for n in range(3):
        assert object_(client, case, summary=f"异议 {n}").status_code == 201
    refused(object_(client, case), 409, "too_many_objections")
    assert counts()[0] == 3


def test_corrections_need_an_upheld_objection(client, case):
    publish(client, case)
    objection = object_(client, case).json
    assert answer(client, case, objection["id"], verdict="not_upheld").status_code == 200
    before = counts()
    refused(admit(client, case, objection["id"]), 409, "objection_not_upheld")
    refused(
        post(client, f"/objections/{objection['id']}/voids", case.as_committee,
             event_id=1, reason="x"),
        409,
        "objection_not_upheld",
    )  # fmt: skip
    assert counts() == before


@pytest.mark.parametrize(
    ("offset", "code"),
    [
        (timedelta(0), "signed_after_closing"),  # at the closing instant: too late
        (timedelta(days=3), "signed_in_future"),
        (-timedelta(days=30), "signed_before_opening"),
    ],
)
def test_an_admitted_paper_ballot_must_be_signed_while_the_vote_was_open(
    client, case, offset, code
):
    publish(client, case)
    objection = object_(client, case).json
    answer(client, case, objection["id"])
    before = counts()
    refused(admit(client, case, objection["id"], signed_at=case.vote.closes_at + offset), 422, code)
    assert counts() == before
    _db.session.refresh(case.vote)
    assert case.vote.result["p_cnt"] == 14


def test_a_correction_by_another_compound_or_a_resident_is_refused(
    client, case, make_compound, make_staff, sign_in
):
    publish(client, case)
    objection = object_(client, case).json
    answer(client, case, objection["id"])
    other = sign_in(make_staff(Role.COMPOUND, make_compound("邻小区").id))
    community = sign_in(make_staff(Role.COMMUNITY, case.compound.community_id))
    url = f"/objections/{objection['id']}/voids"
    assert post(client, url, other, event_id=1, reason="x").status_code == 404
    refused(post(client, url, community, event_id=1, reason="x"), 403, "committee_only")
    refused(post(client, url, case.as_late, event_id=1, reason="x"), 403, "committee_only")
    before = counts()
    refused(post(client, url, case.as_committee, reason="x"), 422, "cast_required")
    refused(post(client, url, case.as_committee, receipt="AAAAAAAAAA", reason="x"), 422,
            "unknown_cast")  # fmt: skip
    assert counts() == before


# Concurrency (real PostgreSQL, own database and app) ------------------------------------------


def _closed_vote(persons: int) -> tuple[int, str, list[str]]:
    """A closed compound-wide vote of ``persons`` owners (one dwelling each, 1栋1单元101…),
    none of whom cast yet; its id, a committee token and the room labels; committed."""
    from flask import current_app

    from participation.auth.models import RoleAssignment, StaffUser, SubjectKind
    from participation.auth.tokens import issue_tokens
    from participation.roster.models import (
        Building,
        Community,
        Compound,
        District,
        Dwelling,
        Entrance,
        Owner,
        Ownership,
        Street,
    )  # fmt: skip
    from participation.votes.models import Vote
    from participation.votes.services import open_vote

    district = District(name="区")
    compound = Compound(
        community=Community(street=Street(district=district, name="街道"), name="社区"),
        name="小区",
    )
    _db.session.add(compound)
    _db.session.flush()
    building = Building(compound_id=compound.id, number="1")
    _db.session.add(building)
    _db.session.flush()
    entrance = Entrance(building_id=building.id, number="1")
    staff = StaffUser(username="committee", password_hash="-", display_name="业委会")
    staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
    _db.session.add_all([entrance, staff])
    _db.session.flush()
    for n in range(persons):
        owner = Owner(compound_id=compound.id, name=f"业主{n}", id_hash=f"h{n}", id_last4="0000")
        dwelling = Dwelling(
            compound_id=compound.id, building_id=building.id, entrance_id=entrance.id,
            floor=1, room=f"1{n:02d}", area=Decimal("80.00"),
        )  # fmt: skip
        _db.session.add_all([owner, dwelling, Ownership(owner=owner, dwelling=dwelling)])
    now = utcnow()
    vote = Vote(compound_id=compound.id, title="加装电梯", matter=Matter.OTHER,
                rule=Matter.OTHER.rule, created_by_id=staff.id,
                opens_at=now - timedelta(hours=2), closes_at=now + timedelta(days=1))  # fmt: skip
    _db.session.add(vote)
    _db.session.flush()
    open_vote(vote)
    vote.closes_at = utcnow() - timedelta(microseconds=1)
    with current_app.test_request_context():
        token = issue_tokens(SubjectKind.STAFF, staff.id)["access_token"]
    _db.session.commit()
    return vote.id, token, [f"1栋1单元1{n:02d}" for n in range(persons)]


def _at_once(race_app, requests: list[tuple[str, dict]], token: str) -> list[tuple[int, dict]]:
    """POST each (url, multipart form or JSON body) from its own thread, all at once."""
    barrier = threading.Barrier(len(requests))
    outcomes: list[tuple[int, dict] | None] = [None] * len(requests)

    def call(index: int, url: str, body: dict):
        client = race_app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        form = "photo" in body
        if form:
            body = {**body, "photo": (io.BytesIO(JPEG), "ballot.jpg")}
        barrier.wait()
        if form:
            response = client.post(url, data=body, headers=headers,
                                   content_type="multipart/form-data")  # fmt: skip
        else:
            response = client.post(url, json=body, headers=headers)
        outcomes[index] = (response.status_code, response.json)

    workers = [
        threading.Thread(target=call, args=(i, url, body)) for i, (url, body) in enumerate(requests)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


@pytest.mark.postgres
def test_paper_ballots_entered_as_the_result_is_published_are_counted_or_refused(race_app):
    """In the counting period, six paper ballots are entered while the committee publishes:
    each entry is either in the published result or refused (counting_over) — never
    accepted and left out; the record verifies."""
    with race_app.app_context():
        vote_id, token, labels = _closed_vote(6)
        signed = (utcnow() - timedelta(hours=1)).isoformat()
    entries = [
        (f"/api/v1/votes/{vote_id}/paper-ballots",
         {"dwelling": label, "choice": "agree", "signed_at": signed, "photo": None})
        for label in labels
    ]  # fmt: skip
    outcomes = _at_once(race_app, [*entries, (f"/api/v1/votes/{vote_id}/publish", {})], token)
    *entered, published = outcomes
    assert published[0] == 200, published
    accepted = [o for o in entered if o[0] == 201]
    assert all(o[0] == 201 or o[1]["code"] == "counting_over" for o in entered), entered
    with race_app.app_context():
        from participation.votes.models import Vote

        vote = _db.session.get(Vote, vote_id)
        assert vote.status is VoteStatus.PUBLISHED
        assert vote.result["p_cnt"] == vote.result["y_cnt"] == len(accepted)
        report = record.verify(vote_id)
        assert report.ok and report.pending == 0, report.problems


@pytest.mark.postgres
def test_committee_members_voiding_one_ballot_at_once_void_it_once(race_app):
    with race_app.app_context():
        vote_id, token, labels = _closed_vote(3)
        from participation.votes.models import Vote

        vote = _db.session.get(Vote, vote_id)
        vote.closes_at = utcnow() + timedelta(minutes=5)
        _db.session.flush()
        person = person_of(vote, labels[0])
        cast = record_cast(vote_id, person, Choice.AGREE, Channel.ONLINE)
        vote.closes_at = utcnow() - timedelta(microseconds=1)
        _db.session.commit()
    client = race_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(f"/api/v1/votes/{vote_id}/publish", headers=headers).status_code == 200
    objection = client.post(
        f"/api/v1/votes/{vote_id}/objections", headers=headers, json={"summary": "代投"}
    ).json
    client.post(f"/api/v1/objections/{objection['id']}/resolve", headers=headers,
                json={"verdict": "upheld", "resolution": "属实"})  # fmt: skip
    void = (f"/api/v1/objections/{objection['id']}/voids",
            {"receipt": cast.receipt, "reason": "非本人投票"})  # fmt: skip
    outcomes = _at_once(race_app, [void] * 5, token)
    codes = sorted((status, body.get("code")) for status, body in outcomes)
    assert codes == [(200, None)] + [(409, "cast_voided")] * 4, codes
    with race_app.app_context():
        voids = _db.session.scalar(
            sa.select(sa.func.count()).where(VoteEvent.vote_id == vote_id, VoteEvent.kind == "void")
        )
        assert voids == 1
        assert _db.session.get(Vote, vote_id).result["p_cnt"] == 0
        assert record.verify(vote_id).ok
