"""公示: publish a closed vote's result, record and resolve objections, finalise; the public
notice carries no personal data. (The same flow for surveys, and committee members acting at
once: tests/notices/test_publication.py.)"""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.notices.models import Objection
from participation.votes.models import (
    ChainEntry,
    Channel,
    Choice,
    Matter,
    VoteEvent,
    VotePersonDwelling,
    VoteStatus,
)
from participation.votes.services import record_cast

SAMPLE_ROSTER = Path(__file__).parent.parent / "data" / "roster-sample.csv"


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


@pytest.fixture
def vote(sample_compound, make_vote):
    """A 2栋 elevator vote in which 2栋1单元 (12 persons) agreed and 2栋2单元101 disagreed."""
    vote = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, open=True)
    labels = {f"2栋1单元{floor}0{room}": Choice.AGREE for floor in range(1, 7) for room in (1, 2)}
    labels["2栋2单元101"] = Choice.DISAGREE
    for label, choice in labels.items():
        person_id = _db.session.scalar(
            sa.select(VotePersonDwelling.person_id).filter_by(vote_id=vote.id, label=label)
        )
        record_cast(vote.id, person_id, choice, Channel.ONLINE)
    return vote


def close(vote) -> None:
    vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()


def end_objection_period(vote) -> None:
    vote.objection_until = utcnow() - timedelta(microseconds=1)
    _db.session.flush()


def post(client, url: str, headers: dict, **body):
    return client.post(f"/api/v1{url}", headers=headers, json=body)


def refused(response, status: int, code: str) -> None:
    assert (response.status_code, response.json["code"]) == (status, code), response.json
    assert response.json["message"]


def test_publish_objections_and_finalize(client, vote, committee):
    v = f"/votes/{vote.id}"
    refused(post(client, f"{v}/publish", committee), 409, "vote_not_closed")
    refused(post(client, f"{v}/objections", committee, summary="异议"), 409, "vote_not_published")

    close(vote)  # closed when publishing reads it
    published = post(client, f"{v}/publish", committee)
    assert published.status_code == 200, published.json
    _db.session.refresh(vote)
    assert vote.status is VoteStatus.PUBLISHED and vote.result["p_cnt"] == 13
    assert vote.objection_until - vote.published_at == timedelta(days=7)
    assert published.json["status"] == "published"
    # The record was sealed before publishing: every event is in the chain.
    events = _db.session.scalar(sa.select(sa.func.count()).where(VoteEvent.vote_id == vote.id))
    sealed = _db.session.scalar(sa.select(sa.func.count()).where(ChainEntry.vote_id == vote.id))
    assert sealed == events > 13
    refused(post(client, f"{v}/publish", committee), 409, "vote_not_closed")
    refused(post(client, f"{v}/finalize", committee), 409, "objection_period_running")

    first = post(client, f"{v}/objections", committee, summary="  2栋2单元102 称未收到通知  ")
    assert first.status_code == 201, first.json
    assert first.json["summary"] == "2栋2单元102 称未收到通知"
    assert first.json["resolved_at"] is None
    resolve = f"/objections/{first.json['id']}/resolve"
    resolved = post(
        client, resolve, committee, verdict="not_upheld", resolution="已核实：通知已于开票前张贴"
    )
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["resolution"] == "已核实：通知已于开票前张贴"
    assert resolved.json["resolved_at"] is not None
    refused(
        post(client, resolve, committee, verdict="not_upheld", resolution="再次处理"),
        409,
        "objection_resolved",
    )

    second = post(client, f"{v}/objections", committee, summary="对面积有异议")
    listed = client.get(f"/api/v1{v}/objections", headers=committee)
    assert [o["summary"] for o in listed.json] == ["2栋2单元102 称未收到通知", "对面积有异议"]

    end_objection_period(vote)
    refused(
        post(client, f"{v}/objections", committee, summary="逾期"), 409, "objection_period_over"
    )
    refused(post(client, f"{v}/finalize", committee), 409, "objections_unresolved")
    post(
        client,
        f"/objections/{second.json['id']}/resolve",
        committee,
        verdict="not_upheld",
        resolution="面积以登记簿为准",
    )
    final = post(client, f"{v}/finalize", committee)
    assert final.status_code == 200, final.json
    assert final.json["status"] == "final" and final.json["finalized_at"]
    refused(post(client, f"{v}/finalize", committee), 409, "vote_not_published")
    refused(post(client, f"{v}/objections", committee, summary="异议"), 409, "vote_not_published")
    assert _db.session.scalar(sa.select(sa.func.count()).where(Objection.vote_id == vote.id)) == 2


