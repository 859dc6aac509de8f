"""Cast benchmark: owners casting through gunicorn against PostgreSQL, and a trivial endpoint of
the same app for comparison.

    .venv/bin/python bench/cast_ballots.py [--owners 20000] [--duration 20] [--clients 64]
                                           [--workers 3] [--rate 600] [--runs 1]
                                           [--profile FILE]

The production set-up on loopback (``loadgen``): its own PostgreSQL database
(BENCH_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/
participation_bench_cast), Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/11, on a
queue of this run's own), gunicorn and one rq worker sealing the record. Tables by
``db.create_all()``; a compound of about ``--owners`` dwellings (generated roster, imported), an
open whole-compound vote, one signed-in account and access token per person, and a
one-building compound for the trivial endpoint. ``--duration`` seconds per phase:

1. casts, closed loop: the most the server does; every request another owner, a random
   choice, one in four with an Idempotency-Key;
2. ``GET /api/v1/public/compounds/<small>`` (three queries, no sign-in), closed loop;
3. casts paced at ``--rate`` per second in total, ``--runs`` times in a row, each run with its
   p50, p99, p99.9 and worst latency and the machine's load while it ran.

Prints requests/s, latencies and the CPU time per request of gunicorn, the sealing worker,
PostgreSQL's backends and the load generator; the ratio casts/s ÷ trivial/s; the server CPU per
cast. ``--profile FILE``: py-spy's collapsed stacks of gunicorn during the closed-loop casts
(``bench/profile_summary.py FILE`` sums them up). Target on 2 cores: ≥ 600 casts/s with
p99 < 100 ms at 64 clients. It is not a test.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import loadgen  # bench/loadgen.py, next to this script
import sqlalchemy as sa
from flask import Flask

from participation.auth.models import StaffUser
from participation.extensions import db
from participation.votes.models import VotePersonOwner

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_cast"
CHOICES = ("agree", "disagree", "abstain")


def setup(app: Flask, owners: int, plan: Path) -> int:
    """Roster, open vote and tokens, written to ``plan`` with the small compound's id;
    returns the number of persons."""
    started = time.perf_counter()
    compound = loadgen.new_compound("压测小区", owners)
    small = loadgen.new_compound("对照小区", 1)

    staff = StaffUser(username="bench", password_hash="-", display_name="压测")
    db.session.add(staff)
    db.session.flush()
    vote = loadgen.open_vote_in(compound, staff)

    # One account per person (its lowest owner), signed in.
    owner_of_person = dict(
        db.session.execute(
            sa.select(VotePersonOwner.person_id, sa.func.min(VotePersonOwner.owner_id))
            .where(VotePersonOwner.vote_id == vote.id)
            .group_by(VotePersonOwner.person_id)
        ).all()
    )
    tokens = loadgen.signed_in(app, sorted(owner_of_person.values()))
    plan.write_text(
        json.dumps({"vote_id": vote.id, "tokens": tokens, "trivial_compound": small.id})
    )
    print(
        f"set up {vote.t_cnt:,} persons ({len(tokens):,} owners signed in) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    db.session.commit()
    db.session.close()  # no connection of this process stays open while the load runs
    return len(tokens)


def cast_requests(target: str, plan: dict, host: str, clients: int):
    """Client ``i``'s ``n``th cast: every request another owner, a random choice, one in
    four with an Idempotency-Key."""
    tokens, line = (
        plan["tokens"],
        f"POST /api/v1/votes/{plan['vote_id']}/ballots HTTP/1.1\r\n{host}",
    )

    def request(i: int, n: int) -> bytes:
        token = tokens[(n * clients + i) % len(tokens)]
        return loadgen.post(line, token, {"choice": random.choice(CHOICES)}, key=n % 4 == 0)

    return request


def main() -> None:
    args = loadgen.parser(__doc__.splitlines()[0], "casts").parse_args()
    if args.drive:
        args.port = int(args.port)
        loadgen.drive(args, cast_requests)
        return
    prepare = lambda app, plan: setup(app, args.owners, plan)  # noqa: E731
    with loadgen.benchmark(args, __file__, DEFAULT_URL, "cast", prepare) as (bench, persons):
        bench.warm_up(("casts", "trivial"), duration=3)
        casts = bench.phase(
            "POST /votes/<id>/ballots, closed loop", "casts", args.duration, profile=args.profile
        )
        trivial = bench.phase("GET /public/compounds/<id>, closed loop", "trivial", args.duration)
        bench.paced_runs("POST /votes/<id>/ballots", "casts", args.runs)
        bench.stop()  # the worker seals what is left first
        counted = db.session.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM vote_events WHERE kind = 'cast'), "
                "(SELECT count(*) FROM vote_ballots), (SELECT count(*) FROM vote_chain)"
            )
        ).one()
    print(f"  ratio casts/s ÷ trivial/s: {casts['per_second'] / trivial['per_second']:.2f}")
    server_ms = loadgen.server_cpu_ms(casts)
    print(
        f"  server CPU per cast {server_ms:.2f} ms (trivial request "
        f"{loadgen.server_cpu_ms(trivial):.2f} ms): at most {2000 / server_ms:.0f} casts/s "
        "on 2 cores with nothing else running"
    )
    print(
        f"  recorded {counted[0]:,} casts, {counted[1]:,} counting ballots "
        f"(of {persons:,} persons), {counted[2]:,} events sealed"
    )


if __name__ == "__main__":
    main()
