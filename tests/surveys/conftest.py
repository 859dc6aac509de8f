"""Factories for surveys."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building
from participation.surveys.models import (
    Option,
    Question,
    QuestionType,
    RespondentBasis,
    Survey,
    SurveyKind,
)


@pytest.fixture
def make_survey(db, make_staff):
    """``make_survey(compound, SurveyKind.CONSENT, questions=[(QuestionType.CONSENT, "…",
    [("同意", "agree"), ("不同意", "disagree")])], open=True)`` → a survey (opened: electorate
    frozen for the owner basis)."""
    from participation.auth.models import Role
    from participation.surveys.services import open_survey

    def make(
        compound,
        kind: SurveyKind = SurveyKind.GENERAL,
        questions=(),
        basis: RespondentBasis = RespondentBasis.OWNER,
        buildings: tuple[str, ...] = (),
        open: bool = False,
        closes_in: timedelta = timedelta(days=7),
        **fields,
    ) -> Survey:
        building_ids = [
            _db.session.scalar(
                sa.select(Building.id).filter_by(compound_id=compound.id, number=number)
            )
            for number in buildings
        ]
        now = utcnow()
        survey = Survey(
            compound_id=compound.id,
            kind=kind,
            title=fields.pop("title", "测试问卷"),
            basis=basis,
            building_ids=building_ids,
            entrance_ids=fields.pop("entrance_ids", []),
            opens_at=fields.pop("opens_at", now - timedelta(minutes=1)),
            closes_at=now + closes_in,
            created_by_id=make_staff(Role.COMPOUND, compound.id).id,
            **fields,
        )
        for position, (qtype, text, options) in enumerate(questions, start=1):
            question = Question(position=position, type=qtype, text=text)
            question.options = [
                Option(position=i, label=label, value=value)
                for i, (label, value) in enumerate(options, start=1)
            ]
            survey.questions.append(question)
        _db.session.add(survey)
        _db.session.flush()
        if open:
            open_survey(survey, confirm_unknown_owners=True)
            _db.session.flush()
        return survey

    return make


@pytest.fixture
def consent_question():
    """The consent question of the consent template, as ``make_survey`` takes it."""
    return (
        QuestionType.CONSENT,
        "您是否同意本小区实施改造？",
        [("同意", "agree"), ("不同意", "disagree")],
    )


@pytest.fixture(autouse=True)
def clock(reminder_clock):
    """Every test here at 10:00 Beijing time (tests/conftest.py ``reminder_clock``)."""
    return reminder_clock
