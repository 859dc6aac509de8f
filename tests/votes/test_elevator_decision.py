"""One elevator decision (issue 18, item 5): an elevator vote that takes common parts links a
compound-wide vote, opens only once that vote is open, and passes only if both pass — in the
tally, the resident progress, the vote's view, the 公示 notice and its page, and the cost plan.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.votes.decision import combine, linked_passed
from participation.votes.models import (
    Channel,
    Choice,
    Matter,
    Vote,
    VoteEvent,
    VotePerson,
    VoteStatus,
)
from participation.votes.services import record_cast

API = "/api/v1"


@pytest.fixture
def client(scoped_client):
    return scoped_client


@pytest.fixture
def staff(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


@pytest.fixture
def elevator(sample_compound, make_vote):
    """A draft elevator vote for building 2 of the sample roster."""
    return make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, title="2栋加装电梯")


def put_plan(client, vote, headers, **fields):
    body = {"total_cost": "600000.00", "subsidy": "200000.00", "takes_common_parts": True}
    return client.put(f"{API}/votes/{vote.id}/cost-plan", json={**body, **fields}, headers=headers)


def open_by_api(client, vote, headers):
    return client.post(
        f"{API}/votes/{vote.id}/open", json={"confirm_unknown_owners": True}, headers=headers
    )


def cast_all(vote: Vote, choice: Choice) -> None:
    for person_id in _db.session.scalars(sa.select(VotePerson.id).filter_by(vote_id=vote.id)):
        record_cast(vote.id, person_id, choice, Channel.ONLINE)


def close(client, vote: Vote, headers) -> None:
    """Past its closing time; the tally's read closes it and stores its result."""
    vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    assert client.get(f"{API}/votes/{vote.id}/tally", headers=headers).status_code == 200
    _db.session.refresh(vote)
    assert vote.status is VoteStatus.CLOSED and vote.result is not None


def linked_elevator(client, staff, elevator, linked) -> Vote:
    """``elevator`` linked to ``linked`` (opened already), opened, every owner agreeing: its
    own rule passes once closed."""
    assert put_plan(client, elevator, staff, common_parts_vote_id=linked.id).status_code == 200
    response = open_by_api(client, elevator, staff)
    assert response.status_code == 200, response.json
    _db.session.refresh(elevator)
    cast_all(elevator, Choice.AGREE)
    close(client, elevator, staff)
    assert elevator.result["passed"] is True
    return elevator


def reported(client, vote: Vote, staff) -> dict:
    """The decision as each place reports it; the notice after publishing."""
    v = f"{API}/votes/{vote.id}"
    tally = client.get(f"{v}/tally", headers=staff).json
    assert tally["passed"] is True  # the vote's own rule: its stored figures are unchanged
    places = {
        "tally": tally["decision"],
        "progress": client.get(f"{v}/progress", headers=staff).json["decision"],
        "view": client.get(v, headers=staff).json["decision"],
        "cost_plan": client.get(f"{v}/cost-plan", headers=staff).json["decision"],
    }
    published = client.post(f"{v}/publish", headers=staff)
    assert published.status_code == 200, published.json
    notice = client.get(f"{API}/public/votes/{vote.id}/notice").json
    assert notice["result"]["passed"] is True
    places["notice"] = notice["decision"]
    return places


