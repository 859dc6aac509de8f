"""A survey's questionnaire as the answer path checks answers against it, kept per process.

Once a survey is opened its questions and options never change (only a draft is edited), so
each app process reads them once, as plain frozen objects with the attributes the answer
checks use (``services.checked_answers``, ``answers_view``, ``respondent_key``,
``scope_of``), instead of loading the survey, its questions and their options through the ORM
at every answer. Drafts are never kept; surveys are never deleted, so an id names one survey
for good — the answer path still compares ``opened_at`` under its lock, and ``forget`` drops a
form that does not match (a database restored under a running app).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation.extensions import db
from participation.surveys.models import (
    Question,
    QuestionType,
    RespondentBasis,
    Survey,
    SurveyKind,
    SurveyStatus,
)


@dataclass(frozen=True)
class FormOption:
    id: int


@dataclass(frozen=True)
class FormQuestion:
    id: int
    type: QuestionType
    text: str
    required: bool
    min_choices: int | None
    max_choices: int | None
    scale_min: int | None
    scale_max: int | None
    options: tuple[FormOption, ...]


@dataclass(frozen=True)
class Form:
    id: int
    kind: SurveyKind
    basis: RespondentBasis
    anonymous: bool
    compound_id: int
    building_ids: tuple[int, ...]
    entrance_ids: tuple[int, ...]
    menu_min_items: int | None
    menu_max_items: int | None
    opened_at: datetime
    questions: tuple[FormQuestion, ...]


_FORMS: dict[int, Form] = {}
MAX_FORMS = 1024  # surveys open at once in one city, with room to spare


def _question(question: Question) -> FormQuestion:
    return FormQuestion(
        question.id,
        question.type,
        question.text,
        question.required,
        question.min_choices,
        question.max_choices,
        question.scale_min,
        question.scale_max,
        tuple(FormOption(option.id) for option in question.options),
    )


def form_of(survey_id: int) -> Form | None:
    """The questionnaire of a survey that has been opened (None: no such survey, or a
    draft)."""
    form = _FORMS.get(survey_id)
    if form is not None:
        return form
    survey = db.session.scalar(
        select(Survey)
        .where(Survey.id == survey_id)
        .options(selectinload(Survey.questions).selectinload(Question.options))
    )
    if survey is None or survey.status is SurveyStatus.DRAFT:
        return None
    form = Form(
        survey.id,
        survey.kind,
        survey.basis,
        survey.anonymous,
        survey.compound_id,
        tuple(survey.building_ids or ()),
        tuple(survey.entrance_ids or ()),
        survey.menu_min_items,
        survey.menu_max_items,
        survey.opened_at,
        tuple(_question(question) for question in survey.questions),
    )
    if len(_FORMS) >= MAX_FORMS:
        _FORMS.clear()
    _FORMS[survey_id] = form
    return form


def forget(survey_id: int | None = None) -> None:
    """Drop the kept form of ``survey_id`` (None: all of them)."""
    if survey_id is None:
        _FORMS.clear()
    else:
        _FORMS.pop(survey_id, None)
