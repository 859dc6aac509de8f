"""Opening a vote freezes its electorate."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from participation.common.errors import ApiError
from participation.extensions import db as _db
from participation.votes.models import Matter, VotePerson, VoteStatus
from participation.votes.services import open_vote


def test_vote_scoped_to_building_2_counts_22_persons(sample_compound, make_vote):
    vote = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, open=True)
    assert vote.status is VoteStatus.OPEN
    assert (vote.t_cnt, vote.t_area) == (22, Decimal("1814.14"))
    persons = _db.session.scalar(
        sa.select(sa.func.count(VotePerson.id)).filter_by(vote_id=vote.id)
    )
    assert persons == 22


def test_whole_compound_vote_counts_45(sample_compound, make_vote):
    vote = make_vote(sample_compound, open=True)
    assert (vote.t_cnt, vote.t_area) == (45, Decimal("3622.29"))


def test_dwellings_without_known_owner_need_confirmation(
    db, make_compound, make_dwelling, make_vote
):
    compound = make_compound()
    owner = make_dwelling.owner(compound)
    make_dwelling(compound, room="101", owners=[owner])
    make_dwelling(compound, room="102")  # sold, owner unknown
    vote = make_vote(compound)
    with pytest.raises(ApiError) as refused:
        open_vote(vote)
    assert refused.value.error_code == "unknown_owners"
    assert refused.value.errors == {"dwellings": ["1栋1单元102"]}


def test_roster_edits_after_opening_do_not_move_the_denominator(
    sample_compound, make_vote, make_dwelling
):
    vote = make_vote(sample_compound, buildings=("2",), open=True)
    make_dwelling(sample_compound, building="2", entrance="1", room="701", area="99.00")
    _db.session.refresh(vote)
    assert vote.t_cnt == 22


@pytest.mark.postgres
def test_opening_leaves_the_planner_statistics_of_the_complete_electorate(
    postgres_url, sample_compound, make_vote
):
    """ANALYZE runs once the snapshot is complete: the persons' entrances included, which the
    tally's query for persons spanning several entrances is planned on (44 of 45 have one)."""
    vote = make_vote(sample_compound, open=True)
    spanning = _db.session.scalar(
        sa.select(sa.func.count()).where(
            VotePerson.vote_id == vote.id, VotePerson.entrance_id.is_(None)
        )
    )
    assert spanning == 1
    null_fraction, rows = _db.session.execute(
        sa.text(
            "SELECT s.null_frac, c.reltuples FROM pg_stats s JOIN pg_class c "
            "ON c.relname = s.tablename WHERE s.tablename = 'vote_persons' "
            "AND s.attname = 'entrance_id'"
        )
    ).one()
    assert rows >= 45
    assert null_fraction < 0.5
