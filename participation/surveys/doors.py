"""The door-to-door sheet (入户发动) of a survey: its entrances with their progress and the
households still to visit, as the vote's (``votes/tally.py``), by the survey's basis —
owner basis counts the persons of the frozen electorate, resident basis the dwellings of the
scope (a dwelling has taken part when one of its residents answered)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import exists, select

from participation.common.doors import door_to_door_workbook
from participation.common.errors import conflict
from participation.common.privacy import mask_name, mask_phone
from participation.extensions import db
from participation.roster.electorate import DEVELOPER_KEY
from participation.roster.models import Building, Compound, Dwelling, Entrance, Owner, Ownership
from participation.roster.services import entrances_in_order, natural_key
from participation.surveys.models import (
    RespondentBasis,
    Response,
    Survey,
    SurveyPerson,
    SurveyPersonDwelling,
    SurveyPersonOwner,
    SurveyStatus,
)
from participation.surveys.tasks import _dwelling_answered, dwellings_in_scope, reminded_today

ZERO = Decimal("0.00")


def require_opened(survey: Survey) -> None:
    """409 ``survey_not_opened`` for a draft (its electorate is frozen at opening)."""
    if survey.status is SurveyStatus.DRAFT or survey.opened_at is None:
        raise conflict("survey_not_opened", "问卷尚未开启，还没有入户发动表")


def _rows(survey: Survey) -> list:
    """(entrance_id, dwelling_id, person_id, floor, area, label, room, answered) of every
    dwelling of the survey's scope."""
    if survey.basis is RespondentBasis.OWNER:
        d = SurveyPersonDwelling
        answered = exists().where(
            Response.survey_id == survey.id, Response.person_id == d.person_id
        )
        return db.session.execute(
            select(
                d.entrance_id,
                d.dwelling_id,
                d.person_id,
                d.floor,
                d.area,
                d.label,
                Dwelling.room,
                answered.label("answered"),
            )
            .join(Dwelling, Dwelling.id == d.dwelling_id)
            .where(d.survey_id == survey.id)
        ).all()
    rows = db.session.execute(
        select(
            Dwelling.entrance_id,
            Dwelling.id,
            Dwelling.floor,
            Dwelling.area,
            Dwelling.room,
            Building.name,
            Entrance.name,
            _dwelling_answered(survey.id).label("answered"),
        )
        .join(Building, Building.id == Dwelling.building_id)
        .join(Entrance, Entrance.id == Dwelling.entrance_id)
        .where(dwellings_in_scope(survey))
    ).all()
    return [
        (e_id, d_id, None, floor, area, f"{b_name}{e_name}{room}", room, answered)
        for e_id, d_id, floor, area, room, b_name, e_name, answered in rows
    ]


def door_to_door(
    survey: Survey, building_id: int | None = None, entrance_id: int | None = None
) -> list[dict]:
    """The entrances of the survey's scope in natural order (2栋 before 10栋), each with its
    progress — persons (owner basis; a person with dwellings in two entrances counts in both,
    with their area there) or dwellings (resident basis) in total, answered, still missing,
    by headcount and area — and, unfilled, ``households`` (see :func:`with_households`)."""
    rows = _rows(survey)
    per_entrance: dict[int, dict] = defaultdict(dict)
    for e_id, d_id, person_id, _, area, _, _, answered in rows:
        key = person_id if person_id is not None else f"d{d_id}"
        done, total = per_entrance[e_id].get(key, (bool(answered), ZERO))
        per_entrance[e_id][key] = (done, total + area)
    result = []
    for place in entrances_in_order(per_entrance, building_id, entrance_id):
        figures = per_entrance[place.entrance_id].values()
        answered = [area for done, area in figures if done]
        missing = [area for done, area in figures if not done]
        result.append(
            {
                "building_id": place.building_id,
                "entrance_id": place.entrance_id,
                "building": place.building,
                "entrance": place.entrance,
                "name": place.name,
                "t_cnt": len(answered) + len(missing),
                "t_area": sum(answered, ZERO) + sum(missing, ZERO),
                "answered_cnt": len(answered),
                "answered_area": sum(answered, ZERO),
                "missing_cnt": len(missing),
                "missing_area": sum(missing, ZERO),
            }
        )
    return result


def with_households(survey: Survey, groups: list[dict], full_contact: bool) -> list[dict]:
    """``groups`` with their households still to visit: each dwelling not answered for, by
    floor then room number, with its owners (names and phones masked unless
    ``full_contact``: the compound's own committee), area, and whether a reminder SMS (of any
    campaign of the compound) reached one of its owners' phones today."""
    entrance_ids = {g["entrance_id"] for g in groups}
    rows = [r for r in _rows(survey) if r[0] in entrance_ids and not r[7]]
    owners: dict[object, list[tuple[str, str | None]]] = defaultdict(list)
    developer: set[int] = set()
    if survey.basis is RespondentBasis.OWNER:
        person_ids = sorted({r[2] for r in rows})
        if person_ids:
            for person_id, name, phone in db.session.execute(
                select(SurveyPersonOwner.person_id, Owner.name, Owner.phone)
                .join(Owner, Owner.id == SurveyPersonOwner.owner_id)
                .where(
                    SurveyPersonOwner.survey_id == survey.id,
                    SurveyPersonOwner.person_id.in_(person_ids),
                )
                .order_by(SurveyPersonOwner.person_id, Owner.id)
            ):
                owners[person_id].append((name, phone))
            developer = set(
                db.session.scalars(
                    select(SurveyPerson.id).where(
                        SurveyPerson.id.in_(person_ids), SurveyPerson.key == DEVELOPER_KEY
                    )
                )
            )
    else:
        dwelling_ids = sorted({r[1] for r in rows})
        if dwelling_ids:
            for dwelling_id, name, phone in db.session.execute(
                select(Ownership.dwelling_id, Owner.name, Owner.phone)
                .join(Owner, Owner.id == Ownership.owner_id)
                .where(Ownership.dwelling_id.in_(dwelling_ids))
                .order_by(Ownership.dwelling_id, Owner.id)
            ):
                owners[f"d{dwelling_id}"].append((name, phone))
    phones = {p for contacts in owners.values() for _, p in contacts if p}
    reminded = reminded_today(survey.compound_id, phones)
    households: dict[int, list[dict]] = defaultdict(list)
    for e_id, d_id, person_id, floor, area, label, room, _ in sorted(
        rows, key=lambda r: (r[3], natural_key(r[6]), r[1])
    ):
        contacts = owners[person_id if person_id is not None else f"d{d_id}"]
        households[e_id].append(
            {
                "dwelling_id": d_id,
                "person_id": person_id,
                "room": room,
                "label": label,
                "floor": floor,
                "area": area,
                "developer": person_id in developer,
                "owners": [
                    {
                        "name": name if full_contact else mask_name(name),
                        "phone": (phone or "") if full_contact else mask_phone(phone),
                    }
                    for name, phone in contacts
                ],
                "reminded_today": any(p in reminded for _, p in contacts if p),
            }
        )
    return [{**g, "households": households[g["entrance_id"]]} for g in groups]


def door_to_door_xlsx(survey: Survey) -> bytes:
    """The printed sheet (``common.doors``), names masked even for the committee."""
    require_opened(survey)
    groups = with_households(survey, door_to_door(survey), full_contact=False)
    compound = db.session.get(Compound, survey.compound_id).name
    owners = survey.basis is RespondentBasis.OWNER
    return door_to_door_workbook(
        compound,
        survey.title,
        survey.closes_at,
        groups,
        done="answered",
        unit="人" if owners else "户",
        empty="问卷范围内没有住户",
    )
