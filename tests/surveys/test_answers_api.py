"""Answering surveys: who may answer, for whom, what is accepted, replacing answers,
idempotency, anonymity, and the resident's own views."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.auth.models import Account, Role, Tenancy
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building, Dwelling, Owner, Ownership
from participation.surveys.models import Answer, QuestionType, Response, Survey, SurveyStatus


def iso(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


QUESTIONS = [
    {"type": "single", "text": "单选", "options": [{"label": "甲"}, {"label": "乙"}]},
    {
        "type": "multiple",
        "text": "多选",
        "options": [{"label": "一"}, {"label": "二"}, {"label": "三"}, {"label": "四"}],
        "min_choices": 2,
        "max_choices": 3,
    },
    {"type": "rating", "text": "评分", "scale_min": 1, "scale_max": 10},
    {"type": "text", "text": "意见", "required": False},
]


@pytest.fixture
def case(client, sample_compound, make_staff, sign_in, owner_account):
    account = owner_account(sample_compound, "2栋1单元101")

    class Case:
        compound = sample_compound
        staff = sign_in(make_staff(Role.COMPOUND, sample_compound.id))
        owner_account = account
        owner = sign_in(account)

        @classmethod
        def survey(cls, questions=QUESTIONS, open=True, **fields) -> dict:
            body = {
                "kind": "general",
                "title": "问卷",
                "basis": "owner",
                "opens_at": iso(timedelta(minutes=-1)),
                "closes_at": iso(timedelta(days=7)),
                "questions": questions,
                **fields,
            }
            url = f"/api/v1/compounds/{sample_compound.id}/surveys"
            created = client.post(url, json=body, headers=cls.staff)
            assert created.status_code == 201, created.json
            if not open:
                return created.json
            url = f"/api/v1/surveys/{created.json['id']}/open"
            opened = client.post(url, json={"confirm_unknown_owners": True}, headers=cls.staff)
            assert opened.status_code == 200, opened.json
            return opened.json

    return Case


def full_answers(survey: dict, single=0, multiple=(0, 1), rating=7, text="很好") -> list[dict]:
    q = survey["questions"]
    return [
        {"question_id": q[0]["id"], "option_ids": [q[0]["options"][single]["id"]]},
        {"question_id": q[1]["id"], "option_ids": [q[1]["options"][i]["id"] for i in multiple]},
        {"question_id": q[2]["id"], "rating": rating},
        {"question_id": q[3]["id"], "text": text},
    ]


def shown(answers: list[dict]) -> list[dict]:
    """Answers as the API shows them: every field present."""
    fields = {"option_ids": [], "rating": None, "text": None}
    return [{"question_id": a["question_id"], **fields, **a} for a in answers]


def answer(client, survey: dict, headers: dict, answers: list[dict], key=None, **fields):
    if key:
        headers = {**headers, "Idempotency-Key": key}
    return client.post(
        f"/api/v1/surveys/{survey['id']}/responses",
        json={"answers": answers, **fields},
        headers=headers,
    )


def stored(survey_id: int) -> list[tuple]:
    """(respondent_key, revision, [(question, option, rating, text)]) of every response."""
    result = []
    for response in _db.session.scalars(sa.select(Response).filter_by(survey_id=survey_id)):
        _db.session.refresh(response)
        rows = _db.session.execute(
            sa.select(Answer.question_id, Answer.option_id, Answer.rating, Answer.text)
            .filter_by(response_id=response.id)
            .order_by(Answer.question_id, Answer.option_id)
        ).all()
        result.append((response.respondent_key, response.revision, [tuple(r) for r in rows]))
    return result


def test_an_owner_answers_and_sees_the_answers(client, case):
    survey = case.survey()
    response = answer(client, survey, case.owner, full_answers(survey))
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["revision"], body["replaced"], body["replayed"]) == (1, False, False)
    assert body["dwellings"] == "2栋1单元101"
    assert body["answers"] == shown(full_answers(survey))
    row = _db.session.scalar(sa.select(Response).filter_by(survey_id=survey["id"]))
    assert row.respondent_key == f"person:{body['person_id']}"
    assert (row.person_id, row.account_id) == (body["person_id"], case.owner_account.id)
    building = _db.session.scalar(
        sa.select(Building.id).filter_by(compound_id=case.compound.id, number="2")
    )
    assert row.building_id == building

    mine = client.get(f"/api/v1/surveys/{survey['id']}/my-response", headers=case.owner)
    assert mine.status_code == 200
    (entry,) = mine.json
    assert (entry["person_id"], entry["answered"], entry["revision"]) == (
        body["person_id"],
        True,
        1,
    )
    assert entry["answers"] == body["answers"]
    staff = client.get(f"/api/v1/surveys/{survey['id']}/my-response", headers=case.staff)
    assert (staff.status_code, staff.json) == (200, [])


def test_answering_again_replaces_the_answers(client, case):
    survey = case.survey()
    first = full_answers(survey, single=0, multiple=(0, 1), rating=3, text="一般")
    second = full_answers(survey, single=1, multiple=(1, 2, 3), rating=9, text="很好")[:3]
    assert answer(client, survey, case.owner, first).status_code == 201
    response = answer(client, survey, case.owner, second)
    assert response.status_code == 201, response.json
    assert (response.json["revision"], response.json["replaced"]) == (2, True)
    ((_, revision, rows),) = stored(survey["id"])
    assert revision == 2
    q = survey["questions"]
    assert rows == sorted(
        [(q[0]["id"], q[0]["options"][1]["id"], None, None)]
        + [(q[1]["id"], q[1]["options"][i]["id"], None, None) for i in (1, 2, 3)]
        + [(q[2]["id"], None, 9, None)]
    )


def test_the_same_idempotency_key_applies_once(client, case):
    survey = case.survey()
    first = answer(client, survey, case.owner, full_answers(survey), key="k-1")
    again = answer(client, survey, case.owner, full_answers(survey, rating=1), key="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["replayed"] is True
    assert again.json["answers"] == first.json["answers"]
    assert again.json["revision"] == first.json["revision"] == 1
    other = answer(client, survey, case.owner, full_answers(survey, rating=2), key="k-2")
    assert (other.status_code, other.json["revision"]) == (201, 2)
    no_key = answer(client, survey, case.owner, full_answers(survey, rating=4))
    assert (no_key.status_code, no_key.json["revision"]) == (201, 3)
    again_no_key = answer(client, survey, case.owner, full_answers(survey, rating=5))
    assert (again_no_key.status_code, again_no_key.json["revision"]) == (201, 4)


def test_a_retry_after_the_closing_time_gets_the_accepted_answers(client, case):
    survey = case.survey()
    first = answer(client, survey, case.owner, full_answers(survey), key="k-1")
    _db.session.get(Survey, survey["id"]).closes_at = utcnow() - timedelta(seconds=1)
    _db.session.flush()
    retry = answer(client, survey, case.owner, full_answers(survey), key="k-1")
    assert (retry.status_code, retry.json["replayed"]) == (200, True)
    assert retry.json["answers"] == first.json["answers"]
    other = answer(client, survey, case.owner, full_answers(survey), key="k-2")
    assert (other.status_code, other.json["code"]) == (409, "survey_closed")


def _q(survey, index):
    return survey["questions"][index]


def _replace(answers, index, value):
    return [value if i == index else a for i, a in enumerate(answers)]


BAD_INPUT = {
    "unknown_question": lambda s, a: [*a, {"question_id": 999999, "text": "?"}],
    "unknown_option": lambda s, a: _replace(
        a, 0, {"question_id": _q(s, 0)["id"], "option_ids": [_q(s, 1)["options"][0]["id"]]}
    ),
    "too_many_choices": lambda s, a: _replace(
        a, 0, {"question_id": _q(s, 0)["id"], "option_ids": [o["id"] for o in _q(s, 0)["options"]]}
    ),
    "too_few_choices": lambda s, a: _replace(
        a, 1, {"question_id": _q(s, 1)["id"], "option_ids": [_q(s, 1)["options"][0]["id"]]}
    ),
    "too_many_choices_multiple": lambda s, a: _replace(
        a, 1, {"question_id": _q(s, 1)["id"], "option_ids": [o["id"] for o in _q(s, 1)["options"]]}
    ),
    "duplicate_choice": lambda s, a: _replace(
        a, 1, {"question_id": _q(s, 1)["id"], "option_ids": [_q(s, 1)["options"][0]["id"]] * 2}
    ),
    "rating_out_of_range": lambda s, a: _replace(
        a, 2, {"question_id": _q(s, 2)["id"], "rating": 11}
    ),
    "rating_below_range": lambda s, a: _replace(a, 2, {"question_id": _q(s, 2)["id"], "rating": 0}),
    "text_too_long": lambda s, a: _replace(
        a, 3, {"question_id": _q(s, 3)["id"], "text": "长" * 1001}
    ),
    "answer_required": lambda s, a: a[1:],
    "answer_required_empty": lambda s, a: _replace(a, 0, {"question_id": _q(s, 0)["id"]}),
    "duplicate_answer": lambda s, a: a + a[:1],
    "answer_invalid": lambda s, a: _replace(a, 0, {"question_id": _q(s, 0)["id"], "rating": 1}),
    "answer_invalid_text": lambda s, a: _replace(
        a, 3, {"question_id": _q(s, 3)["id"], "option_ids": [_q(s, 0)["options"][0]["id"]]}
    ),
}
EXPECTED = {
    "unknown_question": ("unknown_question", "问卷中没有这道题"),
    "unknown_option": ("unknown_option", "所选选项不属于这道题"),
    "too_many_choices": ("too_many_choices", "这道题只能选择一项"),
    "too_few_choices": ("too_few_choices", "这道题至少选择 2 项"),
    "too_many_choices_multiple": ("too_many_choices", "这道题最多选择 3 项"),
    "duplicate_choice": ("duplicate_choice", "不能重复选择同一选项"),
    "rating_out_of_range": ("rating_out_of_range", "评分应在 1 到 10 之间"),
    "rating_below_range": ("rating_out_of_range", "评分应在 1 到 10 之间"),
    "text_too_long": ("text_too_long", "文字不能超过 1000 字"),
    "answer_required": ("answer_required", "请回答必答题：单选"),
    "answer_required_empty": ("answer_required", "请回答必答题：单选"),
    "duplicate_answer": ("duplicate_answer", "同一道题只能作答一次"),
    "answer_invalid": ("answer_invalid", "这道题请选择选项"),
    "answer_invalid_text": ("answer_invalid", "这道题请填写文字"),
}


@pytest.mark.parametrize("case_name", sorted(BAD_INPUT))
def test_bad_answers_are_refused_precisely_and_change_nothing(client, case, case_name):
    survey = case.survey()
    earlier = full_answers(survey)
    assert answer(client, survey, case.owner, earlier).status_code == 201
    before = stored(survey["id"])
    bad = BAD_INPUT[case_name](survey, full_answers(survey, single=1, rating=2))
    response = answer(client, survey, case.owner, bad)
    code, message = EXPECTED[case_name]
    assert (response.status_code, response.json["code"]) == (422, code), response.json
    assert response.json["message"] == message
    (problem,) = response.json["errors"].values()
    assert problem == [message]
    assert stored(survey["id"]) == before


def test_text_of_exactly_1000_characters_is_accepted(client, case):
    survey = case.survey()
    answers = full_answers(survey, text="长" * 1000)
    assert answer(client, survey, case.owner, answers).status_code == 201


def test_nothing_at_all_is_refused(client, case):
    survey = case.survey(questions=[{"type": "text", "text": "意见", "required": False}])
    response = answer(client, survey, case.owner, [])
    assert (response.status_code, response.json["code"]) == (422, "answers_empty")
    blank = answer(client, survey, case.owner, [{"question_id": _q(survey, 0)["id"], "text": " "}])
    assert (blank.status_code, blank.json["code"]) == (422, "answers_empty")
    assert stored(survey["id"]) == []


def test_schema_errors_are_422(client, case):
    survey = case.survey()
    response = answer(client, survey, case.owner, [{"question_id": "x"}])
    assert (response.status_code, response.json["code"]) == (422, "validation_error")


def test_before_opening_and_after_closing(client, case):
    survey = case.survey(opens_at=iso(timedelta(hours=1)))
    early = answer(client, survey, case.owner, full_answers(survey))
    assert (early.status_code, early.json["code"]) == (409, "survey_not_started")
    row = _db.session.get(Survey, survey["id"])
    row.opens_at = utcnow() - timedelta(hours=2)
    row.closes_at = utcnow() - timedelta(seconds=1)
    _db.session.flush()
    late = answer(client, survey, case.owner, full_answers(survey))
    assert (late.status_code, late.json["code"]) == (409, "survey_closed")
    assert row.status is SurveyStatus.CLOSED  # closed by that request's read
    assert stored(survey["id"]) == []


def test_who_may_not_answer(
    client, case, make_account, sign_in, owner_account, make_compound, make_dwelling
):
    survey = case.survey()
    answers = full_answers(survey)
    nobody = sign_in(make_account())
    assert answer(client, survey, nobody, answers).status_code == 404  # not their compound

    tenant = make_account()
    dwelling = _db.session.scalar(sa.select(Dwelling.id).filter_by(compound_id=case.compound.id))
    _db.session.add(Tenancy(account_id=tenant.id, dwelling_id=dwelling))
    _db.session.flush()
    response = answer(client, survey, sign_in(tenant), answers)
    assert (response.status_code, response.json["code"]) == (403, "not_eligible")
    assert response.json["message"] == "您不是本次问卷范围内的业主，不能作答"

    staff = answer(client, survey, case.staff, answers)
    assert (staff.status_code, staff.json["code"]) == (403, "resident_only")

    building_2 = _db.session.scalar(
        sa.select(Building.id).filter_by(compound_id=case.compound.id, number="2")
    )
    in_building_2 = case.survey(building_ids=[building_2])
    outsider = sign_in(owner_account(case.compound, "1栋1单元101"))
    refused = answer(client, in_building_2, outsider, full_answers(in_building_2))
    assert (refused.status_code, refused.json["code"]) == (403, "not_eligible")

    neighbour = make_compound("邻居", community=case.compound.community)
    owner = make_dwelling.owner(neighbour, "王五")
    make_dwelling(neighbour, owners=[owner])
    owner.account_id = make_account().id
    _db.session.flush()
    stranger = sign_in(_db.session.get(Account, owner.account_id))
    for response in (
        answer(client, survey, stranger, answers),
        client.get(f"/api/v1/surveys/{survey['id']}/my-response", headers=stranger),
        client.get(f"/api/v1/surveys/{survey['id']}", headers=stranger),
    ):
        assert (response.status_code, response.json["code"]) == (404, "not_found")
    assert stored(survey["id"]) == []


def test_an_owner_of_several_persons_chooses(client, case):
    survey = case.survey()
    other = _db.session.scalar(
        sa.select(Owner)
        .join(Ownership, Ownership.owner_id == Owner.id)
        .join(Dwelling, Dwelling.id == Ownership.dwelling_id)
        .join(Building, Building.id == Dwelling.building_id)
        .where(Building.number == "1", Dwelling.compound_id == case.compound.id)
        .order_by(Dwelling.id)
        .limit(1)
    )
    other.account_id = case.owner_account.id
    _db.session.flush()
    needs = answer(client, survey, case.owner, full_answers(survey))
    assert (needs.status_code, needs.json["code"]) == (422, "person_required")
    choices = needs.json["errors"]["person_id"]
    assert len(choices) == 2 and any("2栋1单元101" in c for c in choices)
    persons = [int(c.split("：")[0]) for c in choices]
    wrong = answer(client, survey, case.owner, full_answers(survey), person_id=999999)
    assert (wrong.status_code, wrong.json["code"]) == (422, "person_invalid")
    not_here = answer(client, survey, case.owner, full_answers(survey), dwelling_id=1)
    assert (not_here.status_code, not_here.json["code"]) == (422, "dwelling_id_not_applicable")
    for person in persons:
        response = answer(client, survey, case.owner, full_answers(survey), person_id=person)
        assert (response.status_code, response.json["person_id"]) == (201, person)
    assert sorted(key for key, _, _ in stored(survey["id"])) == sorted(
        f"person:{p}" for p in persons
    )
    mine = client.get(f"/api/v1/surveys/{survey['id']}/my-response", headers=case.owner)
    assert [(e["person_id"], e["answered"]) for e in mine.json] == [(p, True) for p in persons]


def test_co_owners_share_one_response(
    client, make_compound, make_dwelling, make_account, make_staff, sign_in, make_survey
):
    compound = make_compound()
    first, second = make_dwelling.owner(compound, "甲"), make_dwelling.owner(compound, "乙")
    make_dwelling(compound, owners=[first, second])
    first.account_id, second.account_id = make_account().id, make_account().id
    _db.session.flush()
    survey = make_survey(compound, questions=[(QuestionType.TEXT, "意见", [])], open=True)
    question = survey.questions[0].id
    for owner, text in ((first, "甲的意见"), (second, "乙的意见")):
        headers = sign_in(_db.session.get(Account, owner.account_id))
        response = client.post(
            f"/api/v1/surveys/{survey.id}/responses",
            json={"answers": [{"question_id": question, "text": text}]},
            headers=headers,
        )
        assert response.status_code == 201, response.json
    ((_, revision, rows),) = stored(survey.id)
    assert (revision, rows[0][3]) == (2, "乙的意见")
    row = _db.session.scalar(sa.select(Response).filter_by(survey_id=survey.id))
    assert row.account_id == second.account_id  # who answered last


def test_residents_with_tenants_answer_for_a_dwelling(client, case, make_account, sign_in):
    survey = case.survey(basis="resident")
    dwellings = _db.session.scalars(
        sa.select(Dwelling).filter_by(compound_id=case.compound.id).order_by(Dwelling.id)
    ).all()
    tenant = make_account()
    _db.session.add_all(
        [
            Tenancy(account_id=tenant.id, dwelling_id=dwellings[0].id),
            Tenancy(account_id=tenant.id, dwelling_id=dwellings[-1].id),
        ]
    )
    _db.session.flush()
    headers = sign_in(tenant)
    needs = answer(client, survey, headers, full_answers(survey))
    assert (needs.status_code, needs.json["code"]) == (422, "dwelling_required")
    assert len(needs.json["errors"]["dwelling_id"]) == 2
    wrong = answer(client, survey, headers, full_answers(survey), dwelling_id=dwellings[5].id)
    assert (wrong.status_code, wrong.json["code"]) == (422, "dwelling_invalid")
    ok = answer(client, survey, headers, full_answers(survey), dwelling_id=dwellings[-1].id)
    assert ok.status_code == 201, ok.json
    assert (ok.json["person_id"], ok.json["dwellings"]) == (None, dwellings[-1].label)
    again = answer(client, survey, headers, full_answers(survey), dwelling_id=dwellings[0].id)
    assert (again.status_code, again.json["revision"]) == (201, 2)  # one per resident
    row = _db.session.scalar(sa.select(Response).filter_by(survey_id=survey["id"]))
    _db.session.refresh(row)
    assert (row.respondent_key, row.account_id, row.person_id) == (
        f"account:{tenant.id}",
        tenant.id,
        None,
    )
    assert row.building_id == dwellings[0].building_id
    # The owner answers for themselves, apart from the tenant.
    assert answer(client, survey, case.owner, full_answers(survey)).status_code == 201
    assert len(stored(survey["id"])) == 2


def test_anonymous_answers_keep_no_identity(client, case, make_account, sign_in):
    survey = case.survey(basis="resident", anonymous=True)
    first = answer(client, survey, case.owner, full_answers(survey, rating=2))
    second = answer(client, survey, case.owner, full_answers(survey, rating=8))
    assert (first.status_code, second.status_code, second.json["revision"]) == (201, 201, 2)
    row = _db.session.scalar(sa.select(Response).filter_by(survey_id=survey["id"]))
    _db.session.refresh(row)
    assert (row.account_id, row.person_id) == (None, None)
    assert "account" not in row.respondent_key and len(row.respondent_key) == 64
    assert row.building_id is not None
    mine = client.get(f"/api/v1/surveys/{survey['id']}/my-response", headers=case.owner)
    (entry,) = mine.json
    assert entry["answered"] is True and entry["answers"][2]["rating"] == 8

    owners = case.survey(anonymous=True)
    assert answer(client, owners, case.owner, full_answers(owners)).status_code == 201
    row = _db.session.scalar(sa.select(Response).filter_by(survey_id=owners["id"]))
    assert (row.account_id, row.person_id) == (None, None)
    assert row.respondent_key != stored(survey["id"])[0][0]  # keyed per survey


def test_my_surveys(client, case, make_survey, make_account, sign_in, consent_question):
    answered = case.survey()
    open_not_answered = case.survey(basis="resident")
    building_1 = _db.session.scalar(
        sa.select(Building.id).filter_by(compound_id=case.compound.id, number="1")
    )
    elsewhere = case.survey(building_ids=[building_1])
    draft = case.survey(open=False)
    cancelled = case.survey(open=False)
    client.post(f"/api/v1/surveys/{cancelled['id']}/cancel", headers=case.staff)
    assert answer(client, answered, case.owner, full_answers(answered)).status_code == 201

    response = client.get("/api/v1/me/surveys", headers=case.owner)
    assert response.status_code == 200
    views = {s["id"]: s for s in response.json}
    assert draft["id"] not in views and cancelled["id"] not in views
    flags = {
        survey_id: (
            views[survey_id]["eligible"],
            views[survey_id]["can_answer"],
            views[survey_id]["answered"],
        )
        for survey_id in (answered["id"], open_not_answered["id"], elsewhere["id"])
    }
    assert flags == {
        answered["id"]: (True, True, True),
        open_not_answered["id"]: (True, True, False),
        elsewhere["id"]: (False, False, False),
    }
    assert "questions" not in views[answered["id"]] and "t_cnt" not in views[answered["id"]]
    assert client.get("/api/v1/me/surveys", headers=case.staff).status_code == 403
    stranger = sign_in(make_account())
    assert client.get("/api/v1/me/surveys", headers=stranger).json == []


US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("boundary", "offset", "refused"),
    [
        pytest.param("opens_at", -US, "survey_not_started", id="1us-before-opening"),
        pytest.param("opens_at", timedelta(0), None, id="at-opening"),
        pytest.param("closes_at", -US, None, id="1us-before-closing"),
        pytest.param("closes_at", timedelta(0), "survey_closed", id="at-closing"),
    ],
)
def test_answers_at_the_opening_and_closing_instants(
    client, case, monkeypatch, boundary, offset, refused
):
    """At ``closes_at`` refused, a microsecond before accepted; at ``opens_at`` accepted, a
    microsecond before refused. The database clock the answer is judged by is set to the
    instant (the survey row is still locked for real)."""
    from participation.surveys import services

    opens = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    survey = case.survey(
        opens_at=opens.isoformat(), closes_at=(opens + timedelta(days=1)).isoformat()
    )
    row = _db.session.get(Survey, survey["id"])
    instant = getattr(row, boundary) + offset
    locked = services._locked

    def locked_at_the_instant(*args):
        state, _, slots = locked(*args)
        return state, instant, slots

    monkeypatch.setattr(services, "_locked", locked_at_the_instant)
    response = answer(client, survey, case.owner, full_answers(survey))
    if refused:
        assert (response.status_code, response.json["code"]) == (409, refused), response.json
        assert stored(survey["id"]) == []
    else:
        assert response.status_code == 201, response.json
        (saved,) = _db.session.scalars(sa.select(Response).filter_by(survey_id=survey["id"]))
        assert saved.submitted_at == instant


def test_answering_checks_the_session_in_its_own_statements(client, case):
    """The answer path checks the caller's session with the survey's lock, not in a query of
    its own: a signed-out resident is 401 whatever the survey or the body, nothing written."""
    survey = case.survey()
    assert client.delete("/api/v1/auth/session", headers=case.owner).status_code == 204
    for survey_id, answers in (
        (survey["id"], full_answers(survey)),
        (999999, []),
        (survey["id"], []),
    ):
        refused = answer(client, {"id": survey_id}, case.owner, answers)
        assert (refused.status_code, refused.json["code"]) == (401, "token_revoked")
    assert stored(survey["id"]) == []


def test_an_answer_is_three_statements_on_postgresql(client, case, statements_run):
    """The hot path stays lean once the questionnaire is known: the lock with the clock, the
    session and the respondents, then the response, then its answers with the survey's
    tallies — no survey loading, no resolver, no session read of its own."""
    survey = case.survey()
    assert answer(client, survey, case.owner, full_answers(survey)).status_code == 201
    with statements_run() as statements:
        again = answer(client, survey, case.owner, full_answers(survey, rating=3), key="lean")
    assert again.status_code == 201, again.json
    statements = [s for s in statements[: statements.index("RELEASE")] if s != "SAVEPOINT"]
    if _db.engine.dialect.name == "postgresql":
        assert statements == ["WITH", "WITH", "WITH"]
    else:  # SQLite: the session, the respondents, the lock apart; then the response, its
        # answers replaced and the respondent's places (the tallies unchanged: same choices)
        assert statements[0] == "SELECT"
        assert statements[-4:] == ["INSERT", "DELETE", "INSERT", "SELECT"]
