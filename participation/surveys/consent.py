"""The consent gate (意愿征集): the consent question of an owner-basis consent survey tallied
with ``counting.renovation_consent``, and who has not answered yet. Its 公示 (publication,
objections, the public notice) is ``notices.publication``'s.

T is the electorate frozen at opening (``survey.t_cnt``, ``survey.t_area``); P the persons
with an answer to the consent question (同意 or 不同意: both participate); Y those whose answer
is 同意 (value ``agree``), each with their area as a person (``SurveyPerson.area``). A person
without an answer never counts as agreeing. The gate is 3·Y ≥ 2·T by the survey's
``consent_basis`` (count, area or both).

Breakdown: a person counts once in each building where they have a dwelling in scope, with
the area of their dwellings there (as in ``votes.tally``), so buildings' headcounts may add up
to more than T_cnt. The gate applies to the whole scope only.

Functions flush, never commit. Everything returned is plain JSON: areas as strings with two
decimals, ratios exact with a rounded percentage.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Select, exists, select

from participation.common.errors import conflict
from participation.common.privacy import mask_name, mask_phone
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now
from participation.counting import Group, Outcome, Totals, amount, ratio, renovation_consent
from participation.extensions import db
from participation.roster.electorate import DEVELOPER_KEY
from participation.roster.models import Building, Owner
from participation.roster.services import natural_key
from participation.surveys import tallies
from participation.surveys.models import (
    Answer,
    Question,
    QuestionType,
    RespondentBasis,
    Response,
    Survey,
    SurveyKind,
    SurveyPerson,
    SurveyPersonDwelling,
    SurveyPersonOwner,
)
from participation.surveys.services import CONTRIBUTION_WAYS, MANAGEMENT_WAYS, result_builder
from participation.surveys.tallies import WHOLE, Tally

AGREE, DISAGREE = "agree", "disagree"


def countable(survey: Survey) -> bool:
    """A consent survey answered by owner-persons by name: the gate can be counted."""
    return (
        survey.kind is SurveyKind.CONSENT
        and survey.basis is RespondentBasis.OWNER
        and not survey.anonymous
    )


def consent_question(survey: Survey) -> Question:
    """The consent question of an opened, countable consent survey, else 409."""
    if not countable(survey):
        raise conflict("not_consent_survey", "该问卷不是记名的业主意愿征集问卷，没有同意率统计")
    if survey.t_cnt is None:
        raise conflict("survey_not_opened", "问卷尚未开启，还没有统计")
    question = next((q for q in survey.questions if q.type is QuestionType.CONSENT), None)
    if question is None:
        raise conflict("no_consent_question", "该问卷没有“是否同意改造”问题")
    return question


def answer_groups(tally: Tally, question: Question, building_id: int = WHOLE) -> dict[str, Group]:
    """Persons who answered the consent question and their area, per value ('' for an option
    without one), in the whole scope or one building: from the survey's tallies."""
    groups: dict[str, Group] = {}
    for option in question.options:
        group = tally.get(question.id, option.id, building_id)
        if group.cnt:
            value = option.value or ""
            groups[value] = groups.get(value, Group()) + group
    return groups


def totals_of(t: Group, groups: dict[str | None, Group]) -> Totals:
    p = sum((g for value, g in groups.items() if value is not None), Group())
    y = groups.get(AGREE, Group())
    return Totals(t.cnt, t.area, p.cnt, p.area, y.cnt, y.area)


