"""District view benchmark: 500 compounds of one district, each with its renovation project.

    .venv/bin/python bench/district_view.py [--compounds 500] [--runs 5] [--keep]

Creates its own PostgreSQL database (BENCH_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_district; dropped and created
afresh, dropped again at the end unless --keep) and fills it with INSERT … SELECT over
generate_series: one district of 10 streets × 5 communities × (compounds / 50) compounds, one
project per compound with its eight steps (a compound's project has done as many steps as its
number modulo 9), three closed surveys per project (consent, menu, satisfaction) with the
results their closing stores, linked to the project, and 20 complaint tickets per compound in
every state, some late.

Then it times the district view for the district's staff (``overview.all_rows``: every row,
what the export and the chart read) and one page of it sorted by consent rate (what the
workbench asks for), several runs each, and prints min and median. Target: < 1 s. It is not
a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import loadgen  # bench/loadgen.py, next to this script
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from participation import create_app
from participation.auth.models import Role, SubjectKind
from participation.auth.tokens import Principal
from participation.common.sql import db_now
from participation.extensions import db
from participation.feedback.services import ensure_categories
from participation.projects import overview

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_district"
STREETS, COMMUNITIES = 10, 5

FILL = [
    "INSERT INTO districts (name) VALUES ('基准区')",
    """INSERT INTO streets (district_id, name)
       SELECT d.id, '街道' || s FROM districts d CROSS JOIN generate_series(1, :streets) s""",
    """INSERT INTO communities (street_id, name)
       SELECT s.id, s.name || '社区' || c FROM streets s
       CROSS JOIN generate_series(1, :communities) c""",
    """INSERT INTO compounds (community_id, name, address, created_at)
       SELECT c.id, c.name || '小区' || n, '', now() FROM communities c
       CROSS JOIN generate_series(1, :per_community) n""",
    """INSERT INTO staff_users (username, password_hash, display_name, active, created_at)
       VALUES ('bench', '-', '基准', true, now())""",
    """INSERT INTO projects (compound_id, year, title, created_by_id, created_at)
       SELECT c.id, 2026, c.name || '改造', (SELECT id FROM staff_users), now()
       FROM compounds c""",
    """INSERT INTO project_steps (project_id, step, position, status, organisation, note)
       SELECT p.id, (ARRAY['organise', 'apply', 'plan', 'design', 'works', 'acceptance',
                           'handover', 'evaluation'])[s], s,
              CASE WHEN s <= p.compound_id % 9 THEN 'done'
                   WHEN s = p.compound_id % 9 + 1 THEN 'in_progress'
                   ELSE 'not_started' END, '', ''
       FROM projects p CROSS JOIN generate_series(1, 8) s""",
    # Closed surveys with the results their closing stores (the parts the view reads).
    """INSERT INTO surveys (compound_id, kind, title, description, basis, anonymous, status,
                           building_ids, entrance_ids, opens_at, closes_at, created_by_id,
                           created_at, consent_basis, objection_days, adoption_numerator,
                           adoption_denominator, adoption_strict, t_cnt, result)
       SELECT c.id, k.kind, k.kind, '', 'owner', false, 'final', '[]', '[]',
              now() - interval '30 days', now() - interval '20 days',
              (SELECT id FROM staff_users), now(), 'count', 7, 1, 2, true, 400,
              CASE k.kind
                WHEN 'consent' THEN json_build_object('t_cnt', 400,
                                                      'y_cnt', 200 + c.id % 200, 'passed', true)
                WHEN 'menu' THEN json_build_object('included',
                                                   json_build_array(1, 2, 3, c.id % 7))
                ELSE json_build_object('overall', json_build_object('rate',
                       json_build_object('numerator', 300 + c.id % 97, 'denominator', 400)))
              END
       FROM compounds c
       CROSS JOIN (VALUES ('consent'), ('menu'), ('satisfaction')) AS k(kind)""",
    """INSERT INTO project_links (project_id, kind, target_id, added_by_id, created_at)
       SELECT p.id, 'survey', s.id, p.created_by_id, now()
       FROM projects p JOIN surveys s ON s.compound_id = p.compound_id""",
    None,  # the district's ticket categories (the app's own defaults)
    """INSERT INTO tickets (compound_id, kind, category_id, description, anonymous, source,
                           status, created_at, updated_at, ack_due_at, resolve_due_at,
                           reopen_count)
       SELECT c.id, 'complaint', (SELECT min(id) FROM ticket_categories), '噪音', false, 'h5',
              (ARRAY['submitted', 'acknowledged', 'in_progress', 'resolved',
                     'closed'])[1 + (c.id + t) % 5],
              now() - interval '10 days', now(),
              now() - interval '9 days' + make_interval(days => t % 3),
              now() + make_interval(days => (c.id + t) % 11 - 5), 0
       FROM compounds c CROSS JOIN generate_series(1, 20) t""",
]


def fill(compounds: int) -> int:
    params = {
        "streets": STREETS,
        "communities": COMMUNITIES,
        "per_community": compounds // (STREETS * COMMUNITIES),
    }
    for statement in FILL:
        started = time.perf_counter()
        if statement is None:
            district_id = db.session.scalar(sa.text("SELECT id FROM districts"))
            ensure_categories(district_id)
            table = "ticket_categories"
        else:
            db.session.execute(sa.text(statement), params)
            table = statement.split()[2]
        print(f"  {table:<18} {time.perf_counter() - started:6.2f} s")
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return db.session.scalar(sa.text("SELECT id FROM districts"))


def timed(label: str, runs: int, func) -> object:
    times, value = [], None
    for _ in range(runs):
        started = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - started)
        db.session.rollback()
    print(
        f"  {label:<34} min {min(times) * 1000:7.1f} ms   "
        f"median {statistics.median(times) * 1000:7.1f} ms   "
        f"(load average {os.getloadavg()[0]:.2f})"
    )
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compounds", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.compounds % (STREETS * COMMUNITIES):
        parser.error(f"--compounds must be a multiple of {STREETS * COMMUNITIES}")
    os.environ.setdefault("PARTICIPATION_SECRET_KEY", "bench-secret-key-not-for-production")
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL")
    loadgen.fresh_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    try:
        with app.app_context():
            db.create_all()
            print(f"filling a district of {args.compounds} compounds with their projects:")
            district_id = fill(args.compounds)
            staff = Principal(SubjectKind.STAFF, 1, "", ((Role.DISTRICT, district_id),))
            now = db_now()
            print(f"district view of {args.compounds} projects, {args.runs} runs:")
            rows = timed(
                "every row (export, chart)",
                args.runs,
                lambda: overview.all_rows(staff, now, "compound", False),
            )
            page = timed(
                "one page of 20 by consent rate",
                args.runs,
                lambda: db.session.execute(
                    overview.overview_query(staff, now, "consent", True).limit(20)
                ).all(),
            )
            assert len(rows) == args.compounds and len(page) == 20
            steps = sorted({r["current_step_label"] for r in rows})
            late = sum(r["complaints_overdue"] for r in rows)
            print(
                f"\n{len(rows)} rows; steps seen: {'、'.join(steps)}; "
                f"complaints open {sum(r['complaints_open'] for r in rows)}, late {late}; "
                f"top consent {page[0].consent_y}/{page[0].consent_t}"
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.keep:
            loadgen.fresh_database(url, drop_only=True)


if __name__ == "__main__":
    main()
