"""A small compound of three owner-households (60.00, 80.00 and 100.00 m²), its committee, a
project, and campaigns in the states the gates look at."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.notices import publication
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
    SurveyPerson,
    SurveyStatus,
)
from participation.surveys.services import MANAGEMENT_WAYS, close_if_due, open_survey

AREAS = ("60.00", "80.00", "100.00")


def api(client, verb: str, path: str, headers: dict | None = None, /, **body):
    return client.open(f"/api/v1{path}", method=verb, headers=headers, json=body)


def refused(response, status: int, code: str) -> None:
    assert (response.status_code, response.json["code"]) == (status, code), response.json
    assert response.json["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json["message"]), "Chinese message"


@pytest.fixture
def client(scoped_client):
    """Requests commit and roll back as on a server: a refused request leaves nothing."""
    return scoped_client


@pytest.fixture
def compound(make_compound, make_dwelling):
    compound = make_compound("幸福小区")
    for index, area in enumerate(AREAS, start=1):
        owner = make_dwelling.owner(compound, f"业主{index}", f"1390000010{index}")
        make_dwelling(compound, "1", "1", f"{index}01", area=area, floor=index, owners=[owner])
    return compound


@pytest.fixture
def committee_staff(compound, make_staff):
    return make_staff(Role.COMPOUND, compound.id)


@pytest.fixture
def committee(committee_staff, sign_in):
    return sign_in(committee_staff)


@pytest.fixture
def neighbour(compound, make_compound, make_staff, sign_in):
    """The committee of the compound next door (same community)."""
    other = make_compound("邻居小区", community=compound.community)
    return sign_in(make_staff(Role.COMPOUND, other.id))


@pytest.fixture
def project(client, compound, committee):
    created = api(
        client,
        "POST",
        f"/compounds/{compound.id}/projects",
        committee,
        year=2026,
        title="幸福小区老旧小区改造",
    )
    assert created.status_code == 201, created.json
    return created.json


def step_ids(project: dict) -> dict[str, int]:
    return {step["step"]: step["id"] for step in project["steps"]}


@pytest.fixture
def consent_survey(compound, committee_staff):
    """``consent_survey(agree=2)``: an owner consent survey of the compound, opened, with
    ``agree`` of the three owners agreeing (the others disagreeing), closed; ``final=True``
    puts it through 公示 to its final result. ``management``: each owner's answer in turn to
    the template's 长效管理 question (professional / self_managed)."""

    def make(agree: int = 3, final: bool = True, management: tuple[str, ...] = ()) -> Survey:
        now = utcnow()
        survey = Survey(
            compound_id=compound.id,
            kind=SurveyKind.CONSENT,
            title="改造意愿征集",
            basis=RespondentBasis.OWNER,
            opens_at=now - timedelta(minutes=5),
            closes_at=now + timedelta(days=7),
            created_by_id=committee_staff.id,
            questions=[
                Question(
                    position=1,
                    type=QuestionType.CONSENT,
                    text="您是否同意本小区实施改造？",
                    options=[
                        Option(position=1, label="同意", value="agree"),
                        Option(position=2, label="不同意", value="disagree"),
                    ],
                ),
                Question(
                    position=2,
                    type=QuestionType.SINGLE,
                    text="改造完成后，您同意采用哪种长效管理方式？",
                    options=[
                        Option(position=i, label=label, value=value)
                        for i, (label, value) in enumerate(MANAGEMENT_WAYS, start=1)
                    ],
                ),
            ],
        )
        _db.session.add(survey)
        _db.session.flush()
        open_survey(survey)
        options = {o.value: o for o in survey.questions[0].options}
        ways = {o.value: o for o in survey.questions[1].options}
        persons = _db.session.scalars(
            sa.select(SurveyPerson).filter_by(survey_id=survey.id).order_by(SurveyPerson.id)
        ).all()
        for index, person in enumerate(persons):
            value = "agree" if index < agree else "disagree"
            response = Response(
                survey_id=survey.id,
                respondent_key=f"person:{person.id}",
                person_id=person.id,
                submitted_at=utcnow(),
            )
            response.answers = [
                Answer(question_id=survey.questions[0].id, option_id=options[value].id)
            ]
            if index < len(management):
                way = ways[management[index]]
                response.answers.append(
                    Answer(question_id=survey.questions[1].id, option_id=way.id)
                )
            _db.session.add(response)
        _db.session.flush()
        tallies.rebuild(survey)
        survey.closes_at = utcnow() - timedelta(microseconds=1)
        _db.session.flush()
        assert close_if_due(survey)
        if final:
            publication.publish(publication.SURVEYS, survey)
            survey.objection_until = utcnow() - timedelta(microseconds=1)
            _db.session.flush()
            publication.finalize(publication.SURVEYS, survey)
        _db.session.flush()
        return survey

    return make


@pytest.fixture
def menu_survey(compound, committee_staff):
    """``menu_survey(closed=True)``: a resident menu survey of the compound whose answering
    period is over (its result is in) or still running."""

    def make(closed: bool = True) -> Survey:
        now = utcnow()
        survey = Survey(
            compound_id=compound.id,
            kind=SurveyKind.MENU,
            title="改造内容征集",
            basis=RespondentBasis.RESIDENT,
            status=SurveyStatus.OPEN,
            opens_at=now - timedelta(days=8),
            closes_at=now - timedelta(minutes=1) if closed else now + timedelta(days=3),
            created_by_id=committee_staff.id,
        )
        _db.session.add(survey)
        _db.session.flush()
        return survey

    return make