def page(client, vote: Vote) -> str:
    response = client.get(f"/notices/votes/{vote.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# The link is checked when set ---------------------------------------------------------------


def test_a_link_to_a_building_scoped_vote_is_refused_and_nothing_written(
    client, staff, elevator, sample_compound, make_vote
):
    building_vote = make_vote(sample_compound, buildings=("1",), matter=Matter.CHANGE_COMMON_USE)
    response = put_plan(client, elevator, staff, common_parts_vote_id=building_vote.id)
    assert (response.status_code, response.json["code"]) == (422, "common_parts_vote_invalid")
    assert "全小区" in response.json["message"]
    assert response.json["errors"]["common_parts_vote_id"]
    _db.session.expire_all()
    row = _db.session.get(Vote, elevator.id)
    assert (row.common_parts_vote_id, row.takes_common_parts, row.total_cost) == (None, False, None)


@pytest.mark.parametrize("matter", [Matter.CHANGE_COMMON_USE, Matter.REBUILD, Matter.OTHER])
def test_matters_on_common_parts_may_be_linked(
    client, staff, elevator, sample_compound, make_vote, matter
):
    compound_vote = make_vote(sample_compound, matter=matter)
    response = put_plan(client, elevator, staff, common_parts_vote_id=compound_vote.id)
    assert response.status_code == 200, response.json
    assert response.json["common_parts_vote"]["id"] == compound_vote.id


@pytest.mark.parametrize("matter", [Matter.PROPERTY_SERVICE, Matter.USE_MAINTENANCE_FUND])
def test_other_matters_may_not_be_linked(
    client, staff, elevator, sample_compound, make_vote, matter
):
    compound_vote = make_vote(sample_compound, matter=matter)
    response = put_plan(client, elevator, staff, common_parts_vote_id=compound_vote.id)
    assert (response.status_code, response.json["code"]) == (422, "common_parts_vote_invalid")


def test_a_linked_draft_cannot_be_edited_out_of_the_whole_compound(
    client, staff, elevator, sample_compound, make_vote
):
    linked = make_vote(sample_compound, matter=Matter.CHANGE_COMMON_USE)
    assert put_plan(client, elevator, staff, common_parts_vote_id=linked.id).status_code == 200
    building = _db.session.get(Vote, elevator.id).building_ids
    response = client.patch(
        f"{API}/votes/{linked.id}", json={"building_ids": building}, headers=staff
    )
    assert (response.status_code, response.json["code"]) == (422, "common_parts_vote_invalid")
    assert "2栋加装电梯" in response.json["message"]
    _db.session.expire_all()
    assert _db.session.get(Vote, linked.id).building_ids == []
    # a change that keeps it a compound-wide vote on common parts is fine
    ok = client.patch(f"{API}/votes/{linked.id}", json={"title": "占用绿地"}, headers=staff)
    assert ok.status_code == 200, ok.json


# Opening ------------------------------------------------------------------------------------


def test_opening_with_the_linked_vote_a_draft_is_refused_and_the_vote_stays_a_draft(
    client, staff, elevator, sample_compound, make_vote
):
    linked = make_vote(sample_compound, matter=Matter.CHANGE_COMMON_USE)
    assert put_plan(client, elevator, staff, common_parts_vote_id=linked.id).status_code == 200
    response = open_by_api(client, elevator, staff)
    assert (response.status_code, response.json["code"]) == (409, "common_parts_vote_not_open")
    assert "尚未开启" in response.json["message"]
    _db.session.expire_all()
    row = _db.session.get(Vote, elevator.id)
    assert (row.status, row.opened_at, row.t_cnt) == (VoteStatus.DRAFT, None, None)
    persons = sa.select(sa.func.count()).select_from(VotePerson).filter_by(vote_id=elevator.id)
    assert _db.session.scalar(persons) == 0
    events = sa.select(sa.func.count()).select_from(VoteEvent).filter_by(vote_id=elevator.id)
    assert _db.session.scalar(events) == 0

    # once the compound-wide vote is open — even before it starts — the elevator vote opens
    from participation.votes.services import open_vote

    row = _db.session.get(Vote, linked.id)
    row.opens_at = utcnow() + timedelta(days=1)
    row.closes_at = utcnow() + timedelta(days=8)
    open_vote(row, confirm_unknown_owners=True)
    _db.session.flush()
    response = open_by_api(client, elevator, staff)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "open"


def test_opening_after_the_linked_vote_failed_is_refused(
    client, staff, elevator, sample_compound, make_vote
):
    linked = make_vote(sample_compound, matter=Matter.CHANGE_COMMON_USE, open=True)
    assert put_plan(client, elevator, staff, common_parts_vote_id=linked.id).status_code == 200
    close(client, linked, staff)  # nobody voted: failed
    response = open_by_api(client, elevator, staff)
    assert (response.status_code, response.json["code"]) == (409, "common_parts_vote_invalid")
    assert "未通过" in response.json["message"]
    _db.session.expire_all()
    assert _db.session.get(Vote, elevator.id).status is VoteStatus.DRAFT


# The decision -------------------------------------------------------------------------------


def test_linked_vote_failed_reports_failed_everywhere(
    client, staff, elevator, sample_compound, make_vote
):
    linked = make_vote(
        sample_compound, matter=Matter.CHANGE_COMMON_USE, open=True, title="占用绿地加装电梯"
    )
    linked_elevator(client, staff, elevator, linked)
    cast_all(linked, Choice.DISAGREE)
    close(client, linked, staff)
    assert linked.result["passed"] is False

    for place, decision in reported(client, elevator, staff).items():
        assert decision["own_passed"] is True, place
        assert decision["common_parts"] == {
            "vote_id": linked.id,
            "title": "占用绿地加装电梯",
            "status": "closed",
            "passed": False,
        }, place
        assert decision["passed"] is False, place
    plan = client.get(f"{API}/votes/{elevator.id}/cost-plan", headers=staff).json
    assert plan["common_parts_vote"]["passed"] is False
    html = page(client, elevator)
    assert "表决未通过" in html and "表决通过" not in html.replace("表决未通过", "")
    assert "占用绿地加装电梯" in html and "两项表决均通过" in html


def test_both_passed_reports_passed(client, staff, elevator, sample_compound, make_vote):
    linked = make_vote(sample_compound, matter=Matter.OTHER, open=True)
    linked_elevator(client, staff, elevator, linked)
    cast_all(linked, Choice.AGREE)
    close(client, linked, staff)

    for place, decision in reported(client, elevator, staff).items():
        assert (decision["own_passed"], decision["passed"]) == (True, True), place
        assert decision["common_parts"]["passed"] is True, place
    html = page(client, elevator)
    assert "✓ 表决通过" in html


def test_linked_vote_still_open_is_pending(client, staff, elevator, sample_compound, make_vote):
    linked = make_vote(
        sample_compound, matter=Matter.CHANGE_COMMON_USE, open=True, closes_in=timedelta(days=30)
    )
    linked_elevator(client, staff, elevator, linked)
    cast_all(linked, Choice.AGREE)  # the running split does not decide anything yet

    for place, decision in reported(client, elevator, staff).items():
        assert decision["own_passed"] is True, place
        assert decision["common_parts"]["status"] == "open", place
        assert decision["common_parts"]["passed"] is None, place
        assert decision["passed"] is None, place
    assert "表决结果待定" in page(client, elevator)

    # past its closing time but not yet closed by anyone: still pending, shown as closed
    row = _db.session.get(Vote, linked.id)
    row.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    decision = client.get(f"{API}/votes/{elevator.id}", headers=staff).json["decision"]
    assert decision["common_parts"]["status"] == "closed"
    assert decision["passed"] is None


def test_own_rule_failing_decides_at_once(client, staff, elevator, sample_compound, make_vote):
    linked = make_vote(sample_compound, matter=Matter.OTHER, open=True)
    assert put_plan(client, elevator, staff, common_parts_vote_id=linked.id).status_code == 200
    assert open_by_api(client, elevator, staff).status_code == 200
    close(client, elevator, staff)  # nobody voted
    decision = client.get(f"{API}/votes/{elevator.id}/tally", headers=staff).json["decision"]
    assert decision == {
        "own_passed": False,
        "common_parts": {
            "vote_id": linked.id,
            "title": "测试表决",
            "status": "open",
            "passed": None,
        },
        "passed": False,
    }


def test_votes_without_common_parts_decide_by_their_own_rule(
    client, staff, sample_compound, make_vote
):
    vote = make_vote(sample_compound, matter=Matter.OTHER, open=True)
    cast_all(vote, Choice.AGREE)
    view = client.get(f"{API}/votes/{vote.id}", headers=staff).json
    assert view["decision"] == {"own_passed": None, "common_parts": None, "passed": None}
    close(client, vote, staff)
    view = client.get(f"{API}/votes/{vote.id}", headers=staff).json
    assert view["decision"] == {"own_passed": True, "common_parts": None, "passed": True}


# The rule as a pure function ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("own", "needs_link", "linked", "passed"),
    [
        (None, False, None, None),
        (True, False, None, True),
        (False, False, None, False),
        (True, True, True, True),
        (True, True, False, False),
        (True, True, None, None),
        (False, True, None, False),
        (False, True, True, False),
        (None, True, False, False),
        (None, True, True, None),
    ],
)
def test_combine(own, needs_link, linked, passed):
    assert combine(own, needs_link, linked) is passed


def test_linked_passed():
    assert linked_passed(VoteStatus.OPEN, None) is None
    assert linked_passed(VoteStatus.CLOSED, {"passed": True}) is True
    assert linked_passed(VoteStatus.PUBLISHED, {"passed": False}) is False
    assert linked_passed(VoteStatus.CANCELLED, None) is False
