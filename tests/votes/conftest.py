"""Factories for votes: an open vote on the sample roster, and casting as an owner."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building
from participation.votes.models import Matter, Vote


@pytest.fixture
def make_vote(db, make_staff):
    """``make_vote(compound, buildings=("2",), matter=Matter.ELEVATOR)`` → a draft vote;
    ``make_vote(..., open=True)`` opens it (electorate frozen), confirming unknown owners."""
    from participation.auth.models import Role
    from participation.votes.services import open_vote

    def make(
        compound,
        buildings: tuple[str, ...] = (),
        matter: Matter = Matter.OTHER,
        open: bool = False,
        closes_in: timedelta = timedelta(days=7),
        **fields,
    ) -> Vote:
        building_ids = [
            _db.session.scalar(
                sa.select(Building.id).filter_by(compound_id=compound.id, number=number)
            )
            for number in buildings
        ]
        now = utcnow()
        if open and matter in (Matter.ELEVATOR, Matter.REBUILD) and "total_cost" not in fields:
            # A cost-bearing vote opens only with a plan or this declaration.
            fields.setdefault("no_cost_plan", True)
            fields.setdefault("no_cost_plan_reason", "费用由产权单位承担")
        vote = Vote(
            compound_id=compound.id,
            title=fields.pop("title", "测试表决"),
            matter=matter,
            rule=matter.rule,
            building_ids=building_ids,
            entrance_ids=fields.pop("entrance_ids", []),
            opens_at=fields.pop("opens_at", now - timedelta(minutes=1)),
            closes_at=now + closes_in,
            created_by_id=make_staff(Role.COMPOUND, compound.id).id,
            **fields,
        )
        _db.session.add(vote)
        _db.session.flush()
        if open:
            open_vote(vote, confirm_unknown_owners=True)
            _db.session.flush()
        return vote

    return make


@pytest.fixture(autouse=True)
def clock(reminder_clock):
    """Every test here at 10:00 Beijing time (tests/conftest.py ``reminder_clock``)."""
    return reminder_clock
