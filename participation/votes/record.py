"""The verifiable record (DESIGN.md, "The audit chain must not serialise voting").

Every cast, proxy, paper entry and lifecycle event is a row of ``vote_events`` carrying the
SHA-256 digest of its content; a cast's receipt is taken from that digest at once. Sealing
appends the committed events to ``vote_chain`` afterwards, in batches, in the order it finds
them: entry ``seq`` covers its event's digest and its parent's hash (``chain_hash``), so
changing any event or entry breaks the hashes from there on. Sealers of one vote take a lock
that casting never takes, so casts never wait for the chain. ``verify`` recomputes all of it,
and the tally, from the rows.

The format, for an independent verifier (pinned by known-answer tests in
``tests/votes/test_record_format.py``; changing any of it breaks every receipt handed out):

- **Event digest** (``vote_events.digest``): SHA-256, as 64 lowercase hex characters, of the
  UTF-8 bytes of the event's canonical JSON — an object with exactly the keys ``account_id``,
  ``attachment_id``, ``channel``, ``choice``, ``created_at``, ``kind``, ``nonce``,
  ``owner_id``, ``person_id``, ``proxy_id``, ``staff_id``, ``vote_id``, sorted, with no
  whitespace (separators ``,`` and ``:``) and non-ASCII characters written as themselves.
  Ids are JSON integers, a missing value is ``null``; ``kind`` (``cast``, ``opened``,
  ``closed``, ``proxy``, …), ``choice`` (``agree``/``disagree``/``abstain``) and ``channel``
  (``online``/``proxy``/``paper``) are strings; ``nonce`` is 32 lowercase hex characters;
  ``created_at`` is the event's UTC time as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` (Python's
  ``datetime.isoformat``: the ``.ffffff`` fraction is left out when the microseconds are 0).
  Four more keys appear only where the event has them: ``signed_at`` (a paper cast: when
  the owner signed it, in the format of ``created_at``), ``objection_id`` (a correction:
  the upheld objection it answers), ``ref_event_id`` (a ``void``: the cast it voids) and
  ``note`` (a correction's reason, a string).
  Two lifecycle events carry a ``note`` too: an ``opened`` event of a cost-bearing vote
  opened without a cost plan has the committee's declaration, ``本次表决不涉及居民出资：``
  followed by its reason; a ``deadline_extended`` event has the canonical JSON (as above) of
  ``{"from": <old closing time>, "to": <new closing time>, "reason": <text>}``, times in the
  format of ``created_at``. ``verify`` checks that the extensions follow each other (each
  ``from`` is the previous ``to``, each ``to`` later than its ``from``, each made before its
  ``from``) and that the last ``to`` is the vote's closing time.
  For example ``{"account_id":3,"attachment_id":null,"channel":"online","choice":"agree",
  "created_at":"2026-12-02T08:30:15.123456+00:00","kind":"cast","nonce":"0011…eeff",
  "owner_id":5,"person_id":7,"proxy_id":null,"staff_id":null,"vote_id":42}`` (one line).
- **Receipt code** (casts): the first 10 characters of the RFC 4648 base32 encoding
  (alphabet ``A–Z2–7``) of the digest's 32 bytes.
- **Genesis hash** of vote ``V``: SHA-256 hex of the ASCII ``participation:vote:V`` (``V`` in
  decimal) — the parent of the chain's first entry.
- **Chain entry** ``seq`` (1, 2, 3, … without gaps): ``hash`` = SHA-256 hex of the ASCII
  ``<parent hash>|<seq>|<event digest>`` (hashes and digest as lowercase hex, ``seq`` in
  decimal); its ``parent_hash`` is the genesis hash for seq 1, else entry ``seq − 1``'s hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import Row, bindparam, delete, exists, func, insert, select, text, tuple_
from werkzeug.routing import BaseConverter

from participation.common.errors import invalid, not_found
from participation.common.jobs import enqueue_at, redis_connection, redis_failed, redis_resting
from participation.common.sql import dialect_name
from participation.extensions import db
from participation.votes.models import (
    Ballot,
    ChainEntry,
    Channel,
    Choice,
    UnsealedEvent,
    Vote,
    VoteEntrance,
    VoteEvent,
    VotePerson,
    VotePersonDwelling,
    VoteStatus,
)
from participation.votes.services import (
    DEADLINE_EXTENDED,
    _digest,
    cast_rank,
    event_content,
    receipt_code,
)

log = logging.getLogger(__name__)

# pg_advisory_xact_lock(SEAL_LOCK_NAMESPACE, vote_id): held by sealers only.
SEAL_LOCK_NAMESPACE = int.from_bytes(b"seal")
# A seal job is due on the first whole second at least this long after the cast that asks
# for it: more than the clock skew between app and worker hosts, so that the job reads the
# queue after the cast's commit. The casts of that second ride along with it: a busy vote is
# sealed in batches, a job a second, not a job a cast.
SEAL_DELAY = timedelta(milliseconds=100)
RECEIPT_FORMAT = re.compile(r"[A-Z2-7]{10}")
RECEIPT_PATTERN = f"^{RECEIPT_FORMAT.pattern}$"


class ReceiptConverter(BaseConverter):
    """``<receipt:code>``: any path segment reaches the view, which says what is wrong with
    a mistyped code (422); the OpenAPI document gives the format."""


def receipt_param_schema(converter: ReceiptConverter) -> dict:
    return {"type": "string", "pattern": RECEIPT_PATTERN, "example": "K7Q2MX4ZP3"}


# Once a vote has closed, every event must be sealed (publishing seals what is left).
SEALED_WHEN = (VoteStatus.CLOSED, VoteStatus.PUBLISHED, VoteStatus.FINAL)
ZERO = Decimal("0.00")


# The chain ---------------------------------------------------------------------------------


def genesis_hash(vote_id: int) -> str:
    """The parent of a vote's first entry."""
    return hashlib.sha256(f"participation:vote:{vote_id}".encode()).hexdigest()


