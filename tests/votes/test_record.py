"""The verifiable record: the database refuses changes, events are sealed into a hash chain
after commit without holding casts up, receipts are checkable in public without saying who
cast, and ``flask votes verify`` catches a changed row."""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from participation.auth.models import StaffUser
from participation.common.sql import append_only_ddl, db_now
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.importer import import_roster_file
from participation.roster.models import Community, Compound, District, Street
from participation.votes import record, services
from participation.votes.models import (
    APPEND_ONLY_TABLES,
    Ballot,
    ChainEntry,
    Channel,
    Choice,
    Matter,
    UnsealedEvent,
    Vote,
    VoteEvent,
    VotePerson,
)
from participation.votes.services import close_if_due, open_vote, record_cast
from participation.votes.tasks import seal_vote

SAMPLE_ROSTER = Path(__file__).parent.parent / "data" / "roster-sample.csv"
# A seal delay that makes the job due at once: rq schedules by the whole second, so with no
# delay the job would be due at the next one.
DUE_AT_ONCE = timedelta(seconds=-1)


@pytest.fixture
def vote(sample_compound, make_vote):
    return make_vote(sample_compound, buildings=("2",), open=True)


def person_ids(vote_id: int) -> list[int]:
    return list(
        _db.session.scalars(
            sa.select(VotePerson.id).filter_by(vote_id=vote_id).order_by(VotePerson.id)
        )
    )


def cast(vote, person_id: int, choice: Choice = Choice.AGREE):
    return record_cast(vote.id, person_id, choice, Channel.ONLINE)


def chain(vote_id: int) -> list[ChainEntry]:
    return list(
        _db.session.scalars(sa.select(ChainEntry).filter_by(vote_id=vote_id).order_by("seq"))
    )


def receipt_page(client, vote_id: int, code: str):
    return client.get(f"/api/v1/public/votes/{vote_id}/receipts/{code}")


# The database refuses changes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE vote_events SET choice = 'disagree' WHERE vote_id = :vote",
        "DELETE FROM vote_events WHERE vote_id = :vote",
        "UPDATE vote_chain SET hash = 'x' WHERE vote_id = :vote",
        "DELETE FROM vote_chain WHERE vote_id = :vote",
    ],
)
def test_the_database_refuses_update_and_delete(vote, statement):
    cast(vote, person_ids(vote.id)[0])
    record.seal_pending(vote.id)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # noqa: SIM117
        with _db.session.begin_nested():
            _db.session.execute(sa.text(statement), {"vote": vote.id})
    assert record.verify(vote.id).ok


# Sealing ---------------------------------------------------------------------------------------


def test_sealing_chains_events_in_order_and_is_idempotent(vote):
    persons = person_ids(vote.id)
    for person_id in persons[:3]:
        cast(vote, person_id)
    events = list(_db.session.scalars(sa.select(VoteEvent.id).filter_by(vote_id=vote.id)))
    assert len(events) == 4  # opened + 3 casts
    # Lifecycle events are sealed as they are recorded: only the casts are pending.
    queued = sa.select(UnsealedEvent.event_id).filter_by(vote_id=vote.id).order_by("event_id")
    assert list(_db.session.scalars(queued)) == sorted(events)[1:]  # queued by their own casts
    assert record.seal_pending(vote.id, batch_size=2) == 3
    assert record.seal_pending(vote.id) == 0
    assert list(_db.session.scalars(queued)) == []  # taken by the sealing
    entries = chain(vote.id)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert [e.event_id for e in entries] == sorted(events)
    parent = record.genesis_hash(vote.id)
    for entry in entries:
        digest = _db.session.get(VoteEvent, entry.event_id).digest
        assert entry.parent_hash == parent
        assert entry.hash == record.chain_hash(parent, entry.seq, digest)
        parent = entry.hash

    later = cast(vote, persons[3])
    assert record.seal_pending(vote.id) == 1
    (last,) = chain(vote.id)[4:]
    assert (last.seq, last.event_id, last.parent_hash) == (5, later.event_id, parent)


