"""Live-tally benchmark: what the committee's live tally page loads, for an open vote of a
10,000-person compound in which about half have voted.

    .venv/bin/python bench/live_tally.py [--persons 10000] [--runs 9] [--keep]

Creates its own PostgreSQL database (BENCH_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_live; dropped and created
afresh, dropped again at the end unless --keep) and fills it set-based, as bench/tally.py does
(INSERT … SELECT over generate_series): buildings of 2 entrances × 6 floors × 4 rooms,
dwellings, the frozen electorate (1 person in 50 owns two dwellings, sometimes in two
entrances or buildings), one roster owner with a phone per person (every tenth person
co-owned by two), and a counting ballot for every other person.

Then it times, through the Flask test client with a committee member's token, what the page
loads — ``GET /votes/{id}/tally``, the first page of ``/non-voters`` and of
``/door-to-door`` — several runs each, and prints min / median / max and the load average.
Target: < 300 ms for the tally. It is not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timedelta

import loadgen  # bench/loadgen.py, next to this script
import sqlalchemy as sa
import tally  # bench/tally.py: the same generated electorate
from sqlalchemy.engine import make_url

from participation import create_app
from participation.auth.models import Role, RoleAssignment, StaffUser, SubjectKind
from participation.auth.tokens import issue_tokens
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.models import Community, Compound, District, Street
from participation.votes.models import Matter, Vote, VoteStatus
from participation.votes.services import freeze_entrances

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_live"
ENTRANCES, FLOORS, ROOMS = 2, 6, 4
PER_BUILDING = ENTRANCES * FLOORS * ROOMS
TARGET_MS = 300

FILL = [
    """INSERT INTO buildings (compound_id, number, name)
       SELECT :compound, b::text, b::text || '号楼' FROM generate_series(1, :buildings) b""",
    """INSERT INTO entrances (building_id, number, name)
       SELECT b.id, e::text, e::text || '单元'
       FROM buildings b CROSS JOIN generate_series(1, :entrances) e
       WHERE b.compound_id = :compound""",
    """INSERT INTO dwellings (compound_id, building_id, entrance_id, floor, room, area,
                              area_source, status, use)
       SELECT :compound, e.building_id, e.id, f, f::text || lpad(r::text, 2, '0'),
              (45 + ((e.id * 131 + f * 17 + r * 7919) % 9500) / 100.0)::numeric(10, 2),
              'registry', 'sold', 'residential'
       FROM entrances e JOIN buildings b ON b.id = e.building_id
       CROSS JOIN generate_series(1, :floors) f CROSS JOIN generate_series(1, :rooms) r
       WHERE b.compound_id = :compound ORDER BY e.id, f, r""",
    *tally.electorate("vote"),
    None,  # the app's own freezing of each person's entrance and the electorate per entrance
    # One owner per person, a second one for every tenth person; phones 139xxxxxxxx.
    """INSERT INTO owners (compound_id, name, phone, id_hash, id_last4)
       SELECT :compound, '业主' || p.id || '-' || k, '139' || lpad((p.id * 2 + k)::text, 8, '0'),
              md5(p.id || '-' || k) || md5(k || '-' || p.id), lpad(k::text, 4, '0')
       FROM vote_persons p CROSS JOIN generate_series(0, 1) k
       WHERE p.vote_id = :vote AND (k = 0 OR p.id % 10 = 0)""",
    """INSERT INTO vote_person_owners (vote_id, person_id, owner_id)
       SELECT :vote, p.id, o.id FROM vote_persons p CROSS JOIN generate_series(0, 1) k
       JOIN owners o ON o.compound_id = :compound AND o.name = '业主' || p.id || '-' || k
       WHERE p.vote_id = :vote""",
    # Every other person voted (70 % agree, 20 % disagree, 10 % abstain).
    """INSERT INTO vote_events (vote_id, kind, person_id, choice, channel, nonce, digest,
                               receipt, created_at)
       SELECT :vote, 'cast', p.id,
              CASE WHEN p.id % 20 < 14 THEN 'agree' WHEN p.id % 20 < 18 THEN 'disagree'
                   ELSE 'abstain' END,
              'online', md5(p.id::text), encode(sha256(convert_to(p.id::text, 'UTF8')), 'hex'),
              upper(substr(md5('receipt' || p.id), 1, 16)),
              now() - make_interval(secs => p.id % 86400)
       FROM vote_persons p WHERE p.vote_id = :vote AND p.id % 2 = 0""",
    """INSERT INTO vote_ballots (vote_id, person_id, event_id, choice, channel, cast_at, area,
                                entrance_id)
       SELECT e.vote_id, e.person_id, e.id, e.choice, e.channel, e.created_at, p.area,
              p.entrance_id
       FROM vote_events e JOIN vote_persons p ON p.id = e.person_id
       WHERE e.vote_id = :vote AND e.kind = 'cast'""",
    """UPDATE votes SET
           t_cnt = (SELECT count(*) FROM vote_persons WHERE vote_id = :vote),
           t_area = (SELECT sum(area) FROM vote_persons WHERE vote_id = :vote)
       WHERE id = :vote""",
]


def new_vote() -> tuple[Vote, StaffUser]:
    compound = Compound(
        community=Community(
            street=Street(district=District(name="基准区"), name="基准街道"), name="基准社区"
        ),
        name="基准小区",
    )
    db.session.add(compound)
    db.session.flush()
    staff = StaffUser(username="bench-committee", password_hash="-", display_name="业委会")
    staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
    db.session.add(staff)
    db.session.flush()
    now = utcnow()
    vote = Vote(
        compound_id=compound.id,
        title="外墙保温（基准）",
        matter=Matter.OTHER,
        rule=Matter.OTHER.rule,
        status=VoteStatus.OPEN,
        opens_at=now - timedelta(days=1),
        opened_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        created_by_id=staff.id,
    )
    db.session.add(vote)
    db.session.flush()
    return vote, staff


def fill(vote: Vote, persons: int) -> None:
    params = {
        "compound": vote.compound_id,
        "vote": vote.id,
        "buildings": -(-persons * 51 // 50 // PER_BUILDING),
        "entrances": ENTRANCES,
        "floors": FLOORS,
        "rooms": ROOMS,
    }
    for statement in FILL:
        started = time.perf_counter()
        if statement is None:
            freeze_entrances(vote.id)
            table = "vote_entrances"
        else:
            db.session.execute(sa.text(statement), params)
            words = statement.split()
            table = words[2] if words[0] == "INSERT" else words[1]
        print(f"  {table:<22} {time.perf_counter() - started:6.2f} s")
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    db.session.refresh(vote)


def timed(client, label: str, url: str, headers: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs + 1):  # the first run warms caches; not counted
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.get_json())
    times = times[1:]
    print(
        f"  {label:<32} min {min(times):7.1f} ms   median {statistics.median(times):7.1f} ms   "
        f"max {max(times):7.1f} ms   (load average {os.getloadavg()[0]:.2f})"
    )
    return times


def profile(client, url: str, headers: dict) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(client.get, url, headers=headers)
    print("\none GET /tally, by cumulative time (cProfile):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--profile", action="store_true", help="print where one tally request spends its time"
    )
    args = parser.parse_args()
    os.environ.setdefault("PARTICIPATION_SECRET_KEY", "bench-secret-key-not-for-production")
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL")
    loadgen.fresh_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "TESTING": True})
    try:
        with app.app_context():
            db.create_all()
            print(f"filling an open vote of about {args.persons:,} persons, half voted:")
            vote, staff = new_vote()
            fill(vote, args.persons)
            with app.test_request_context():
                headers = {
                    "Authorization": "Bearer "
                    + issue_tokens(SubjectKind.STAFF, staff.id)["access_token"]
                }
                db.session.commit()
            vote_id, t_cnt = vote.id, vote.t_cnt
            db.session.remove()
        settings = None
        with app.app_context():
            settings = db.session.execute(sa.text("SELECT version()")).scalar_one()
            db.session.remove()
        print(f"\n{settings.split(',')[0]}; {os.cpu_count()} CPUs; {t_cnt:,} persons")
        print(f"what the live tally page loads, {args.runs} runs each (after one warm-up):")
        client = app.test_client()
        base = f"/api/v1/votes/{vote_id}"
        tally = timed(client, "GET /tally", f"{base}/tally", headers, args.runs)
        timed(client, "GET /non-voters (page 1)", f"{base}/non-voters", headers, args.runs)
        timed(client, "GET /door-to-door (page 1)", f"{base}/door-to-door", headers, args.runs)
        if args.profile:
            profile(client, f"{base}/tally", headers)
        answer = client.get(f"{base}/tally", headers=headers).get_json()
        print(
            f"\nT {answer['t_cnt']:,}; P {answer['p_cnt']:,} ({answer['p_area']} m²); "
            f"{len(answer['buildings'])} buildings"
        )
        verdict = "met" if statistics.median(tally) < TARGET_MS else "MISSED"
        print(f"tally target < {TARGET_MS} ms (median): {verdict}")
        with app.app_context():
            db.engine.dispose()
    finally:
        if not args.keep:
            loadgen.fresh_database(url, drop_only=True)


if __name__ == "__main__":
    main()