def chain_hash(parent_hash: str, seq: int, digest: str) -> str:
    """The hash of entry ``seq``: SHA-256 of ``"<parent hash>|<seq>|<event digest>"``, all hex
    and decimal ASCII. Sealing and verification both use this function."""
    return hashlib.sha256(f"{parent_hash}|{seq}|{digest}".encode()).hexdigest()


def chain_head(vote_id: int) -> Row | None:
    """The last entry (seq, parent_hash, hash) of the vote's chain, or None."""
    return db.session.execute(
        select(ChainEntry.seq, ChainEntry.parent_hash, ChainEntry.hash)
        .where(ChainEntry.vote_id == vote_id)
        .order_by(ChainEntry.seq.desc())
        .limit(1)
    ).first()


# The sealing queue: a batch of a vote's unsealed events in id order, and taking them out.
# The batch is taken from the queue's index and each event's digest looked up by its key (a
# subquery per row, which the planner cannot turn into a join): joined instead, a vote whose
# record outgrew its statistics had every seal job hash all of its events.
_BATCH = (
    select(UnsealedEvent.event_id.label("id"))
    .where(UnsealedEvent.vote_id == bindparam("vote_id"))
    .order_by(UnsealedEvent.event_id)
    .limit(bindparam("batch_size"))
    .subquery("batch")
)
UNSEALED = select(
    _BATCH.c.id,
    select(VoteEvent.digest).where(VoteEvent.id == _BATCH.c.id).scalar_subquery().label("digest"),
).order_by(_BATCH.c.id)
SEALED = delete(UnsealedEvent).where(
    UnsealedEvent.event_id.in_(bindparam("event_ids", expanding=True))
)