def figures(totals: Totals, groups: dict[str | None, Group]) -> dict:
    """T, P, Y; 同意 / 不同意 by headcount and area; participation P/T and consent Y/T."""
    return {
        "t_cnt": totals.t_cnt,
        "t_area": amount(totals.t_area),
        "p_cnt": totals.p_cnt,
        "p_area": amount(totals.p_area),
        "y_cnt": totals.y_cnt,
        "y_area": amount(totals.y_area),
        "answers": [
            {"value": value, "count": g.cnt, "area": amount(g.area)}
            for value in (AGREE, DISAGREE)
            for g in (groups.get(value, Group()),)
        ],
        "participation": {
            "count": ratio(totals.p_cnt, totals.t_cnt),
            "area": ratio(totals.p_area, totals.t_area),
        },
        "consent": {
            "count": ratio(totals.y_cnt, totals.t_cnt),
            "area": ratio(totals.y_area, totals.t_area),
        },
    }


def missing_text(outcome: Outcome) -> str:
    """还需 N 人 / X m² 同意, as the basis counts it."""
    if outcome.passed:
        return "已达到三分之二同意"
    parts = []
    if outcome.agreement.persons:
        parts.append(f"{outcome.agreement.persons} 人")
    if outcome.agreement.area:
        parts.append(f"{amount(outcome.agreement.area)} m²")
    text = " / ".join(parts)
    return f"还需 {text}同意" if text.endswith("人") else f"还需 {text} 同意"


def gate(survey: Survey, tally: Tally | None = None) -> dict:
    """The whole scope: figures, the gate's outcome and what is still missing."""
    question = consent_question(survey)
    groups = answer_groups(tally or tallies.read(survey, by_building=False), question)
    totals = totals_of(Group(survey.t_cnt, survey.t_area), groups)
    outcome = renovation_consent(totals, survey.consent_basis)
    return {
        "basis": survey.consent_basis.value,
        **figures(totals, groups),
        "passed": outcome.passed,
        "missing": {
            "persons": outcome.agreement.persons,
            "area": amount(outcome.agreement.area),
            "text": missing_text(outcome),
        },
    }


# What the public notice shows of a result: the whole scope's aggregates only.
GATE_KEYS = (
    "basis",
    "t_cnt",
    "t_area",
    "p_cnt",
    "p_area",
    "y_cnt",
    "y_area",
    "answers",
    "participation",
    "consent",
    "passed",
    "missing",
)


def breakdown(survey: Survey, question: Question, tally: Tally) -> list[dict]:
    """Per building in natural order (see the module's doc for who counts where): each
    building's frozen electorate and the answers of its persons."""
    electorate = tallies.electorate_by_building(survey.id)
    places = {
        id_: (number, name)
        for id_, number, name in db.session.execute(
            select(Building.id, Building.number, Building.name).where(
                Building.id.in_(list(electorate))
            )
        )
    }
    result = []
    for building_id in sorted(electorate, key=lambda b: natural_key(places[b][0])):
        groups = answer_groups(tally, question, building_id)
        result.append(
            {
                "building_id": building_id,
                "name": places[building_id][1],
                **figures(totals_of(electorate[building_id], groups), groups),
            }
        )
    return result


def distributions(survey: Survey, values: tuple[str, ...]) -> list[dict]:
    """For each question whose options carry one of ``values`` (出资方式, 长效管理): how many
    persons (and their area) chose each option, of those who answered the question."""
    return distributions_of(survey, {"": values})[""]


def distributions_of(
    survey: Survey, value_sets: dict[str, tuple[str, ...]], tally: Tally | None = None
) -> dict:
    """``distributions`` of several sets of values at once (name → values; name → list),
    from the survey's tallies."""
    tally = tally or tallies.read(survey, by_building=False)
    result: dict[str, list[dict]] = {}
    for name, values in value_sets.items():
        result[name] = []
        for q in survey.questions:
            if q.type not in (QuestionType.SINGLE, QuestionType.MULTIPLE):
                continue
            if not any(o.value in values for o in q.options):
                continue
            respondents = tally.question_respondents(q).cnt
            result[name].append(
                {
                    "question_id": q.id,
                    "text": q.text,
                    "respondents": respondents,
                    "options": [
                        {
                            "value": o.value,
                            "label": o.label,
                            "count": g.cnt,
                            "area": amount(g.area),
                            "share": ratio(g.cnt, respondents),
                        }
                        for o in q.options
                        for g in (tally.get(q.id, o.id),)
                    ],
                }
            )
    return result


