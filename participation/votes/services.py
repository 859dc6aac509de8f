"""The life of a vote: draft → open (electorate frozen) → closed (final tally) → published
(公示, objection period) → final; and recording a cast. Functions flush, never commit.

Deadlines are checked against the database clock in the transaction that writes. A vote past
its closing time is closed when read (``close_if_due``), whether or not a job ran.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, tuple_, update

from participation.auth.models import Tenancy
from participation.auth.scoping import get_scoped, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import conflict, invalid, not_found
from participation.common.sql import db_now, upsert
from participation.extensions import db
from participation.roster.electorate import Scope, check_scope, dwellings_in_scope, group_persons
from participation.roster.models import Building, Dwelling, Entrance, Owner, dwelling_label
from participation.votes.models import (
    Ballot,
    Channel,
    Choice,
    Vote,
    VoteEvent,
    VotePerson,
    VotePersonDwelling,
    VotePersonOwner,
    VoteStatus,
)

# Who may see a vote ----------------------------------------------------------------------


def resident_compound_ids(account_id: int):
    """Compounds where the resident owns (linked owner) or rents a dwelling."""
    owned = select(Owner.compound_id).where(Owner.account_id == account_id)
    rented = (
        select(Dwelling.compound_id)
        .join(Tenancy, Tenancy.dwelling_id == Dwelling.id)
        .where(Tenancy.account_id == account_id)
    )
    return owned.union(rented)


@path_resolver("vote_id")
def get_vote(vote_id: int, principal: Principal) -> Vote:
    """Staff: votes of compounds in scope. Residents: non-draft votes of their compounds."""
    if principal.is_staff:
        return get_scoped(Vote, vote_id, principal)
    vote = db.session.scalar(
        select(Vote).where(
            Vote.id == vote_id,
            Vote.status.not_in([VoteStatus.DRAFT, VoteStatus.CANCELLED]),
            Vote.compound_id.in_(resident_compound_ids(principal.id)),
        )
    )
    if vote is None:
        raise not_found()
    if close_if_due(vote):
        db.session.commit()
    return vote


# Lifecycle --------------------------------------------------------------------------------


def scope_of(vote: Vote) -> Scope:
    return Scope(vote.compound_id, tuple(vote.building_ids or ()), tuple(vote.entrance_ids or ()))


def effective_status(vote: Vote, now: datetime) -> VoteStatus:
    """The status as of ``now``: an open vote past its closing time is closed."""
    if vote.status is VoteStatus.OPEN and now >= vote.closes_at:
        return VoteStatus.CLOSED
    return vote.status


def accepting_casts(vote: Vote, now: datetime) -> bool:
    return vote.status is VoteStatus.OPEN and vote.opens_at <= now < vote.closes_at


def close_if_due(vote: Vote) -> bool:
    """Close an open vote whose closing time has passed: take the vote row exclusively (this
    waits for casts in flight, which hold it shared), mark it closed and store the final
    tally. Idempotent; True if this call closed it."""
    if vote.status is not VoteStatus.OPEN:
        return False
    now = db_now()
    if now < vote.closes_at:
        return False
    status = db.session.execute(
        select(Vote.status).where(Vote.id == vote.id).with_for_update()
    ).scalar_one()
    db.session.refresh(vote)
    if status is not VoteStatus.OPEN:
        return False
    from participation.votes.tally import final_result

    vote.status = VoteStatus.CLOSED
    vote.closed_at = vote.closes_at
    record_event(vote, "closed", now)
    db.session.flush()
    vote.result = final_result(vote)
    return True


@dataclass(frozen=True)
class UnknownOwners:
    count: int
    labels: list[str]


def freeze_electorate(vote: Vote) -> UnknownOwners:
    """Write the electorate snapshot of ``vote`` (persons, their dwellings and owners)."""
    scope = scope_of(vote)
    check_scope(scope)
    facts = dwellings_in_scope(scope)
    electorate = group_persons(facts)
    if electorate.t_cnt == 0:
        raise invalid("empty_electorate", "表决范围内没有房屋，无法开启表决")
    dwelling_ids = [f.dwelling_id for f in facts]
    info = {
        row.id: row
        for row in db.session.execute(
            select(
                Dwelling.id,
                Dwelling.floor,
                Dwelling.room,
                Building.number,
                Entrance.number.label("entrance"),
            )
            .join(Building, Dwelling.building_id == Building.id)
            .join(Entrance, Dwelling.entrance_id == Entrance.id)
            .where(Dwelling.id.in_(dwelling_ids))
        )
    }
    facts_by_id = {f.dwelling_id: f for f in facts}

    def label(dwelling_id: int) -> str:
        row = info[dwelling_id]
        return dwelling_label(row.number, row.entrance, row.room)

    person_ids = db.session.scalars(
        insert(VotePerson).returning(VotePerson.id, sort_by_parameter_order=True),
        [
            {
                "vote_id": vote.id,
                "key": p.key,
                "area": p.area,
                "labels": "、".join(label(d) for d in p.dwelling_ids)[:400],
            }
            for p in electorate.persons
        ],
    ).all()
    dwelling_rows, owner_rows = [], []
    for person, person_id in zip(electorate.persons, person_ids, strict=True):
        for dwelling_id in person.dwelling_ids:
            fact = facts_by_id[dwelling_id]
            dwelling_rows.append(
                {
                    "vote_id": vote.id,
                    "person_id": person_id,
                    "dwelling_id": dwelling_id,
                    "building_id": fact.building_id,
                    "entrance_id": fact.entrance_id,
                    "floor": info[dwelling_id].floor,
                    "area": fact.area,
                    "label": label(dwelling_id),
                }
            )
        owner_rows += [
            {"vote_id": vote.id, "person_id": person_id, "owner_id": owner_id}
            for owner_id in sorted(person.owner_ids)
        ]
    db.session.execute(insert(VotePersonDwelling), dwelling_rows)
    if owner_rows:
        db.session.execute(insert(VotePersonOwner), owner_rows)
    vote.t_cnt = electorate.t_cnt
    vote.t_area = electorate.t_area
    unknown = electorate.without_known_owner
    return UnknownOwners(len(unknown), [label(p.dwelling_ids[0]) for p in unknown])


def open_vote(vote: Vote, confirm_unknown_owners: bool = False) -> UnknownOwners:
    """Freeze the electorate and open the vote. Dwellings with no known owner need an explicit
    confirmation (409 ``unknown_owners`` lists them otherwise)."""
    now = db_now()
    locked = db.session.execute(
        update(Vote)
        .where(Vote.id == vote.id, Vote.status == VoteStatus.DRAFT)
        .values(status=VoteStatus.OPEN, opened_at=now)
    )
    if locked.rowcount != 1:
        raise conflict("vote_not_draft", "只有草稿状态的表决可以开启")
    if vote.closes_at <= now:
        raise invalid("closes_in_past", "截止时间已过，请先修改截止时间")
    db.session.refresh(vote)
    unknown = freeze_electorate(vote)
    if unknown.count and not confirm_unknown_owners:
        raise conflict(
            "unknown_owners",
            f"有 {unknown.count} 户房屋没有登记业主，请核实后确认开启",
            {"dwellings": unknown.labels[:200]},
        )
    record_event(vote, "opened", now)
    return unknown


# Recording --------------------------------------------------------------------------------


def _digest(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def receipt_code(digest: str) -> str:
    """A short code for a ballot's receipt: 10 characters of the digest in base32 (50 bits)."""
    return base64.b32encode(bytes.fromhex(digest)).decode()[:10]