def seal_pending(vote_id: int, batch_size: int = 5000) -> int:
    """Append every committed, unsealed event of the vote to its chain, in event id order;
    returns how many were sealed. Idempotent. Flushes, never commits: the lock is held until
    the caller's transaction ends.

    The unsealed events are those queued in ``vote_unsealed`` by their own transactions;
    sealing takes them from there, so it costs what it seals. Only sealers wait for each
    other (a transaction-level advisory lock per vote on PostgreSQL; SQLite has a single
    writer anyway). Events committed after this started are left for the next sealing, so
    the chain's order is the sealing order, not the id order. The vote row is share-locked
    first (``FOR KEY SHARE``, which casts never wait for): the chain's foreign key takes that
    lock anyway, and taking it before the advisory lock keeps the order of the closing path
    (vote row, then sealing) — no deadlock with it.
    """
    if dialect_name() == "postgresql":
        db.session.execute(
            select(Vote.id).where(Vote.id == vote_id).with_for_update(read=True, key_share=True)
        )
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), CAST(:vote AS integer))"),
            {"ns": SEAL_LOCK_NAMESPACE, "vote": vote_id},
        )
    head = chain_head(vote_id)
    seq, parent = (head.seq, head.hash) if head else (0, genesis_hash(vote_id))
    sealed = 0
    while pending := db.session.execute(
        UNSEALED, {"vote_id": vote_id, "batch_size": batch_size}
    ).all():
        entries = []
        for event_id, digest in pending:
            seq += 1
            entry_hash = chain_hash(parent, seq, digest)
            entries.append(
                {
                    "vote_id": vote_id,
                    "seq": seq,
                    "event_id": event_id,
                    "parent_hash": parent,
                    "hash": entry_hash,
                }
            )
            parent = entry_hash
        db.session.execute(insert(ChainEntry), entries)
        db.session.execute(SEALED, {"event_ids": [event_id for event_id, _ in pending]})
        sealed += len(entries)
    return sealed


# Sealing after commit ----------------------------------------------------------------------


# Seal jobs are due on whole seconds (rq's resolution): at most one per vote and second, the
# slot's key in Redis saying it is scheduled. Each process remembers, per vote, the latest slot
# it made sure of, so a busy vote's casts ask Redis about once a second per process.
_slots: dict[str, int] = {}
SLOT_KEY_SECONDS = 60  # how long a slot's key stays in Redis (its job is due within 2 s)


def _slot_prefix(vote_id: int) -> str:
    return f"{current_app.config['RQ_QUEUE']}:votes:seal:{vote_id}"


def schedule_sealing(vote_id: int) -> None:
    """Have the vote's new events sealed; call it after the commit of a cast. The caster
    never waits for the chain.

    With Redis, the cast makes sure a seal job is due on the first whole second at least
    ``SEAL_DELAY`` from now: the job of that second, enqueued by whichever cast set its key
    first. A job never runs before its due time, so it reads the queue after this commit
    and seals this cast with every other of its second; a lost job leaves its events for the
    next second's job (or the closing, which seals the rest). Without Redis the events are
    sealed right here; a failure only leaves them pending for the next sealing (the cast
    itself is committed). Never raises: with Redis unreachable the failure is logged, this
    process leaves Redis alone for a few seconds (``jobs.REDIS_RETRY_SECONDS``) and the
    events stay pending until a later cast's job, the worker's sweep (``sweep_unsealed``)
    or the closing seals them.
    """
    from participation.votes.tasks import seal_vote

    connection = redis_connection()
    if connection is None:
        try:
            seal_vote(vote_id)
        except Exception:
            db.session.rollback()
            log.warning("sealing vote %s failed; its events stay pending", vote_id, exc_info=True)
        return
    prefix = _slot_prefix(vote_id)
    due = math.ceil(time.time() + SEAL_DELAY.total_seconds())
    if _slots.get(prefix, 0) >= due:  # this process made sure of it (or of a later one)
        return
    if redis_resting():
        return
    from redis.exceptions import RedisError

    try:
        if connection.set(f"{prefix}:{due}", 1, nx=True, ex=SLOT_KEY_SECONDS):
            enqueue_at(due, seal_vote, vote_id)
    except RedisError as error:
        redis_failed(f"scheduling the sealing of vote {vote_id}", error)
        return
    _slots[prefix] = due


