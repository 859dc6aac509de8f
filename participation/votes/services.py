"""The life of a vote: draft → open (electorate frozen) → closed (final tally) → published
(公示, objection period) → final; and recording a cast. Functions flush, never commit.

Deadlines are checked against the database clock in the transaction that writes. A vote past
its closing time is closed when read (``close_if_due``), whether or not a job ran.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, and_, bindparam, func, insert, or_, select, tuple_, update

from participation.auth.scoping import get_scoped, path_resolver, resident_compound_ids
from participation.auth.tokens import Principal
from participation.common.errors import conflict, invalid, not_found
from participation.common.events import campaign_cancelled, campaign_extended, campaign_opened
from participation.common.files import check_document
from participation.common.notify import notify
from participation.common.schemas import local_time
from participation.common.sql import CLOCK_TOLERANCE, db_now, dialect_name, hot_rows, upsert
from participation.common.types import UTCDateTime, utcnow
from participation.extensions import db
from participation.roster.electorate import Scope, check_scope
from participation.roster.models import Compound, Entrance, Owner, ProxyRule
from participation.roster.services import check_objection_days, default_objection_days
from participation.roster.snapshot import SnapshotTables, analyze_snapshot, freeze
from participation.votes.models import (
    Ballot,
    Channel,
    Choice,
    Matter,
    UnsealedEvent,
    Vote,
    VoteAttachment,
    VoteEntrance,
    VoteEvent,
    VotePerson,
    VotePersonDwelling,
    VotePersonOwner,
    VoteStatus,
)

log = logging.getLogger(__name__)

# Who may see a vote ----------------------------------------------------------------------


# Built once (it is on the path of every resident request about a vote).
RESIDENT_VOTE = select(Vote).where(
    Vote.id == bindparam("vote_id"),
    Vote.status.not_in([VoteStatus.DRAFT, VoteStatus.CANCELLED]),
    Vote.compound_id.in_(resident_compound_ids(bindparam("account_id"))),
)


@path_resolver("vote_id")
def get_vote(vote_id: int, principal: Principal) -> Vote:
    """The vote if the caller may see it (``find_vote``). A vote past its closing time is
    closed by whoever reads it first."""
    vote = find_vote(vote_id, principal)
    if close_if_due(vote):
        db.session.commit()
        from participation.votes.tasks import enqueue_after_close  # tasks imports services

        enqueue_after_close(vote.id)
    return vote


def find_vote(vote_id: int, principal: Principal) -> Vote:
    """Staff: votes of compounds in scope. Residents: non-draft votes of their compounds.
    Anything else is 404."""
    if principal.is_staff:
        return get_scoped(Vote, vote_id, principal)
    vote = db.session.scalar(RESIDENT_VOTE, {"vote_id": vote_id, "account_id": principal.id})
    if vote is None:
        raise not_found()
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
    if vote.status is not VoteStatus.OPEN or utcnow() < vote.closes_at - CLOCK_TOLERANCE:
        return False  # not due by a margin wider than any skew: spare a query on every read
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


SNAPSHOT = SnapshotTables("vote_id", VotePerson, VotePersonDwelling, VotePersonOwner)


def freeze_electorate(vote: Vote) -> UnknownOwners:
    """Write the electorate snapshot of ``vote`` (persons, their dwellings and owners)."""
    frozen = freeze(scope_of(vote), SNAPSHOT, vote.id, "表决范围内没有房屋，无法开启表决")
    vote.t_cnt, vote.t_area = frozen.t_cnt, frozen.t_area
    freeze_entrances(vote.id)
    labels = frozen.unknown_owner_labels
    return UnknownOwners(len(labels), labels)


def freeze_entrances(vote_id: int) -> None:
    """Mark each person whose dwellings in scope lie in one entrance with that entrance, and
    store per entrance how many such persons it holds and their area (``VoteEntrance``)."""
    d = VotePersonDwelling
    single = (
        select(d.person_id, func.min(d.entrance_id).label("entrance_id"))
        .where(d.vote_id == vote_id)
        .group_by(d.person_id)
        .having(func.count(d.entrance_id.distinct()) == 1)
        .subquery()
    )
    db.session.execute(
        update(VotePerson)
        .where(VotePerson.id == single.c.person_id)
        .values(entrance_id=single.c.entrance_id)
    )
    db.session.execute(
        insert(VoteEntrance).from_select(
            ["vote_id", "entrance_id", "building_id", "t_cnt", "t_area"],
            select(
                VotePerson.vote_id,
                VotePerson.entrance_id,
                Entrance.building_id,
                func.count(),
                func.sum(VotePerson.area),
            )
            .join(Entrance, Entrance.id == VotePerson.entrance_id)
            .where(VotePerson.vote_id == vote_id)
            .group_by(VotePerson.vote_id, VotePerson.entrance_id, Entrance.building_id),
        )
    )


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
    vote.proxy_rule = db.session.get(Compound, vote.compound_id).proxy_rule
    from participation.votes.costs import check_before_opening  # costs imports services

    check_before_opening(vote)
    if unknown.count and not confirm_unknown_owners:
        raise conflict(
            "unknown_owners",
            f"有 {unknown.count} 户房屋没有登记业主，请核实后确认开启",
            {"dwellings": unknown.labels[:200]},
        )
    analyze_snapshot(SNAPSHOT)
    record_event(vote, "opened", now, note=opened_note(vote))
    campaign_opened.send("vote", campaign=vote)
    return unknown


NO_COST_PLAN_NOTE = "本次表决不涉及居民出资："


def opened_note(vote: Vote) -> str | None:
    """The "opened" event's ``note``: the committee's declaration that a cost-bearing vote
    has no cost plan, with its reason (covered by the event's digest); None otherwise."""
    if vote.no_cost_plan and vote.total_cost is None:
        return NO_COST_PLAN_NOTE + (vote.no_cost_plan_reason or "")
    return None


# Recording --------------------------------------------------------------------------------


def _digest(content: dict) -> str:
    """SHA-256 hex of the canonical JSON of ``content`` (the format: ``votes.record``)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def receipt_code(digest: str) -> str:
    """A short code for a ballot's receipt: 10 characters of the digest in base32 (50 bits)."""
    return base64.b32encode(bytes.fromhex(digest)).decode()[:10]


# What an event's digest covers, besides its time (everything but its own id).
CONTENT_KEYS = (
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


# Covered only when set: paper casts' signing time and corrections' references and reason.
OPTIONAL_CONTENT_KEYS = ("signed_at", "ref_event_id", "objection_id", "note")


def event_content(values: dict) -> dict:
    """The canonical content an event's digest covers (everything but its own id)."""
    content = {key: _plain(values.get(key)) for key in CONTENT_KEYS}
    content["created_at"] = values["created_at"].isoformat()
    for key in OPTIONAL_CONTENT_KEYS:
        value = values.get(key)
        if value is not None:
            content[key] = value.isoformat() if isinstance(value, datetime) else value
    return content


def _plain(value):
    return value.value if hasattr(value, "value") else value


def record_event(vote: Vote, kind: str, now: datetime, **values) -> int:
    """Append a non-cast event (opened, closed, proxy …) to the record."""
    row = {"vote_id": vote.id, "kind": kind, "nonce": secrets.token_hex(16), "created_at": now}
    row.update(values)
    row["digest"] = _digest(event_content(row))
    event_id = db.session.execute(insert(VoteEvent).returning(VoteEvent.id), [row]).scalar_one()
    db.session.execute(insert(UnsealedEvent).values(event_id=event_id, vote_id=vote.id))
    # Lifecycle events are rare and never on the cast path: seal them at once, so a closed
    # vote's record is complete without waiting for a job.
    from participation.votes.record import seal_pending  # record imports services

    seal_pending(vote.id)
    return event_id


@dataclass(frozen=True)
class CastResult:
    event_id: int
    receipt: str
    choice: Choice
    cast_at: datetime
    replayed: bool  # an earlier request with the same Idempotency-Key


# Built once: constructing statements costs more than running them on the cast path.
LOCK_FOR_CAST = (
    select(Vote.status, Vote.opens_at, Vote.closes_at, Vote.proxy_rule)
    .where(Vote.id == bindparam("vote_id"))
    .with_for_update(read=True, key_share=True)
)
# PostgreSQL: the clock is read in the same round trip, once the lock is held. (Read in the
# locking SELECT itself, it would be taken before any wait for the lock.)
_LOCKED = LOCK_FOR_CAST.cte("locked").prefix_with("MATERIALIZED")
LOCK_AND_CLOCK = select(_LOCKED, func.clock_timestamp(type_=UTCDateTime).label("now"))


def lock_for_cast(vote_id: int) -> tuple | None:
    """The vote's status and times, share-locked, and the database clock after the lock
    (None: no such vote)."""
    if dialect_name() == "postgresql":
        row = db.session.connection().execute(LOCK_AND_CLOCK, {"vote_id": vote_id}).first()
        return row and (row, row.now)
    row = db.session.execute(LOCK_FOR_CAST, {"vote_id": vote_id}).first()
    return row and (row, db_now())


# The columns a cast event is written with.
CAST_KEYS = (
    *CONTENT_KEYS, "created_at", "signed_at", "objection_id", "note", "idempotency_key",
    "digest", "receipt",
)  # fmt: skip
BALLOT_COLUMNS = ("vote_id", "person_id", "event_id", "choice", "channel", "cast_at", "rank")


def cast_rank(channel: Channel, proxy_rule: ProxyRule) -> int:
    """``Ballot.rank``: a proxy's cast ranks below the owner's own where the compound's rules
    say the owner's ballot prevails; otherwise every cast ranks alike (the latest counts)."""
    return 0 if channel is Channel.PROXY and proxy_rule is ProxyRule.OWNER_PREVAILS else 1


# What the ballot of a cast is written from.
EVENT_RETURNED = ("id", "vote_id", "person_id", "choice", "channel", "created_at", "signed_at")


def _event_insert(dialect: str, idempotent: bool):
    """``INSERT`` the cast event, ``RETURNING`` what its ballot needs; with an idempotency
    key, nothing when the caller used that key before."""
    stmt = upsert(VoteEvent, dialect).values({key: bindparam(key) for key in CAST_KEYS})
    if idempotent:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["vote_id", "account_id", "idempotency_key"],
            index_where=VoteEvent.idempotency_key.is_not(None),
        )
    return stmt.returning(*(VoteEvent.__table__.c[key] for key in EVENT_RETURNED))


def _ballot_upsert(dialect: str, event):
    """``INSERT … SELECT`` the person's ballot from the cast ``event`` (a CTE or subquery of
    the event's values), its rank (``:rank``) and the person's area and entrance, replacing
    an earlier ballot only if this one ranks higher: of equal rank, if it was made later
    (concurrent casts of one person end with the latest)."""
    ballot = upsert(Ballot, dialect).from_select(
        [*BALLOT_COLUMNS, "area", "entrance_id"],
        select(
            event.c.vote_id,
            event.c.person_id,
            event.c.id,
            event.c.choice,
            event.c.channel,
            func.coalesce(event.c.signed_at, event.c.created_at),
            bindparam("rank", type_=Integer),
            VotePerson.area,
            VotePerson.entrance_id,
        ).where(VotePerson.id == event.c.person_id),
    )
    return ballot.on_conflict_do_update(
        index_elements=[Ballot.vote_id, Ballot.person_id],
        set_={column: ballot.excluded[column] for column in BALLOT_COLUMNS[2:]},
        where=tuple_(Ballot.rank, Ballot.cast_at, Ballot.event_id)
        < tuple_(ballot.excluded.rank, ballot.excluded.cast_at, ballot.excluded.event_id),
    )


def _queue_for_sealing(event):
    return insert(UnsealedEvent).from_select(
        ["event_id", "vote_id"], select(event.c.id, event.c.vote_id)
    )


@functools.cache
def _cast_statement(dialect: str, idempotent: bool):
    """PostgreSQL: the whole write of a cast in one statement — the event, its place in the
    sealing queue and the ballot — returning the event's id (none: the key was used)."""
    event = _event_insert(dialect, idempotent).cte("event")
    return select(event.c.id).add_cte(
        _queue_for_sealing(event).cte("queued"), _ballot_upsert(dialect, event).cte("ballot")
    )


@functools.cache
def _cast_steps(dialect: str, idempotent: bool):
    """Other backends: the event, then its ballot and its place in the sealing queue from the
    event's values as bound parameters."""
    values = select(
        *(
            bindparam(key, type_=VoteEvent.__table__.c[key].type).label(key)
            for key in EVENT_RETURNED
        )
    ).subquery("event")
    return (
        _event_insert(dialect, idempotent),
        _ballot_upsert(dialect, values),
        _queue_for_sealing(values),
    )


def _write_cast(row: dict) -> int | None:
    """Write the cast ``row``: its event, queued for sealing, and the person's ballot if it
    is their latest. Returns the event id, None if the idempotency key was used before."""
    idempotent = row["idempotency_key"] is not None
    # Plain Core statements on the session's connection, not the ORM's bulk insert path; on
    # PostgreSQL one, run on the driver.
    dialect = dialect_name()
    if dialect == "postgresql":
        rows = hot_rows(_cast_statement(dialect, idempotent), row)
        return rows[0].id if rows else None
    connection = db.session.connection()
    insert_event, ballot, queued = _cast_steps(dialect, idempotent)
    event = connection.execute(insert_event, row).first()
    if event is None:
        return None
    connection.execute(ballot, {**event._asdict(), "rank": row["rank"]})
    connection.execute(queued, event._asdict())
    return event.id


def record_cast(
    vote_id: int,
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
    signed_at: datetime | None = None,
    locked: tuple | None = None,
) -> CastResult:
    """Append a cast and make it the person's ballot if it is their latest.

    The vote row is share-locked (``FOR KEY SHARE``: casts never wait for each other), the
    deadline is checked against the database clock in this transaction, and closing takes
    the row exclusively — so a closing never misses a cast that was accepted. ``locked``:
    what ``lock_for_cast`` returns, when the caller took the lock in a query of its own.
    """
    status, now = locked if locked is not None else lock_for_cast(vote_id)
    if status.status is not VoteStatus.OPEN or not (status.opens_at <= now < status.closes_at):
        # A retry of a cast accepted in time answers as before, even after the closing time.
        earlier = idempotency_key and _replay(
            vote_id, account_id, idempotency_key, person_id, choice
        )
        if earlier:
            return earlier
        if status.status is VoteStatus.OPEN and now < status.opens_at:
            raise conflict("vote_not_started", "表决尚未开始")
        raise conflict("vote_closed", "表决已截止，不再接受投票")
    row = cast_row(
        vote_id,
        person_id,
        choice,
        channel,
        now,
        cast_rank(channel, status.proxy_rule),
        account_id=account_id,
        owner_id=owner_id,
        staff_id=staff_id,
        attachment_id=attachment_id,
        proxy_id=proxy_id,
        idempotency_key=idempotency_key,
        signed_at=signed_at,
    )
    event_id = _write_cast(row)
    if event_id is None:
        return _replay(vote_id, account_id, idempotency_key, person_id, choice)
    return CastResult(event_id, row["receipt"], choice, now, replayed=False)


def cast_row(
    vote_id: int,
    person_id: int,
    choice: Choice,
    channel: Channel,
    now: datetime,
    rank: int,
    **values,
) -> dict:
    """The row of a cast event (with its digest and receipt) and its ballot's ``rank``;
    ``values``: who cast it and how (``CAST_KEYS``), None where not given."""
    row = {key: None for key in CAST_KEYS}
    row.update(
        values,
        vote_id=vote_id,
        kind="cast",
        person_id=person_id,
        choice=choice,
        channel=channel,
        nonce=secrets.token_hex(16),
        created_at=now,
    )
    row["digest"] = _digest(event_content(row))
    row["receipt"] = receipt_code(row["digest"])
    row["rank"] = rank
    return row


def write_cast(row: dict) -> CastResult:
    """Write a cast row built by ``cast_row`` for a caller that checked the vote under its own
    lock and recognises its own retries (paper ballots: ``paper.enter_paper_ballot``)."""
    event_id = _write_cast(row)
    return CastResult(event_id, row["receipt"], row["choice"], row["created_at"], replayed=False)


def _replay(vote_id, account_id, key, person_id, choice) -> CastResult | None:
    earlier = db.session.scalar(
        select(VoteEvent).where(
            VoteEvent.vote_id == vote_id,
            VoteEvent.account_id == account_id,
            VoteEvent.idempotency_key == key,
        )
    )
    if earlier is None:
        return None
    if earlier.person_id != person_id or earlier.choice is not choice:
        raise invalid("idempotency_key_reused", "该请求标识已用于另一次投票，请刷新后重试")
    return CastResult(earlier.id, earlier.receipt, earlier.choice, earlier.created_at, True)


# Drafts, cancelling and attachments -------------------------------------------------------

MATERIAL_KINDS = ("plan", "cost_estimate", "other")
PAPER_BALLOT = "paper_ballot"  # photo of a signed paper ballot: staff only, not a material
DRAFT_FIELDS = (
    "title",
    "description",
    "matter",
    "building_ids",
    "entrance_ids",
    "opens_at",
    "closes_at",
    "objection_days",
)


def create_vote(compound_id: int, fields: dict, staff_id: int) -> Vote:
    """A draft vote; ``fields`` as loaded by ``VoteInSchema`` (times aware). Without
    ``objection_days``, the default is at least the district's minimum."""
    fields = {"objection_days": default_objection_days(compound_id), **fields}
    vote = Vote(
        compound_id=compound_id,
        status=VoteStatus.DRAFT,
        created_by_id=staff_id,
        proxy_rule=db.session.get(Compound, compound_id).proxy_rule,  # as of now; fixed at opening
        **_checked_draft(compound_id, fields),
        **checked_declaration(fields, has_plan=False),
    )
    db.session.add(vote)
    db.session.flush()
    return vote


def update_draft(vote: Vote, changes: dict) -> Vote:
    """Edit a draft. The row is locked first, so an edit never lands on a vote being opened."""
    _lock_in_status(vote, (VoteStatus.DRAFT,), "vote_not_draft", "只有草稿状态的表决可以修改")
    current = {key: getattr(vote, key) for key in (*DRAFT_FIELDS, *DECLARATION_FIELDS)}
    values = _checked_draft(vote.compound_id, {**current, **changes})
    if any(key in changes for key in DECLARATION_FIELDS):
        values.update(
            checked_declaration({**current, **changes}, has_plan=vote.total_cost is not None)
        )
    from participation.votes.costs import check_linking_votes  # costs imports services

    check_linking_votes(vote, values)
    for key, value in values.items():
        setattr(vote, key, value)
    db.session.flush()
    return vote


DECLARATION_FIELDS = ("no_cost_plan", "no_cost_plan_reason")


def checked_declaration(fields: dict, has_plan: bool) -> dict:
    """The declaration that a cost-bearing vote has no cost plan (``no_cost_plan``) and its
    reason, or 422 naming the field at fault: a reason of 1–200 characters is required when
    declared, and a vote with a cost plan cannot declare it has none. Not declared: no
    reason is kept."""
    if not fields.get("no_cost_plan"):
        return {"no_cost_plan": False, "no_cost_plan_reason": None}
    if has_plan:
        message = "已填写费用方案，不能同时声明不涉及居民出资；如确不涉及，请先删除费用方案"
        raise invalid("no_cost_plan_with_plan", message, {"no_cost_plan": [message]})
    reason = (fields.get("no_cost_plan_reason") or "").strip()
    if not 1 <= len(reason) <= 200:
        message = "声明不涉及居民出资时，须填写原因（1–200 字）"
        raise invalid("no_cost_plan_reason_required", message, {"no_cost_plan_reason": [message]})
    return {"no_cost_plan": True, "no_cost_plan_reason": reason}


def _checked_draft(compound_id: int, fields: dict) -> dict:
    """The draft's columns, or 422 naming the field at fault; nothing is written."""
    values = {key: fields[key] for key in DRAFT_FIELDS}
    values["building_ids"] = sorted(set(values["building_ids"]))
    values["entrance_ids"] = sorted(set(values["entrance_ids"]))
    values["rule"] = values["matter"].rule
    if values["closes_at"] <= values["opens_at"]:
        raise invalid(
            "closes_before_opens", "截止时间须晚于开始时间", {"closes_at": ["须晚于开始时间"]}
        )
    if values["closes_at"] <= db_now():
        raise invalid("closes_in_past", "截止时间须在当前时间之后", {"closes_at": ["已过去"]})
    scope = Scope(compound_id, tuple(values["building_ids"]), tuple(values["entrance_ids"]))
    if values["matter"] is Matter.ELEVATOR and scope.whole_compound:
        raise invalid(
            "elevator_scope_required",
            "加装电梯表决须限定在楼栋或单元范围内",
            {"building_ids": ["请选择楼栋或单元"]},
        )
    check_scope(scope)
    check_objection_days(compound_id, values["objection_days"])
    return values


def _lock_in_status(vote: Vote, allowed: tuple[VoteStatus, ...], code: str, message: str):
    """Take the vote row exclusively (casts in flight hold it shared, so this waits for them)
    and refresh it; 409 ``code`` unless its status is ``allowed``."""
    status = db.session.execute(
        select(Vote.status).where(Vote.id == vote.id).with_for_update()
    ).scalar_one()
    db.session.refresh(vote)
    if status not in allowed:
        raise conflict(code, message)


def cancel_vote(vote: Vote, staff_id: int) -> Vote:
    """Cancel a draft, or an opened vote before its closing time as long as nobody has cast.
    Once a ballot exists the vote runs to its end: a cancellation would discard it."""
    _lock_in_status(
        vote,
        (VoteStatus.DRAFT, VoteStatus.OPEN),
        "vote_not_cancellable",
        "只有草稿或尚无人投票的表决可以取消",
    )
    if vote.status is VoteStatus.OPEN:
        now = db_now()
        if now >= vote.closes_at:
            raise conflict("vote_closed", "表决已截止，不能取消")
        cast = select(VoteEvent.id).where(VoteEvent.vote_id == vote.id, VoteEvent.kind == "cast")
        if db.session.scalar(cast.limit(1)) is not None:
            raise conflict("vote_has_ballots", "已有业主投票，表决不能取消")
        record_event(vote, "cancelled", now, staff_id=staff_id)
    vote.status = VoteStatus.CANCELLED
    db.session.flush()
    campaign_cancelled.send("vote", campaign=vote)
    return vote


def attach_material(vote: Vote, kind: str, filename: str, content: bytes, staff_id: int):
    """A plan, cost estimate or other material (``MATERIAL_KINDS``), while the vote is a
    draft: what owners decide on does not change once the vote is open."""
    _lock_in_status(vote, (VoteStatus.DRAFT,), "vote_not_draft", "表决开启后不能再添加附件")
    return store_attachment(vote, kind, filename, content, staff_id)


def store_attachment(
    vote: Vote, kind: str, filename: str, content: bytes, staff_id: int
) -> VoteAttachment:
    """Keep a PDF, JPEG or PNG of at most 10 MB (checked by its content, not its name)."""
    document = check_document(filename, content)
    attachment = VoteAttachment(
        vote_id=vote.id,
        kind=kind,
        filename=document.filename,
        content_type=document.content_type,
        content=document.content,
        sha256=document.sha256,
        uploaded_by_id=staff_id,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def materials_of(vote: Vote) -> list[VoteAttachment]:
    """The vote's materials (no paper ballot photos), oldest first; contents not loaded."""
    return list(
        db.session.scalars(
            select(VoteAttachment)
            .where(VoteAttachment.vote_id == vote.id, VoteAttachment.kind != PAPER_BALLOT)
            .order_by(VoteAttachment.id)
        )
    )


@path_resolver("attachment_id")
def get_attachment(attachment_id: int, principal: Principal) -> VoteAttachment:
    """Through the vote's scope (``get_vote``); paper ballot photos for staff only."""
    attachment = db.session.get(VoteAttachment, attachment_id)
    if attachment is None or (attachment.kind == PAPER_BALLOT and not principal.is_staff):
        raise not_found()
    get_vote(attachment.vote_id, principal)
    return attachment


# Extending the deadline -------------------------------------------------------------------

# The latest closing time an extension may set, counted from the start of voting: three
# months is long enough for door-to-door canvassing (入户发动) of a slow building, the same
# bound as the longest objection period a draft may ask for, and short enough that the
# electorate frozen at opening still is the building's owners when the vote closes.
MAX_VOTING_PERIOD = timedelta(days=90)
DEADLINE_EXTENDED = "deadline_extended"  # the vote event recording an extension
EXTENDABLE = (VoteStatus.DRAFT, VoteStatus.OPEN)  # open covers "scheduled" (before opens_at)


def extension_note(old: datetime, new: datetime, reason: str) -> str:
    """A ``deadline_extended`` event's ``note`` (so its digest covers all of it): the canonical
    JSON (``_digest``'s format) of ``{"from", "to", "reason"}``, times as UTC ISO 8601."""
    content = {
        "from": old.astimezone(UTC).isoformat(),
        "to": new.astimezone(UTC).isoformat(),
        "reason": reason,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def check_later(old: datetime, new: datetime, opens_at: datetime) -> None:
    """422 unless ``new`` is later than ``old`` and within ``MAX_VOTING_PERIOD`` of
    ``opens_at``."""
    if new <= old:
        message = "截止时间只能延后，不能提前"
        raise invalid("deadline_not_later", message, {"closes_at": [message]})
    if new > opens_at + MAX_VOTING_PERIOD:
        days = MAX_VOTING_PERIOD.days
        message = f"截止时间最晚为开始时间后 {days} 天"
        raise invalid("deadline_too_late", message, {"closes_at": [message]})


def extend_deadline(vote: Vote, closes_at: datetime, reason: str, staff_id: int) -> datetime:
    """Move the closing time of a draft, scheduled or open vote later; returns the old one.

    The vote row is taken exclusively (casts in flight hold it shared, so this waits for
    them, and casts after it wait for this commit and then read the new time), and the
    deadline is checked against the database clock once the lock is held: 409
    ``campaign_closed`` at or after the current closing time, whether or not the vote has
    been closed yet. The extension is a ``deadline_extended`` event of the vote's record
    (old and new time and reason in its ``note``, see ``extension_note``)."""
    _lock_in_status(vote, EXTENDABLE, "campaign_closed", "表决已截止或已取消，不能延长截止时间")
    now = db_now()
    if now >= vote.closes_at:
        raise conflict("campaign_closed", "表决已到截止时间，不能再延长")
    reason = reason.strip()
    if not reason:
        message = "请填写延长截止时间的原因（1–200 字）"
        raise invalid("validation_error", message, {"reason": [message]})
    old = vote.closes_at
    check_later(old, closes_at, vote.opens_at)
    vote.closes_at = closes_at
    db.session.flush()
    record_event(
        vote, DEADLINE_EXTENDED, now, staff_id=staff_id, note=extension_note(old, closes_at, reason)
    )
    campaign_extended.send("vote", campaign=vote)  # the notice board's opening notice
    return old


def deadline_extensions(vote_id: int) -> list[dict]:
    """The vote's extensions, oldest first: ``{"from", "to", "reason", "at", "staff_id"}``."""
    rows = db.session.execute(
        select(VoteEvent.note, VoteEvent.created_at, VoteEvent.staff_id)
        .where(VoteEvent.vote_id == vote_id, VoteEvent.kind == DEADLINE_EXTENDED)
        .order_by(VoteEvent.id)
    ).all()
    views = []
    for note, at, staff_id in rows:
        content = json.loads(note)
        views.append(
            {
                "from": datetime.fromisoformat(content["from"]),
                "to": datetime.fromisoformat(content["to"]),
                "reason": content["reason"],
                "at": at,
                "staff_id": staff_id,
            }
        )
    return views


def extension_recipients(vote_id: int) -> list[int]:
    """Accounts to tell of an extension: the electorate's owners and whoever has cast."""
    owners = (
        select(Owner.account_id)
        .join(VotePersonOwner, VotePersonOwner.owner_id == Owner.id)
        .where(VotePersonOwner.vote_id == vote_id, Owner.account_id.is_not(None))
    )
    casters = select(VoteEvent.account_id).where(
        VoteEvent.vote_id == vote_id, VoteEvent.kind == "cast", VoteEvent.account_id.is_not(None)
    )
    return sorted(set(db.session.scalars(owners.union(casters))))


def announce_extension(vote: Vote, reason: str) -> int:
    """After the commit of an extension: notify the electorate's accounts (a draft has none);
    how many. Never raises: the extension is committed whatever the notifier does."""
    try:
        accounts = extension_recipients(vote.id)
        message = (
            f"「{vote.title}」表决截止时间已延长至 {local_time(vote.closes_at)}（北京时间）。"
            f"原因：{reason.strip()}"
        )
        notify(accounts, message, "vote_deadline_extended")
    except Exception:
        log.warning("notifying the extension of vote %s failed", vote.id, exc_info=True)
        return 0
    return len(accounts)


# Views --------------------------------------------------------------------------------------


PRECEDENCE_WORDS = {
    ProxyRule.LATEST: (
        "同一业主多次投票的（线上、委托或纸质票），以最后作出的一票为准；"
        "纸质票以业主签署的时间为准。"
    ),
    ProxyRule.OWNER_PREVAILS: (
        "依本小区议事规则，业主本人投票的（线上或纸质票），以本人最后作出的一票为准，"
        "受托人的投票不计入；本人未投票的，以受托人最后作出的一票为准。"
        "纸质票以业主签署的时间为准。"
    ),
}


def vote_view(vote: Vote, now: datetime, staff: bool, attachments=None) -> dict:
    """What ``VoteSchema`` shows: residents get the vote itself, staff also the electorate
    totals and the lifecycle times. ``attachments`` only in the detail view."""
    view = {
        "id": vote.id,
        "compound_id": vote.compound_id,
        "title": vote.title,
        "description": vote.description,
        "matter": vote.matter,
        "rule": vote.rule,
        "status": effective_status(vote, now),
        "accepting_casts": accepting_casts(vote, now),
        "building_ids": vote.building_ids or [],
        "entrance_ids": vote.entrance_ids or [],
        "opens_at": vote.opens_at,
        "closes_at": vote.closes_at,
        "objection_days": vote.objection_days,
        "proxy_rule": vote.proxy_rule,
        "precedence": PRECEDENCE_WORDS[vote.proxy_rule],
        "takes_common_parts": vote.takes_common_parts,
        "common_parts_vote_id": vote.common_parts_vote_id,
    }
    from participation.votes.decision import decision  # decision imports services

    view["decision"] = decision(vote)
    if staff:
        view.update(
            {
                key: getattr(vote, key)
                for key in ("t_cnt", "t_area", "created_by_id", "created_at", "opened_at")
            }
        )
        view["closed_at"] = vote.closed_at
        view["no_cost_plan"] = vote.no_cost_plan
        view["no_cost_plan_reason"] = vote.no_cost_plan_reason
        if attachments is not None:  # the detail view
            view["deadline_extensions"] = deadline_extensions(vote.id)
    if attachments is not None:
        view["attachments"] = attachments
    return view


def compound_votes_query(compound_id: int, status: VoteStatus | None, now: datetime):
    """A compound's votes, newest first; ``status`` as shown (an open vote past its closing
    time counts as closed)."""
    stmt = select(Vote).where(Vote.compound_id == compound_id).order_by(Vote.id.desc())
    if status is VoteStatus.OPEN:
        stmt = stmt.where(Vote.status == VoteStatus.OPEN, Vote.closes_at > now)
    elif status is VoteStatus.CLOSED:
        stmt = stmt.where(
            or_(
                Vote.status == VoteStatus.CLOSED,
                and_(Vote.status == VoteStatus.OPEN, Vote.closes_at <= now),
            )
        )
    elif status is not None:
        stmt = stmt.where(Vote.status == status)
    return stmt


def resident_votes_query(account_id: int):
    """The votes a resident may see (as ``get_vote``), latest closing first."""
    return (
        select(Vote)
        .where(
            Vote.status.not_in([VoteStatus.DRAFT, VoteStatus.CANCELLED]),
            Vote.compound_id.in_(resident_compound_ids(account_id)),
        )
        .order_by(Vote.closes_at.desc(), Vote.id.desc())
    )


def resident_vote_views(votes: list[Vote], account_id: int, now: datetime) -> list[dict]:
    """Each vote with whether the resident is an owner in it (``eligible``), may cast now
    (``can_vote``) and has a counting ballot (``has_voted``, also when cast by a proxy or on
    paper)."""
    voted: dict[int, bool] = {}
    for vote_id, has_ballot in db.session.execute(
        select(VotePersonOwner.vote_id, Ballot.person_id.is_not(None))
        .join(Owner, Owner.id == VotePersonOwner.owner_id)
        .outerjoin(
            Ballot,
            and_(
                Ballot.vote_id == VotePersonOwner.vote_id,
                Ballot.person_id == VotePersonOwner.person_id,
            ),
        )
        .where(VotePersonOwner.vote_id.in_([v.id for v in votes]), Owner.account_id == account_id)
    ):
        voted[vote_id] = voted.get(vote_id, False) or has_ballot
    return [
        {
            **vote_view(vote, now, staff=False),
            "eligible": vote.id in voted,
            "can_vote": vote.id in voted and accepting_casts(vote, now),
            "has_voted": voted.get(vote.id, False),
        }
        for vote in votes
    ]