def consent_result(survey: Survey) -> dict:
    """The consent survey's result as of now: the gate, the breakdown per building and the
    answers to the template's questions on contribution ways and long-term management."""
    ways = {
        "contributions": _values(CONTRIBUTION_WAYS),
        "management": _values(MANAGEMENT_WAYS),
    }
    tally = tallies.read(survey)
    return {
        **gate(survey, tally),
        "buildings": breakdown(survey, consent_question(survey), tally),
        **distributions_of(survey, ways, tally),
        "computed_at": db_now().astimezone(SHANGHAI).isoformat(),
    }


def _values(pairs: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(value for _, value in pairs)


@result_builder(SurveyKind.CONSENT)
def final_result(survey: Survey) -> dict:
    """Stored as ``survey.result`` when the survey closes (``services.close_if_due``)."""
    return consent_result(survey) if countable(survey) else {}


def current_result(survey: Survey) -> dict:
    """Live while the survey is open; once closed, the result stored at closing."""
    consent_question(survey)
    return survey.result or consent_result(survey)


def committee_view(survey: Survey) -> dict:
    """Staff: the gate of a consent survey (live while open)."""
    return {"survey_id": survey.id, "status": survey.status.value, **current_result(survey)}


# Non-respondents (入户发动) -----------------------------------------------------------------


def non_respondents_query(survey: Survey, building_id: int | None = None) -> Select:
    """Persons of the electorate without an answer to the consent question, optionally
    those with a dwelling in one building."""
    question = consent_question(survey)
    answered = exists().where(
        Response.survey_id == survey.id,
        Response.person_id == SurveyPerson.id,
        Answer.response_id == Response.id,
        Answer.question_id == question.id,
    )
    stmt = select(SurveyPerson).where(SurveyPerson.survey_id == survey.id, ~answered)
    if building_id is not None:
        stmt = stmt.where(
            exists().where(
                SurveyPersonDwelling.person_id == SurveyPerson.id,
                SurveyPersonDwelling.building_id == building_id,
            )
        )
    return stmt.order_by(SurveyPerson.id)


def non_respondent_views(
    survey: Survey, persons: list[SurveyPerson], full_contact: bool
) -> list[dict]:
    """Rooms, owners and area of each person. Names and phones in full only with
    ``full_contact`` (the committee of the survey's compound); masked otherwise."""
    ids = [p.id for p in persons]
    rooms: dict[int, list[str]] = defaultdict(list)
    for person_id, label in db.session.execute(
        select(SurveyPersonDwelling.person_id, SurveyPersonDwelling.label)
        .where(SurveyPersonDwelling.survey_id == survey.id)
        .where(SurveyPersonDwelling.person_id.in_(ids))
        .order_by(SurveyPersonDwelling.person_id, SurveyPersonDwelling.dwelling_id)
    ):
        rooms[person_id].append(label)
    owners: dict[int, list[dict]] = defaultdict(list)
    for person_id, name, phone in db.session.execute(
        select(SurveyPersonOwner.person_id, Owner.name, Owner.phone)
        .join(Owner, Owner.id == SurveyPersonOwner.owner_id)
        .where(SurveyPersonOwner.survey_id == survey.id)
        .where(SurveyPersonOwner.person_id.in_(ids))
        .order_by(SurveyPersonOwner.person_id, Owner.id)
    ):
        owners[person_id].append(
            {
                "name": name if full_contact else mask_name(name),
                "phone": (phone or "") if full_contact else mask_phone(phone),
            }
        )
    return [
        {
            "person_id": p.id,
            "rooms": rooms[p.id],
            "developer": p.key == DEVELOPER_KEY,
            "owners": owners[p.id],
            "area": p.area,
        }
        for p in persons
    ]