def event_content(values: dict) -> dict:
    """The canonical content an event's digest covers (everything but its own id)."""
    keys = (
        "vote_id",
        "kind",
        "person_id",
        "choice",
        "channel",
        "account_id",
        "owner_id",
        "staff_id",
        "attachment_id",
        "proxy_id",
        "nonce",
    )
    content = {key: _plain(values.get(key)) for key in keys}
    content["created_at"] = values["created_at"].isoformat()
    return content


def _plain(value):
    return value.value if hasattr(value, "value") else value


def record_event(vote: Vote, kind: str, now: datetime, **values) -> int:
    """Append a non-cast event (opened, closed, proxy …) to the record."""
    row = {"vote_id": vote.id, "kind": kind, "nonce": secrets.token_hex(16), "created_at": now}
    row.update(values)
    row["digest"] = _digest(event_content(row))
    return db.session.execute(insert(VoteEvent).returning(VoteEvent.id), [row]).scalar_one()


@dataclass(frozen=True)
class CastResult:
    event_id: int
    receipt: str
    choice: Choice
    cast_at: datetime
    replayed: bool  # an earlier request with the same Idempotency-Key


def record_cast(
    vote: Vote,
    person_id: int,
    choice: Choice,
    channel: Channel,
    *,
    account_id: int | None = None,
    owner_id: int | None = None,
    staff_id: int | None = None,
    attachment_id: int | None = None,
    proxy_id: int | None = None,
    idempotency_key: str | None = None,
) -> CastResult:
    """Append a cast and make it the person's ballot if it is their latest.

    The vote row is share-locked (``FOR KEY SHARE``: casts never wait for each other), the
    deadline is checked against the database clock in this transaction, and closing takes
    the row exclusively — so a closing never misses a cast that was accepted.
    """
    status = db.session.execute(
        select(Vote.status, Vote.opens_at, Vote.closes_at)
        .where(Vote.id == vote.id)
        .with_for_update(key_share=True)
    ).one()
    now = db_now()
    if status.status is not VoteStatus.OPEN or not (status.opens_at <= now < status.closes_at):
        if status.status is VoteStatus.OPEN and now < status.opens_at:
            raise conflict("vote_not_started", "表决尚未开始")
        raise conflict("vote_closed", "表决已截止，不再接受投票")
    row = {
        "vote_id": vote.id,
        "kind": "cast",
        "person_id": person_id,
        "choice": choice,
        "channel": channel,
        "account_id": account_id,
        "owner_id": owner_id,
        "staff_id": staff_id,
        "attachment_id": attachment_id,
        "proxy_id": proxy_id,
        "idempotency_key": idempotency_key,
        "nonce": secrets.token_hex(16),
        "created_at": now,
    }
    row["digest"] = _digest(event_content(row))
    row["receipt"] = receipt_code(row["digest"])
    stmt = upsert(VoteEvent).values(row).returning(VoteEvent.id)
    if idempotency_key is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["vote_id", "account_id", "idempotency_key"],
            index_where=VoteEvent.idempotency_key.is_not(None),
        )
    event_id = db.session.execute(stmt).scalar()
    if event_id is None:
        return _replay(vote.id, account_id, idempotency_key, person_id, choice)
    ballot = upsert(Ballot).values(
        vote_id=vote.id,
        person_id=person_id,
        event_id=event_id,
        choice=choice,
        channel=channel,
        cast_at=now,
    )
    db.session.execute(
        ballot.on_conflict_do_update(
            index_elements=[Ballot.vote_id, Ballot.person_id],
            set_={
                "event_id": ballot.excluded.event_id,
                "choice": ballot.excluded.choice,
                "channel": ballot.excluded.channel,
                "cast_at": ballot.excluded.cast_at,
            },
            where=tuple_(Ballot.cast_at, Ballot.event_id)
            < tuple_(ballot.excluded.cast_at, ballot.excluded.event_id),
        )
    )
    return CastResult(event_id, row["receipt"], choice, now, replayed=False)


