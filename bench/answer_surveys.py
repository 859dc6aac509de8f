"""Answer benchmark: residents answering surveys through gunicorn against PostgreSQL, beside
the casts of ``cast_ballots.py`` and a trivial endpoint of the same app.

    .venv/bin/python bench/answer_surveys.py [--owners 20000] [--duration 20] [--clients 64]
                                             [--workers 3] [--rate 600] [--runs 1]
                                             [--profile FILE]

The production set-up on loopback (``loadgen``): its own PostgreSQL database
(BENCH_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/
participation_bench_answers), Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/11, a
queue of this run's own), gunicorn and one rq worker. A compound of about ``--owners``
dwellings (generated roster, imported), one signed-in account per person, and three open
surveys of the whole compound, as committees make them:

- consent (the template: 同意/不同意, how to contribute, the management afterwards; by owners);
- menu: 30 items of the catalogue, 1 to 5 picks (by owners), each answer picks 5;
- satisfaction: 4 dimensions of 3 items each and a comment (by residents, anonymous), the
  comment written in one answer in three.

Each survey is answered closed loop, then paced at ``--rate`` per second (``--runs`` times).
One answer in ten is a respondent answering again (replacing the earlier answers), one in four
carries an Idempotency-Key. Then casts of an open vote of the same compound, closed loop, and
``GET /api/v1/public/compounds/<small>`` for comparison. Prints requests/s, latencies, CPU per
request as ``cast_ballots.py`` does, and each survey's server CPU per answer against a cast's.
Target on 2 cores: ≥ 600 answers/s with p99 < 100 ms at 64 clients, server CPU per answer
within 1.5× a cast's. It is not a test.
"""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta
from pathlib import Path

import loadgen  # bench/loadgen.py, next to this script
import sqlalchemy as sa
from flask import Flask

