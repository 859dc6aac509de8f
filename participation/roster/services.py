"""Places and roster queries. Functions take explicit arguments, flush, never commit."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from participation.auth.models import Role
from participation.auth.tokens import Principal
from participation.common.errors import conflict, invalid
from participation.common.privacy import mask_name, mask_phone
from participation.extensions import db
from participation.roster.electorate import (
    Electorate,
    Scope,
    check_scope,
    dwellings_in_scope,
    group_persons,
)
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


def _add_unique(obj, message: str):
    """Insert ``obj``; a unique-key violation becomes 409 without spoiling the session."""
    try:
        with db.session.begin_nested():
            db.session.add(obj)
    except IntegrityError:
        raise conflict("already_exists", message) from None
    return obj


def create_district(name: str, min_objection_days: int | None = None) -> District:
    district = District(name=name)
    if min_objection_days is not None:
        district.min_objection_days = min_objection_days
    return _add_unique(district, "该区已存在")


def owner_names(compound_ids: set[int]) -> dict[int, set[str]]:
    """Each compound's owners' names (what public text masks: ``common.privacy``)."""
    names: dict[int, set[str]] = {compound_id: set() for compound_id in compound_ids}
    for compound_id, name in db.session.execute(
        select(Owner.compound_id, Owner.name).where(Owner.compound_id.in_(compound_ids))
    ):
        names[compound_id].add(name)
    return names


def district_id_of(compound_id: int) -> int | None:
    """The district a compound is in (None for no such compound)."""
    return db.session.scalar(
        select(Street.district_id)
        .join(Community, Community.street_id == Street.id)
        .join(Compound, Compound.community_id == Community.id)
        .where(Compound.id == compound_id)
    )


# The objection period (公示期) of votes and surveys ------------------------------------------


def min_objection_days(compound_id: int) -> int:
    """The shortest objection period in the compound's district."""
    return db.session.execute(
        select(District.min_objection_days)
        .join(Street, Street.district_id == District.id)
        .join(Community, Community.street_id == Street.id)
        .join(Compound, Compound.community_id == Community.id)
        .where(Compound.id == compound_id)
    ).scalar_one()


def default_objection_days(compound_id: int) -> int:
    """A new campaign's objection period: ``VOTE_OBJECTION_DAYS``, at least the district's
    minimum."""
    return max(current_app.config["VOTE_OBJECTION_DAYS"], min_objection_days(compound_id))


def check_objection_days(compound_id: int, days: int) -> None:
    """422 ``objection_days_too_short`` if ``days`` is below the district's minimum (never
    less than 1: 0 would skip 询异)."""
    minimum = min_objection_days(compound_id)
    if days < minimum:
        message = f"异议期不得少于 {minimum} 天"
        raise invalid("objection_days_too_short", message, {"objection_days": [message]})


def create_street(district: District, name: str) -> Street:
    return _add_unique(Street(district_id=district.id, name=name), "该街道已存在")


def create_community(street: Street, name: str) -> Community:
    return _add_unique(Community(street_id=street.id, name=name), "该社区已存在")


def create_compound(community: Community, name: str, address: str = "") -> Compound:
    return _add_unique(
        Compound(community_id=community.id, name=name, address=address), "该社区已有同名小区"
    )


def update_compound(compound: Compound, changes: dict) -> Compound:
    for key in ("name", "address", "proxy_rule"):
        if key in changes:
            setattr(compound, key, changes[key])
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise conflict("already_exists", "该社区已有同名小区") from None
    return compound


@dataclass(frozen=True)
class CompoundDetail:
    """A compound with its roster counts; other attributes are the compound's."""

    compound: Compound
    buildings: int
    dwellings: int
    owners: int

    def __getattr__(self, name: str):
        return getattr(self.compound, name)


def compound_detail(compound: Compound) -> CompoundDetail:
    def count(model) -> int:
        return db.session.scalar(select(func.count(model.id)).filter_by(compound_id=compound.id))

    return CompoundDetail(compound, count(Building), count(Dwelling), count(Owner))


def public_compound(compound: Compound) -> dict:
    """What the notice-board QR code shows of a compound: no personal data."""
    return {
        "id": compound.id,
        "name": compound.name,
        "address": compound.address,
        "buildings": buildings_summary(compound),
    }


def buildings_summary(compound: Compound) -> list[dict]:
    """Buildings with their entrances and dwelling counts, in natural order of their keys
    (2号楼 before 10号楼, whatever the names' suffixes)."""
    counts = dict(
        db.session.execute(
            select(Dwelling.entrance_id, func.count(Dwelling.id))
            .where(Dwelling.compound_id == compound.id)
            .group_by(Dwelling.entrance_id)
        ).all()
    )
    entrances = db.session.scalars(
        select(Entrance)
        .join(Building, Entrance.building_id == Building.id)
        .where(Building.compound_id == compound.id)
        .options(selectinload(Entrance.building))
    ).all()
    entrances.sort(key=lambda e: (natural_key(e.building.number), natural_key(e.number)))
    by_building: dict[int, dict] = {}
    for entrance in entrances:
        building = entrance.building
        entry = by_building.setdefault(
            building.id,
            {"id": building.id, "name": building.name, "dwellings": 0, "entrances": []},
        )
        n = counts.get(entrance.id, 0)
        entry["dwellings"] += n
        entry["entrances"].append({"id": entrance.id, "name": entrance.name, "dwellings": n})
    return list(by_building.values())


def natural_key(text: str) -> tuple:
    """Sort "2" before "10", "2号楼" before "10号楼": numbers in the text compare as numbers;
    a text that starts with a number comes before one that does not ("综合楼")."""
    return tuple(
        (0, int(run), "") if run.isdigit() else (1, 0, run)
        for run in re.findall(r"[0-9]+|[^0-9]+", text)
    )


