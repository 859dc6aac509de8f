"""Who counts as one person (DESIGN.md, Counting rules) — the pure rule and the roster-backed
scope, including the sample roster's expected figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from participation.roster.electorate import (
    DEVELOPER_KEY,
    DwellingFacts,
    Scope,
    electorate_for,
    group_persons,
    voter_key,
)
from participation.roster.models import DwellingStatus


def facts(dwelling_id, area="80.00", owners=(), developer=False):
    return DwellingFacts(dwelling_id, Decimal(area), developer, frozenset(owners))


def test_one_dwelling_one_owner_is_one_person():
    e = group_persons([facts(1, owners={10}), facts(2, owners={11})])
    assert (e.t_cnt, e.t_area) == (2, Decimal("160.00"))


def test_same_buyer_with_two_dwellings_is_one_person_with_both_areas():
    e = group_persons([facts(1, "68.45", {10}), facts(2, "91.36", {10})])
    assert e.t_cnt == 1
    assert e.t_area == Decimal("159.81")
    assert e.persons[0].dwelling_ids == (1, 2)


def test_co_owned_dwelling_is_one_person():
    e = group_persons([facts(1, owners={10, 11})])
    assert e.t_cnt == 1


def test_same_set_of_co_owners_across_dwellings_is_one_person():
    e = group_persons([facts(1, owners={10, 11}), facts(2, owners={11, 10})])
    assert e.t_cnt == 1


def test_different_sets_of_owners_are_different_persons():
    # A owns one dwelling alone and another with B: two different buyers.
    e = group_persons([facts(1, owners={10}), facts(2, owners={10, 11})])
    assert e.t_cnt == 2


def test_developer_dwellings_count_together_as_one_person():
    e = group_persons(
        [facts(1, "59.80", developer=True), facts(2, "91.36", developer=True), facts(3, owners={9})]
    )
    assert e.t_cnt == 2
    developer = next(p for p in e.persons if p.is_developer)
    assert developer.key == DEVELOPER_KEY
    assert developer.area == Decimal("151.16")


def test_sold_dwelling_with_unknown_owner_is_its_own_person_and_flagged():
    e = group_persons([facts(1), facts(2)])
    assert e.t_cnt == 2
    assert len(e.without_known_owner) == 2
    assert voter_key(facts(7)) == "dwelling:7"


def test_empty_scope():
    e = group_persons([])
    assert (e.t_cnt, e.t_area, e.dwelling_count) == (0, Decimal("0.00"), 0)


def test_areas_add_exactly_without_float_error():
    e = group_persons([facts(i, "0.10", owners={i}) for i in range(1, 31)])
    assert e.t_area == Decimal("3.00")


# Roster-backed -----------------------------------------------------------------------------


def _building_id(compound, number):
    from sqlalchemy import select

    from participation.extensions import db
    from participation.roster.models import Building

    return db.session.scalar(select(Building.id).filter_by(compound_id=compound.id, number=number))


def test_sample_whole_compound(sample_compound):
    e = electorate_for(Scope(sample_compound.id))
    assert (e.t_cnt, e.t_area, e.dwelling_count) == (45, Decimal("3622.29"), 48)


@pytest.mark.parametrize(
    ("number", "t_cnt", "t_area"), [("1", 24, "1808.15"), ("2", 22, "1814.14")]
)
def test_sample_per_building(sample_compound, number, t_cnt, t_area):
    e = electorate_for(
        Scope(sample_compound.id, building_ids=(_building_id(sample_compound, number),))
    )
    assert (e.t_cnt, e.t_area) == (t_cnt, Decimal(t_area))


def test_sample_entrance_scope(sample_compound):
    from sqlalchemy import select

    from participation.extensions import db
    from participation.roster.models import Entrance

    entrance_id = db.session.scalar(
        select(Entrance.id).filter_by(building_id=_building_id(sample_compound, "2"), number="2")
    )
    e = electorate_for(Scope(sample_compound.id, entrance_ids=(entrance_id,)))
    # 2栋2单元: 12 dwellings, three of them the developer's → 10 persons.
    assert e.t_cnt == 10
    assert e.dwelling_count == 12


def test_electorate_endpoint(client, sample_compound, make_staff, sign_in):
    from participation.auth.models import Role

    headers = sign_in(make_staff(Role.COMPOUND, sample_compound.id))
    body = client.get(f"/api/v1/compounds/{sample_compound.id}/electorate", headers=headers).json
    assert body["t_cnt"] == 45
    assert body["t_area"] == "3622.29"
    assert body["developer_dwellings"] == 3
    assert [(b["name"], b["t_cnt"], b["t_area"]) for b in body["by_building"]] == [
        ("1栋", 24, "1808.15"),
        ("2栋", 22, "1814.14"),
    ]
    b2 = _building_id(sample_compound, "2")
    body = client.get(
        f"/api/v1/compounds/{sample_compound.id}/electorate?building_ids={b2}", headers=headers
    ).json
    assert (body["t_cnt"], body["t_area"]) == (22, "1814.14")


def test_electorate_endpoint_rejects_a_building_of_another_compound(
    client, sample_compound, make_compound, make_dwelling, make_staff, sign_in
):
    from participation.auth.models import Role

    other = make_compound()
    foreign = make_dwelling(other, building="9")
    headers = sign_in(make_staff(Role.COMPOUND, sample_compound.id))
    response = client.get(
        f"/api/v1/compounds/{sample_compound.id}/electorate?building_ids={foreign.building_id}",
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json["code"] == "scope_invalid"


def test_developer_status_from_roster(db, make_compound, make_dwelling):
    compound = make_compound()
    owner = make_dwelling.owner(compound)
    make_dwelling(compound, room="101", owners=[owner])
    make_dwelling(compound, room="102", status=DwellingStatus.UNSOLD)
    make_dwelling(compound, room="103", status=DwellingStatus.UNDELIVERED)
    e = electorate_for(Scope(compound.id))
    assert e.t_cnt == 2
