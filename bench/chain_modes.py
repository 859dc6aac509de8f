"""Audit chain designs under concurrent casting (DESIGN.md, "The audit chain must not
serialise voting").

    .venv/bin/python bench/chain_modes.py [--threads 64] [--seconds 10] [--persons 5000]

Both designs do the same work per cast as ``services.record_cast`` — share-lock the vote row,
read the database clock, then its one statement appending the event with its digest and
receipt, queueing it for sealing and upserting the person's ballot — in one transaction, and
differ only in the chain (head-lock also writes the queue row it would not need: a few per
cent against it):

- ``head-lock``: every cast also locks the vote's chain head (a row per vote) ``FOR UPDATE``,
  appends its chain entry and moves the head, in the same transaction;
- ``after-commit`` (the chosen design): casts only append events; a sealer in its own
  process (like an rq worker running the seal job: ``record.seal_pending``, then commit)
  seals them in batches after commit, in a loop.

Each mode gets a fresh open vote of ``--persons`` persons; ``--threads`` threads cast for
random persons directly against PostgreSQL (SQLAlchemy Core, one connection each) for
``--seconds``. Prints casts/s and the p50/p99 latency of a cast (begin → commit), the sealer's
backlog, and checks each vote's record with ``record.verify``. Own database:
BENCH_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/
participation_bench_chain, dropped and created afresh, dropped at the end. Not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import secrets
import statistics
import threading
import time
from datetime import UTC, timedelta
from decimal import Decimal

import sqlalchemy as sa
from import_roster import drop_postgres_database, postgres_database

from participation import create_app
from participation.auth.models import StaffUser
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.models import Community, Compound, District, Street
from participation.votes import record
from participation.votes.models import (
    ChainEntry,
    Channel,
    Choice,
    Matter,
    Vote,
    VotePerson,
    VoteStatus,
)
from participation.votes.services import (
    CAST_KEYS,
    _cast_statement,
    _digest,
    event_content,
    receipt_code,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_chain"
HEADS = sa.table("bench_chain_heads", sa.column("vote_id"), sa.column("seq"), sa.column("hash"))
SEAL_PAUSE = 0.05  # seconds between sealing rounds (a busy worker picking up seal jobs)

VOTE_ROW = (
    sa.select(Vote.status, Vote.opens_at, Vote.closes_at)
    .where(Vote.id == sa.bindparam("vote_id"))
    .with_for_update(read=True, key_share=True)  # FOR KEY SHARE: casts never wait for casts
)
CLOCK = sa.text("SELECT clock_timestamp()")
HEAD_ROW = (
    sa.select(HEADS.c.seq, HEADS.c.hash)
    .where(HEADS.c.vote_id == sa.bindparam("vote_id"))
    .with_for_update()
)


# ``record_cast``'s own statement: the event, queued for sealing, and the person's ballot.
WRITE_CAST = _cast_statement("postgresql", idempotent=False)
INSERT_ENTRY = sa.insert(ChainEntry)
MOVE_HEAD = (
    HEADS.update()
    .where(HEADS.c.vote_id == sa.bindparam("head_vote_id"))
    .values(seq=sa.bindparam("seq"), hash=sa.bindparam("hash"))
)


def cast(connection, vote_id: int, person_id: int, choice: Choice, head_lock: bool) -> None:
    with connection.begin():
        vote = connection.execute(VOTE_ROW, {"vote_id": vote_id}).one()
        now = connection.execute(CLOCK).scalar_one().astimezone(UTC)
        assert vote.status is VoteStatus.OPEN and vote.opens_at <= now < vote.closes_at
        row = dict.fromkeys(CAST_KEYS) | {
            "vote_id": vote_id,
            "kind": "cast",
            "person_id": person_id,
            "choice": choice,
            "channel": Channel.ONLINE,
            "nonce": secrets.token_hex(16),
            "created_at": now,
        }
        row["digest"] = _digest(event_content(row))
        row["receipt"] = receipt_code(row["digest"])
        event_id = connection.execute(WRITE_CAST, row).scalar_one()
        if head_lock:
            seq, parent = connection.execute(HEAD_ROW, {"vote_id": vote_id}).one()
            entry = {
                "vote_id": vote_id,
                "seq": seq + 1,
                "event_id": event_id,
                "parent_hash": parent,
                "hash": record.chain_hash(parent, seq + 1, row["digest"]),
            }
            connection.execute(INSERT_ENTRY, entry)
            connection.execute(
                MOVE_HEAD, {"head_vote_id": vote_id, "seq": seq + 1, "hash": entry["hash"]}
            )


def new_vote(app, persons: int) -> int:
    """An open vote of ``persons`` persons (no roster needed) and its chain head row."""
    with app.app_context():
        compound_id = db.session.scalar(sa.select(Compound.id))
        staff_id = db.session.scalar(sa.select(StaffUser.id))
        vote = Vote(
            compound_id=compound_id,
            title="bench",
            matter=Matter.OTHER,
            rule=Matter.OTHER.rule,
            status=VoteStatus.OPEN,
            opens_at=utcnow() - timedelta(minutes=1),
            closes_at=utcnow() + timedelta(hours=1),
            created_by_id=staff_id,
            t_cnt=persons,
            t_area=Decimal("80.00") * persons,
        )
        db.session.add(vote)
        db.session.flush()
        db.session.execute(
            sa.insert(VotePerson),
            [
                {"vote_id": vote.id, "key": f"p{i}", "area": Decimal("80.00"), "labels": ""}
                for i in range(persons)
            ],
        )
        db.session.execute(
            HEADS.insert().values(vote_id=vote.id, seq=0, hash=record.genesis_hash(vote.id))
        )
        db.session.commit()
        return vote.id


def seal_in_a_loop(url: str, vote_id: int, ready, stop, rounds, sealed) -> None:
    """The sealer, in its own process like an rq worker: seal, commit, pause, until told."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    with app.app_context():
        ready.set()
        while not stop.is_set():
            sealed.value += record.seal_pending(vote_id)
            db.session.commit()
            rounds.value += 1
            time.sleep(SEAL_PAUSE)


