"""Tally benchmark: a 1,000,000-person open vote in which every person has a counting ballot.

    .venv/bin/python bench/tally.py [--persons 1000000] [--runs 5] [--keep]

Creates its own PostgreSQL database (BENCH_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_tally; dropped and created
afresh, dropped again at the end unless --keep) and fills it with INSERT … SELECT over
generate_series: compound, buildings (2 entrances × 25 floors × 20 rooms each), dwellings, the
frozen electorate (1 person in 50 owns two dwellings, sometimes in two buildings) with the
app's own freezing of entrances, one cast event and one ballot per person, all foreign keys
valid.

Then it times the tally, several runs each, and prints min and median, the load average and
the figures: the one aggregate query over the ballots grouped by choice
(``tally.ballot_groups``: P and Y per option), and ``final_result`` (totals, rule, every
building and entrance — what closing stores and what the committee's live tally computes),
and checks the options against the areas joined from the electorate. Target: < 1 s. It is
not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timedelta
from decimal import Decimal

import loadgen  # bench/loadgen.py, next to this script
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from participation import create_app
from participation.auth.models import StaffUser
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.models import Community, Compound, District, Street
from participation.votes.models import Matter, Vote, VoteStatus
from participation.votes.services import freeze_entrances
from participation.votes.tally import ballot_groups, final_result

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_tally"
ENTRANCES, FLOORS, ROOMS = 2, 25, 20
PER_BUILDING = ENTRANCES * FLOORS * ROOMS
PERSONS_STEP = 50_000  # persons × 51/50 dwellings fill whole buildings

PLACES = [
    # Places and dwellings: areas between 45.00 and 139.99 m².
    """INSERT INTO buildings (compound_id, number, name)
       SELECT :compound, b::text, b::text || '栋' FROM generate_series(1, :buildings) b""",
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
]


def electorate(campaign: str) -> list[str]:
    """The frozen electorate of a ``campaign`` (``vote`` or ``survey``: its tables
    ``…_persons`` and ``…_person_dwellings``, its id ``:vote`` or ``:survey``), as
    roster.snapshot.freeze writes it: every 51st dwelling belongs to the buyer of the dwelling
    before it (sometimes in another entrance or building), so 50 persons own 51 dwellings."""
    return [
        f"""INSERT INTO {campaign}_persons ({campaign}_id, key, area, labels)
       SELECT :{campaign}, 'buyer:' || (d.id - (d.id % 51 = 0)::int), sum(d.area),
              string_agg(b.name || e.name || d.room, '、' ORDER BY d.id)
       FROM dwellings d JOIN buildings b ON b.id = d.building_id
       JOIN entrances e ON e.id = d.entrance_id
       WHERE d.compound_id = :compound
       GROUP BY d.id - (d.id % 51 = 0)::int ORDER BY min(d.id)""",
        f"""INSERT INTO {campaign}_person_dwellings ({campaign}_id, person_id, dwelling_id,
              building_id, entrance_id, floor, area, label)
       SELECT :{campaign}, p.id, d.id, d.building_id, d.entrance_id, d.floor, d.area,
              b.name || e.name || d.room
       FROM dwellings d JOIN buildings b ON b.id = d.building_id
       JOIN entrances e ON e.id = d.entrance_id
       JOIN {campaign}_persons p ON p.{campaign}_id = :{campaign}
                          AND p.key = 'buyer:' || (d.id - (d.id % 51 = 0)::int)
       WHERE d.compound_id = :compound""",
    ]


FILL = [
    *PLACES,
    *electorate("vote"),
    None,  # the app's own freezing of each person's entrance and the electorate per entrance
    # One cast per person (70 % agree, 20 % disagree, 10 % abstain) and its ballot.
    """INSERT INTO vote_events (vote_id, kind, person_id, choice, channel, nonce, digest,
                               receipt, created_at)
       SELECT :vote, 'cast', p.id,
              CASE WHEN p.id % 10 < 7 THEN 'agree' WHEN p.id % 10 < 9 THEN 'disagree'
                   ELSE 'abstain' END,
              'online', md5(p.id::text), encode(sha256(convert_to(p.id::text, 'UTF8')), 'hex'),
              upper(substr(md5('receipt' || p.id), 1, 16)),
              now() - make_interval(secs => p.id % 86400)
       FROM vote_persons p WHERE p.vote_id = :vote""",
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


def new_vote() -> Vote:
    district = District(name="基准区")
    compound = Compound(
        community=Community(street=Street(district=district, name="基准街道"), name="基准社区"),
        name="基准小区",
    )
    staff = StaffUser(username="bench", password_hash="-", display_name="基准")
    db.session.add_all([compound, staff])
    db.session.flush()
    now = utcnow()
    vote = Vote(
        compound_id=compound.id,
        title="加装电梯（基准）",
        matter=Matter.ELEVATOR,
        rule=Matter.ELEVATOR.rule,
        status=VoteStatus.OPEN,
        opens_at=now - timedelta(days=1),
        opened_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        created_by_id=staff.id,
    )
    db.session.add(vote)
    db.session.flush()
    return vote


def fill(vote: Vote, persons: int) -> None:
    params = {
        "compound": vote.compound_id,
        "vote": vote.id,
        "buildings": persons * 51 // 50 // PER_BUILDING,
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
        print(f"  {table:<22} {time.perf_counter() - started:6.1f} s")
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    db.session.refresh(vote)


def timed(label: str, runs: int, func) -> object:
    times, value = [], None
    for _ in range(runs):
        started = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - started)
        db.session.rollback()
    median = statistics.median(times)
    print(
        f"  {label:<28} min {min(times) * 1000:7.1f} ms   median {median * 1000:7.1f} ms   "
        f"(load average {os.getloadavg()[0]:.2f})"
    )
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.persons % PERSONS_STEP:
        parser.error(f"--persons must be a multiple of {PERSONS_STEP:,}")
    os.environ.setdefault("PARTICIPATION_SECRET_KEY", "bench-secret-key-not-for-production")
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL")
    loadgen.fresh_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    try:
        with app.app_context():
            db.create_all()
            print(f"filling a vote of {args.persons:,} persons, one ballot each:")
            vote = new_vote()
            fill(vote, args.persons)
            settings = db.session.execute(
                sa.text("SELECT version(), current_setting('max_parallel_workers_per_gather')")
            ).one()
            print(
                f"\n{settings[0].split(',')[0]}; {os.cpu_count()} CPUs; "
                f"max_parallel_workers_per_gather = {settings[1]}"
            )
            print(f"tally of {args.persons:,} ballots, {args.runs} runs:")
            timed("totals (one aggregate query)", args.runs, lambda: ballot_groups(vote.id))
            result = timed("final_result / live tally", args.runs, lambda: final_result(vote))
            print(
                f"\nT {result['t_cnt']:,} persons, {result['t_area']} m²; "
                f"P {result['p_cnt']:,}, {result['p_area']} m²; "
                f"Y {result['y_cnt']:,}, {result['y_area']} m²"
            )
            print(
                "options: "
                + "; ".join(
                    f"{o['choice']} {o['count']:,} / {o['area']} m²" for o in result["options"]
                )
            )
            print(
                f"quorum_met {result['quorum_met']}, approved {result['approved']}, "
                f"passed {result['passed']}; {len(result['buildings'])} buildings, "
                f"{sum(len(b['entrances']) for b in result['buildings'])} entrances"
            )
            # The same totals the slow way, from the electorate rather than the ballots' copies.
            reference = {
                choice: (cnt, str(area))
                for choice, cnt, area in db.session.execute(
                    sa.text(
                        "SELECT b.choice, count(*), sum(p.area) FROM vote_ballots b "
                        "JOIN vote_persons p ON p.id = b.person_id WHERE b.vote_id = :vote "
                        "GROUP BY b.choice"
                    ),
                    {"vote": vote.id},
                )
            }
            assert reference == {o["choice"]: (o["count"], o["area"]) for o in result["options"]}
            print("options match the electorate's areas joined the slow way")
            buildings = result["buildings"]
            twice = sum(b["t_cnt"] for b in buildings) - result["t_cnt"]
            assert (result["t_cnt"], result["t_area"]) == (vote.t_cnt, str(vote.t_area))
            assert sum(Decimal(b["t_area"]) for b in buildings) == vote.t_area
            print(f"persons counted in two buildings (dwellings in both): {twice:,}")
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.keep:
            loadgen.fresh_database(url, drop_only=True)


if __name__ == "__main__":
    main()