# Receipts ------------------------------------------------------------------------------------


def receipt_status(vote_id: int, code: str) -> dict:
    """What the public receipt page shows: whether a cast with this receipt is in the vote's
    record, its chain entry (or pending sealing), whether the same person cast again later
    and whether it is the ballot that counts, or was voided after an upheld objection (with
    the reason) — never who cast it, or how."""
    code = code.strip().upper()
    if not RECEIPT_FORMAT.fullmatch(code):
        raise invalid(
            "receipt_invalid",
            "回执码格式不正确：应为 10 位大写字母或数字 2-7",
            {"code": ["应为 10 位大写字母或数字 2-7"]},
        )
    vote = db.session.get(Vote, vote_id)
    if vote is None or vote.status is VoteStatus.DRAFT:
        raise not_found("未找到该表决")
    made = func.coalesce(VoteEvent.signed_at, VoteEvent.created_at)
    event = db.session.execute(
        select(VoteEvent.id, VoteEvent.person_id, made.label("made_at"), VoteEvent.digest).where(
            VoteEvent.vote_id == vote_id, VoteEvent.receipt == code, VoteEvent.kind == "cast"
        )
    ).first()
    if event is None:
        raise not_found("未找到该回执码：该表决的记录中没有这张选票，请核对回执码")
    entry = db.session.execute(
        select(ChainEntry.seq, ChainEntry.parent_hash, ChainEntry.hash).where(
            ChainEntry.event_id == event.id
        )
    ).first()
    later = exists().where(
        VoteEvent.vote_id == vote_id,
        VoteEvent.kind == "cast",
        VoteEvent.person_id == event.person_id,
        tuple_(made, VoteEvent.id) > tuple_(event.made_at, event.id),
    )
    void = db.session.scalar(
        select(VoteEvent.note).where(
            VoteEvent.vote_id == vote_id,
            VoteEvent.kind == "void",
            VoteEvent.ref_event_id == event.id,
        )
    )
    counted = db.session.scalar(
        select(Ballot.event_id).where(
            Ballot.vote_id == vote_id, Ballot.person_id == event.person_id
        )
    )
    head = chain_head(vote_id)
    return {
        "vote_id": vote_id,
        "receipt": code,
        "included": True,
        "sealing": "sealed" if entry else "pending",
        "digest": event.digest,
        "entry": entry._asdict() if entry else None,
        "replaced": db.session.scalar(select(later)),
        "voided": void is not None,
        "void_reason": void,
        "counted": counted == event.id,
        "head": head._asdict() if head else None,
    }


# Verification --------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    vote_id: int
    events: int = 0
    pending: int = 0  # events not sealed yet
    ballots: int = 0
    head: tuple[int, str] | None = None  # seq, hash
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = f"seq {self.head[0]} {self.head[1]}" if self.head else "empty"
        verdict = "OK" if self.ok else f"{len(self.problems)} mismatch(es)"
        return (
            f"vote {self.vote_id}: {self.events} events, {self.events - self.pending} sealed, "
            f"{self.pending} pending sealing; chain head {head}; {self.ballots} counted "
            f"ballots — {verdict}"
        )


