"""Survey results benchmark: a consent, a menu and a satisfaction survey of 1,000,000
respondents each, every respondent with one response and 1 in 10 of them having answered twice.

    .venv/bin/python bench/survey_results.py [--respondents 1000000] [--runs 5] [--keep]

Creates its own PostgreSQL database (BENCH_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_survey_results; dropped and
created afresh, dropped again at the end unless --keep) and fills it with INSERT … SELECT over
generate_series, as bench/tally.py does (foreign keys valid by construction, their
checks' triggers skipped while filling): compound, buildings (2 entrances × 25 floors × 20 rooms
each), dwellings, one account per buyer (1 person in 50 owns two dwellings, sometimes in two
buildings), and three open surveys of the templates' shapes:

- consent (owner basis, named): the frozen electorate (persons, their dwellings), the consent
  question (70 % agree), the contribution ways (0 to 4 of them) and the management question;
- menu (owner basis, named): 30 items of the policy catalogue, each respondent picks 5;
- satisfaction (resident basis, anonymous: keyed respondent, no person or account, the
  building kept): 4 dimensions × 3 renovation items = 12 satisfaction questions and a comment
  from 1 respondent in 8.

Responses and answers have the shape ``services.submit_response`` gives them: one response row
per respondent (``person:<id>`` with the person and the account, or the anonymous key), and
for 1 respondent in 10 a replacement — the response row updated in place (``revision`` 2,
later ``submitted_at``), its first answers deleted and different answers inserted. All foreign
keys are valid.

Then what opening and the answer path keep beside the answers (``surveys/tallies.py``): each
building's electorate, and the running tallies recounted from the answers (``tallies.rebuild``,
spread over the slots as the answer path spreads them). Then it times the committee's results
as the API computes them (from the tallies), several runs each, and prints
min and median, the load average and the figures: ``consent.committee_view`` (what GET
/surveys/{id}/consent returns: ``gate``, ``breakdown`` per building and the ``distributions``
of contribution ways and management, each also timed alone), ``menu.menu_result`` (GET
/surveys/{id}/menu/result, the menu's result builder) and ``satisfaction_result`` (GET
/surveys/{id}/satisfaction, by dimension, building and item). The figures are checked against
counts taken the slow way from the latest answers. Target: each result < 1 s. It is not a test.
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
import tally  # bench/tally.py: the same generated places and electorate
from sqlalchemy.engine import make_url

from participation import create_app
from participation.auth.models import StaffUser
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.models import Community, Compound, District, Street
from participation.surveys import consent, menu, satisfaction, tallies
from participation.surveys.models import (
    MenuItem,
    Option,
    Question,
    QuestionType,
    RespondentBasis,
    Survey,
    SurveyKind,
    SurveyMenuItem,
    SurveyStatus,
)
from participation.surveys.services import (
    CONSENT_OPTIONS,
    CONTRIBUTION_WAYS,
    MANAGEMENT_WAYS,
    SATISFACTION_DIMENSIONS,
    SATISFACTION_OPTIONS,
    final_result,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_survey_results"
ENTRANCES, FLOORS, ROOMS = 2, 25, 20
PER_BUILDING = ENTRANCES * FLOORS * ROOMS
RESPONDENTS_STEP = 50_000  # persons × 51/50 dwellings fill whole buildings
MENU_ITEMS, MENU_PICKS = 30, 5
ITEMS_PER_DIMENSION = 3

PLACES = [
    *tally.PLACES,
    # One account per buyer: every 51st dwelling belongs to the buyer of the dwelling before
    # it (sometimes in another entrance or building), so 50 persons own 51 dwellings.
    """INSERT INTO accounts (phone, created_at)
       SELECT '139' || lpad(d.id::text, 8, '0'), now() - interval '30 days'
       FROM dwellings d WHERE d.compound_id = :compound AND d.id % 51 <> 0 ORDER BY d.id""",
]

# The frozen electorate of an owner-basis survey (as roster.snapshot.freeze writes it).
ELECTORATE = [
    *tally.electorate("survey"),
    """UPDATE surveys SET
           t_cnt = (SELECT count(*) FROM survey_persons WHERE survey_id = :survey),
           t_area = (SELECT sum(area) FROM survey_persons WHERE survey_id = :survey)
       WHERE id = :survey""",
    # One response per person, as submit_response upserts it: person:<id>, the person, the
    # account that answered, the building of the person's first dwelling; 1 in 10 answered
    # twice (revision 2, the later time, the second request's Idempotency-Key).
    """INSERT INTO survey_responses (survey_id, respondent_key, person_id, account_id,
                                     building_id, submitted_at, revision, idempotency_key)
       SELECT :survey, 'person:' || p.id, p.id, a.id, first.building_id,
              now() - make_interval(secs => p.id % 86400)
                    + CASE WHEN p.id % 10 = 3 THEN interval '2 hours' ELSE interval '0' END,
              CASE WHEN p.id % 10 = 3 THEN 2 ELSE 1 END,
              CASE WHEN p.id % 4 = 0 THEN md5(:survey || ':' || p.id || ':' || (p.id % 10 = 3))
              END
       FROM survey_persons p
       JOIN accounts a ON a.phone = '139' || lpad(substr(p.key, 7), 8, '0')
       JOIN (SELECT person_id, min(building_id) AS building_id FROM survey_person_dwellings
             WHERE survey_id = :survey GROUP BY person_id) first ON first.person_id = p.id
       WHERE p.survey_id = :survey""",
]

# Resident basis, anonymous: a keyed hash of the account, no person or account stored, the
# building of the dwelling answered for.
RESIDENT_RESPONSES = """
    INSERT INTO survey_responses (survey_id, respondent_key, person_id, account_id, building_id,
                                  submitted_at, revision, idempotency_key)
    SELECT :survey, encode(sha256(convert_to(:survey || ':account:' || a.id, 'UTF8')), 'hex'),
           NULL, NULL, d.building_id,
           now() - make_interval(secs => a.id % 86400)
                 + CASE WHEN a.id % 10 = 3 THEN interval '2 hours' ELSE interval '0' END,
           CASE WHEN a.id % 10 = 3 THEN 2 ELSE 1 END, NULL
    FROM accounts a JOIN dwellings d ON d.id = substr(a.phone, 4)::int"""

# Answers, for the responses of :survey whose revision is at least :revision, with the
# variant :seed (0: the first answers; 1: the replacing ones, different).
CONSENT_ANSWERS = [
    # 同意 for 70 % at first; a replacement turns it round for 1 in 3 of those who answer again.
    """INSERT INTO survey_answers (response_id, question_id, option_id)
       SELECT r.id, o.question_id, o.id FROM survey_responses r
       JOIN survey_options o ON o.question_id = :consent
        AND o.value = CASE WHEN (r.person_id % 10 < 7) <> (:seed = 1 AND r.person_id % 3 = 0)
                           THEN 'agree' ELSE 'disagree' END
       WHERE r.survey_id = :survey AND r.revision >= :revision""",
    # Contribution ways: each with probability about 1/3, none for some.
    """INSERT INTO survey_answers (response_id, question_id, option_id)
       SELECT r.id, o.question_id, o.id FROM survey_responses r
       JOIN survey_options o ON o.question_id = :contributions
        AND (r.person_id * 7 + o.position * (3 + :seed)) % 3 = 0
       WHERE r.survey_id = :survey AND r.revision >= :revision
       ORDER BY r.id, o.position""",
    """INSERT INTO survey_answers (response_id, question_id, option_id)
       SELECT r.id, o.question_id, o.id FROM survey_responses r
       JOIN survey_options o ON o.question_id = :management
        AND o.position = 1 + (r.person_id + :seed) % 2
       WHERE r.survey_id = :survey AND r.revision >= :revision""",
]
# Five of the 30 items: positions start + k·step (mod 30), k = 0..4, distinct since each step
# is prime to 30; half the respondents pick the first five (which are then adopted).
MENU_ANSWERS = [
    """INSERT INTO survey_answers (response_id, question_id, option_id)
       SELECT r.id, o.question_id, o.id
       FROM survey_responses r
       CROSS JOIN LATERAL (SELECT CASE WHEN (r.person_id + :seed) % 2 = 0 THEN 0
                                       ELSE (r.person_id * 7 + :seed) % 30 END AS start,
                                  (ARRAY[1, 7, 11, 13])[1 + (r.person_id + :seed) % 4] AS step)
                    pick
       CROSS JOIN generate_series(0, 4) k
       JOIN survey_options o ON o.question_id = :menu
        AND o.position = 1 + (pick.start + k * pick.step) % 30
       WHERE r.survey_id = :survey AND r.revision >= :revision
       ORDER BY r.id, k""",
]
# 满意 12/20, 基本满意 4/20, 不满意 2/20, 不了解 2/20 of the answers to each question; a
# comment from 1 respondent in 8.
SATISFACTION_ANSWERS = [
    """INSERT INTO survey_answers (response_id, question_id, option_id)
       SELECT r.id, q.id, o.id
       FROM survey_responses r
       JOIN survey_questions q ON q.id = ANY(:rated)
       JOIN survey_options o ON o.question_id = q.id
        AND o.position = CASE WHEN (r.id * 31 + q.position * 7 + :seed * 5) % 20 < 12 THEN 1
                              WHEN (r.id * 31 + q.position * 7 + :seed * 5) % 20 < 16 THEN 2
                              WHEN (r.id * 31 + q.position * 7 + :seed * 5) % 20 < 18 THEN 3
                              ELSE 4 END
       WHERE r.survey_id = :survey AND r.revision >= :revision
       ORDER BY r.id, q.position""",
    """INSERT INTO survey_answers (response_id, question_id, text)
       SELECT r.id, :comment, '楼道照明' || (r.id % 7) || '处还需修理（' || :seed || '）'
       FROM survey_responses r
       WHERE r.survey_id = :survey AND r.revision >= :revision AND (r.id + :seed) % 8 = 0""",
]
# A replacement deletes the first answers of the response (submit_response).
DELETE_REPLACED = """
    DELETE FROM survey_answers a USING survey_responses r
    WHERE a.response_id = r.id AND r.survey_id = :survey AND r.revision = 2"""


def run(label: str, statement: str, params: dict) -> None:
    started = time.perf_counter()
    db.session.execute(sa.text(statement), params)
    print(f"  {label:<38} {time.perf_counter() - started:6.1f} s")


def question(position: int, qtype: QuestionType, text: str, pairs=(), **fields) -> Question:
    q = Question(position=position, type=qtype, text=text, **fields)
    q.options = [
        Option(position=i, label=label, value=value) for i, (label, value) in enumerate(pairs, 1)
    ]
    return q


def new_survey(compound: Compound, staff: StaffUser, kind: SurveyKind, **fields) -> Survey:
    now = utcnow()
    survey = Survey(
        compound_id=compound.id,
        kind=kind,
        basis=fields.pop("basis", RespondentBasis.OWNER),
        status=SurveyStatus.OPEN,
        opens_at=now - timedelta(days=1),
        opened_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        created_by_id=staff.id,
        **fields,
    )
    db.session.add(survey)
    db.session.flush()
    return survey


def new_surveys(respondents: int) -> tuple[Survey, Survey, Survey]:
    district = District(name="基准区")
    compound = Compound(
        community=Community(street=Street(district=district, name="基准街道"), name="基准社区"),
        name="基准小区",
    )
    staff = StaffUser(username="bench", password_hash="-", display_name="基准")
    db.session.add_all([compound, staff])
    db.session.flush()
    places = {
        "compound": compound.id,
        "buildings": respondents * 51 // 50 // PER_BUILDING,
        "entrances": ENTRANCES,
        "floors": FLOORS,
        "rooms": ROOMS,
    }
    for statement in PLACES:
        run(statement.split()[2], statement, places)

    consent_survey = new_survey(compound, staff, SurveyKind.CONSENT, title="改造意愿征集（基准）")
    consent_survey.questions = [
        question(1, QuestionType.CONSENT, "您是否同意本小区实施老旧小区改造？", CONSENT_OPTIONS),
        question(2, QuestionType.MULTIPLE, "出资方式", CONTRIBUTION_WAYS, required=False),
        question(3, QuestionType.SINGLE, "长效管理方式", MANAGEMENT_WAYS),
    ]

    menu.seed_catalogue()
    catalogue = list(db.session.scalars(sa.select(MenuItem).order_by(MenuItem.position)))
    menu_survey = new_survey(
        compound,
        staff,
        SurveyKind.MENU,
        title="改造内容菜单式选择（基准）",
        menu_min_items=MENU_PICKS,
        menu_max_items=MENU_PICKS,
        budget_cap=Decimal("30000000.00"),
    )
    entries = [
        SurveyMenuItem(
            survey_id=menu_survey.id,
            menu_item_id=item.id,
            estimated_cost=Decimal(100_000 * (1 + index % 20)) + Decimal("0.50"),
            residents_part=Decimal(10_000 * (index % 5)),
        )
        for index, item in enumerate(catalogue[:MENU_ITEMS])
    ]
    db.session.add_all(entries)
    db.session.flush()
    menu_question = question(1, QuestionType.MENU, menu.MENU_QUESTION_TEXT)
    menu_question.min_choices = menu_question.max_choices = MENU_PICKS
    menu_question.options = [
        Option(position=i, label=catalogue[i - 1].name, survey_menu_item_id=entry.id)
        for i, entry in enumerate(entries, 1)
    ]
    menu_survey.questions = [menu_question]

    satisfaction_survey = new_survey(
        compound,
        staff,
        SurveyKind.SATISFACTION,
        title="改造效果满意度评价（基准）",
        basis=RespondentBasis.RESIDENT,
        anonymous=True,
    )
    rated = [
        question(
            1 + d * ITEMS_PER_DIMENSION + i,
            QuestionType.SATISFACTION,
            f"您对{catalogue[d * ITEMS_PER_DIMENSION + i].name}的{dimension}是否满意？",
            SATISFACTION_OPTIONS,
            dimension=dimension,
            menu_item_id=catalogue[d * ITEMS_PER_DIMENSION + i].id,
        )
        for d, dimension in enumerate(SATISFACTION_DIMENSIONS)
        for i in range(ITEMS_PER_DIMENSION)
    ]
    comment = question(len(rated) + 1, QuestionType.TEXT, "意见或建议", required=False)
    satisfaction_survey.questions = [*rated, comment]
    db.session.flush()
    return consent_survey, menu_survey, satisfaction_survey


def fill(consent_survey: Survey, menu_survey: Survey, satisfaction_survey: Survey) -> None:
    compound = consent_survey.compound_id
    # Every foreign key of the rows below comes from a join to the row it refers to, so the
    # rows are valid by construction: the checks' triggers are skipped while filling.
    db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    for survey in (consent_survey, menu_survey):
        params = {"compound": compound, "survey": survey.id}
        for statement in ELECTORATE:
            words = statement.split()
            table = words[2] if words[0] == "INSERT" else words[1]
            run(f"{survey.kind.value}: {table}", statement, params)
    params = {"survey": satisfaction_survey.id}
    run("satisfaction: survey_responses", RESIDENT_RESPONSES, params)

    c = consent_survey.questions
    plan = [
        (
            consent_survey,
            CONSENT_ANSWERS,
            {"consent": c[0].id, "contributions": c[1].id, "management": c[2].id},
        ),
        (menu_survey, MENU_ANSWERS, {"menu": menu_survey.questions[0].id}),
        (
            satisfaction_survey,
            SATISFACTION_ANSWERS,
            {
                "rated": [q.id for q in satisfaction_survey.questions[:-1]],
                "comment": satisfaction_survey.questions[-1].id,
            },
        ),
    ]
    for survey, statements, ids in plan:
        kind = survey.kind.value
        params = {"survey": survey.id, **ids}
        for statement in statements:
            run(f"{kind}: survey_answers", statement, {**params, "seed": 0, "revision": 1})
        run(f"{kind}: replaced answers deleted", DELETE_REPLACED, params)
        for statement in statements:
            run(f"{kind}: replacing answers", statement, {**params, "seed": 1, "revision": 2})
    db.session.commit()  # session_replication_role back to origin
    # What opening and the answer path keep beside the answers (surveys/tallies.py),
    # recounted from them at once, spread over the slots as the answer path spreads them.
    for survey in (consent_survey, menu_survey):
        timed_step(
            f"{survey.kind.value}: building electorates",
            tallies.freeze_building_electorates,
            survey.id,
        )
    for survey in (consent_survey, menu_survey, satisfaction_survey):
        timed_step(f"{survey.kind.value}: tallies", tallies.rebuild, survey)
    db.session.commit()
    started = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    print(f"  {'VACUUM ANALYZE':<38} {time.perf_counter() - started:6.1f} s")


def timed_step(label: str, func, *args) -> None:
    started = time.perf_counter()
    func(*args)
    print(f"  {label:<38} {time.perf_counter() - started:6.1f} s")


def reused_surveys() -> list[Survey]:
    """The surveys of a kept database, after creating the indexes the models declare on the
    surveys' tables that it lacks (an index added since it was filled)."""
    with db.engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            if table.name.startswith("survey_"):
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
        conn.execute(sa.text("ANALYZE"))
    return list(db.session.scalars(sa.select(Survey).order_by(Survey.id)))


