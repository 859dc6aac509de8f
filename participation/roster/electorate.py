"""The electorate of a scope: who counts as one person, and with what area.

DESIGN.md, Counting rules:
- one dwelling counts as one person;
- dwellings of the same buyer (the same owner, or the same set of co-owners) count as one
  person together, their areas added up;
- dwellings the developer has not sold, or sold but not delivered, count together as one
  person;
- a co-owned dwelling is one person.

``group_persons`` is the pure rule; ``electorate_for`` loads a scope's dwellings and applies it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import or_, select

from participation.common.errors import invalid
from participation.extensions import db
from participation.roster.models import Building, Dwelling, DwellingStatus, Entrance, Ownership

DEVELOPER_KEY = "developer"


@dataclass(frozen=True)
class DwellingFacts:
    """What the counting rules need to know of one dwelling."""

    dwelling_id: int
    area: Decimal
    developer: bool
    owner_ids: frozenset[int] = field(default=frozenset())
    building_id: int = 0
    entrance_id: int = 0


@dataclass(frozen=True)
class Person:
    """One person for headcount: ``key`` identifies the voter across dwellings."""

    key: str
    dwelling_ids: tuple[int, ...]
    area: Decimal
    owner_ids: frozenset[int]

    @property
    def is_developer(self) -> bool:
        return self.key == DEVELOPER_KEY

    @property
    def has_known_owner(self) -> bool:
        return bool(self.owner_ids) or self.is_developer


@dataclass(frozen=True)
class Electorate:
    persons: tuple[Person, ...]

    @property
    def t_cnt(self) -> int:
        return len(self.persons)

    @property
    def t_area(self) -> Decimal:
        return sum((p.area for p in self.persons), Decimal("0.00"))

    @property
    def dwelling_count(self) -> int:
        return sum(len(p.dwelling_ids) for p in self.persons)

    @property
    def without_known_owner(self) -> tuple[Person, ...]:
        return tuple(p for p in self.persons if not p.has_known_owner)


def voter_key(dwelling: DwellingFacts) -> str:
    """The key under which a dwelling is counted: the developer, the exact set of its owners,
    or — for a sold dwelling whose owner is unknown — the dwelling itself."""
    if dwelling.developer:
        return DEVELOPER_KEY
    if dwelling.owner_ids:
        return "owners:" + ",".join(str(i) for i in sorted(dwelling.owner_ids))
    return f"dwelling:{dwelling.dwelling_id}"


def group_persons(dwellings: Iterable[DwellingFacts]) -> Electorate:
    """Group dwellings into persons (pure; order of persons and dwellings is deterministic)."""
    grouped: dict[str, list[DwellingFacts]] = defaultdict(list)
    for dwelling in dwellings:
        grouped[voter_key(dwelling)].append(dwelling)
    persons = []
    for key, members in grouped.items():
        members.sort(key=lambda d: d.dwelling_id)
        persons.append(
            Person(
                key=key,
                dwelling_ids=tuple(d.dwelling_id for d in members),
                area=sum((d.area for d in members), Decimal("0.00")),
                owner_ids=members[0].owner_ids,
            )
        )
    persons.sort(key=lambda p: p.dwelling_ids[0])
    return Electorate(tuple(persons))


@dataclass(frozen=True)
class Scope:
    """A campaign's scope: the whole compound, or some buildings and/or some entrances."""

    compound_id: int
    building_ids: tuple[int, ...] = ()
    entrance_ids: tuple[int, ...] = ()

    @property
    def whole_compound(self) -> bool:
        return not self.building_ids and not self.entrance_ids


def check_scope(scope: Scope) -> None:
    """422 if a building or entrance of the scope is not in the compound."""
    if scope.building_ids:
        found = set(
            db.session.scalars(
                select(Building.id).where(
                    Building.compound_id == scope.compound_id,
                    Building.id.in_(scope.building_ids),
                )
            )
        )
        missing = sorted(set(scope.building_ids) - found)
        if missing:
            raise invalid(
                "scope_invalid", "所选楼栋不属于该小区", {"building_ids": [str(i) for i in missing]}
            )
    if scope.entrance_ids:
        found = set(
            db.session.scalars(
                select(Entrance.id)
                .join(Building, Entrance.building_id == Building.id)
                .where(
                    Building.compound_id == scope.compound_id,
                    Entrance.id.in_(scope.entrance_ids),
                )
            )
        )
        missing = sorted(set(scope.entrance_ids) - found)
        if missing:
            raise invalid(
                "scope_invalid", "所选单元不属于该小区", {"entrance_ids": [str(i) for i in missing]}
            )


def dwellings_in_scope(scope: Scope) -> list[DwellingFacts]:
    """Load the facts of every dwelling in ``scope`` with two queries."""
    stmt = select(
        Dwelling.id, Dwelling.area, Dwelling.status, Dwelling.building_id, Dwelling.entrance_id
    ).where(Dwelling.compound_id == scope.compound_id)
    if not scope.whole_compound:
        stmt = stmt.where(
            or_(
                Dwelling.building_id.in_(scope.building_ids),
                Dwelling.entrance_id.in_(scope.entrance_ids),
            )
        )
    rows = db.session.execute(stmt).all()
    owners: dict[int, set[int]] = defaultdict(set)
    ids = [row.id for row in rows]
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        for dwelling_id, owner_id in db.session.execute(
            select(Ownership.dwelling_id, Ownership.owner_id).where(
                Ownership.dwelling_id.in_(chunk)
            )
        ):
            owners[dwelling_id].add(owner_id)
    return [
        DwellingFacts(
            dwelling_id=row.id,
            area=row.area,
            developer=row.status is not DwellingStatus.SOLD,
            owner_ids=frozenset(owners.get(row.id, ())),
            building_id=row.building_id,
            entrance_id=row.entrance_id,
        )
        for row in rows
    ]


def electorate_for(scope: Scope) -> Electorate:
    check_scope(scope)
    return group_persons(dwellings_in_scope(scope))
