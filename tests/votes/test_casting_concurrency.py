"""Casting under concurrency, on PostgreSQL, through the HTTP layer.

Each test runs in a database of its own (created and dropped here: the record is append-only,
so its rows cannot be deleted afterwards), with an app of its own whose requests commit for
real — the rolled-back test transaction would hide the races. Client threads start together
(``threading.Barrier``); every response is checked, then the rows.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from rq import Queue

from participation import create_app
from participation.auth.models import Account, Role, RoleAssignment, StaffUser, SubjectKind
from participation.auth.tokens import issue_tokens
from participation.common.errors import ApiError
from participation.common.jobs import redis_connection
from participation.common.sql import db_now
from participation.extensions import db
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.importer import import_roster_file
from participation.roster.models import Community, Compound, District, Owner, Street
from participation.votes.casting import cast_as_owner, owned_persons_locked
from participation.votes.models import (
    Ballot,
    Channel,
    Choice,
    Matter,
    Vote,
    VoteEvent,
    VotePerson,
    VotePersonOwner,
    VoteStatus,
)
from participation.votes.record import verify
from participation.votes.schemas import CastSchema
from participation.votes.services import open_vote, record_cast
from participation.votes.tally import ballot_groups

pytestmark = pytest.mark.postgres

CHOICES = [c.value for c in Choice]
DWELLINGS_PER_BUILDING = 24  # roster_rows' defaults: 2 entrances × 6 floors × 2 rooms


@pytest.fixture
def live_app(redis_url, own_postgres_database):
    """An app on a fresh database of its own, dropped afterwards; its jobs go to a queue of
    its own, as in production (without Redis, every cast would seal the record inline)."""
    url = own_postgres_database("casting")
    queue = f"test-casting-{uuid.uuid4().hex[:8]}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            # 200 client threads share a few connections: one process, one GIL.
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 8, "max_overflow": 8, "pool_timeout": 600},
            "REDIS_URL": redis_url,
            "RQ_QUEUE": queue,
            "SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "JWT_SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "ID_HASH_KEY": "test-id-hash-key",
            "SMS_SENDER": "test",
        }
    )
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
            jobs = Queue(queue, connection=redis_connection())
            jobs.empty()
            for key in jobs.connection.scan_iter(f"*{queue}*"):
                jobs.connection.delete(key)


@dataclass(frozen=True)
class Caster:
    """A signed-in owner: their account and its bearer header."""

    account_id: int
    headers: dict


@dataclass
class Voter:
    """A person of the electorate and its owners (co-owners: several)."""

    person_id: int
    area: Decimal
    owners: list[Caster] = field(default_factory=list)


def open_compound_vote(app, persons: int, seed: int) -> tuple[int, list[Voter], dict]:
    """A generated compound of at least ``persons`` owner-persons, an open whole-compound vote,
    and signed-in accounts for every owner of the first ``persons`` of them. Returns the vote
    id, the voters and a committee member's headers."""
    with app.test_request_context():
        suffix = uuid.uuid4().hex[:6]
        compound = Compound(
            community=Community(
                street=Street(district=District(name=f"区{suffix}"), name=f"街道{suffix}"),
                name=f"社区{suffix}",
            ),
            name=f"小区{suffix}",
        )
        db.session.add(compound)
        db.session.flush()
        # about 3% of dwellings belong to the developer or to buyers of several
        buildings = persons * 105 // 100 // DWELLINGS_PER_BUILDING + 1
        content = roster_csv(roster_rows(buildings, seed=seed))
        assert import_roster_file(compound.id, "roster.csv", content).status.value == "done"
        staff = StaffUser(username=f"staff-{suffix}", password_hash="-", display_name="委员")
        staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
        db.session.add(staff)
        db.session.flush()
        now = db_now()
        vote = Vote(
            compound_id=compound.id,
            title="并发投票",
            matter=Matter.OTHER,
            rule=Matter.OTHER.rule,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(hours=1),
            created_by_id=staff.id,
        )
        db.session.add(vote)
        db.session.flush()
        open_vote(vote, confirm_unknown_owners=True)

        owners_of: dict[int, list[int]] = defaultdict(list)
        for person_id, owner_id in db.session.execute(
            sa.select(VotePersonOwner.person_id, VotePersonOwner.owner_id)
            .where(VotePersonOwner.vote_id == vote.id)
            .order_by(VotePersonOwner.person_id, VotePersonOwner.owner_id)
        ):
            owners_of[person_id].append(owner_id)
        assert len(owners_of) >= persons, "generate a larger roster"
        areas = dict(
            db.session.execute(
                sa.select(VotePerson.id, VotePerson.area).filter_by(vote_id=vote.id)
            ).all()
        )
        voters = [Voter(p, areas[p]) for p in sorted(owners_of)[:persons]]
        owner_ids = [o for v in voters for o in owners_of[v.person_id]]
        account_ids = db.session.scalars(
            sa.insert(Account).returning(Account.id, sort_by_parameter_order=True),
            [{"phone": f"166{i:08d}"} for i in range(len(owner_ids))],
        ).all()
        db.session.execute(
            sa.update(Owner),
            [{"id": o, "account_id": a} for o, a in zip(owner_ids, account_ids, strict=True)],
        )
        casters = iter(Caster(a, bearer(SubjectKind.RESIDENT, a)) for a in account_ids)
        for voter in voters:
            voter.owners = [next(casters) for _ in owners_of[voter.person_id]]
        committee = bearer(SubjectKind.STAFF, staff.id)
        db.session.commit()
        return vote.id, voters, committee