@pytest.mark.postgres
def test_sealing_reads_the_batch_not_the_whole_record(vote, postgres_url):
    """A busy vote has recorded far more events than wait to be sealed: the batch is found
    through the queue and each of its events by key, so a seal job costs what it seals. The
    planner is steered towards a hash or merge join, as stale statistics steer it on a vote
    whose record grew after its tables were analysed: even then no plan reads the record."""
    _db.session.execute(
        sa.text(
            "INSERT INTO vote_events (vote_id, kind, nonce, digest, created_at) "
            "SELECT :vote, 'cast', md5(n::text), md5(n::text) || md5(n::text), now() "
            "FROM generate_series(1, 20000) AS n"
        ),
        {"vote": vote.id},
    )
    waiting = [cast(vote, person_id).event_id for person_id in person_ids(vote.id)[:3]]
    _db.session.execute(sa.text("SET LOCAL enable_nestloop = off"))  # until the rollback
    params = {"vote_id": vote.id, "batch_size": 5000}
    compiled = record.UNSEALED.compile(dialect=_db.engine.dialect)
    plan = (
        _db.session.connection()
        .exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.construct_params(params))
        .scalar_one()
    )

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    record_reads = [n for n in nodes(plan[0]["Plan"]) if n.get("Relation Name") == "vote_events"]
    assert record_reads, plan
    for node in record_reads:  # by key only: no sequential, bitmap or whole-index scan
        assert node["Node Type"] in ("Index Scan", "Index Only Scan"), node
        assert node["Index Cond"].startswith("(id = "), node
    assert [row.id for row in _db.session.execute(record.UNSEALED, params)] == waiting


def test_a_cast_is_sealed_after_its_commit_without_redis(vote):
    result = cast(vote, person_ids(vote.id)[0])
    _db.session.commit()
    assert record.verify(vote.id).pending == 1  # the cast; "opened" was sealed at opening
    record.schedule_sealing(vote.id)  # no Redis: seals right here
    report = record.verify(vote.id)
    assert (report.events, report.pending, report.head[0]) == (2, 0, 2)
    assert chain(vote.id)[-1].event_id == result.event_id


@pytest.mark.redis
def test_with_redis_a_seal_job_a_second_carries_every_cast_of_it(
    app, vote, redis_url, monkeypatch
):
    from redis import Redis
    from rq import Queue, SimpleWorker

    queue_name = f"test-seal-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "RQ_QUEUE", queue_name)
    monkeypatch.setattr(record, "_slots", {})
    connection = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    scheduled = queue.scheduled_job_registry
    vote_id, persons = vote.id, person_ids(vote.id)
    slots = f"{queue_name}:votes:seal:{vote_id}:*"

    def run_due_jobs():  # a burst worker with rq's scheduler: due jobs first, then the queue
        SimpleWorker([queue], connection=connection).work(burst=True, with_scheduler=True)

    def cast_and_schedule(person_id):
        cast(_db.session.get(Vote, vote_id), person_id)
        _db.session.commit()
        record.schedule_sealing(vote_id)

    # The clock the slots are computed from stands still at the test's start (rq's scheduler
    # keeps the real one, which runs ahead of it): which slot each cast falls in is fixed,
    # however long the steps take.
    now = time.time()
    monkeypatch.setattr(record, "time", SimpleNamespace(time=lambda: now))
    try:
        # Due in a minute: the casts of that slot ride along with one job.
        monkeypatch.setattr(record, "SEAL_DELAY", timedelta(minutes=1))
        cast_and_schedule(persons[0])
        (key,) = connection.keys(slots)
        due = int(key.decode().rsplit(":", 1)[1])  # a whole second, rq's resolution
        assert due == math.ceil(now + 60)
        (job_id,) = scheduled.get_job_ids()
        # rq moves the job to the queue at that second, not before.
        assert scheduled.get_jobs_to_schedule(timestamp=due - 1) == []
        assert scheduled.get_jobs_to_schedule(timestamp=due) == [job_id]
        connection.delete(key)  # so that a cast that asked Redis again would show
        for person_id in persons[1:3]:
            cast_and_schedule(person_id)
        # This process made sure of the slot: its later casts did not ask Redis again.
        assert (connection.keys(slots), scheduled.count, len(queue.job_ids)) == ([], 1, 0)
        assert record.verify(vote_id).pending == 3  # the casts did not wait for sealing
        run_due_jobs()
        assert scheduled.count == 1  # not due yet: nothing ran

        # Another process, the same slot: its key says the job exists.
        connection.set(key, 1)
        monkeypatch.setattr(record, "_slots", {})
        cast_and_schedule(persons[3])
        assert scheduled.count == 1
        assert record.verify(vote_id).pending == 4

        # The job is lost. Once its second has passed (here: another process, due at once),
        # a cast schedules the next job, which seals everything pending; a second run of it
        # seals nothing twice.
        scheduled.remove(job_id, delete_job=True)
        monkeypatch.setattr(record, "_slots", {})
        monkeypatch.setattr(record, "SEAL_DELAY", DUE_AT_ONCE)
        cast_and_schedule(persons[4])
        assert scheduled.count == 1
        run_due_jobs()
        assert record.verify(vote_id).pending == 0
        assert len(chain(vote_id)) == 6  # opened + 5 casts
        assert seal_vote(vote_id) == 0

        monkeypatch.setattr(record, "SEAL_DELAY", DUE_AT_ONCE - timedelta(seconds=1))
        cast_and_schedule(persons[5])  # an earlier slot than the one made sure of: covered
        assert (scheduled.count, len(queue.job_ids)) == (0, 0)
        monkeypatch.setattr(record, "SEAL_DELAY", DUE_AT_ONCE + timedelta(seconds=2))
        cast_and_schedule(persons[6])  # a later slot: its own job
        assert scheduled.count == 1
    finally:
        queue.delete(delete_jobs=True)
        for key in connection.scan_iter(f"*{queue_name}*"):
            connection.delete(key)


