"""纸质票: committee staff enter the ballot of an owner who voted on paper, with a photo of the
signed ballot, which is kept (``VoteAttachment`` kind ``paper_ballot``, with its SHA-256).

A paper ballot is a cast like any other (channel ``paper``, the staff member who entered it
recorded), made when the owner signed it (``signed_at``): when an owner also cast online or
through a proxy, the ballot made last counts, whenever it was entered, and committees see such
persons, with both times, in :func:`conflicts_query`. Paper ballots signed before the closing
time may be entered until the result is published (the counting period).

Idempotency: ``record_cast`` deduplicates on ``(vote_id, account_id, idempotency_key)``, and a
paper cast has no account — NULLs are distinct in a unique index, so that index never matches
it. A retried paper entry is recognised here instead: the entering staff member's row is
locked (``FOR NO KEY UPDATE``, which serialises only that member's keyed entries and does not
block rows that merely reference it), then an earlier paper cast of this vote with the same
staff member and key is looked up. The key is stored as sent; it is scoped by ``staff_id``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import distinct, func, select

from participation.auth.models import StaffUser
from participation.common.errors import conflict, invalid
from participation.common.privacy import mask_name
from participation.common.schemas import local_time
from participation.common.sql import CLOCK_TOLERANCE, db_now
from participation.extensions import db
from participation.roster.models import (
    Building,
    Dwelling,
    Entrance,
    Owner,
    building_key,
    entrance_key,
)
from participation.votes.casting import Cast, completed_cast
from participation.votes.corrections import lock_for_recount, recount
from participation.votes.models import (
    Ballot,
    Channel,
    Choice,
    Vote,
    VoteAttachment,
    VoteEvent,
    VotePerson,
    VotePersonDwelling,
    VotePersonOwner,
    VoteStatus,
)
from participation.votes.record import voided_event_ids
from participation.votes.services import (
    PAPER_BALLOT,
    CastResult,
    cast_rank,
    cast_row,
    close_if_due,
    lock_for_cast,
    store_attachment,
    write_cast,
)


def find_person(
    vote: Vote, person_id: int | None = None, dwelling: str | None = None
) -> VotePerson:
    """The person of the frozen electorate named by ``person_id`` or by a room label of
    theirs (``2栋1单元101`` as frozen, or spelled another way such as ``2号楼1单元101``,
    matched by the roster's keys); 422 if the vote has no such person."""
    if (person_id is None) == (dwelling is None):
        raise invalid("person_required", "请填写房号或表决权人编号（二选一）")
    if person_id is not None:
        found = db.session.scalar(
            select(VotePerson).where(VotePerson.id == person_id, VotePerson.vote_id == vote.id)
        )
        if found is None:
            raise invalid(
                "unknown_person", "本次表决中没有该表决权人", {"person_id": ["不在本次表决范围内"]}
            )
        return found
    label = "".join(dwelling.split())
    found = db.session.scalar(
        select(VotePerson)
        .join(VotePersonDwelling, VotePersonDwelling.person_id == VotePerson.id)
        .where(VotePersonDwelling.vote_id == vote.id, VotePersonDwelling.label == label)
    )
    if found is None:
        found = _by_keys(vote, label)
    if found is None:
        raise invalid(
            "unknown_dwelling",
            f"本次表决范围内没有房屋 {label}，请核对楼栋、单元和房号",
            {"dwelling": ["不在本次表决范围内"]},
        )
    return found


def _by_keys(vote: Vote, label: str) -> VotePerson | None:
    """The person whose dwelling in the vote is ``label`` read as building, entrance and room
    by the roster's keys ("5栋1单元101" finds the room frozen as "5号楼1单元101"): one query
    for the dwellings of the vote whose room ends the label."""
    rooms = {label[start:] for start in range(1, len(label))}
    candidates = db.session.execute(
        select(VotePersonDwelling.person_id, Dwelling.room, Building.number, Entrance.number)
        .join(Dwelling, Dwelling.id == VotePersonDwelling.dwelling_id)
        .join(Building, Building.id == VotePersonDwelling.building_id)
        .join(Entrance, Entrance.id == VotePersonDwelling.entrance_id)
        .where(VotePersonDwelling.vote_id == vote.id, Dwelling.room.in_(rooms))
    )
    for person_id, room, building, entrance in candidates:
        place = label[: -len(room)]
        if any(
            building_key(place[:cut]) == building and entrance_key(place[cut:]) == entrance
            for cut in range(1, len(place) + 1)
        ):
            return db.session.get(VotePerson, person_id)
    return None


def check_signed_at(vote: Vote, signed_at: datetime, now: datetime) -> None:
    """A paper ballot counts only if signed while the vote was open: 422 otherwise, and for
    a signing time in the future (a typo in the date)."""

    def refuse(code: str, message: str):
        raise invalid(code, message, {"signed_at": [message]})

    if signed_at > now + CLOCK_TOLERANCE:
        refuse("signed_in_future", "签署时间晚于现在，请核对纸质票上的日期和时间")
    if signed_at < vote.opens_at:
        refuse(
            "signed_before_opening",
            f"签署时间早于表决开始（{local_time(vote.opens_at)}），该票无效",
        )
    if signed_at >= vote.closes_at:
        refuse(
            "signed_after_closing",
            f"签署时间在表决截止（{local_time(vote.closes_at)}）之后，该票不能计入",
        )


def _lock_for_paper(vote: Vote, correction: bool) -> tuple[bool, datetime]:
    """Lock the vote for a paper entry; (whether the result must be recomputed, the database
    clock). While the vote is open, as any cast (shared); in the counting period (closed, not
    yet published) or for a correction after 公示, exclusively, as the result is recomputed."""
    close_if_due(vote)
    if vote.status is VoteStatus.OPEN and not correction:
        status, now = lock_for_cast(vote.id)
        if status.status is VoteStatus.OPEN and now < status.closes_at:
            if now < status.opens_at:
                raise conflict("vote_not_started", "表决尚未开始")
            return False, now
    lock_for_recount(vote)
    if correction:
        if vote.status is not VoteStatus.PUBLISHED:
            raise conflict("vote_not_published", "只有公示中的表决可以更正")
    elif vote.status is VoteStatus.PUBLISHED:
        raise conflict(
            "counting_over",
            "结果已公示，不能再录入纸质票；截止前签署而漏录的纸质票，"
            "须在业主异议被认定成立后作为更正录入",
        )
    elif vote.status is not VoteStatus.CLOSED:
        raise conflict("vote_closed", "表决已结束，不再接受纸质票")
    return True, db_now()


def enter_paper_ballot(
    vote: Vote,
    staff_id: int,
    person: VotePerson,
    choice: Choice,
    filename: str,
    photo: bytes,
    signed_at: datetime,
    idempotency_key: str | None = None,
    objection_id: int | None = None,
    note: str | None = None,
) -> Cast:
    """Keep the photo (PDF, JPEG or PNG of at most 10 MB: 413/415 otherwise) and record the
    paper cast for ``person``, made when it was signed (``signed_at``). Accepted while the
    vote is open and in the counting period after it closes (the result is recomputed), if
    signed while the vote was open. After 公示 only as a correction (``objection_id``: an
    upheld objection, checked by the caller, with the reason ``note``). A retry with the
    same ``idempotency_key`` by the same staff member returns the first entry."""
    if idempotency_key is not None:
        db.session.execute(
            select(StaffUser.id).where(StaffUser.id == staff_id).with_for_update(key_share=True)
        )
        earlier = db.session.scalar(
            select(VoteEvent).where(
                VoteEvent.vote_id == vote.id,
                VoteEvent.channel == Channel.PAPER,
                VoteEvent.staff_id == staff_id,
                VoteEvent.idempotency_key == idempotency_key,
            )
        )
        if earlier is not None:
            if earlier.person_id != person.id or earlier.choice is not choice:
                raise invalid(
                    "idempotency_key_reused", "该请求标识已用于另一张纸质票，请刷新后重试"
                )
            result = CastResult(
                earlier.id, earlier.receipt, earlier.choice, earlier.created_at, replayed=True
            )
            return completed_cast(vote.id, person.id, person.labels, Channel.PAPER, result)
    recount_after, now = _lock_for_paper(vote, correction=objection_id is not None)
    check_signed_at(vote, signed_at, now)
    attachment = store_attachment(vote, PAPER_BALLOT, filename, photo, staff_id)
    row = cast_row(
        vote.id,
        person.id,
        choice,
        Channel.PAPER,
        now,
        cast_rank(Channel.PAPER, vote.proxy_rule),
        staff_id=staff_id,
        attachment_id=attachment.id,
        idempotency_key=idempotency_key,
        signed_at=signed_at,
        objection_id=objection_id,
        note=note,
    )
    result = write_cast(row)
    if recount_after:
        recount(vote)
    return completed_cast(vote.id, person.id, person.labels, Channel.PAPER, result)


# Lists ------------------------------------------------------------------------------------


def owner_names(person_ids: list[int]) -> dict[int, str]:
    """Masked names of the owners behind each person: ``张*、李**``."""
    names: dict[int, list[str]] = defaultdict(list)
    rows = db.session.execute(
        select(VotePersonOwner.person_id, Owner.name)
        .join(Owner, Owner.id == VotePersonOwner.owner_id)
        .where(VotePersonOwner.person_id.in_(person_ids))
        .order_by(VotePersonOwner.person_id, Owner.id)
    )
    for person_id, name in rows:
        names[person_id].append(mask_name(name))
    return {person_id: "、".join(values) for person_id, values in names.items()}


def paper_ballots_query(vote: Vote):
    return (
        select(VoteEvent)
        .where(
            VoteEvent.vote_id == vote.id,
            VoteEvent.kind == "cast",
            VoteEvent.channel == Channel.PAPER,
        )
        .order_by(VoteEvent.id.desc())
    )


def paper_ballot_views(vote: Vote, events: list[VoteEvent]) -> list[dict]:
    person_ids = [e.person_id for e in events]
    labels = _labels(person_ids)
    names = owner_names(person_ids)
    counted = _counted(vote, person_ids)
    staff = dict(
        db.session.execute(
            select(StaffUser.id, StaffUser.display_name).where(
                StaffUser.id.in_({e.staff_id for e in events})
            )
        ).all()
    )
    photos = {
        a.id: a
        for a in db.session.scalars(
            select(VoteAttachment).where(VoteAttachment.id.in_([e.attachment_id for e in events]))
        )
    }
    return [
        {
            "id": e.id,
            "person_id": e.person_id,
            "dwellings": labels.get(e.person_id, ""),
            "owner_names": names.get(e.person_id, ""),
            "choice": e.choice,
            "signed_at": e.made_at,
            "entered_at": e.created_at,
            "receipt": e.receipt,
            "entered_by": staff.get(e.staff_id, ""),
            "objection_id": e.objection_id,
            "counts": counted.get(e.person_id) == e.id,
            "photo": photos[e.attachment_id],
        }
        for e in events
    ]


def conflicts_query(vote: Vote):
    """Persons who cast on more than one channel (online, proxy, paper)."""
    several = (
        select(VoteEvent.person_id)
        .where(VoteEvent.vote_id == vote.id, VoteEvent.kind == "cast")
        .group_by(VoteEvent.person_id)
        .having(func.count(distinct(VoteEvent.channel)) > 1)
    )
    return select(VotePerson).where(VotePerson.id.in_(several)).order_by(VotePerson.id)


def conflict_views(vote: Vote, persons: list[VotePerson]) -> list[dict]:
    person_ids = [p.id for p in persons]
    names = owner_names(person_ids)
    counted = _counted(vote, person_ids)
    events = db.session.scalars(
        select(VoteEvent)
        .where(
            VoteEvent.vote_id == vote.id,
            VoteEvent.kind == "cast",
            VoteEvent.person_id.in_(person_ids),
        )
        .order_by(func.coalesce(VoteEvent.signed_at, VoteEvent.created_at), VoteEvent.id)
    ).all()
    voided = voided_event_ids(vote.id, [event.id for event in events])
    casts = defaultdict(list)
    for event in events:
        casts[event.person_id].append(
            {
                "id": event.id,
                "channel": event.channel,
                "choice": event.choice,
                "made_at": event.made_at,
                "entered_at": event.created_at,
                "voided": event.id in voided,
                "counts": counted.get(event.person_id) == event.id,
            }
        )
    return [
        {
            "person_id": p.id,
            "dwellings": p.labels,
            "owner_names": names.get(p.id, ""),
            "casts": casts[p.id],
        }
        for p in persons
    ]


def _labels(person_ids: list[int]) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(VotePerson.id, VotePerson.labels).where(VotePerson.id.in_(person_ids))
        ).all()
    )


def _counted(vote: Vote, person_ids: list[int]) -> dict[int, int]:
    """The event that counts for each person (their ballot)."""
    return dict(
        db.session.execute(
            select(Ballot.person_id, Ballot.event_id).where(
                Ballot.vote_id == vote.id, Ballot.person_id.in_(person_ids)
            )
        ).all()
    )