def bearer(kind: SubjectKind, subject_id: int) -> dict:
    return {"Authorization": f"Bearer {issue_tokens(kind, subject_id)['access_token']}"}


@dataclass
class Request:
    voter: Voter
    caster: Caster
    choice: str
    key: str | None = None
    retry: bool = False  # repeats the previous request of this thread with the same key
    http: bool = True  # through the HTTP layer; else the service layer in a session of its own


@dataclass
class Answer:
    request: Request
    status: int
    body: dict


def cast_in_own_session(app, vote_id: int, request: Request) -> Answer:
    """What the route does, without HTTP: a session of its own, committed; the same answer."""
    with app.app_context():
        try:
            cast = cast_as_owner(
                vote_id,
                request.caster.account_id,
                Choice(request.choice),
                idempotency_key=request.key,
            )
            db.session.commit()
        except ApiError as error:
            return Answer(request, error.code, {"code": error.error_code})
        return Answer(request, 200 if cast.result.replayed else 201, CastSchema().dump(cast))


def run_threads(app, vote_id: int, plans: list[list[Request]], until: float | None = None):
    """One test client per thread; all start at once. A plan is a thread's requests in order;
    with ``until`` each thread cycles through its plan until that monotonic time."""
    barrier = threading.Barrier(len(plans))
    answers: list[list[Answer]] = [[] for _ in plans]
    url = f"/api/v1/votes/{vote_id}/ballots"

    def client(i: int) -> None:
        http = app.test_client()
        barrier.wait()
        n = 0
        while n < len(plans[i]) or (until is not None and time.monotonic() < until):
            request = plans[i][n % len(plans[i])]
            n += 1
            if not request.http:
                answers[i].append(cast_in_own_session(app, vote_id, request))
                continue
            headers = dict(request.caster.headers)
            if request.key:
                headers["Idempotency-Key"] = request.key
            response = http.post(url, json={"choice": request.choice}, headers=headers)
            answers[i].append(Answer(request, response.status_code, response.json))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [answer for part in answers for answer in part]


def replay(events) -> dict[int, tuple]:
    """Each person's last cast by the server's order, (created_at, id)."""
    last: dict[int, tuple] = {}
    for event in sorted(events, key=lambda e: (e.created_at, e.id)):
        last[event.person_id] = event
    return last


def groups(last: dict[int, VoteEvent], areas: dict[int, Decimal]) -> dict[Choice, tuple]:
    counts: Counter = Counter()
    area: dict[Choice, Decimal] = defaultdict(Decimal)
    for person_id, event in last.items():
        counts[event.choice] += 1
        area[event.choice] += areas[person_id]
    return {choice: (counts[choice], area[choice]) for choice in counts}


THREADS = 200
OWNERS = 5000
DEVICE_PAIRS = 100  # the first request of every thread: two devices of one owner at once
SAME_KEY_PAIRS = 20  # of which: the same request sent twice at once (same Idempotency-Key)