@pytest.mark.redis
def test_flask_worker_seals_in_its_own_process(app, vote, redis_url, monkeypatch):
    """``flask worker`` runs rq's scheduler and its jobs without forking (a seal job about
    every second per busy vote: a fork each would cost more than the job)."""
    import os

    from redis import Redis
    from rq import Queue

    from participation.common.cli import worker_command

    queue_name = f"test-worker-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "RQ_QUEUE", queue_name)
    monkeypatch.setattr(record, "SEAL_DELAY", DUE_AT_ONCE)
    monkeypatch.setattr(record, "_slots", {})
    ran_in, seal_pending = [], record.seal_pending

    def sealing_here(vote_id):
        ran_in.append(os.getpid())
        return seal_pending(vote_id)

    monkeypatch.setattr(record, "seal_pending", sealing_here)
    connection = Redis.from_url(redis_url)
    vote_id = vote.id
    try:
        cast(vote, person_ids(vote_id)[0])
        _db.session.commit()
        record.schedule_sealing(vote_id)
        assert record.verify(vote_id).pending == 1
        result = app.test_cli_runner().invoke(worker_command, ["--burst"])
        assert result.exit_code == 0, result.output
        assert f"worker on queue {queue_name} (no fork)" in result.output
        # here, not in a fork; the worker's sweep at start may add a second (empty) sealing
        assert ran_in and set(ran_in) == {os.getpid()}
        assert record.verify(vote_id).pending == 0
    finally:
        Queue(queue_name, connection=connection).delete(delete_jobs=True)
        for key in connection.scan_iter(f"*{queue_name}*"):
            connection.delete(key)


# The public receipt page -----------------------------------------------------------------------


def test_receipt_pending_then_sealed(client, vote):
    result = cast(vote, person_ids(vote.id)[0])
    pending = receipt_page(client, vote.id, result.receipt)
    assert pending.status_code == 200, pending.json
    head = pending.json["head"]
    assert head["seq"] == 1  # the "opened" event, sealed at opening
    assert pending.json == {
        "vote_id": vote.id,
        "receipt": result.receipt,
        "included": True,
        "sealing": "pending",
        "digest": _db.session.get(VoteEvent, result.event_id).digest,
        "entry": None,
        "replaced": False,
        "counted": True,
        "voided": False,
        "void_reason": None,
        "head": head,
    }
    record.seal_pending(vote.id)
    sealed = receipt_page(client, vote.id, result.receipt.lower()).json
    last = chain(vote.id)[-1]
    assert sealed["sealing"] == "sealed"
    assert sealed["entry"] == {"seq": 2, "parent_hash": last.parent_hash, "hash": last.hash}
    assert sealed["entry"] == sealed["head"]
    assert last.hash == record.chain_hash(last.parent_hash, 2, sealed["digest"])


