"""Answering under concurrency, on PostgreSQL, through the HTTP layer.

The test runs in a database of its own (created and dropped here) with an app of its own
whose requests commit for real — the rolled-back test transaction would hide the races. Client
threads start together (``threading.Barrier``); every response is checked, then the rows:
exactly one response per respondent, holding the answers of one whole submission.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from participation import create_app
from participation.auth.models import Account, Role, RoleAssignment, StaffUser, SubjectKind
from participation.auth.tokens import issue_tokens
from participation.common.sql import db_now
from participation.extensions import db
from participation.roster.models import (
    Building,
    Community,
    Compound,
    District,
    Dwelling,
    Entrance,
    Owner,
    Ownership,
    Street,
)
from participation.surveys import tallies
from participation.surveys.models import (
    Answer,
    Option,
    Question,
    QuestionType,
    RespondentBasis,
    Response,
    Survey,
    SurveyKind,
)
from participation.surveys.services import open_survey

pytestmark = pytest.mark.postgres

THREADS = 32
BUSY = 20  # respondents answering several times at once; respondent 0 many times
DUPLICATES = 5  # further respondents sending one submission twice at once (same key)


@pytest.fixture
def live_app(own_postgres_database):
    """An app on a fresh database of its own, dropped afterwards."""
    url = own_postgres_database("survey_answers")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 8, "max_overflow": 8, "pool_timeout": 120},
            "REDIS_URL": None,
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


@dataclass(frozen=True)
class Setup:
    survey_id: int
    questions: list[tuple[int, list[int]]]  # (question id, option ids) in order
    owners: list[dict]  # bearer headers, one owner-person each


def open_survey_of_owners(app, owners: int) -> Setup:
    """A compound of ``owners`` owner-persons with accounts and an open owner-basis survey:
    single, multiple (1–4 of 4), rating (1–10) and text."""
    with app.test_request_context():
        compound = Compound(
            community=Community(
                street=Street(district=District(name="区"), name="街道"), name="社区"
            ),
            name="并发小区",
        )
        db.session.add(compound)
        db.session.flush()
        building = Building(compound_id=compound.id, number="1")
        db.session.add(building)
        db.session.flush()
        entrance = Entrance(building_id=building.id, number="1")
        staff = StaffUser(username="committee", password_hash="-", display_name="委员")
        staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
        accounts = [Account(phone=f"1660000{i:04d}") for i in range(owners)]
        db.session.add_all([entrance, staff, *accounts])
        db.session.flush()
        for i, account in enumerate(accounts):
            owner = Owner(
                compound_id=compound.id,
                name=f"业主{i}",
                id_hash=f"hash-{i}",
                id_last4="0000",
                account_id=account.id,
            )
            dwelling = Dwelling(
                compound_id=compound.id,
                building_id=building.id,
                entrance_id=entrance.id,
                floor=1 + i // 10,
                room=str(101 + i),
                area=Decimal("80.00"),
            )
            db.session.add_all([owner, dwelling, Ownership(owner=owner, dwelling=dwelling)])
        now = db_now()
        specs = [
            (QuestionType.SINGLE, ["甲", "乙"]),
            (QuestionType.MULTIPLE, ["一", "二", "三", "四"]),
            (QuestionType.RATING, []),
            (QuestionType.TEXT, []),
        ]
        survey = Survey(
            compound_id=compound.id,
            kind=SurveyKind.GENERAL,
            title="并发作答",
            basis=RespondentBasis.OWNER,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(hours=1),
            created_by_id=staff.id,
            questions=[
                Question(
                    position=position,
                    type=qtype,
                    text=f"题{position}",
                    min_choices=1 if qtype is QuestionType.MULTIPLE else None,
                    max_choices=4 if qtype is QuestionType.MULTIPLE else None,
                    scale_min=1 if qtype is QuestionType.RATING else None,
                    scale_max=10 if qtype is QuestionType.RATING else None,
                    options=[Option(position=i, label=label) for i, label in enumerate(labels, 1)],
                )
                for position, (qtype, labels) in enumerate(specs, start=1)
            ],
        )
        db.session.add(survey)
        db.session.flush()
        open_survey(survey)
        headers = [
            {
                "Authorization": "Bearer "
                + issue_tokens(SubjectKind.RESIDENT, account.id)["access_token"]
            }
            for account in accounts
        ]
        questions = [(q.id, [o.id for o in q.options]) for q in survey.questions]
        db.session.commit()
        return Setup(survey.id, questions, headers)


@dataclass
class Request:
    respondent: int
    answers: list[dict]
    key: str | None = None


@dataclass
class Outcome:
    request: Request
    status: int
    body: dict


def submission(setup: Setup, rng: random.Random, label: str) -> list[dict]:
    """A whole submission, recognisable by its text."""
    (single, single_options), (multiple, multiple_options), (rating, _), (text, _) = setup.questions
    chosen = sorted(rng.sample(multiple_options, rng.randint(1, 4)))
    return [
        {"question_id": single, "option_ids": [rng.choice(single_options)]},
        {"question_id": multiple, "option_ids": chosen},
        {"question_id": rating, "rating": rng.randint(1, 10)},
        {"question_id": text, "text": label},
    ]


def shown(answers: list[dict]) -> list[dict]:
    fields = {"option_ids": [], "rating": None, "text": None}
    return [{**fields, **answer} for answer in answers]


def run_threads(app, setup: Setup, plans: list[list[Request]]) -> list[Outcome]:
    barrier = threading.Barrier(len(plans))
    outcomes: list[list[Outcome]] = [[] for _ in plans]
    url = f"/api/v1/surveys/{setup.survey_id}/responses"

    def client(i: int) -> None:
        http = app.test_client()
        barrier.wait()
        for request in plans[i]:
            headers = dict(setup.owners[request.respondent])
            if request.key:
                headers["Idempotency-Key"] = request.key
            response = http.post(url, json={"answers": request.answers}, headers=headers)
            outcomes[i].append(Outcome(request, response.status_code, response.json))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [outcome for part in outcomes for outcome in part]


def test_one_response_per_respondent_holding_one_whole_submission(live_app):
    setup = open_survey_of_owners(live_app, BUSY + DUPLICATES)
    rng = random.Random(5)
    requests = [Request(0, submission(setup, rng, f"0-{n}")) for n in range(THREADS)]
    for respondent in range(1, BUSY):
        requests += [
            Request(respondent, submission(setup, rng, f"{respondent}-{n}")) for n in range(3)
        ]
    rng.shuffle(requests)
    plans: list[list[Request]] = [[] for _ in range(THREADS)]
    for i, request in enumerate(requests):
        plans[i % THREADS].append(request)
    for n, respondent in enumerate(range(BUSY, BUSY + DUPLICATES)):  # at once, first in line
        twin = Request(respondent, submission(setup, rng, f"{respondent}-dup"), f"dup-{n}")
        plans[2 * n].insert(0, twin)
        plans[2 * n + 1].insert(0, twin)
    outcomes = run_threads(live_app, setup, plans)

    # Every response: each submission applied whole, once, in some order per respondent.
    assert len(outcomes) == len(requests) + 2 * DUPLICATES
    applied: dict[int, dict[int, Request]] = defaultdict(dict)  # respondent → revision → request
    replays = []
    for outcome in outcomes:
        body = outcome.body
        assert outcome.status in (200, 201), body
        assert body["answers"] == shown(outcome.request.answers)
        assert body["replayed"] is (outcome.status == 200)
        if outcome.status == 200:
            replays.append(outcome)
            continue
        assert body["replaced"] is (body["revision"] > 1)
        assert body["revision"] not in applied[outcome.request.respondent]
        applied[outcome.request.respondent][body["revision"]] = outcome.request
    assert len(replays) == DUPLICATES
    for outcome in replays:
        assert outcome.body["revision"] == 1
        assert applied[outcome.request.respondent] == {1: outcome.request}
    for respondent, revisions in applied.items():
        assert sorted(revisions) == list(range(1, len(revisions) + 1)), respondent
    assert len(applied[0]) == THREADS

    # The rows: one response per respondent, with the answers of its last applied submission.
    with live_app.app_context():
        responses = db.session.execute(
            sa.select(Response.id, Response.person_id, Response.revision).filter_by(
                survey_id=setup.survey_id
            )
        ).all()
        stored: dict[int, list[tuple]] = defaultdict(list)
        for row in db.session.execute(
            sa.select(Answer.response_id, Answer.question_id, Answer.option_id)
            .add_columns(Answer.rating, Answer.text)
            .join(Response, Response.id == Answer.response_id)
            .where(Response.survey_id == setup.survey_id)
        ):
            stored[row.response_id].append(tuple(row)[1:])
    assert len(responses) == BUSY + DUPLICATES
    assert len({r.person_id for r in responses}) == len(responses)
    revisions = sorted(r.revision for r in responses)
    assert revisions == sorted(len(applied[r]) for r in applied)
    by_text = {}
    for requests_applied in applied.values():
        last = requests_applied[len(requests_applied)]
        rows = sorted(
            (a["question_id"], option, a.get("rating"), a.get("text"))
            for a in last.answers
            for option in a.get("option_ids") or [None]
        )
        by_text[last.answers[3]["text"]] = rows
    for response in responses:
        rows = sorted(stored[response.id])
        text = next(t for _, _, _, t in rows if t is not None)
        assert rows == by_text[text], text

    # The running tallies: those of the last applied submissions, each respondent once.
    with live_app.app_context():
        survey = db.session.get(Survey, setup.survey_id)
        assert tallies.mismatches(survey) == []
        tally = tallies.read(survey)
    lasts = [requests_applied[len(requests_applied)] for requests_applied in applied.values()]
    chosen = Counter(o for last in lasts for a in last.answers for o in a.get("option_ids", []))
    (single, single_options), (multiple, multiple_options), *_ = setup.questions
    for question_id, options in ((single, single_options), (multiple, multiple_options)):
        for option_id in options:
            assert tally.get(question_id, option_id).cnt == chosen[option_id]
            assert tally.get(question_id, option_id).area == chosen[option_id] * Decimal("80.00")
    assert tally.respondents.cnt == tally.get(multiple, tallies.RESPONDENTS).cnt == len(lasts)
    print(f"\n{len(outcomes)} submissions by {THREADS} clients")
