"""Freezing the electorate of a campaign (a vote, an owner-basis survey) when it opens.

The snapshot is written into the campaign's own three tables — persons, their dwellings and
their owners — which share one shape (``<campaign>_id``, ``person_id``, …). Later roster edits
do not move the denominators of an open campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select, text

from participation.common.errors import invalid
from participation.common.sql import dialect_name
from participation.extensions import db
from participation.roster.electorate import Scope, check_scope, dwellings_in_scope, group_persons
from participation.roster.models import Building, Dwelling, Entrance, dwelling_label


@dataclass(frozen=True)
class Frozen:
    t_cnt: int
    t_area: Decimal
    unknown_owner_labels: list[str]  # sold dwellings whose owner the roster does not know


@dataclass(frozen=True)
class SnapshotTables:
    """The campaign's snapshot models and the name of their campaign column."""

    parent_column: str  # e.g. "vote_id"
    person: type
    dwelling: type
    owner: type


def freeze(scope: Scope, tables: SnapshotTables, parent_id: int, empty_message: str) -> Frozen:
    """Write the persons of ``scope`` (by the counting rules) with their dwellings and owners
    (the caller completes the snapshot, then calls ``analyze_snapshot``)."""
    check_scope(scope)
    facts = dwellings_in_scope(scope)
    electorate = group_persons(facts)
    if electorate.t_cnt == 0:
        raise invalid("empty_electorate", empty_message)
    rows = db.session.execute(
        select(
            Dwelling.id,
            Dwelling.floor,
            Dwelling.room,
            Building.name.label("building"),
            Entrance.name.label("entrance"),
        )
        .join(Building, Dwelling.building_id == Building.id)
        .join(Entrance, Dwelling.entrance_id == Entrance.id)
        .where(Dwelling.compound_id == scope.compound_id)
    )
    info = {row.id: row for row in rows}
    # The labels frozen with the electorate: the names the roster has now.
    labels = {d: dwelling_label(info[d].building, info[d].entrance, info[d].room) for d in info}
    facts_by_id = {f.dwelling_id: f for f in facts}
    parent = {tables.parent_column: parent_id}

    person_ids = db.session.scalars(
        insert(tables.person).returning(tables.person.id, sort_by_parameter_order=True),
        [
            {
                **parent,
                "key": p.key,
                "area": p.area,
                "labels": "、".join(labels[d] for d in p.dwelling_ids)[:400],
            }
            for p in electorate.persons
        ],
    ).all()
    dwelling_rows, owner_rows = [], []
    for person, person_id in zip(electorate.persons, person_ids, strict=True):
        for dwelling_id in person.dwelling_ids:
            fact = facts_by_id[dwelling_id]
            dwelling_rows.append(
                {
                    **parent,
                    "person_id": person_id,
                    "dwelling_id": dwelling_id,
                    "building_id": fact.building_id,
                    "entrance_id": fact.entrance_id,
                    "floor": info[dwelling_id].floor,
                    "area": fact.area,
                    "label": labels[dwelling_id],
                }
            )
        owner_rows += [
            {**parent, "person_id": person_id, "owner_id": owner_id}
            for owner_id in sorted(person.owner_ids)
        ]
    db.session.execute(insert(tables.dwelling), dwelling_rows)
    if owner_rows:
        db.session.execute(insert(tables.owner), owner_rows)
    unknown = [labels[p.dwelling_ids[0]] for p in electorate.without_known_owner]
    return Frozen(electorate.t_cnt, electorate.t_area, unknown)


def analyze_snapshot(tables: SnapshotTables) -> None:
    """On PostgreSQL, refresh the planner's statistics of the snapshot tables once the
    campaign's snapshot is complete and it is sure to open (ANALYZE counts this
    transaction's own rows). With older ones the planner may take the campaign's persons for
    a handful and scan them all on every cast or answer, looking for the caller's (0.3 ms of
    database CPU a cast at 4,000 persons), until autovacuum analyzes the tables."""
    if dialect_name() == "postgresql":
        names = ", ".join(m.__tablename__ for m in (tables.person, tables.dwelling, tables.owner))
        db.session.execute(text(f"ANALYZE {names}"))