def test_receipt_of_a_replaced_ballot(client, vote):
    person_id = person_ids(vote.id)[0]
    first = cast(vote, person_id, Choice.DISAGREE)
    second = cast(vote, person_id, Choice.AGREE)
    record.seal_pending(vote.id)
    old = receipt_page(client, vote.id, first.receipt).json
    new = receipt_page(client, vote.id, second.receipt).json
    assert (old["replaced"], old["counted"], old["entry"]["seq"]) == (True, False, 2)
    assert (new["replaced"], new["counted"], new["entry"]["seq"]) == (False, True, 3)
    assert old["head"] == new["head"] == new["entry"]


def test_receipt_page_says_nothing_about_who_or_how(client, vote, sample_compound):
    person_id = person_ids(vote.id)[0]
    results = [cast(vote, person_id, choice) for choice in Choice]
    record.seal_pending(vote.id)
    person = _db.session.get(VotePerson, person_id)
    for result in results:
        body = receipt_page(client, vote.id, result.receipt).json
        text = json.dumps(body, ensure_ascii=False)
        assert set(body) == {
            "vote_id",
            "receipt",
            "included",
            "sealing",
            "digest",
            "entry",
            "replaced",
            "counted",
            "voided",
            "void_reason",
            "head",
        }
        for leak in ("agree", "abstain", "online", "person", "owner", "account", "栋"):
            assert leak not in text
        assert person.labels not in text and person.key not in text


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ABCDEFGHIJ", 404, "not_found"),  # well formed, but no such receipt
        ("ABCDEFGHI", 422, "receipt_invalid"),  # too short
        ("ABCDEFGHI1", 422, "receipt_invalid"),  # 1 is not base32
        ("ABCDEFGHIJK", 422, "receipt_invalid"),
    ],
)
def test_receipt_errors(client, vote, code, status, error):
    response = receipt_page(client, vote.id, code)
    assert (response.status_code, response.json["code"]) == (status, error)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json["message"])


def test_receipts_of_a_draft_or_unknown_vote_are_404(client, vote, sample_compound, make_vote):
    result = cast(vote, person_ids(vote.id)[0])
    draft = make_vote(sample_compound)
    assert receipt_page(client, draft.id, result.receipt).status_code == 404
    assert receipt_page(client, vote.id + 10_000, result.receipt).status_code == 404
    assert receipt_page(client, vote.id, result.receipt).status_code == 200


# Verification ----------------------------------------------------------------------------------


def test_verify_passes_on_an_open_vote_and_reports_pending(runner, vote):
    for person_id in person_ids(vote.id)[:3]:
        cast(vote, person_id)
    record.seal_pending(vote.id)
    cast(vote, person_ids(vote.id)[0], Choice.DISAGREE)
    outcome = runner.invoke(args=["votes", "verify", str(vote.id)])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.strip().splitlines() == [
        f"vote {vote.id}: 5 events, 4 sealed, 1 pending sealing; chain head seq 4 "
        f"{chain(vote.id)[-1].hash}; 3 counted ballots — OK"
    ]


def closed_vote(vote, casts: int) -> Vote:
    """Cast for the first persons (the first one twice), then close the vote."""
    persons = person_ids(vote.id)
    for index, person_id in enumerate(persons[:casts]):
        cast(vote, person_id, Choice.ABSTAIN if index % 3 == 2 else Choice.AGREE)
    cast(vote, persons[0], Choice.DISAGREE)
    vote.closes_at = db_now()
    _db.session.flush()
    assert close_if_due(vote)
    return vote