def verify(vote_id: int) -> VerifyReport:
    """Recompute the vote's record from its rows: each event's digest from its columns, the
    chain from genesis, that every event is sealed once the vote has closed, the counted
    ballots replayed from the casts, and the stored result's totals. Reads only."""
    report = VerifyReport(vote_id)
    vote = db.session.get(Vote, vote_id)
    if vote is None:
        report.problems.append(f"vote {vote_id}: no such vote")
        return report
    events = {
        row.id: row
        for row in db.session.execute(
            select(VoteEvent.__table__).where(VoteEvent.vote_id == vote_id).order_by(VoteEvent.id)
        )
    }
    persons = {
        person_id: (area, entrance_id)
        for person_id, area, entrance_id in db.session.execute(
            select(VotePerson.id, VotePerson.area, VotePerson.entrance_id).where(
                VotePerson.vote_id == vote_id
            )
        )
    }
    areas = {person_id: area for person_id, (area, _) in persons.items()}
    report.events = len(events)
    _check_events(events, areas, report)
    _check_extensions(vote, events, report)
    sealed = _check_chain(vote_id, events, report)
    unsealed = [event_id for event_id in events if event_id not in sealed]
    report.pending = len(unsealed)
    if vote.status in SEALED_WHEN:
        report.problems += [f"event {event_id}: not sealed" for event_id in unsealed]
    counted = replay_ballots(vote, events.values())
    _check_ballots(vote, counted, persons, report)
    _check_entrances(vote_id, persons, report)
    if vote.result:
        _check_result(vote, counted, areas, report)
    return report


def _check_events(events: dict[int, Row], areas: dict[int, Decimal], report: VerifyReport):
    for event in events.values():
        if _digest(event_content(event._mapping)) != event.digest:
            report.problems.append(f"event {event.id}: content does not match its digest")
        if (event.kind == "cast" or event.receipt) and event.receipt != receipt_code(event.digest):
            report.problems.append(f"event {event.id}: receipt does not match its digest")
        if event.person_id is not None and event.person_id not in areas:
            report.problems.append(
                f"event {event.id}: person {event.person_id} is not in this vote's electorate"
            )
        if event.kind == "void":
            voided = events.get(event.ref_event_id)
            if voided is None or voided.kind != "cast" or voided.person_id != event.person_id:
                report.problems.append(
                    f"event {event.id}: voids event {event.ref_event_id}, not a cast of this "
                    "vote's person"
                )
            if event.objection_id is None:
                report.problems.append(f"event {event.id}: a void names no objection")


def _check_extensions(vote: Vote, events: dict[int, Row], report: VerifyReport) -> None:
    """The ``deadline_extended`` events, in id order: each moves the closing time later, from
    where the previous one left it, before the time it moves; the last ends at the vote's
    closing time. (Each note is covered by its event's digest, checked in ``_check_events``.)"""
    previous = None
    for event in events.values():
        if event.kind != DEADLINE_EXTENDED:
            continue
        try:
            content = json.loads(event.note)
            old = datetime.fromisoformat(content["from"])
            new = datetime.fromisoformat(content["to"])
        except (TypeError, ValueError, KeyError):
            report.problems.append(f"event {event.id}: an extension without its old and new time")
            continue
        if new <= old:
            report.problems.append(f"event {event.id}: an extension to an earlier time")
        if previous is not None and old != previous:
            report.problems.append(
                f"event {event.id}: extends from {old.isoformat()}, the previous extension "
                f"set {previous.isoformat()}"
            )
        if event.created_at >= old:
            report.problems.append(f"event {event.id}: extended after the closing time it moves")
        previous = new
    if previous is not None and previous != vote.closes_at:
        report.problems.append(
            f"vote {vote.id}: closes at {vote.closes_at.isoformat()}, the last extension set "
            f"{previous.isoformat()}"
        )