def plan_load(voters: list[Voter], rng: random.Random) -> list[list[Request]]:
    """First, through HTTP, every thread at once: two devices of one owner casting at the same
    moment, some of them the same request twice (same Idempotency-Key). Then every owner casts
    1–5 times (most once or twice), as either co-owner, in random order across the threads,
    through the service layer; one cast in four carries an Idempotency-Key, and one in ten of
    those is retried at once (a lost response)."""
    plans: list[list[Request]] = [[] for _ in range(THREADS)]
    for pair in range(DEVICE_PAIRS):
        voter, caster = voters[pair], voters[pair].owners[0]
        if pair < SAME_KEY_PAIRS:
            key, choice = f"dup-{pair}", rng.choice(CHOICES)
            plans[2 * pair].append(Request(voter, caster, choice, key))
            plans[2 * pair + 1].append(Request(voter, caster, choice, key))
        else:
            plans[2 * pair].append(Request(voter, caster, "agree"))
            plans[2 * pair + 1].append(Request(voter, caster, "disagree"))
    batches: list[list[Request]] = []
    for voter in voters:
        casts = rng.choices((1, 2, 3, 4, 5), weights=(50, 20, 12, 9, 9))[0]
        for _ in range(casts):
            request = Request(voter, rng.choice(voter.owners), rng.choice(CHOICES), http=False)
            batch = [request]
            if rng.random() < 0.25:
                request.key = uuid.uuid4().hex
                if rng.random() < 0.1:
                    batch.append(
                        Request(voter, request.caster, request.choice, request.key, True, False)
                    )
            batches.append(batch)
    rng.shuffle(batches)
    for i, batch in enumerate(batches):
        plans[i % THREADS].extend(batch)
    return plans


def test_200_clients_5000_owners_one_counting_ballot_each(live_app):
    started = time.monotonic()
    vote_id, voters, _ = open_compound_vote(live_app, OWNERS, seed=31)
    plans = plan_load(voters, random.Random(7))
    answers = run_threads(live_app, vote_id, plans)
    elapsed = time.monotonic() - started

    # Every response.
    assert len(answers) == sum(len(plan) for plan in plans)
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {200, 201}, statuses
    receipts: dict[str, Answer] = {}
    by_key: dict[str, list[Answer]] = defaultdict(list)
    for answer in answers:
        assert answer.body["person_id"] == answer.request.voter.person_id
        assert answer.body["choice"] == answer.request.choice
        assert answer.body["replayed"] is (answer.status == 200)
        if answer.request.key:
            by_key[answer.request.key].append(answer)
        if answer.status == 201:
            assert answer.body["receipt"] not in receipts
            receipts[answer.body["receipt"]] = answer
    for same in by_key.values():  # a key casts once; its retries answer the same
        assert sorted((a.status for a in same), reverse=True) == [201] + [200] * (len(same) - 1)
        assert len({a.body["receipt"] for a in same}) == 1
    retries = [a for a in answers if a.request.retry]
    assert retries and all(a.status == 200 for a in retries)
    assert statuses[200] == len(retries) + SAME_KEY_PAIRS

    # The rows: every accepted cast kept, one counting ballot per owner, the latest.
    with live_app.app_context():
        events = db.session.scalars(
            sa.select(VoteEvent).filter_by(vote_id=vote_id, kind="cast")
        ).all()
        ballots = {
            b.person_id: b for b in db.session.scalars(sa.select(Ballot).filter_by(vote_id=vote_id))
        }
        tallied = ballot_groups(vote_id)
    assert sorted(e.receipt for e in events) == sorted(receipts)
    last = replay(events)
    assert set(ballots) == set(last) == {v.person_id for v in voters}
    for person_id, ballot in ballots.items():
        event = last[person_id]
        assert (ballot.event_id, ballot.choice, ballot.cast_at) == (
            event.id,
            event.choice,
            event.created_at,
        )
    areas = {v.person_id: v.area for v in voters}
    assert {c: (g.cnt, g.area) for c, g in tallied.items()} == groups(last, areas)
    # Two devices of one owner at the same moment: both kept, the later one counts.
    for pair in range(SAME_KEY_PAIRS, DEVICE_PAIRS):
        person_id = voters[pair].person_id
        assert sum(e.person_id == person_id for e in events) >= 2
    print(f"\n{len(answers)} casts by {THREADS} clients in {elapsed:.1f} s (set-up included)")


