"""A minimum objection period (issue 18, item 1): a vote's or a survey's ``objection_days``
is at least its district's ``min_objection_days`` (default 3), never 0 — in the service (422
naming the minimum) and in the database (a check on both tables)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building, Community, District, Street
from participation.surveys.models import Survey
from participation.votes.models import Vote


def iso(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


WEEK = {"opens_at": iso(timedelta(minutes=-1)), "closes_at": iso(timedelta(days=7))}
SINGLE = {"type": "single", "text": "单选", "options": [{"label": "甲"}, {"label": "乙"}]}


def district_of(compound) -> District:
    community = _db.session.get(Community, compound.community_id)
    return _db.session.get(Street, community.street_id).district


@pytest.fixture
def staff(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


def create_vote(client, compound, headers, **fields):
    building = _db.session.scalar(
        sa.select(Building.id).filter_by(compound_id=compound.id, number="2")
    )
    body = {"title": "加装电梯", "matter": "elevator", "building_ids": [building], **WEEK}
    return client.post(
        f"/api/v1/compounds/{compound.id}/votes", json={**body, **fields}, headers=headers
    )


def create_survey(client, compound, headers, **fields):
    body = {"kind": "general", "title": "问卷", **WEEK, "questions": [SINGLE], **fields}
    return client.post(f"/api/v1/compounds/{compound.id}/surveys", json=body, headers=headers)


CREATE = {"vote": (create_vote, Vote), "survey": (create_survey, Survey)}


def count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count(model.id)))


def refused_short(response, minimum: int) -> None:
    assert (response.status_code, response.json["code"]) == (422, "objection_days_too_short")
    assert response.json["message"] == f"异议期不得少于 {minimum} 天"
    assert response.json["errors"]["objection_days"]


@pytest.mark.parametrize("kind", CREATE)
def test_zero_is_refused(client, sample_compound, staff, kind):
    create, model = CREATE[kind]
    before = count(model)
    refused_short(create(client, sample_compound, staff, objection_days=0), 3)
    assert count(model) == before


@pytest.mark.parametrize("kind", CREATE)
def test_below_the_district_minimum_is_refused_and_at_it_accepted(
    client, sample_compound, staff, kind
):
    create, _ = CREATE[kind]
    refused_short(create(client, sample_compound, staff, objection_days=2), 3)
    created = create(client, sample_compound, staff, objection_days=3)
    assert created.status_code == 201, created.json
    assert created.json["objection_days"] == 3


@pytest.mark.parametrize("kind", CREATE)
def test_a_district_with_a_minimum_of_five(client, sample_compound, staff, app, kind):
    district_of(sample_compound).min_objection_days = 5
    _db.session.flush()
    create, _ = CREATE[kind]
    refused_short(create(client, sample_compound, staff, objection_days=4), 5)
    assert create(client, sample_compound, staff, objection_days=5).status_code == 201
    # the default is the larger of VOTE_OBJECTION_DAYS and the district's minimum
    assert create(client, sample_compound, staff).json["objection_days"] == max(
        5, app.config["VOTE_OBJECTION_DAYS"]
    )
    district_of(sample_compound).min_objection_days = 10
    _db.session.flush()
    assert create(client, sample_compound, staff).json["objection_days"] == 10


@pytest.mark.parametrize("kind", CREATE)
def test_updating_a_draft_below_the_minimum_is_refused(client, sample_compound, staff, kind):
    create, model = CREATE[kind]
    created = create(client, sample_compound, staff, objection_days=7).json
    url = f"/api/v1/{kind}s/{created['id']}"
    refused_short(client.patch(url, json={"objection_days": 0}, headers=staff), 3)
    refused_short(client.patch(url, json={"objection_days": 2}, headers=staff), 3)
    _db.session.expire_all()
    assert _db.session.get(model, created["id"]).objection_days == 7
    ok = client.patch(url, json={"objection_days": 3}, headers=staff)
    assert (ok.status_code, ok.json["objection_days"]) == (200, 3)


@pytest.mark.parametrize("kind", CREATE)
def test_the_database_refuses_zero(client, sample_compound, staff, kind):
    create, model = CREATE[kind]
    row_id = create(client, sample_compound, staff).json["id"]
    with pytest.raises(sa.exc.IntegrityError), _db.session.begin_nested():
        _db.session.execute(sa.update(model).where(model.id == row_id).values(objection_days=0))


def test_districts_show_and_take_their_minimum(client, make_staff, sign_in):
    admin = sign_in(make_staff(Role.ADMIN))
    created = client.post(
        "/api/v1/districts", json={"name": "最短异议期区", "min_objection_days": 5}, headers=admin
    )
    assert created.status_code == 201, created.json
    assert created.json["min_objection_days"] == 5
    default = client.post("/api/v1/districts", json={"name": "默认区"}, headers=admin).json
    assert default["min_objection_days"] == 3
    zero = client.post(
        "/api/v1/districts", json={"name": "零天区", "min_objection_days": 0}, headers=admin
    )
    assert (zero.status_code, zero.json["code"]) == (422, "validation_error")
    listed = client.get("/api/v1/districts?page_size=100", headers=admin).json
    assert {d["name"]: d["min_objection_days"] for d in listed}["最短异议期区"] == 5
