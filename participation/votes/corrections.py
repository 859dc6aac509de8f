"""Corrections to a vote's count: the counting period after closing, and corrections after
公示 that answer an upheld objection (``notices.publication`` checks the objection).

- **The counting period** (closed, not yet published): a paper ballot signed before the
  closing time may still be entered (``paper.enter_paper_ballot``); the result stored at
  closing is recomputed with it.
- **After 公示**: an upheld objection lets the committee void a cast (an ineligible ballot) or
  enter a paper ballot signed before the closing time and not entered in time. Each is an
  event of the vote's record naming the objection and the reason; the person's counting
  ballot is rebuilt from their remaining casts by the same rule ``votes verify`` replays
  (``record.replay_ballots``), and the result is recomputed.

Every function here expects the vote row locked exclusively by its caller (``lock_for_recount``),
so no cast, closing or other correction runs beside it. Functions flush, never commit.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from participation.common.errors import conflict, invalid
from participation.common.sql import db_now
from participation.extensions import db
from participation.votes.models import Ballot, Vote, VoteEvent, VotePerson, VoteStatus
from participation.votes.record import replay_ballots, voided_event_ids
from participation.votes.services import cast_rank, close_if_due, record_event
from participation.votes.tally import final_result

COUNTED_STATUSES = (VoteStatus.CLOSED, VoteStatus.PUBLISHED)


def lock_for_recount(vote: Vote) -> None:
    """Close the vote if it is due, then hold its row exclusively: casts (which share it),
    the closing and other corrections wait."""
    close_if_due(vote)
    db.session.flush()
    db.session.refresh(vote, with_for_update=True)


def recount(vote: Vote) -> None:
    """Store the result again from the counting ballots (a closed or published vote)."""
    vote.result = final_result(vote)
    db.session.flush()


def rebuild_ballot(vote: Vote, person_id: int) -> None:
    """The person's counting ballot, replayed from their casts (made before the closing
    time, not voided, the highest by rank, time made and id), or none."""
    events = db.session.execute(
        select(VoteEvent.__table__).where(
            VoteEvent.vote_id == vote.id, VoteEvent.person_id == person_id
        )
    ).all()
    counted = replay_ballots(vote, events).get(person_id)
    db.session.execute(
        delete(Ballot).where(Ballot.vote_id == vote.id, Ballot.person_id == person_id)
    )
    if counted is None:
        return
    person = db.session.get(VotePerson, person_id)
    db.session.execute(
        insert(Ballot).values(
            vote_id=vote.id,
            person_id=person_id,
            event_id=counted.id,
            choice=counted.choice,
            channel=counted.channel,
            cast_at=counted.signed_at or counted.created_at,
            rank=cast_rank(counted.channel, vote.proxy_rule),
            area=person.area,
            entrance_id=person.entrance_id,
        )
    )


def find_cast(vote: Vote, event_id: int | None, receipt: str | None) -> VoteEvent:
    """A cast of this vote named by its id or its receipt code (422 if there is none)."""
    if (event_id is None) == (receipt is None):
        raise invalid("cast_required", "请填写要作废的选票：回执码或记录编号（二选一）")
    stmt = select(VoteEvent).where(VoteEvent.vote_id == vote.id, VoteEvent.kind == "cast")
    if event_id is not None:
        stmt = stmt.where(VoteEvent.id == event_id)
    else:
        stmt = stmt.where(VoteEvent.receipt == receipt.strip().upper())
    cast = db.session.scalar(stmt)
    if cast is None:
        raise invalid(
            "unknown_cast",
            "本次表决的记录中没有这张选票，请核对回执码或记录编号",
            {"receipt" if receipt is not None else "event_id": ["不是本次表决的选票"]},
        )
    return cast


def void_cast(vote: Vote, cast: VoteEvent, reason: str, staff_id: int, objection_id: int) -> int:
    """Void ``cast`` (an ineligible ballot) for an upheld objection: a ``void`` event in the
    record, the person's ballot rebuilt and the result recomputed. Returns the event's id."""
    if vote.status not in COUNTED_STATUSES:
        raise conflict("vote_not_counted", "只有已截止的表决可以更正计票")
    if cast.id in voided_event_ids(vote.id, [cast.id]):
        raise conflict("cast_voided", "这张选票已被作废")
    event_id = record_event(
        vote,
        "void",
        db_now(),
        person_id=cast.person_id,
        staff_id=staff_id,
        ref_event_id=cast.id,
        objection_id=objection_id,
        note=reason,
    )
    rebuild_ballot(vote, cast.person_id)
    recount(vote)
    return event_id


def public_corrections(vote: Vote) -> list[dict]:
    """The corrections made after 公示, as the notice shows them: what was done (a ballot
    voided, a paper ballot admitted), when, for which objection and why — no person."""
    rows = db.session.execute(
        select(VoteEvent.kind, VoteEvent.created_at, VoteEvent.objection_id, VoteEvent.note)
        .where(VoteEvent.vote_id == vote.id, VoteEvent.objection_id.is_not(None))
        .order_by(VoteEvent.id)
    )
    return [
        {
            "action": "void" if kind == "void" else "paper_ballot",
            "at": created_at,
            "objection_id": objection_id,
            "reason": note,
        }
        for kind, created_at, objection_id, note in rows
    ]