def _check_chain(vote_id: int, events: dict[int, Row], report: VerifyReport) -> dict[int, int]:
    """Check every entry against its parent and its event; returns event id → seq."""
    sealed: dict[int, int] = {}
    previous_seq, parent = 0, genesis_hash(vote_id)
    for entry in db.session.execute(
        select(ChainEntry.seq, ChainEntry.event_id, ChainEntry.parent_hash, ChainEntry.hash)
        .where(ChainEntry.vote_id == vote_id)
        .order_by(ChainEntry.seq)
    ):
        where = f"seq {entry.seq} (event {entry.event_id})"
        if entry.seq != previous_seq + 1:
            report.problems.append(f"{where}: follows seq {previous_seq}")
        if entry.parent_hash != parent:
            report.problems.append(f"{where}: parent_hash is not the previous entry's hash")
        event = events.get(entry.event_id)
        if event is None:
            report.problems.append(f"{where}: not an event of this vote")
        elif entry.hash != chain_hash(entry.parent_hash, entry.seq, event.digest):
            report.problems.append(f"{where}: hash does not match its parent, seq and event")
        if entry.event_id in sealed:
            report.problems.append(f"{where}: event already sealed at seq {sealed[entry.event_id]}")
        sealed.setdefault(entry.event_id, entry.seq)
        previous_seq, parent = entry.seq, entry.hash
        report.head = (entry.seq, entry.hash)
    return sealed


def made_at(event) -> datetime:
    """When a cast was made: a paper ballot when it was signed, any other when it was cast."""
    return event.signed_at or event.created_at


def replay_ballots(vote: Vote, events) -> dict[int, Row]:
    """Person id → the cast that counts (the rule ``Ballot`` keeps): of their casts made
    before the closing time and not voided, the highest by (rank, time made, id) — the
    latest made, where a proxy's cast ranks below the owner's own if the vote's
    ``proxy_rule`` says so."""
    events = list(events)
    voided = {event.ref_event_id for event in events if event.kind == "void"}
    counted: dict[int, Row] = {}
    keys: dict[int, tuple] = {}
    for event in events:
        if event.kind != "cast" or event.person_id is None or event.id in voided:
            continue
        made = made_at(event)
        if made >= vote.closes_at:
            continue
        key = (cast_rank(Channel(event.channel), vote.proxy_rule), made, event.id)
        if event.person_id not in keys or key > keys[event.person_id]:
            counted[event.person_id], keys[event.person_id] = event, key
    return counted


def voided_event_ids(vote_id: int, event_ids: list[int]) -> set[int]:
    """Which of ``event_ids`` a ``void`` event of the vote names."""
    return set(
        db.session.scalars(
            select(VoteEvent.ref_event_id).where(
                VoteEvent.vote_id == vote_id,
                VoteEvent.kind == "void",
                VoteEvent.ref_event_id.in_(event_ids),
            )
        )
    )


def _check_ballots(
    vote: Vote, counted: dict[int, Row], persons: dict[int, tuple], report: VerifyReport
) -> None:
    """The counted ballots against the replayed casts, and each ballot's copy of its
    person's area and entrance (what the tally adds up) against the frozen electorate."""
    ballots = {
        ballot.person_id: ballot
        for ballot in db.session.execute(
            select(
                Ballot.person_id,
                Ballot.event_id,
                Ballot.choice,
                Ballot.channel,
                Ballot.cast_at,
                Ballot.rank,
                Ballot.area,
                Ballot.entrance_id,
            ).where(Ballot.vote_id == vote.id)
        )
    }
    report.ballots = len(ballots)
    for person_id in sorted(set(ballots) | set(counted)):
        ballot, cast = ballots.get(person_id), counted.get(person_id)
        if ballot is not None and (ballot.area, ballot.entrance_id) != persons.get(person_id):
            report.problems.append(
                f"person {person_id}: counted ballot has area {ballot.area} and entrance "
                f"{ballot.entrance_id}; the electorate gives {persons.get(person_id)}"
            )
        if ballot is None:
            report.problems.append(
                f"person {person_id}: no counted ballot; the events give event {cast.id} "
                f"({cast.choice})"
            )
        elif cast is None:
            report.problems.append(
                f"person {person_id}: counted ballot (event {ballot.event_id}) has no cast "
                "before the closing time"
            )
        elif (ballot.event_id, ballot.choice, ballot.channel, ballot.cast_at, ballot.rank) != (
            cast.id,
            cast.choice,
            cast.channel,
            made_at(cast),
            cast_rank(Channel(cast.channel), vote.proxy_rule),
        ):
            report.problems.append(
                f"person {person_id}: counted ballot is event {ballot.event_id} "
                f"({ballot.choice}, {ballot.channel}); the events give event {cast.id} "
                f"({cast.choice}, {cast.channel})"
            )