@dataclass(frozen=True)
class EntrancePlace:
    building_id: int
    building: str  # the names the roster writes: "5号楼", "1单元"
    entrance_id: int
    entrance: str

    @property
    def name(self) -> str:
        return self.building + self.entrance


def entrances_in_order(
    entrance_ids, building_id: int | None = None, entrance_id: int | None = None
) -> list[EntrancePlace]:
    """The entrances ``entrance_ids`` with their buildings' names, in natural order of their
    keys (2号楼 before 10号楼, whatever the suffix); optionally of one building or one
    entrance only. One query."""
    rows = db.session.execute(
        select(
            Building.id, Building.number, Building.name, Entrance.id, Entrance.number, Entrance.name
        )
        .join(Entrance, Entrance.building_id == Building.id)
        .where(Entrance.id.in_(list(entrance_ids)))
    ).all()
    rows.sort(key=lambda r: (natural_key(r[1]), natural_key(r[4])))
    return [
        EntrancePlace(b_id, b_name, e_id, e_name)
        for b_id, _, b_name, e_id, _, e_name in rows
        if building_id in (None, b_id) and entrance_id in (None, e_id)
    ]


def scope_names(building_ids: list[int], entrance_ids: list[int]) -> tuple[list[str], list[str]]:
    """Names of the buildings and entrances of a campaign's scope (both empty: the whole
    compound), e.g. (["2号楼"], ["3栋1单元"])."""
    buildings = db.session.scalars(
        select(Building.name).where(Building.id.in_(building_ids)).order_by(Building.id)
    )
    entrances = db.session.execute(
        select(Building.name, Entrance.name)
        .join(Entrance, Entrance.building_id == Building.id)
        .where(Entrance.id.in_(entrance_ids))
        .order_by(Entrance.id)
    )
    return list(buildings), [b + e for b, e in entrances]


def dwellings_query(
    compound: Compound, building_id: int | None = None, entrance_id: int | None = None
) -> Select:
    stmt = (
        select(Dwelling)
        .where(Dwelling.compound_id == compound.id)
        .options(
            selectinload(Dwelling.building),
            selectinload(Dwelling.entrance),
            selectinload(Dwelling.ownerships).selectinload(Ownership.owner),
        )
        .order_by(Dwelling.building_id, Dwelling.entrance_id, Dwelling.floor, Dwelling.room)
    )
    if building_id is not None:
        stmt = stmt.where(Dwelling.building_id == building_id)
    if entrance_id is not None:
        stmt = stmt.where(Dwelling.entrance_id == entrance_id)
    return stmt


def dwelling_view(dwelling: Dwelling) -> dict:
    return {
        "id": dwelling.id,
        "label": dwelling.label,
        "building_id": dwelling.building_id,
        "entrance_id": dwelling.entrance_id,
        "floor": dwelling.floor,
        "room": dwelling.room,
        "area": dwelling.area,
        "area_source": dwelling.area_source.value,
        "status": dwelling.status.value,
        "use": dwelling.use.value,
        "owners": [mask_name(o.owner.name) for o in dwelling.ownerships],
    }


def owners_query(compound: Compound) -> Select:
    return (
        select(Owner)
        .where(Owner.compound_id == compound.id)
        .options(
            selectinload(Owner.ownerships)
            .selectinload(Ownership.dwelling)
            .options(selectinload(Dwelling.building), selectinload(Dwelling.entrance))
        )
        .order_by(Owner.id)
    )


def sees_contact_data(principal: Principal, compound: Compound) -> bool:
    """Full names and phones go only to staff of that compound (个人信息保护法)."""
    return principal.is_staff and compound.id in principal.ids_for(Role.COMPOUND)


def owner_view(owner: Owner, full: bool) -> dict:
    return {
        "id": owner.id,
        "name": owner.name if full else mask_name(owner.name),
        "phone": (owner.phone or "") if full else mask_phone(owner.phone),
        "id_last4": owner.id_last4 if full else "",
        "signed_up": owner.account_id is not None,
        "dwellings": [o.dwelling.label for o in owner.ownerships],
    }


@dataclass(frozen=True)
class ElectorateSummary:
    electorate: Electorate
    by_building: list[dict]

    def as_dict(self) -> dict:
        e = self.electorate
        return {
            "t_cnt": e.t_cnt,
            "t_area": e.t_area,
            "dwellings": e.dwelling_count,
            "developer_dwellings": sum(len(p.dwelling_ids) for p in e.persons if p.is_developer),
            "persons_without_known_owner": len(e.without_known_owner),
            "by_building": self.by_building,
        }


def electorate_summary(scope: Scope) -> ElectorateSummary:
    """T_cnt and T_area of a scope, and of each building in it counted on its own."""
    check_scope(scope)
    facts = dwellings_in_scope(scope)
    electorate = group_persons(facts)
    per_building: dict[int, list] = defaultdict(list)
    for fact in facts:
        per_building[fact.building_id].append(fact)
    places = {
        id_: (number, name)
        for id_, number, name in db.session.execute(
            select(Building.id, Building.number, Building.name).where(
                Building.id.in_(list(per_building))
            )
        )
    }
    parts = []
    for building_id in sorted(per_building, key=lambda b: natural_key(places[b][0])):
        part = group_persons(per_building[building_id])
        name = places[building_id][1]
        parts.append(
            {"building_id": building_id, "name": name, "t_cnt": part.t_cnt, "t_area": part.t_area}
        )
    return ElectorateSummary(electorate, parts)
