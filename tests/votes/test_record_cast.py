"""Recording casts: every cast kept, the latest counts, idempotency, the deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.common.errors import ApiError
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.votes.casting import owned_persons
from participation.votes.models import Ballot, Channel, Choice, VoteEvent
from participation.votes.services import lock_for_cast, record_cast


def test_latest_cast_counts_and_every_cast_is_kept(sample_compound, make_vote, owner_account):
    vote = make_vote(sample_compound, buildings=("2",), open=True)
    account = owner_account(sample_compound, "2栋1单元101")
    (person,) = owned_persons(vote.id, account.id)
    first = record_cast(vote.id, person.id, Choice.DISAGREE, Channel.ONLINE, account_id=account.id)
    second = record_cast(vote.id, person.id, Choice.AGREE, Channel.ONLINE, account_id=account.id)
    assert first.receipt != second.receipt and len(second.receipt) == 10
    ballot = _db.session.get(Ballot, (vote.id, person.id))
    assert (ballot.choice, ballot.event_id) == (Choice.AGREE, second.event_id)
    casts = _db.session.scalars(
        sa.select(VoteEvent.choice).filter_by(vote_id=vote.id, kind="cast").order_by(VoteEvent.id)
    ).all()
    assert casts == [Choice.DISAGREE, Choice.AGREE]


def test_same_idempotency_key_casts_once(sample_compound, make_vote, owner_account):
    vote = make_vote(sample_compound, open=True)
    account = owner_account(sample_compound, "1栋1单元101")
    (person,) = owned_persons(vote.id, account.id)
    kwargs = {"account_id": account.id, "idempotency_key": "k-1"}
    first = record_cast(vote.id, person.id, Choice.AGREE, Channel.ONLINE, **kwargs)
    again = record_cast(vote.id, person.id, Choice.AGREE, Channel.ONLINE, **kwargs)
    assert (again.event_id, again.receipt, again.replayed) == (first.event_id, first.receipt, True)
    with pytest.raises(ApiError) as reused:
        record_cast(vote.id, person.id, Choice.DISAGREE, Channel.ONLINE, **kwargs)
    assert reused.value.error_code == "idempotency_key_reused"
    count = _db.session.scalar(sa.select(sa.func.count(VoteEvent.id)).filter_by(kind="cast"))
    assert count == 1


def test_nothing_is_accepted_at_or_after_the_closing_time(
    sample_compound, make_vote, owner_account
):
    vote = make_vote(sample_compound, open=True)
    account = owner_account(sample_compound, "1栋1单元101")
    (person,) = owned_persons(vote.id, account.id)
    vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    with pytest.raises(ApiError) as closed:
        record_cast(vote.id, person.id, Choice.AGREE, Channel.ONLINE, account_id=account.id)
    assert closed.value.error_code == "vote_closed"


def test_an_earlier_cast_written_after_a_later_one_does_not_replace_it(
    sample_compound, make_vote, owner_account
):
    """Casts reach the database out of order (the later-stamped one is written first): the
    ballot keeps the later cast, and both casts stay in the record. At the same instant, the
    cast written last (the higher event id) counts, as ``flask votes verify`` replays it."""
    vote = make_vote(sample_compound, open=True)
    account = owner_account(sample_compound, "1栋1单元101")
    (person,) = owned_persons(vote.id, account.id)
    status, now = lock_for_cast(vote.id)

    def cast_at(instant, choice):
        return record_cast(
            vote.id,
            person.id,
            choice,
            Channel.ONLINE,
            account_id=account.id,
            locked=(status, instant),
        )

    later = cast_at(now + timedelta(microseconds=1), Choice.AGREE)
    earlier = cast_at(now, Choice.DISAGREE)
    assert earlier.event_id > later.event_id
    ballot = _db.session.get(Ballot, (vote.id, person.id))
    _db.session.refresh(ballot)
    assert (ballot.event_id, ballot.choice, ballot.cast_at) == (
        later.event_id,
        Choice.AGREE,
        later.cast_at,
    )

    tied = cast_at(later.cast_at, Choice.ABSTAIN)
    _db.session.refresh(ballot)
    assert (ballot.event_id, ballot.choice) == (tied.event_id, Choice.ABSTAIN)
    casts = _db.session.scalars(
        sa.select(VoteEvent.id).filter_by(vote_id=vote.id, kind="cast").order_by(VoteEvent.id)
    ).all()
    assert casts == [later.event_id, earlier.event_id, tied.event_id]


def test_verify_counts_no_cast_stamped_at_the_closing_instant(
    sample_compound, make_vote, owner_account
):
    """``flask votes verify`` replays the ballots from the record with the rule of the cast
    path: a cast a microsecond before the closing time counts, one stamped at it does not."""
    from participation.votes.record import verify

    vote = make_vote(sample_compound, open=True)
    account = owner_account(sample_compound, "1栋1单元101")
    (person,) = owned_persons(vote.id, account.id)
    status, now = lock_for_cast(vote.id)
    cast = record_cast(
        vote.id,
        person.id,
        Choice.AGREE,
        Channel.ONLINE,
        account_id=account.id,
        locked=(status, now),
    )
    vote.closes_at = cast.cast_at + timedelta(microseconds=1)
    _db.session.flush()
    assert verify(vote.id).ok, verify(vote.id).problems
    vote.closes_at = cast.cast_at  # as a changed row would have it
    _db.session.flush()
    assert verify(vote.id).problems == [
        f"person {person.id}: counted ballot (event {cast.event_id}) has no cast before the "
        "closing time"
    ]