def _replay(vote_id, account_id, key, person_id, choice) -> CastResult:
    earlier = db.session.scalar(
        select(VoteEvent).where(
            VoteEvent.vote_id == vote_id,
            VoteEvent.account_id == account_id,
            VoteEvent.idempotency_key == key,
        )
    )
    if earlier.person_id != person_id or earlier.choice is not choice:
        raise invalid("idempotency_key_reused", "该请求标识已用于另一次投票，请刷新后重试")
    return CastResult(earlier.id, earlier.receipt, earlier.choice, earlier.created_at, True)


def persons_of_account(vote: Vote, account_id: int) -> list[VotePerson]:
    """The persons of the frozen electorate whose ballot this resident may cast as owner."""
    return list(
        db.session.scalars(
            select(VotePerson)
            .join(VotePersonOwner, VotePersonOwner.person_id == VotePerson.id)
            .join(Owner, Owner.id == VotePersonOwner.owner_id)
            .where(VotePersonOwner.vote_id == vote.id, Owner.account_id == account_id)
            .distinct()
            .order_by(VotePerson.id)
        )
    )


def owner_for(person_id: int, account_id: int) -> int | None:
    return db.session.scalar(
        select(Owner.id)
        .join(VotePersonOwner, VotePersonOwner.owner_id == Owner.id)
        .where(VotePersonOwner.person_id == person_id, Owner.account_id == account_id)
        .limit(1)
    )
