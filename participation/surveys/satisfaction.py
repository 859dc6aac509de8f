"""Satisfaction (效果共评): each satisfaction question rates one dimension (改造内容, 施工过程,
工程质量, 长效管理 by default), optionally about one renovation item, on the scale 满意 / 基本满意
/ 不满意 / 不了解.

rate = (满意 + 基本满意) / (满意 + 基本满意 + 不满意): 不了解 is left out of both sides; with no
满意, 基本满意 or 不满意 answer the rate is null. The overall rate adds the counts of every
dimension. A rate passes when it is at least the survey's threshold (percent), compared
exactly, not after rounding. Breakdowns: per building (the building a response was given for)
and per renovation item. Functions only read; ``satisfaction_result`` is also the result a
satisfaction survey stores when it closes (``services.result_builder``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from participation.auth.models import Tenancy
from participation.common.errors import not_found
from participation.common.sql import db_now
from participation.counting import Ratio, ratio
from participation.extensions import db
from participation.roster.models import (
    Building,
    Dwelling,
    Entrance,
    Owner,
    Ownership,
    dwelling_label,
)
from participation.roster.services import natural_key
from participation.surveys import tallies
from participation.surveys.models import (
    Answer,
    MenuItem,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyKind,
    SurveyPerson,
    SurveyStatus,
)
from participation.surveys.services import (
    SATISFACTION_DIMENSIONS,
    SATISFACTION_OPTIONS,
    effective_status,
    result_builder,
)

# Option values of a satisfaction question, in display order, with their labels.
SCALE = {value: label for label, value in SATISFACTION_OPTIONS}
DEFAULT_DIMENSIONS = SATISFACTION_DIMENSIONS
# The pass threshold (percent) when the survey sets none. Kept in code, not in config.
DEFAULT_THRESHOLD = Decimal("80.00")
NO_BUILDING = "未关联楼栋"


@dataclass
class Counts:
    satisfied: int = 0
    basic: int = 0
    dissatisfied: int = 0
    unknown: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self

    @property
    def rate(self) -> Ratio:
        content = self.satisfied + self.basic
        return Ratio(content, content + self.dissatisfied)


def threshold_of(survey: Survey) -> Decimal:
    if survey.satisfaction_threshold is None:
        return DEFAULT_THRESHOLD
    return survey.satisfaction_threshold


def passes(rate: Ratio, threshold: Decimal) -> bool | None:
    """rate ≥ threshold %, exactly; None when there is no rate."""
    if rate.exact is None:
        return None
    return rate.exact * 100 >= Fraction(threshold)


def figures(counts: Counts, threshold: Decimal) -> dict:
    rate = counts.rate
    return {
        "counts": {name: getattr(counts, name) for name in SCALE},
        "rate": ratio(rate.numerator, rate.denominator),
        "passed": passes(rate, threshold),
    }


def satisfaction_questions(survey: Survey) -> list[Question]:
    return [q for q in survey.questions if q.type is QuestionType.SATISFACTION]


def _counts(
    tally: tallies.Tally, questions: list[Question]
) -> tuple[dict[int, Counts], dict[tuple[int, int | None], Counts]]:
    """Counts of each scale value per question in the whole scope, and per (question,
    building id; None: no building), from the survey's tallies."""

    def counts_in(cells: dict) -> dict[int, Counts]:
        by_question: dict[int, Counts] = {}
        for question in questions:
            counts = Counts()
            for option in question.options:
                if option.value in SCALE:
                    group = cells.get((question.id, option.id))
                    setattr(counts, option.value, group.cnt if group else 0)
            by_question[question.id] = counts
        return by_question

    by_building = {
        (question_id, None if building_id == tallies.NO_BUILDING else building_id): counts
        for building_id, cells in tally.buildings.items()
        for question_id, counts in counts_in(cells).items()
    }
    return counts_in(tally.whole), by_building


class _BuildingNames(dict):
    """Building names by id (None: 未关联楼栋), with the keys they sort by."""

    def __init__(self, building_ids):
        super().__init__({None: NO_BUILDING})
        self.keys_of: dict[int, str] = {}
        ids = [b for b in building_ids if b is not None]
        for building_id, number, name in db.session.execute(
            select(Building.id, Building.number, Building.name).where(Building.id.in_(ids))
        ):
            self[building_id] = name
            self.keys_of[building_id] = number

    def order(self, building_id: int | None) -> tuple:
        """2号楼 before 10号楼 (by their keys); unknown last."""
        if building_id is None:
            return (True, ())
        return (False, natural_key(self.keys_of[building_id]))


