"""The opening and closing instants, exactly, for casts online and by proxy.

The law's deadline is an instant: a cast read at ``closes_at`` itself is refused, one a
microsecond before is accepted; a cast at ``opens_at`` is accepted, one a microsecond before is
refused. Waiting for the real clock to reach an instant cannot hit it to the microsecond, so
these tests set the instant the cast path reads as the database clock (``clock``): the vote row
is still read and share-locked for real, only the clock's reading is replaced — what
``record_cast``'s ``locked=`` parameter carries.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.errors import ApiError
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.votes import casting, services
from participation.votes.models import Ballot, Channel, Choice, VoteEvent, VotePerson, VoteStatus
from participation.votes.services import (
    accepting_casts,
    effective_status,
    lock_for_cast,
    record_cast,
)

US = timedelta(microseconds=1)
PROXY_PHONE = "13700000002"


@pytest.fixture
def clock(monkeypatch):
    """``clock.at(instant)``: the database clock as the cast path reads it from then on."""
    state = SimpleNamespace(now=None)
    real_lock, real_owned = services.lock_for_cast, casting.owned_persons_locked

    def locked_at(locked):
        assert state.now is not None, "set clock.at(...) first"
        return locked and (locked[0], state.now)

    def lock_for_cast(vote_id):  # proxy casts and paper ballots
        return locked_at(real_lock(vote_id))

    def owned_persons_locked(vote_id, account_id, caller=None):  # online casts
        persons, locked = real_owned(vote_id, account_id, caller)
        return persons, locked_at(locked)

    monkeypatch.setattr(services, "lock_for_cast", lock_for_cast)
    monkeypatch.setattr(casting, "owned_persons_locked", owned_persons_locked)
    state.at = lambda instant: setattr(state, "now", instant)
    return state


@pytest.fixture
def case(sample_compound, make_vote, owner_account, make_account, make_staff, sign_in, client):
    """A vote opened (its electorate frozen) that starts tomorrow and closes the day after, on
    whole-second instants; its owner of 2栋1单元101, a confirmed proxy of that owner and the
    compound's committee."""
    opens = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    vote = make_vote(sample_compound, buildings=("2",), open=True, opens_at=opens)
    vote.closes_at = opens + timedelta(days=1)
    _db.session.flush()
    owner = owner_account(sample_compound, "2栋1单元101")
    committee = make_staff(Role.COMPOUND, sample_compound.id)
    case = SimpleNamespace(
        vote=vote,
        as_owner=sign_in(owner),
        as_proxy=sign_in(make_account(PROXY_PHONE)),
        as_committee=sign_in(committee),
    )
    granted = client.post(
        f"/api/v1/votes/{vote.id}/proxies", json={"proxy_phone": PROXY_PHONE}, headers=case.as_owner
    )
    assert granted.status_code == 201, granted.json
    case.proxy_id = granted.json["id"]
    confirm = client.post(f"/api/v1/proxies/{case.proxy_id}/confirm", headers=case.as_committee)
    assert confirm.status_code == 200, confirm.json
    return case


def cast_online(client, case):
    return client.post(
        f"/api/v1/votes/{case.vote.id}/ballots", json={"choice": "agree"}, headers=case.as_owner
    )


def cast_by_proxy(client, case):
    return client.post(
        f"/api/v1/proxies/{case.proxy_id}/ballots", json={"choice": "agree"}, headers=case.as_proxy
    )


# Paper ballots are judged by when the owner signed them, and may be entered after the
# closing time until publication: tests/votes/test_paper_ballots.py pins those instants.
CHANNELS = {Channel.ONLINE: cast_online, Channel.PROXY: cast_by_proxy}
# (which instant, offset from it, the answer expected)
INSTANTS = [
    pytest.param("opens_at", -US, "vote_not_started", id="1us-before-opening"),
    pytest.param("opens_at", timedelta(0), None, id="at-opening"),
    pytest.param("closes_at", -US, None, id="1us-before-closing"),
    pytest.param("closes_at", timedelta(0), "vote_closed", id="at-closing"),
]


def casts(vote) -> list[tuple]:
    return _db.session.execute(
        sa.select(VoteEvent.channel, VoteEvent.created_at).filter_by(vote_id=vote.id, kind="cast")
    ).all()


@pytest.mark.parametrize("channel", list(CHANNELS))
@pytest.mark.parametrize(("boundary", "offset", "refused"), INSTANTS)
def test_casts_at_the_opening_and_closing_instants(
    client, case, clock, channel, boundary, offset, refused
):
    """Online and proxy casts are judged by the database clock at the instant they come in."""
    instant = getattr(case.vote, boundary) + offset
    clock.at(instant)
    response = CHANNELS[channel](client, case)
    if refused:
        assert (response.status_code, response.json["code"]) == (409, refused), response.json
        assert casts(case.vote) == []
        assert _db.session.scalar(sa.select(Ballot).filter_by(vote_id=case.vote.id)) is None
    else:
        assert response.status_code == 201, response.json
        assert response.json["channel"] == channel.value
        assert casts(case.vote) == [(channel, instant)]
        ballot = _db.session.scalar(sa.select(Ballot).filter_by(vote_id=case.vote.id))
        assert (ballot.choice, ballot.cast_at) == (Choice.AGREE, instant)


def test_record_cast_takes_the_clock_it_is_given(case):
    """``locked=``: the status and clock a caller read with the lock; the cast is stamped with
    that clock, and judged by it."""
    person_id = _db.session.scalar(
        sa.select(VotePerson.id).filter_by(vote_id=case.vote.id).order_by(VotePerson.id)
    )
    status, _ = lock_for_cast(case.vote.id)
    closes = case.vote.closes_at
    accepted = record_cast(
        case.vote.id, person_id, Choice.AGREE, Channel.PAPER, locked=(status, closes - US)
    )
    assert accepted.cast_at == closes - US
    with pytest.raises(ApiError) as refused:
        record_cast(case.vote.id, person_id, Choice.AGREE, Channel.PAPER, locked=(status, closes))
    assert refused.value.error_code == "vote_closed"


def test_what_the_vote_shows_at_the_instants(case):
    """``accepting_casts`` (the vote's ``accepting_casts`` / ``can_vote``) and the status shown
    turn at the same instants as the cast itself."""
    vote = case.vote
    assert not accepting_casts(vote, vote.opens_at - US)
    assert accepting_casts(vote, vote.opens_at)
    assert accepting_casts(vote, vote.closes_at - US)
    assert not accepting_casts(vote, vote.closes_at)
    assert effective_status(vote, vote.closes_at - US) is VoteStatus.OPEN
    assert effective_status(vote, vote.closes_at) is VoteStatus.CLOSED