def test_a_cast_committed_after_a_later_stamped_one_does_not_replace_it(live_app):
    """Out of order, every run: connection A reads the lock and the database clock, then B
    casts for the same person (its clock later) and commits first; A writes and commits
    second. The ballot keeps B's cast, the later one; both casts are in the record."""
    vote_id, voters, _ = open_compound_vote(live_app, 1, seed=33)
    caster = voters[0].owners[0]
    with live_app.app_context():  # connection A
        (person,), locked = owned_persons_locked(vote_id, caster.account_id)
        backend_a = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        with live_app.app_context():  # connection B, while A's transaction is open
            assert db.session.scalar(sa.text("SELECT pg_backend_pid()")) != backend_a
            later = cast_as_owner(vote_id, caster.account_id, Choice.AGREE).result
            db.session.commit()
        earlier = record_cast(
            vote_id,
            person.id,
            Choice.DISAGREE,
            Channel.ONLINE,
            account_id=caster.account_id,
            owner_id=person.owner_id,
            locked=locked,
        )
        db.session.commit()
    assert earlier.cast_at < later.cast_at and earlier.event_id > later.event_id
    with live_app.app_context():
        ballot = db.session.get(Ballot, (vote_id, person.id))
        assert (ballot.event_id, ballot.choice, ballot.cast_at) == (
            later.event_id,
            Choice.AGREE,
            later.cast_at,
        )
        casts = db.session.scalars(
            sa.select(VoteEvent.id).filter_by(vote_id=vote_id, kind="cast").order_by(VoteEvent.id)
        ).all()
        assert casts == [later.event_id, earlier.event_id]
        report = verify(vote_id)
        assert report.ok, report.problems


def test_casts_racing_the_closing_time(live_app):
    vote_id, voters, committee = open_compound_vote(live_app, 400, seed=32)
    rng = random.Random(11)
    plans = [[] for _ in range(32)]
    for i, voter in enumerate(voters):
        plans[i % len(plans)].append(Request(voter, voter.owners[0], rng.choice(CHOICES)))
    with live_app.app_context():
        closes_at = db_now() + timedelta(milliseconds=800)
        db.session.execute(sa.update(Vote).filter_by(id=vote_id).values(closes_at=closes_at))
        db.session.commit()
    until = time.monotonic() + 1.4  # keep hammering for 0.6 s past the closing time

    # Readers close the vote while casts are still coming in.
    reads: list[int] = []

    def reader() -> None:
        http = live_app.test_client()
        while time.monotonic() < until:
            reads.append(http.get(f"/api/v1/votes/{vote_id}", headers=committee).status_code)
            time.sleep(0.02)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    answers = run_threads(live_app, vote_id, plans, until=until)
    for thread in readers:
        thread.join()
    closed = live_app.test_client().get(f"/api/v1/votes/{vote_id}", headers=committee)

    assert set(reads) == {200}
    assert closed.json["status"] == "closed"
    statuses = Counter((a.status, a.body.get("code")) for a in answers)
    assert set(statuses) == {(201, None), (409, "vote_closed")}, statuses
    with live_app.app_context():
        vote = db.session.get(Vote, vote_id)
        events = db.session.scalars(
            sa.select(VoteEvent).filter_by(vote_id=vote_id, kind="cast")
        ).all()
        ballots = {
            b.person_id: b for b in db.session.scalars(sa.select(Ballot).filter_by(vote_id=vote_id))
        }
        areas = dict(
            db.session.execute(
                sa.select(VotePerson.id, VotePerson.area).filter_by(vote_id=vote_id)
            ).all()
        )
    assert vote.status is VoteStatus.CLOSED and vote.closed_at == closes_at
    accepted = {a.body["receipt"] for a in answers if a.status == 201}
    assert {e.receipt for e in events} == accepted
    assert all(e.created_at < closes_at for e in events)  # nothing at or after the closing time
    last = replay(events)
    assert {p: (b.event_id, b.choice) for p, b in ballots.items()} == {
        p: (e.id, e.choice) for p, e in last.items()
    }
    # The result stored at closing counts exactly these ballots.
    expected = groups(last, areas)
    options = {o["choice"]: (o["count"], Decimal(o["area"])) for o in vote.result["options"]}
    assert options == {c.value: expected.get(c, (0, Decimal("0.00"))) for c in Choice}
    assert vote.result["p_cnt"] == len(ballots)
    assert len(accepted) > 0 and len(answers) > len(accepted), "the race did not happen"
    print(f"\n{len(accepted)} casts accepted, {len(answers) - len(accepted)} refused")