def test_verify_passes_on_a_closed_vote_with_its_result(runner, vote):
    closed_vote(vote, casts=6)
    record.seal_pending(vote.id)
    assert vote.result["p_cnt"] == 6
    outcome = runner.invoke(args=["votes", "verify", str(vote.id)])
    assert outcome.exit_code == 0, outcome.output
    assert "9 events, 9 sealed, 0 pending" in outcome.output


def test_a_closed_vote_must_be_sealed(runner, vote):
    closed_vote(vote, casts=2)  # closing sealed everything so far
    # An event that reached the table without being sealed (as a crashed sealer would leave).
    row = {"vote_id": vote.id, "kind": "note", "nonce": "0" * 32, "created_at": utcnow()}
    row["digest"] = services._digest(services.event_content(row))
    unsealed = _db.session.execute(
        sa.insert(VoteEvent).returning(VoteEvent.id), [row]
    ).scalar_one()
    outcome = runner.invoke(args=["votes", "verify", str(vote.id)])
    assert outcome.exit_code == 1
    assert f"event {unsealed}: not sealed" in outcome.output.splitlines()


def test_verify_compares_the_stored_result(runner, vote):
    closed_vote(vote, casts=3)
    record.seal_pending(vote.id)
    vote.result = {**vote.result, "y_cnt": vote.result["y_cnt"] + 1}
    _db.session.flush()
    outcome = runner.invoke(args=["votes", "verify", str(vote.id)])
    assert outcome.exit_code == 1
    assert "result y_cnt: stored 2, the record gives 1" in outcome.output.splitlines()


def test_verify_of_an_unknown_vote_fails(runner, db):
    outcome = runner.invoke(args=["votes", "verify", "999999"])
    assert outcome.exit_code == 1
    assert "vote 999999: no such vote" in outcome.output


# Tampering ---------------------------------------------------------------------------------------

# (what is changed, the line verify prints for it); {event}, {seq} and {person} of the cast.
TAMPERING = [
    (
        "UPDATE vote_events SET choice = 'disagree' WHERE id = :event",
        "event {event}: content does not match its digest",
    ),
    (
        "UPDATE vote_chain SET hash = :fake WHERE event_id = :event",
        "seq {seq} (event {event}): hash does not match its parent, seq and event",
    ),
    (
        "UPDATE vote_ballots SET choice = 'disagree' WHERE person_id = :person",
        "person {person}: counted ballot is event {event} (disagree, online); the events give "
        "event {event} (agree, online)",
    ),
]


def tamper_in_transaction(statement: str, params: dict) -> None:
    """As the database owner, past the append-only triggers, in the test's transaction."""
    table = statement.split()[1]
    if _db.session.get_bind().dialect.name == "postgresql":
        _db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
        _db.session.execute(sa.text(statement), params)
        _db.session.execute(sa.text("SET LOCAL session_replication_role = origin"))
        return
    if table in APPEND_ONLY_TABLES:
        for suffix in ("no_update", "no_delete"):
            _db.session.execute(sa.text(f"DROP TRIGGER {table}_{suffix}"))
    _db.session.execute(sa.text(statement), params)
    if table in APPEND_ONLY_TABLES:
        for ddl in append_only_ddl(table, "sqlite"):
            _db.session.execute(sa.text(ddl))


@pytest.mark.parametrize(("statement", "line"), TAMPERING)
def test_a_changed_row_is_caught(runner, vote, statement, line):
    persons = person_ids(vote.id)
    target = cast(vote, persons[1])
    cast(vote, persons[2])
    record.seal_pending(vote.id)
    seq = _db.session.scalar(sa.select(ChainEntry.seq).filter_by(event_id=target.event_id))
    assert runner.invoke(args=["votes", "verify", str(vote.id)]).exit_code == 0

    params = {"event": target.event_id, "person": persons[1], "fake": "0" * 64}
    tamper_in_transaction(statement, params)
    outcome = runner.invoke(args=["votes", "verify", str(vote.id)])
    assert outcome.exit_code == 1, outcome.output
    expected = line.format(event=target.event_id, seq=seq, person=persons[1])
    assert expected in outcome.output.splitlines()
    assert "mismatch(es)" in outcome.output.splitlines()[-1]