def test_bad_objections_are_refused_and_nothing_is_written(client, vote, committee):
    close(vote)
    post(client, f"/votes/{vote.id}/publish", committee)
    for body in ({}, {"summary": "   "}, {"summary": "长" * 2001}, {"summary": "x", "extra": 1}):
        response = client.post(f"/api/v1/votes/{vote.id}/objections", headers=committee, json=body)
        assert response.status_code == 422, body
    assert response.json["errors"]
    blank = client.post(
        f"/api/v1/votes/{vote.id}/objections", headers=committee, json={"summary": " "}
    )
    assert blank.json["errors"]["summary"] == ["请填写异议内容"]
    assert _db.session.scalar(sa.select(sa.func.count()).where(Objection.vote_id == vote.id)) == 0


def test_only_the_compound_committee_acts(
    client, sample_compound, vote, committee, make_staff, owner_account, sign_in, make_compound
):
    close(vote)
    community = sign_in(make_staff(Role.COMMUNITY, sample_compound.community_id))
    resident = sign_in(owner_account(sample_compound, "2栋1单元101"))
    for caller in (community, resident):
        refused(post(client, f"/votes/{vote.id}/publish", caller), 403, "committee_only")
    post(client, f"/votes/{vote.id}/publish", committee)
    objection = post(client, f"/votes/{vote.id}/objections", committee, summary="异议").json
    resolve = f"/objections/{objection['id']}/resolve"
    refused(
        post(client, resolve, community, verdict="not_upheld", resolution="x"),
        403,
        "committee_only",
    )
    # A resident and a neighbouring compound's committee do not even see the objection.
    neighbour = sign_in(make_staff(Role.COMPOUND, make_compound().id))
    for caller in (resident, neighbour):
        refused(
            post(client, resolve, caller, verdict="not_upheld", resolution="x"), 404, "not_found"
        )
    refused(client.get(f"/api/v1/votes/{vote.id}/objections", headers=resident), 403, "staff_only")


def roster_personal_data() -> set[str]:
    """Every owner name and phone of the sample roster."""
    found = set()
    with open(SAMPLE_ROSTER, encoding="utf-8") as source:
        for row in csv.DictReader(source):
            for column in ("业主姓名", "手机号"):
                found.update(part for part in row[column].split("、") if part)
    return found


def test_public_notice_shows_aggregates_and_no_personal_data(client, vote, committee):
    url = f"/api/v1/public/votes/{vote.id}/notice"
    assert client.get(url).status_code == 404  # open
    close(vote)
    client.get(f"/api/v1/votes/{vote.id}/tally", headers=committee)  # closes it
    assert client.get(url).status_code == 404  # closed, not published
    post(client, f"/votes/{vote.id}/publish", committee)
    post(client, f"/votes/{vote.id}/objections", committee, summary="徐丽华 19018159083 有异议")

    response = client.get(url)  # no sign-in
    assert response.status_code == 200, response.json
    notice = response.json
    assert (notice["title"], notice["matter"], notice["buildings"]) == (
        "测试表决",
        "elevator",
        ["2栋"],
    )
    assert notice["compound"] == "样例小区" and notice["final"] is False
    result = notice["result"]
    assert (result["t_cnt"], result["t_area"]) == (22, "1814.14")
    assert (result["p_cnt"], result["y_cnt"], result["y_area"]) == (13, 12, "907.18")
    assert result["participation"]["count"]["percent"] == "59.09"
    assert (result["quorum_met"], result["passed"]) == (False, False)
    assert (notice["objections"]["received"], notice["objections"]["resolved"]) == (1, 0)
    (item,) = notice["objections"]["items"]
    assert item["filer"] == "书面异议（工作人员登记）"
    assert (item["verdict"], item["answer"]) == (None, None)
    assert notice["corrections"] == []
    assert notice["objection_until"] and notice["published_at"]

    text = json.dumps(notice, ensure_ascii=False)
    personal = roster_personal_data()
    assert len(personal) > 80
    leaked = sorted(item for item in personal if item in text)
    assert leaked == []
    assert "buildings" not in result and "receipt" not in text
    assert item["summary"] == "徐** 190******83 有异议"  # the objection as written, masked


def test_public_notice_of_an_unknown_vote_is_404(client):
    response = client.get("/api/v1/public/votes/999999/notice")
    assert (response.status_code, response.json["code"]) == (404, "not_found")


def test_publish_closes_a_vote_past_its_closing_time(client, vote, committee):
    close(vote)
    assert vote.status is VoteStatus.OPEN
    response = post(client, f"/votes/{vote.id}/publish", committee)
    assert response.status_code == 200, response.json
    assert response.json["closed_at"] is not None
    assert vote.result["y_cnt"] == 12
