"""Results and 公示: the preliminary result of a closed vote goes on public notice with an
objection period (询异); staff record objections and how they were handled; then the result
becomes final. Functions flush, never commit.

closed → published (record sealed, ``objection_until`` = publication + ``objection_days``)
→ final (objection period over, every objection resolved). Each transition locks the vote row
and checks the state under the lock, so two committee members acting at once cannot both
succeed; recording an objection share-locks the row, so none slips in beside a finalisation.
The notice shows ``vote.result``, frozen when the vote closed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from participation.auth.scoping import in_scope, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import conflict, not_found
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now
from participation.extensions import db
from participation.roster.models import Compound
from participation.roster.services import scope_names
from participation.votes.models import Objection, Vote, VoteStatus
from participation.votes.record import seal_pending
from participation.votes.services import close_if_due

PUBLIC_STATUSES = (VoteStatus.PUBLISHED, VoteStatus.FINAL)


@path_resolver("objection_id")
def get_objection(objection_id: int, principal: Principal) -> Objection:
    """Objections are reached through their vote's compound: staff in scope only."""
    stmt = select(Objection).join(Vote, Vote.id == Objection.vote_id)
    objection = db.session.scalar(
        in_scope(stmt.where(Objection.id == objection_id), Vote.compound_id, principal)
    )
    if objection is None:
        raise not_found()
    return objection


def _lock(vote: Vote, read: bool = False) -> None:
    """Reload the vote row locked: exclusively for a transition, shared for an objection.
    Pending changes (a result just stored by ``close_if_due``) are flushed first."""
    db.session.flush()
    db.session.refresh(vote, with_for_update={"read": read} if read else {"key_share": True})


def publish(vote: Vote) -> Vote:
    """公示: seal the record, then put the result stored at closing on public notice and start
    the objection period."""
    close_if_due(vote)
    _lock(vote)
    if vote.status is not VoteStatus.CLOSED:
        raise conflict("vote_not_closed", "只有已截止、尚未公示的表决可以公示")
    seal_pending(vote.id)
    now = db_now()
    vote.status = VoteStatus.PUBLISHED
    vote.published_at = now
    vote.objection_until = now + timedelta(days=vote.objection_days)
    db.session.flush()
    return vote


def record_objection(vote: Vote, summary: str, staff_id: int) -> Objection:
    """Staff record an objection received during the objection period."""
    _lock(vote, read=True)
    if vote.status is not VoteStatus.PUBLISHED:
        raise conflict("vote_not_published", "只有公示中的表决可以登记异议")
    now = db_now()
    if now >= vote.objection_until:
        raise conflict("objection_period_over", "异议期已结束，不能再登记异议")
    objection = Objection(
        vote_id=vote.id, summary=summary, recorded_by_id=staff_id, recorded_at=now
    )
    db.session.add(objection)
    db.session.flush()
    return objection


def resolve_objection(objection: Objection, resolution: str, staff_id: int) -> Objection:
    """Record how an objection was handled (once)."""
    db.session.refresh(objection, with_for_update={"key_share": True})
    if objection.resolved_at is not None:
        raise conflict("objection_resolved", "该异议已处理")
    objection.resolution = resolution
    objection.resolved_by_id = staff_id
    objection.resolved_at = db_now()
    db.session.flush()
    return objection


def objections_query(vote: Vote):
    return select(Objection).where(Objection.vote_id == vote.id).order_by(Objection.id)


def _unresolved(vote_id: int) -> int:
    return db.session.scalar(
        select(func.count(Objection.id)).where(
            Objection.vote_id == vote_id, Objection.resolved_at.is_(None)
        )
    )


def finalize(vote: Vote) -> Vote:
    """The result becomes final once the objection period is over and every objection has
    been resolved."""
    _lock(vote)
    if vote.status is not VoteStatus.PUBLISHED:
        raise conflict("vote_not_published", "只有公示中的表决可以确认最终结果")
    now = db_now()
    if now < vote.objection_until:
        until = vote.objection_until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        raise conflict("objection_period_running", f"异议期至 {until} 结束，之后才能确认最终结果")
    unresolved = _unresolved(vote.id)
    if unresolved:
        raise conflict(
            "objections_unresolved",
            f"还有 {unresolved} 条异议未处理",
            {"unresolved": [str(unresolved)]},
        )
    vote.status = VoteStatus.FINAL
    vote.finalized_at = now
    db.session.flush()
    return vote


def notice(vote_id: int) -> dict:
    """The public notice of a published or final vote: aggregates and place names only."""
    vote = db.session.scalar(
        select(Vote).where(Vote.id == vote_id, Vote.status.in_(PUBLIC_STATUSES))
    )
    if vote is None:
        raise not_found()
    buildings, entrances = scope_names(vote.building_ids or [], vote.entrance_ids or [])
    received = db.session.scalar(
        select(func.count(Objection.id)).where(Objection.vote_id == vote.id)
    )
    return {
        "vote_id": vote.id,
        "title": vote.title,
        "matter": vote.matter.value,
        "rule": vote.rule.value,
        "compound": db.session.get(Compound, vote.compound_id).name,
        "buildings": buildings,
        "entrances": entrances,
        "opens_at": vote.opens_at,
        "closes_at": vote.closes_at,
        "published_at": vote.published_at,
        "objection_until": vote.objection_until,
        "finalized_at": vote.finalized_at,
        "final": vote.status is VoteStatus.FINAL,
        "result": vote.result,
        "objections": {"received": received, "resolved": received - _unresolved(vote.id)},
    }