@pytest.mark.parametrize(
    ("statement", "start"),
    [
        (
            "UPDATE vote_ballots SET area = area + 1 WHERE person_id = :person",
            "person {person}: counted ballot has area ",
        ),
        (
            "UPDATE vote_ballots SET entrance_id = NULL WHERE person_id = :person",
            "person {person}: counted ballot has area ",
        ),
        (
            "UPDATE vote_entrances SET t_cnt = t_cnt + 1 WHERE vote_id = :vote",
            "entrance ",
        ),
        (
            "UPDATE vote_persons SET entrance_id = NULL WHERE id = :person",
            "person {person}: entrance None, its dwellings give ",
        ),
    ],
)
def test_a_changed_copy_of_the_electorate_is_caught(runner, vote, statement, start):
    """What the tally adds up besides the ballots' choices: each ballot's copy of its
    person's area and entrance, and the electorate per entrance frozen at opening."""
    person = person_ids(vote.id)[1]
    cast(vote, person)
    assert runner.invoke(args=["votes", "verify", str(vote.id)]).exit_code == 0
    tamper_in_transaction(statement, {"person": person, "vote": vote.id})
    outcome = runner.invoke(args=["votes", "verify", str(vote.id)])
    assert outcome.exit_code == 1, outcome.output
    assert any(line.startswith(start.format(person=person)) for line in outcome.output.splitlines())


# On PostgreSQL, committed for real ----------------------------------------------------------------


@pytest.fixture
def live(app, postgres_url):
    """For tests that commit for real (no rolled-back transaction). Afterwards every row they
    created is deleted, as the superuser past the append-only triggers."""
    tables = [
        t for t in _db.metadata.sorted_tables if "id" in t.c and isinstance(t.c.id.type, sa.Integer)
    ]
    with app.app_context():
        before = {
            t.name: _db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0)))
            for t in tables
        }
        _db.session.rollback()
    yield app
    with app.app_context(), _db.engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.delete(Ballot).where(Ballot.vote_id > before["votes"]))
        for table in tables:
            connection.execute(sa.delete(table).where(table.c.id > before[table.name]))


def committed_vote(app) -> tuple[int, list[int]]:
    """An open vote on the sample roster (45 persons), committed; its id and person ids."""
    with app.app_context():
        suffix = uuid.uuid4().hex[:6]
        community = Community(
            street=Street(district=District(name=f"区{suffix}"), name=f"街道{suffix}"),
            name=f"社区{suffix}",
        )
        compound = Compound(community=community, name=f"小区{suffix}")
        staff = StaffUser(username=f"staff-{suffix}", password_hash="-", display_name="工作人员")
        _db.session.add_all([compound, staff])
        _db.session.flush()
        import_roster_file(compound.id, "roster-sample.csv", SAMPLE_ROSTER.read_bytes())
        vote = Vote(
            compound_id=compound.id,
            title="测试表决",
            matter=Matter.OTHER,
            rule=Matter.OTHER.rule,
            opens_at=utcnow() - timedelta(minutes=1),
            closes_at=utcnow() + timedelta(days=1),
            created_by_id=staff.id,
        )
        _db.session.add(vote)
        _db.session.flush()
        open_vote(vote, confirm_unknown_owners=True)
        _db.session.commit()
        return vote.id, person_ids(vote.id)


def cast_committed(vote_id: int, person_id: int, choice: Choice = Choice.AGREE):
    """A cast as the casting route makes it: record, commit, then have it sealed."""
    result = cast(_db.session.get(Vote, vote_id), person_id, choice)
    _db.session.commit()
    record.schedule_sealing(vote_id)
    return result