def timed(label: str, runs: int, func) -> object:
    times, value = [], None
    for _ in range(runs):
        started = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - started)
        db.session.rollback()
    median = statistics.median(times)
    flag = "" if median < 1 else "   over target"
    print(
        f"  {label:<36} min {min(times) * 1000:7.1f} ms   median {median * 1000:7.1f} ms   "
        f"(load average {os.getloadavg()[0]:.2f}){flag}"
    )
    return value


def latest(sql: str, **params) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(sa.text(sql), params)]


def check(consent_id: int, menu_id: int, satisfaction_id: int, results: dict) -> None:
    """The figures against counts taken the slow way from the answers in place."""
    view, menu_res, sat = results["consent"], results["menu"], results["satisfaction"]
    answers = dict(
        latest(
            "SELECT o.value, count(DISTINCT r.person_id) FROM survey_responses r "
            "JOIN survey_answers a ON a.response_id = r.id "
            "JOIN survey_options o ON o.id = a.option_id "
            "JOIN survey_questions q ON q.id = a.question_id AND q.type = 'consent' "
            "WHERE r.survey_id = :s GROUP BY o.value",
            s=consent_id,
        )
    )
    assert answers == {a["value"]: a["count"] for a in view["answers"]}, answers
    assert view["p_cnt"] == view["t_cnt"] == sum(answers.values())
    assert sum(b["p_cnt"] for b in view["buildings"]) >= view["p_cnt"]
    support = dict(
        latest(
            "SELECT o.survey_menu_item_id, count(DISTINCT a.response_id) FROM survey_answers a "
            "JOIN survey_options o ON o.id = a.option_id "
            "JOIN survey_responses r ON r.id = a.response_id WHERE r.survey_id = :s "
            "GROUP BY o.survey_menu_item_id",
            s=menu_id,
        )
    )
    assert support == {i["id"]: i["support_count"] for i in menu_res["items"]}, support
    assert sum(support.values()) == MENU_PICKS * menu_res["respondents"]
    rated = latest(
        "SELECT count(*) FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id "
        "WHERE r.survey_id = :s AND a.option_id IS NOT NULL",
        s=satisfaction_id,
    )[0][0]
    counted = sum(sum(d["counts"].values()) for d in sat["dimensions"])
    assert counted == rated == len(sat["dimensions"]) * sat["responses"], (counted, rated)
    assert counted == sum(sum(b["counts"].values()) for b in sat["buildings"])
    print("figures match the answers in place, counted the slow way; none counted twice")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the surveys of a database kept by an earlier --keep run instead of filling "
        "a new one (indexes the models declare and it lacks are created first)",
    )
    args = parser.parse_args()
    if args.respondents % RESPONDENTS_STEP:
        parser.error(f"--respondents must be a multiple of {RESPONDENTS_STEP:,}")
    os.environ.setdefault("PARTICIPATION_SECRET_KEY", "bench-secret-key-not-for-production")
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL")
    if not args.reuse:
        loadgen.fresh_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    try:
        with app.app_context():
            if args.reuse:
                surveys = reused_surveys()
                args.respondents = surveys[0].t_cnt
            else:
                db.create_all()
                print(f"filling three surveys of {args.respondents:,} respondents each:")
                surveys = new_surveys(args.respondents)
                fill(*surveys)
            ids = [s.id for s in surveys]
            counts = latest(
                "SELECT r.survey_id, count(DISTINCT r.id), count(*) FILTER (WHERE r.revision = 2)"
                ", (SELECT count(*) FROM survey_answers a JOIN survey_responses x "
                "   ON x.id = a.response_id WHERE x.survey_id = r.survey_id) "
                "FROM survey_responses r GROUP BY r.survey_id ORDER BY r.survey_id"
            )
            for survey, (_, responses, replaced, answers) in zip(surveys, counts, strict=True):
                print(
                    f"  {survey.kind.value:<13} {responses:,} responses ({replaced:,} replaced), "
                    f"{answers:,} answers"
                )
            settings = db.session.execute(
                sa.text("SELECT version(), current_setting('max_parallel_workers_per_gather')")
            ).one()
            print(
                f"\n{settings[0].split(',')[0]}; {os.cpu_count()} CPUs; "
                f"max_parallel_workers_per_gather = {settings[1]}"
            )
            print(f"results of {args.respondents:,} respondents, {args.runs} runs:")
            consent_id, menu_id, satisfaction_id = ids

            def get(survey_id: int) -> Survey:
                return db.session.get(Survey, survey_id)

            def breakdown():
                survey = get(consent_id)
                question = consent.consent_question(survey)
                return consent.breakdown(survey, question, tallies.read(survey))

            results = {}
            timed("consent: gate", args.runs, lambda: consent.gate(get(consent_id)))
            timed("consent: breakdown (buildings)", args.runs, breakdown)
            ways = (("contributions", CONTRIBUTION_WAYS), ("management", MANAGEMENT_WAYS))
            for name, pairs in ways:
                values = tuple(value for _, value in pairs)
                timed(
                    f"consent: distributions ({name})",
                    args.runs,
                    lambda values=values: consent.distributions(get(consent_id), values),
                )
            results["consent"] = timed(
                "consent: committee_view (GET …/consent)",
                args.runs,
                lambda: consent.committee_view(get(consent_id)),
            )
            results["menu"] = timed(
                "menu: menu_result (GET …/menu/result)",
                args.runs,
                lambda: final_result(get(menu_id)),
            )
            results["satisfaction"] = timed(
                "satisfaction: satisfaction_result",
                args.runs,
                lambda: satisfaction.satisfaction_result(get(satisfaction_id)),
            )
            assert final_result.__module__ == "participation.surveys.services"

            view = results["consent"]
            print(
                f"\nconsent: T {view['t_cnt']:,} persons, {view['t_area']} m²; "
                f"P {view['p_cnt']:,}, {view['p_area']} m²; Y {view['y_cnt']:,}, "
                f"{view['y_area']} m²; consent {view['consent']['count']['percent']} % by "
                f"count; passed {view['passed']} ({view['missing']['text']}); "
                f"{len(view['buildings'])} buildings"
            )
            for name in ("contributions", "management"):
                for dist in view[name]:
                    print(
                        f"  {name}: {dist['respondents']:,} respondents; "
                        + "; ".join(f"{o['value']} {o['count']:,}" for o in dist["options"])
                    )
            res = results["menu"]
            print(
                f"menu: {res['respondents']:,} respondents, {res['respondents_area']} m²; "
                f"{len(res['included'])} included, {len(res['over_budget'])} over budget, "
                f"budget used {res['budget_used']}; support: "
                + ", ".join(f"{i['support_count']:,}" for i in res["items"][:8])
                + ", …"
            )
            sat = results["satisfaction"]
            print(
                f"satisfaction: {sat['responses']:,} responses; overall "
                f"{sat['overall']['rate']['percent']} % (passed {sat['overall']['passed']}); "
                f"{len(sat['dimensions'])} questions, {len(sat['buildings'])} buildings, "
                f"{len(sat['items'])} items; by dimension: "
                + ", ".join(
                    f"{d['dimension']} {d['rate']['percent']} %" for d in sat["dimensions"][::3]
                )
            )
            check(consent_id, menu_id, satisfaction_id, results)
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.keep:
            loadgen.fresh_database(url, drop_only=True)


if __name__ == "__main__":
    main()
