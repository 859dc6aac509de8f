"""纸质票: committee staff enter the ballot of an owner who voted on paper, with a photo of the
signed ballot, which is kept (``VoteAttachment`` kind ``paper_ballot``, with its SHA-256).

A paper ballot is a cast like any other (``record_cast``, channel ``paper``, the staff member
who entered it recorded): when an owner also cast online or through a proxy, the later cast
counts, and committees see such persons in :func:`conflicts_query`.

Idempotency: ``record_cast`` deduplicates on ``(vote_id, account_id, idempotency_key)``, and a
paper cast has no account — NULLs are distinct in a unique index, so that index never matches
it. A retried paper entry is recognised here instead: the entering staff member's row is
locked (``FOR NO KEY UPDATE``, which serialises only that member's keyed entries and does not
block rows that merely reference it), then an earlier paper cast of this vote with the same
staff member and key is looked up. The key is stored as sent; it is scoped by ``staff_id``.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import distinct, func, select

from participation.auth.models import StaffUser
from participation.common.errors import invalid
from participation.common.privacy import mask_name
from participation.extensions import db
from participation.roster.models import Owner
from participation.votes.casting import Cast, completed_cast
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
)
from participation.votes.services import PAPER_BALLOT, CastResult, record_cast, store_attachment


def find_person(
    vote: Vote, person_id: int | None = None, dwelling: str | None = None
) -> VotePerson:
    """The person of the frozen electorate named by ``person_id`` or by a room label of
    theirs (``2栋1单元101``); 422 if the vote has no such person."""
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
        raise invalid(
            "unknown_dwelling",
            f"本次表决范围内没有房屋 {label}，请核对楼栋、单元和房号",
            {"dwelling": ["不在本次表决范围内"]},
        )
    return found


def enter_paper_ballot(
    vote: Vote,
    staff_id: int,
    person: VotePerson,
    choice: Choice,
    filename: str,
    photo: bytes,
    idempotency_key: str | None = None,
) -> Cast:
    """Keep the photo (PDF, JPEG or PNG of at most 10 MB: 413/415 otherwise) and record the
    paper cast for ``person``. A retry with the same ``idempotency_key`` by the same staff
    member returns the first entry."""
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
    attachment = store_attachment(vote, PAPER_BALLOT, filename, photo, staff_id)
    result = record_cast(
        vote.id,
        person.id,
        choice,
        Channel.PAPER,
        staff_id=staff_id,
        attachment_id=attachment.id,
        idempotency_key=idempotency_key,
    )
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
            "cast_at": e.created_at,
            "receipt": e.receipt,
            "entered_by": staff.get(e.staff_id, ""),
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
    casts = defaultdict(list)
    for event in db.session.scalars(
        select(VoteEvent)
        .where(
            VoteEvent.vote_id == vote.id,
            VoteEvent.kind == "cast",
            VoteEvent.person_id.in_(person_ids),
        )
        .order_by(VoteEvent.created_at, VoteEvent.id)
    ):
        casts[event.person_id].append(
            {
                "id": event.id,
                "channel": event.channel,
                "choice": event.choice,
                "cast_at": event.created_at,
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