@result_builder(SurveyKind.SATISFACTION)
def satisfaction_result(survey: Survey) -> dict:
    """The satisfaction result of a survey, JSON-serialisable: per dimension, overall, per
    building (overall and per dimension) and per renovation item, each with its counts, its
    rate (exact and percent, null without answers) and whether it passes the threshold."""
    threshold = threshold_of(survey)
    questions = satisfaction_questions(survey)
    tally = tallies.read(survey)
    whole, counts = _counts(tally, questions)
    present = {building_id for _, building_id in counts}
    names = _BuildingNames(present)
    building_ids = sorted(present, key=names.order)

    def dimension_view(question: Question, cell: Counts) -> dict:
        return {
            "question_id": question.id,
            "dimension": question.dimension or question.text,
            "text": question.text,
            "menu_item_id": question.menu_item_id,
            **figures(cell, threshold),
        }

    overall = Counts()
    dimensions = []
    by_building: dict[int | None, list[tuple[Question, Counts]]] = defaultdict(list)
    by_item: dict[int, Counts] = defaultdict(Counts)
    for question in questions:
        for building_id in building_ids:
            cell = counts.get((question.id, building_id), Counts())
            by_building[building_id].append((question, cell))
        total = whole[question.id]
        overall += total
        if question.menu_item_id is not None:
            by_item[question.menu_item_id] += total
        dimensions.append(dimension_view(question, total))

    buildings = []
    for building_id in building_ids:
        building_total = Counts()
        for _, cell in by_building[building_id]:
            building_total += cell
        buildings.append(
            {
                "building_id": building_id,
                "name": names[building_id],
                **figures(building_total, threshold),
                "dimensions": [dimension_view(q, cell) for q, cell in by_building[building_id]],
            }
        )

    items = []
    if by_item:
        catalogue = {
            item.id: item
            for item in db.session.scalars(select(MenuItem).where(MenuItem.id.in_(by_item)))
        }
        for item_id, cell in by_item.items():
            item = catalogue[item_id]
            items.append(
                {
                    "menu_item_id": item_id,
                    "name": item.name,
                    "tier": item.tier.value,
                    **figures(cell, threshold),
                }
            )

    return {
        "survey_id": survey.id,
        "threshold": str(threshold),
        "responses": tally.respondents.cnt,
        "overall": figures(overall, threshold),
        "dimensions": dimensions,
        "buildings": buildings,
        "items": items,
    }


# The public chart (surveys/charts.py draws it) ------------------------------------------

PUBLIC_STATUSES = (SurveyStatus.CLOSED, SurveyStatus.PUBLISHED, SurveyStatus.FINAL)


def public_survey(survey_id: int) -> Survey:
    """A survey whose satisfaction result may be shown without sign-in: closed (by status or
    past its closing time), published or final, with satisfaction questions; else 404."""
    survey = db.session.get(Survey, survey_id)
    if survey is None or not satisfaction_questions(survey):
        raise not_found()
    if effective_status(survey, db_now()) not in PUBLIC_STATUSES:
        raise not_found()
    return survey


# Comments for committees ----------------------------------------------------------------


def comments_query(survey: Survey):
    """Non-empty free-text answers of the survey. Anonymous surveys: ordered by question and
    text, so that not even the order tells who wrote what; named: newest first."""
    stmt = (
        select(Answer)
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .options(contains_eager(Answer.response))
        .where(
            Response.survey_id == survey.id,
            Question.type == QuestionType.TEXT,
            func.trim(Answer.text) != "",
        )
    )
    if survey.anonymous:
        return stmt.order_by(Question.position, Answer.text, Answer.id)
    return stmt.order_by(Response.submitted_at.desc(), Answer.id)


def comment_views(survey: Survey, answers: list[Answer]) -> list[dict]:
    """Each comment with its question. Named surveys add where it comes from — the room
    labels and building, never a name or phone; anonymous surveys nothing about who."""
    questions = {q.id: q.text for q in survey.questions}
    views = [
        {"question_id": a.question_id, "question": questions[a.question_id], "text": a.text}
        for a in answers
    ]
    if survey.anonymous:
        return views
    rooms = _rooms(survey, [a.response for a in answers])
    names = _BuildingNames({a.response.building_id for a in answers})
    for view, answer in zip(views, answers, strict=True):
        response = answer.response
        view.update(
            submitted_at=response.submitted_at,
            building=names[response.building_id],
            rooms=rooms.get(response.id, ""),
        )
    return views


def _rooms(survey: Survey, responses: list[Response]) -> dict[int, str]:
    """Response id → room labels: the owner-person's dwellings (owner basis), or the
    dwellings the account owns or rents in the compound, in the response's building."""
    person_ids = {r.person_id for r in responses if r.person_id is not None}
    persons = dict(
        db.session.execute(
            select(SurveyPerson.id, SurveyPerson.labels).where(SurveyPerson.id.in_(person_ids))
        ).all()
    )
    account_ids = {r.account_id for r in responses if r.person_id is None and r.account_id}
    dwellings: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if account_ids:
        owned = (
            select(Owner.account_id, Ownership.dwelling_id)
            .join(Ownership, Ownership.owner_id == Owner.id)
            .where(Owner.account_id.in_(account_ids))
        )
        rented = select(Tenancy.account_id, Tenancy.dwelling_id).where(
            Tenancy.account_id.in_(account_ids)
        )
        links = owned.union(rented).subquery()
        rows = db.session.execute(
            select(
                links.c.account_id,
                Dwelling.building_id,
                Building.name,
                Entrance.name,
                Dwelling.room,
            )
            .join(Dwelling, Dwelling.id == links.c.dwelling_id)
            .join(Building, Building.id == Dwelling.building_id)
            .join(Entrance, Entrance.id == Dwelling.entrance_id)
            .where(Dwelling.compound_id == survey.compound_id)
            .order_by(Dwelling.id)
        )
        for account_id, building_id, building, entrance, room in rows:
            dwellings[account_id].append((building_id, dwelling_label(building, entrance, room)))
    rooms = {}
    for response in responses:
        if response.person_id is not None:
            rooms[response.id] = persons.get(response.person_id, "")
        else:
            rooms[response.id] = "、".join(
                label
                for building_id, label in dwellings.get(response.account_id, [])
                if response.building_id in (None, building_id)
            )
    return rooms