from participation.auth.models import StaffUser
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.models import Ownership
from participation.surveys.menu import ensure_catalogue, set_menu
from participation.surveys.models import MenuItem, QuestionType, Survey, SurveyPersonOwner
from participation.surveys.services import (
    SATISFACTION_DIMENSIONS,
    create_from_template,
    open_survey,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_answers"
SURVEYS = ("consent", "menu", "satisfaction")
MENU_ITEMS, MENU_PICKS = 30, 5
ITEMS_PER_DIMENSION = 3
COMMENTS = ("楼道灯很亮了，谢谢", "希望尽快完成绿化", "施工期间噪音有点大", "电梯很方便老人")


# Setting up ---------------------------------------------------------------------------------


def surveys_of(compound_id: int, staff_id: int) -> dict[str, Survey]:
    """The three open surveys of the whole compound."""
    now = utcnow()
    times = {"opens_at": now, "closes_at": now + timedelta(hours=6)}
    consent = create_from_template(compound_id, "consent", times, staff_id)
    menu = create_from_template(compound_id, "menu", times, staff_id)
    ensure_catalogue()
    items = db.session.scalars(
        sa.select(MenuItem.id).where(MenuItem.district_id.is_(None)).order_by(MenuItem.id)
    ).all()[:MENU_ITEMS]
    set_menu(
        menu,
        {
            "items": [
                {"menu_item_id": item, "estimated_cost": 100000 + 1000 * i, "residents_part": 0}
                for i, item in enumerate(items)
            ],
            "min_items": 1,
            "max_items": MENU_PICKS,
        },
    )
    questions = [
        {
            "type": QuestionType.SATISFACTION,
            "text": f"您对{dimension}第{item}项是否满意？",
            "dimension": dimension,
        }
        for dimension in SATISFACTION_DIMENSIONS
        for item in range(1, ITEMS_PER_DIMENSION + 1)
    ]
    questions.append(
        {"type": QuestionType.TEXT, "text": "您还有什么意见或建议？", "required": False}
    )
    satisfaction = create_from_template(
        compound_id, "satisfaction", {**times, "questions": questions}, staff_id
    )
    surveys = {"consent": consent, "menu": menu, "satisfaction": satisfaction}
    for survey in surveys.values():
        open_survey(survey, confirm_unknown_owners=True)
    return surveys


def question_plan(survey: Survey) -> list[dict]:
    """What the load generator needs of each question to answer it."""
    return [
        {
            "id": q.id,
            "type": q.type.value,
            "required": q.required,
            "options": [o.id for o in q.options],
        }
        for q in survey.questions
    ]


def setup(app: Flask, owners: int, plan: Path) -> int:
    """Roster, surveys, a vote and tokens, written to ``plan``; returns the persons."""
    started = time.perf_counter()
    compound = loadgen.new_compound("压测小区", owners)
    small = loadgen.new_compound("对照小区", 1)
    staff = StaffUser(username="bench", password_hash="-", display_name="压测")
    db.session.add(staff)
    db.session.flush()
    surveys = surveys_of(compound.id, staff.id)

    # One account per person of the consent survey's electorate (its lowest owner), signed in;
    # each answers for that person (owner basis) and for that owner's first dwelling.
    rows = db.session.execute(
        sa.select(SurveyPersonOwner.person_id, sa.func.min(SurveyPersonOwner.owner_id))
        .where(SurveyPersonOwner.survey_id == surveys["consent"].id)
        .group_by(SurveyPersonOwner.person_id)
    ).all()
    owner_of_person = {}
    for person, owner in sorted(rows):
        owner_of_person.setdefault(owner, person)  # an owner answers for one person
    owner_ids = sorted(owner_of_person)
    tokens = loadgen.signed_in(app, owner_ids)
    first_dwelling = dict(
        db.session.execute(
            sa.select(Ownership.owner_id, sa.func.min(Ownership.dwelling_id))
            .where(Ownership.owner_id.in_(owner_ids))
            .group_by(Ownership.owner_id)
        ).all()
    )
    menu_person = dict(
        db.session.execute(
            sa.select(SurveyPersonOwner.owner_id, sa.func.min(SurveyPersonOwner.person_id))
            .where(
                SurveyPersonOwner.survey_id == surveys["menu"].id,
                SurveyPersonOwner.owner_id.in_(owner_ids),
            )
            .group_by(SurveyPersonOwner.owner_id)
        ).all()
    )
    vote = loadgen.open_vote_in(compound, staff)
    respondents = [
        {
            "token": token,
            "consent": {"person_id": owner_of_person[owner]},
            "menu": {"person_id": menu_person[owner]},
            "satisfaction": {"dwelling_id": first_dwelling[owner]},
        }
        for owner, token in zip(owner_ids, tokens, strict=True)
    ]
    plan.write_text(
        json.dumps(
            {
                "respondents": respondents,
                "surveys": {
                    name: {"id": survey.id, "questions": question_plan(survey)}
                    for name, survey in surveys.items()
                },
                "vote_id": vote.id,
                "trivial_compound": small.id,
            }
        )
    )
    print(
        f"set up {len(respondents):,} respondents (each signed in), surveys "
        + ", ".join(f"{name} {s.id}" for name, s in surveys.items())
        + f" in {time.perf_counter() - started:.1f} s"
    )
    db.session.commit()
    # The planner's statistics of the freshly imported roster, as autovacuum's analyze has
    # them a minute after an import in production.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    db.session.close()  # no connection of this process stays open while the load runs
    return len(respondents)


# The load -------------------------------------------------------------------------------------


def answers(questions: list[dict]) -> list[dict]:
    """A resident's answers: one option of a single or consent question, 5 menu items, one
    of the choice questions' options (satisfaction), a comment once in three."""
    given = []
    for q in questions:
        kind = q["type"]
        if kind == "menu":
            given.append({"question_id": q["id"], "option_ids": random.sample(q["options"], 5)})
        elif kind == "multiple":
            picks = random.sample(q["options"], random.randint(0, 2))
            if picks:
                given.append({"question_id": q["id"], "option_ids": picks})
        elif kind == "text":
            if random.random() < 1 / 3:
                given.append({"question_id": q["id"], "text": random.choice(COMMENTS)})
        elif q["options"]:
            given.append({"question_id": q["id"], "option_ids": [random.choice(q["options"])]})
    return given


def answer_requests(target: str, plan: dict, host: str, clients: int):
    """Client ``i``'s ``n``th answer of the survey ``target`` (or cast, for ``casts``): each
    another respondent, one in ten one who answered already (replacing), one in four with an
    Idempotency-Key."""
    respondents = plan["respondents"]
    if target == "casts":
        line = f"POST /api/v1/votes/{plan['vote_id']}/ballots HTTP/1.1\r\n{host}"
        choices = ("agree", "disagree", "abstain")

        def cast(i: int, n: int) -> bytes:
            token = respondents[(n * clients + i) % len(respondents)]["token"]
            return loadgen.post(line, token, {"choice": random.choice(choices)}, n % 4 == 0)

        return cast
    survey = plan["surveys"][target]
    line = f"POST /api/v1/surveys/{survey['id']}/responses HTTP/1.1\r\n{host}"

    def answer(i: int, n: int) -> bytes:
        index = (n * clients + i) % len(respondents)
        if random.random() < 0.1 and n * clients + i >= clients:  # answering again
            index = random.randrange(min(n * clients + i, len(respondents)))
        respondent = respondents[index]
        body = {**respondent[target], "answers": answers(survey["questions"])}
        return loadgen.post(line, respondent["token"], body, key=n % 4 == 0)

    return answer


# Running ------------------------------------------------------------------------------------


def main() -> None:
    args = loadgen.parser(__doc__.splitlines()[0], "answers").parse_args()
    if args.drive:
        args.port = int(args.port)
        loadgen.drive(args, answer_requests)
        return
    prepare = lambda app, plan: setup(app, args.owners, plan)  # noqa: E731
    closed = {}
    with loadgen.benchmark(args, __file__, DEFAULT_URL, "answers", prepare) as (bench, _):
        bench.warm_up((*SURVEYS, "casts", "trivial"), duration=2)
        for name in SURVEYS:
            path = f"POST /surveys/<{name}>/responses"
            profile = args.profile if name == "menu" else None
            closed[name] = bench.phase(f"{path}, closed loop", name, args.duration, profile=profile)
            bench.paced_runs(path, name, args.runs)
        closed["casts"] = bench.phase(
            "POST /votes/<id>/ballots, closed loop", "casts", args.duration
        )
        trivial = bench.phase("GET /public/compounds/<id>, closed loop", "trivial", args.duration)
        bench.stop()
        counted = db.session.execute(
            sa.text(
                "SELECT s.kind, count(r.id), coalesce(sum(r.revision), 0) "
                "FROM surveys s LEFT JOIN survey_responses r ON r.survey_id = s.id "
                "GROUP BY s.kind ORDER BY s.kind"
            )
        ).all()
    cast_ms = loadgen.server_cpu_ms(closed["casts"])
    print(
        f"  server CPU per cast {cast_ms:.2f} ms, per trivial request "
        f"{loadgen.server_cpu_ms(trivial):.2f} ms"
    )
    for name in SURVEYS:
        ms = loadgen.server_cpu_ms(closed[name])
        print(f"  server CPU per {name} answer {ms:.2f} ms: {ms / cast_ms:.2f}× a cast's")
    for kind, responses, revisions in counted:
        print(f"  {kind}: {responses:,} responses, {revisions:,} answers applied")


if __name__ == "__main__":
    main()