def _check_entrances(vote_id: int, persons: dict[int, tuple], report: VerifyReport) -> None:
    """What the tally's breakdown adds up, recomputed from the frozen dwellings: each
    person's single entrance (None when their dwellings lie in several) and the electorate
    per entrance stored at opening (building, persons, area)."""
    places: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for person_id, entrance_id, building_id in db.session.execute(
        select(
            VotePersonDwelling.person_id,
            VotePersonDwelling.entrance_id,
            VotePersonDwelling.building_id,
        ).where(VotePersonDwelling.vote_id == vote_id)
    ):
        places[person_id].add((entrance_id, building_id))
    expected: dict[int, tuple[int, int, Decimal]] = {}
    for person_id, (area, entrance_id) in sorted(persons.items()):
        spots = places[person_id]
        single_entrance, building_id = next(iter(spots)) if len(spots) == 1 else (None, None)
        if entrance_id != single_entrance:
            report.problems.append(
                f"person {person_id}: entrance {entrance_id}, its dwellings give {single_entrance}"
            )
        if single_entrance is not None:
            _, cnt, total = expected.get(single_entrance, (building_id, 0, ZERO))
            expected[single_entrance] = (building_id, cnt + 1, total + area)
    stored = {
        row.entrance_id: (row.building_id, row.t_cnt, row.t_area)
        for row in db.session.execute(
            select(VoteEntrance).where(VoteEntrance.vote_id == vote_id)
        ).scalars()
    }
    for entrance_id in sorted(set(stored) | set(expected)):
        if stored.get(entrance_id) != expected.get(entrance_id):
            report.problems.append(
                f"entrance {entrance_id}: stored electorate (building, persons, area) "
                f"{stored.get(entrance_id)}, the dwellings give {expected.get(entrance_id)}"
            )


def _check_result(
    vote: Vote, counted: dict[int, Row], areas: dict[int, Decimal], report: VerifyReport
) -> None:
    """Compare the stored result (``tally.figures``' keys, read defensively) with the totals
    of the frozen electorate and of the replayed ballots."""
    groups = {choice: (0, ZERO) for choice in Choice}
    for person_id, cast in counted.items():
        if cast.choice not in groups:  # a cast without a choice: its digest does not match
            continue
        cnt, area = groups[cast.choice]
        groups[cast.choice] = (cnt + 1, area + areas.get(person_id, ZERO))
    replayed = {
        "t_cnt": len(areas),
        "t_area": sum(areas.values(), ZERO),
        "p_cnt": sum(cnt for cnt, _ in groups.values()),
        "p_area": sum((area for _, area in groups.values()), ZERO),
        "y_cnt": groups[Choice.AGREE][0],
        "y_area": groups[Choice.AGREE][1],
    }
    for choice, (cnt, area) in groups.items():
        replayed[f"{choice} count"], replayed[f"{choice} area"] = cnt, area
    stored = {key: vote.result.get(key) for key in replayed}
    for option in vote.result.get("options") or []:
        for figure in ("count", "area"):
            stored[f"{option.get('choice')} {figure}"] = option.get(figure)
    for key, value in replayed.items():
        if not _same(stored[key], value):
            report.problems.append(f"result {key}: stored {stored[key]}, the record gives {value}")


def _same(stored, value) -> bool:
    try:
        return stored is not None and Decimal(str(stored)) == value
    except ArithmeticError:
        return False