def run_mode(app, engine, mode: str, args) -> dict:
    vote_id = new_vote(app, args.persons)
    with app.app_context():
        persons = list(db.session.scalars(sa.select(VotePerson.id).filter_by(vote_id=vote_id)))
    head_lock = mode == "head-lock"
    barrier = threading.Barrier(args.threads + 1)
    latencies: list[list[float]] = [[] for _ in range(args.threads)]
    errors: list[BaseException] = []

    def caster(index: int) -> None:
        rng = random.Random(index)
        choices = list(Choice)
        with engine.connect() as connection:
            barrier.wait()
            deadline = time.perf_counter() + args.seconds
            try:
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    cast(connection, vote_id, rng.choice(persons), rng.choice(choices), head_lock)
                    latencies[index].append(time.perf_counter() - started)
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=caster, args=(i,)) for i in range(args.threads)]
    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    rounds, sealed = spawn.Value("i", 0), spawn.Value("i", 0)
    sealer = spawn.Process(
        target=seal_in_a_loop, args=(args.url, vote_id, ready, stop, rounds, sealed)
    )
    if not head_lock:
        sealer.start()
        ready.wait()
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    stop.set()
    if not head_lock:
        sealer.join()
        assert sealer.exitcode == 0, "the sealer failed"
    if errors:
        raise errors[0]

    with app.app_context():
        drain_started = time.perf_counter()
        # head-lock sealed each cast itself (the queue rows it wrote are left unused).
        backlog = 0 if head_lock else record.seal_pending(vote_id)
        db.session.commit()
        drain = time.perf_counter() - drain_started
        report = record.verify(vote_id)
    every = sorted(x for thread_latencies in latencies for x in thread_latencies)
    return {
        "mode": mode,
        "casts": len(every),
        "rate": len(every) / elapsed,
        "p50": statistics.median(every) * 1000,
        "p99": every[int(len(every) * 0.99) - 1] * 1000,
        "sealing": {"rounds": rounds.value, "sealed": sealed.value},
        "backlog": backlog,
        "drain": drain * 1000,
        "report": report,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--persons", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("PARTICIPATION_SECRET_KEY", "bench-secret-key-not-for-production")
    url = postgres_database(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    if url is None:
        return
    args.url = url
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
        with app.app_context():
            db.create_all()
            db.session.execute(
                sa.text(
                    "CREATE TABLE bench_chain_heads "
                    "(vote_id integer PRIMARY KEY, seq integer NOT NULL, hash text NOT NULL)"
                )
            )
            district = District(name="bench")
            street = Street(district=district, name="bench")
            community = Community(street=street, name="bench")
            db.session.add_all(
                [
                    Compound(community=community, name="bench"),
                    StaffUser(username="bench", password_hash="-", display_name="bench"),
                ]
            )
            db.session.commit()
            version = db.session.scalar(sa.text("SHOW server_version"))
        engine = sa.create_engine(url, pool_size=args.threads, max_overflow=0)
        print(
            f"PostgreSQL {version}, {os.cpu_count()} CPUs; {args.threads} threads casting for "
            f"{args.seconds:g} s per mode, {args.persons} persons per vote"
        )
        print(f"{'mode':<14}{'casts':>8}{'casts/s':>10}{'p50 ms':>9}{'p99 ms':>9}  sealing")
        results = {}
        for mode in ("head-lock", "after-commit"):
            r = results[mode] = run_mode(app, engine, mode, args)
            if mode == "head-lock":
                sealing = "in the cast's transaction"
            else:
                sealing = (
                    f"{r['sealing']['sealed']} sealed in {r['sealing']['rounds']} rounds during "
                    f"the run; {r['backlog']} left at the end, sealed in {r['drain']:.0f} ms"
                )
            print(
                f"{mode:<14}{r['casts']:>8}{r['rate']:>10.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}"
                f"  {sealing}"
            )
        ratio = results["after-commit"]["rate"] / results["head-lock"]["rate"]
        print(f"after-commit / head-lock throughput: {ratio:.2f}×")
        for mode, r in results.items():
            print(f"verify ({mode}): {r['report'].summary()}")
        engine.dispose()
        with app.app_context():
            db.engine.dispose()
    finally:
        drop_postgres_database(url)


if __name__ == "__main__":
    main()