@pytest.mark.postgres
@pytest.mark.parametrize(("statement", "line"), TAMPERING)
def test_a_row_changed_by_the_superuser_is_caught(live, statement, line):
    vote_id, persons = committed_vote(live)
    with live.app_context():
        target = cast_committed(vote_id, persons[1])
        cast_committed(vote_id, persons[2])
        seq = _db.session.scalar(sa.select(ChainEntry.seq).filter_by(event_id=target.event_id))
    runner = live.test_cli_runner()
    assert runner.invoke(args=["votes", "verify", str(vote_id)]).exit_code == 0

    table = statement.split()[1]
    with live.app_context(), _db.engine.begin() as superuser:
        superuser.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        changed = superuser.execute(
            sa.text(statement), {"event": target.event_id, "person": persons[1], "fake": "0" * 64}
        )
        assert changed.rowcount == 1
        superuser.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))

    outcome = runner.invoke(args=["votes", "verify", str(vote_id)])
    assert outcome.exit_code == 1, outcome.output
    expected = line.format(event=target.event_id, seq=seq, person=persons[1])
    assert expected in outcome.output.splitlines()


@pytest.mark.postgres
def test_concurrent_casts_and_sealers_give_one_gapless_chain(live, caplog):
    """Casters commit and seal after commit (inline, so many sealers race) while a dedicated
    sealer runs in a loop: every event ends up sealed exactly once, in one gapless chain."""
    vote_id, persons = committed_vote(live)
    casters, casts_each = 12, 15
    barrier = threading.Barrier(casters + 1)
    done = threading.Event()
    receipts: list[str] = []
    errors: list[BaseException] = []

    def caster(seed: int):
        rng = random.Random(seed)
        with live.app_context():
            barrier.wait()
            try:
                for _ in range(casts_each):
                    choice = rng.choice(list(Choice))
                    receipts.append(cast_committed(vote_id, rng.choice(persons), choice).receipt)
            except BaseException as error:
                errors.append(error)
            finally:
                _db.session.remove()

    def sealer():
        with live.app_context():
            barrier.wait()
            try:
                while not done.is_set():
                    record.seal_pending(vote_id, batch_size=7)
                    _db.session.commit()
            except BaseException as error:
                errors.append(error)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=caster, args=(seed,)) for seed in range(casters)]
    loop = threading.Thread(target=sealer)
    for thread in [*threads, loop]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    loop.join()

    assert errors == []
    assert len(receipts) == len(set(receipts)) == casters * casts_each
    assert not [r for r in caplog.records if "sealing vote" in r.getMessage()]
    with live.app_context():
        assert record.seal_pending(vote_id) == 0  # the casters' own sealing left nothing
        events = _db.session.scalar(
            sa.select(sa.func.count()).select_from(VoteEvent).filter_by(vote_id=vote_id)
        )
        entries = _db.session.execute(
            sa.select(ChainEntry.seq, ChainEntry.event_id).filter_by(vote_id=vote_id)
        ).all()
        assert events == casters * casts_each + 1  # + opened
        assert sorted(seq for seq, _ in entries) == list(range(1, events + 1))
        assert len({event_id for _, event_id in entries}) == events
        report = record.verify(vote_id)
        assert report.ok, report.problems
        assert (report.events, report.pending) == (events, 0)


@pytest.mark.postgres
def test_a_seal_job_beside_the_closing_path_waits_instead_of_deadlocking(live):
    """The closing path holds the vote row exclusively and then seals (as publishing does);
    a seal job started meanwhile waits for it, and seals nothing twice."""
    vote_id, persons = committed_vote(live)
    with live.app_context():
        for person_id in persons[:5]:
            cast(_db.session.get(Vote, vote_id), person_id)
            _db.session.commit()  # committed, not sealed yet
    sealed = {}

    def seal_job():
        with live.app_context():
            try:
                sealed["job"] = seal_vote(vote_id)
            except Exception as error:
                sealed["job"] = error
            finally:
                _db.session.remove()

    with live.app_context():
        _db.session.execute(sa.select(Vote.id).filter_by(id=vote_id).with_for_update())
        job = threading.Thread(target=seal_job)
        job.start()
        job.join(timeout=0.5)
        assert job.is_alive()  # waiting for the closing path
        sealed["closing"] = record.seal_pending(vote_id)
        _db.session.commit()
    job.join()
    assert sealed == {"closing": 5, "job": 0}  # the five casts ("opened" sealed at opening)
    with live.app_context():
        assert record.verify(vote_id).ok
