"""Elevator cost plans (加装电梯, Art. 283): shares to the fen summing exactly to the residents'
share, each owner's own share, validation, and the link to the compound-wide vote."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.errors import ApiError
from participation.common.money import NothingToShare, allocate
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.votes import costs
from participation.votes.models import Matter, Vote, VotePersonDwelling, VoteStatus
from participation.votes.services import open_vote

COEFFICIENTS = {"1": "0", "2": "0.5", "3": "0.8", "4": "1", "5": "1.2", "6": "1.4"}


# allocate: the pure rule ------------------------------------------------------------------


def test_hand_checked_example_by_area():
    """100000.00 − 40000.00 = 60000.00 over 59.80 + 91.36 + 59.80 = 210.96 m².

    Exact shares in fen: 6000000 × 59.80 / 210.96 = 1700796.3595…,
    6000000 × 91.36 / 210.96 = 2598407.2810…, and 1700796.3595… again.
    Whole fen: 1700796 + 2598407 + 1700796 = 5999999, one fen left; it goes to the largest
    remainder, .3595…, shared by dwellings 1 and 3: the smaller id, 1, gets it.
    """
    shares = allocate(
        Decimal("100000.00") - Decimal("40000.00"),
        {1: Decimal("59.80"), 2: Decimal("91.36"), 3: Decimal("59.80")},
    )
    assert shares == {1: Decimal("17007.97"), 2: Decimal("25984.07"), 3: Decimal("17007.96")}
    assert sum(shares.values()) == Decimal("60000.00")


def test_hand_checked_example_by_floor_coefficients():
    """Floors 1, 2, 3 with coefficients 0, 0.5, 1: weights 0, 45.68, 59.80 (sum 105.48).
    Exact: 0, 2598407.2810…, 3401592.7189… fen; the left-over fen goes to .7189…"""
    weights = {
        1: Decimal("0") * Decimal("59.80"),
        2: Decimal("0.5") * Decimal("91.36"),
        3: Decimal("1") * Decimal("59.80"),
    }
    shares = allocate(Decimal("60000.00"), weights)
    assert shares == {1: Decimal("0.00"), 2: Decimal("25984.07"), 3: Decimal("34015.93")}


def _check_allocation(amount: Decimal, weights: dict[int, Decimal]) -> None:
    shares = allocate(amount, weights)
    assert list(shares) == list(weights)
    assert sum(shares.values()) == amount
    total = sum(Fraction(w) for w in weights.values())
    fen = int(amount * 100)
    exact = {k: fen * Fraction(w) / total for k, w in weights.items()}
    got = {k: int(s * 100) for k, s in shares.items()}
    for key, share in shares.items():
        assert share == share.quantize(Decimal("0.01"))
        assert abs(got[key] - exact[key]) < 1
        if weights[key] == 0:
            assert share == Decimal("0.00")
    # the extra fen went to the largest remainders, ties to the smaller key
    rounded_up = [k for k in weights if got[k] > exact[k]]
    kept = [k for k in weights if got[k] < exact[k]]
    for up, down in itertools.product(rounded_up, kept):
        r_up, r_down = exact[up] - int(exact[up]), exact[down] - int(exact[down])
        assert r_up > r_down or (r_up == r_down and up < down)


def test_allocation_exhaustively_over_small_cases():
    values = [Decimal(v) for v in ("0", "0.5", "1.4", "59.80", "91.36")]
    amounts = [Decimal(f) / 100 for f in (*range(0, 8), 99, 101, 6000000, 10**12 - 1)]
    cases = 0
    for size in range(1, 5):
        for combo in itertools.product(values, repeat=size):
            if not any(combo):
                continue
            weights = {key: weight for key, weight in enumerate(combo, start=1)}
            for amount in amounts:
                _check_allocation(amount, weights)
                cases += 1
    assert cases > 9000


def test_allocation_on_random_buildings():
    rng = random.Random(283)
    for _ in range(100):
        size = rng.randint(1, 150)
        ids = rng.sample(range(1, 10**6), size)
        weights = {
            i: Decimal(rng.choice(["0", "0.5", "0.85", "1", "1.4"]))
            * Decimal(rng.randint(3000, 15000))
            / 100
            for i in ids
        }
        if not any(weights.values()):
            continue
        _check_allocation(Decimal(rng.randint(0, 10**10)) / 100, weights)


def test_equal_weights_tie_break_by_id():
    shares = allocate(Decimal("0.02"), {7: Decimal("1"), 3: Decimal("1"), 5: Decimal("1")})
    assert shares == {7: Decimal("0.00"), 3: Decimal("0.01"), 5: Decimal("0.01")}


@pytest.mark.parametrize(
    ("amount", "weights", "error"),
    [
        (Decimal("10.00"), {1: Decimal("0"), 2: Decimal("0.00")}, NothingToShare),
        (Decimal("10.00"), {}, NothingToShare),
        (Decimal("10.00"), {1: Decimal("-1"), 2: Decimal("2")}, ValueError),
        (Decimal("10.005"), {1: Decimal("1")}, ValueError),
        (Decimal("-0.01"), {1: Decimal("1")}, ValueError),
    ],
)
def test_allocation_refuses_what_cannot_be_split(amount, weights, error):
    with pytest.raises(error):
        allocate(amount, weights)


# Fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def staff(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


@pytest.fixture
def elevator(sample_compound, make_vote):
    """A draft elevator vote for building 2 of the sample roster (24 dwellings, 6 floors)."""
    return make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR)


def plan_url(vote: Vote, what: str = "cost-plan") -> str:
    return f"/api/v1/votes/{vote.id}/{what}"


def put_plan(client, vote, headers, **fields):
    body = {"total_cost": "1000000.00", "subsidy": "333333.33", "takes_common_parts": False}
    body.update(fields)
    return client.put(plan_url(vote), json=body, headers=headers)


def open_with_plan(vote: Vote) -> None:
    """Open as the opening path does: freeze, then the cost plan's checks."""
    open_vote(vote, confirm_unknown_owners=True)
    costs.check_before_opening(vote)
    _db.session.flush()


def exact_shares(vote: Vote, coefficients: dict | None) -> dict[int, Fraction]:
    rows = _db.session.execute(
        sa.select(
            VotePersonDwelling.dwelling_id, VotePersonDwelling.floor, VotePersonDwelling.area
        ).filter_by(vote_id=vote.id)
    ).all()
    weights = {
        r.dwelling_id: Fraction(r.area)
        * Fraction(coefficients[str(r.floor)] if coefficients else 1)
        for r in rows
    }
    total = sum(weights.values())
    return {k: Fraction(vote.residents_share) * w / total for k, w in weights.items()}


# The plan through the API -----------------------------------------------------------------


@pytest.mark.parametrize("coefficients", [None, COEFFICIENTS])
def test_shares_of_building_2_sum_exactly_to_the_residents_share(
    client, staff, elevator, coefficients
):
    response = put_plan(client, elevator, staff, floor_coefficients=coefficients)
    assert response.status_code == 200, response.json
    plan = response.json
    assert (plan["total_cost"], plan["subsidy"], plan["residents_share"]) == (
        "1000000.00",
        "333333.33",
        "666666.67",
    )
    assert plan["basis"] == ("area" if coefficients is None else "floor_coefficients")
    assert plan["floor_coefficients"] == coefficients
    # A draft: a preview from the current roster, the very shares that opening fixes.
    assert plan["preview"] is True
    preview = plan["shares"]

    open_with_plan(elevator)
    plan = client.get(plan_url(elevator), headers=staff).json
    assert plan["preview"] is False
    shares = plan["shares"]
    assert shares == preview
    assert len(shares) == 24  # every dwelling of building 2, the developer's three included
    assert sum(Decimal(s["share"]) for s in shares) == Decimal("666666.67")
    assert plan["shares_total"] == "666666.67"
    exact = exact_shares(elevator, coefficients)
    for share in shares:
        assert abs(Fraction(Decimal(share["share"])) - exact[share["dwelling_id"]]) < Fraction(
            1, 100
        )
    first = shares[0]
    assert (first["label"], first["floor"], first["area"]) == ("2栋1单元101", 1, "59.80")
    if coefficients:
        assert all(s["share"] == "0.00" for s in shares if s["floor"] == 1)
        assert {s["coefficient"] for s in shares if s["floor"] == 6} == {"1.4"}
    else:
        assert all(s["coefficient"] is None for s in shares)
    assert costs.shares_for_result(elevator) == [
        {k: s[k] for k in ("label", "floor", "area", "coefficient", "share")} for s in shares
    ]


def test_hand_checked_shares_on_three_dwellings(
    client, make_compound, make_dwelling, make_staff, make_vote, sign_in
):
    compound = make_compound()
    for room, floor, area in (("101", 1, "59.80"), ("201", 2, "91.36"), ("301", 3, "59.80")):
        owner = make_dwelling.owner(compound, "业主" + room)
        make_dwelling(compound, room=room, floor=floor, area=area, owners=[owner])
    vote = make_vote(compound, buildings=("1",), matter=Matter.ELEVATOR)
    headers = sign_in(make_staff(Role.COMPOUND, compound.id))
    response = put_plan(client, vote, headers, total_cost="100000.00", subsidy="40000.00")
    assert response.status_code == 200
    open_with_plan(vote)
    shares = client.get(plan_url(vote), headers=headers).json["shares"]
    assert [(s["label"], s["share"]) for s in shares] == [
        ("1栋1单元101", "17007.97"),
        ("1栋1单元201", "25984.07"),
        ("1栋1单元301", "17007.96"),
    ]


def test_a_vote_without_plan_answers_with_nulls(client, staff, elevator):
    plan = client.get(plan_url(elevator), headers=staff).json
    assert plan["total_cost"] is None and plan["shares"] is None and plan["basis"] is None
    assert costs.shares_for_result(elevator) == []


def test_plan_can_be_removed_while_draft(client, staff, elevator):
    assert put_plan(client, elevator, staff).status_code == 200
    assert client.delete(plan_url(elevator), headers=staff).status_code == 204
    _db.session.refresh(elevator)
    assert (elevator.total_cost, elevator.subsidy, elevator.takes_common_parts) == (
        None,
        None,
        False,
    )


# Each owner's own share -------------------------------------------------------------------


def test_residents_see_their_own_share_only(
    client, staff, elevator, sample_compound, owner_account, sign_in
):
    assert put_plan(client, elevator, staff, floor_coefficients=COEFFICIENTS).status_code == 200
    open_with_plan(elevator)
    staff_shares = {
        s["label"]: s for s in client.get(plan_url(elevator), headers=staff).json["shares"]
    }
    for label in ("2栋1单元601", "2栋2单元101"):
        account = owner_account(sample_compound, label)
        response = client.get(plan_url(elevator, "my-share"), headers=sign_in(account))
        assert response.status_code == 200, response.json
        body = response.json
        assert body["residents_share"] == "666666.67"
        assert "shares" not in body
        assert body["dwellings"] == [staff_shares[label]]

    outside = owner_account(sample_compound, "1栋1单元101")  # owner in the compound, not in 2栋
    body = client.get(plan_url(elevator, "my-share"), headers=sign_in(outside)).json
    assert body["dwellings"] == []


def test_owners_see_their_share_before_voting_starts(
    client, sample_compound, make_vote, make_staff, owner_account, sign_in
):
    vote = make_vote(
        sample_compound,
        buildings=("2",),
        matter=Matter.ELEVATOR,
        opens_at=utcnow() + timedelta(days=1),
        closes_in=timedelta(days=8),
    )
    staff = sign_in(make_staff(Role.COMPOUND, sample_compound.id))
    assert put_plan(client, vote, staff).status_code == 200
    resident = sign_in(owner_account(sample_compound, "2栋1单元601"))
    assert client.get(plan_url(vote, "my-share"), headers=resident).status_code == 404  # draft
    open_with_plan(vote)  # opened, but voting starts tomorrow
    body = client.get(plan_url(vote, "my-share"), headers=resident).json
    [dwelling] = body["dwellings"]
    assert dwelling["label"] == "2栋1单元601" and Decimal(dwelling["share"]) > 0


def test_my_share_is_for_residents_and_needs_a_plan(
    client, staff, sample_compound, make_vote, owner_account, sign_in
):
    vote = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, open=True)
    resident = sign_in(owner_account(sample_compound, "2栋1单元601"))
    response = client.get(plan_url(vote, "my-share"), headers=resident)
    assert response.status_code == 404 and response.json["code"] == "no_cost_plan"
    response = client.get(plan_url(vote, "my-share"), headers=staff)
    assert response.status_code == 403 and response.json["code"] == "resident_only"
    body = {"total_cost": "1.00", "subsidy": "0.00", "takes_common_parts": False}
    for method in ("get", "put", "delete"):
        response = getattr(client, method)(plan_url(vote), headers=resident, json=body)
        assert response.status_code == 403 and response.json["code"] == "staff_only"


# Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"subsidy": "1000000.01"}, 422, "subsidy_exceeds_total", "subsidy"),
        ({"total_cost": "-1.00"}, 422, "validation_error", "total_cost"),
        ({"subsidy": "abc"}, 422, "validation_error", "subsidy"),
        ({"takes_common_parts": None}, 422, "validation_error", "takes_common_parts"),
        ({"shares": []}, 422, "validation_error", "shares"),
        (
            {"floor_coefficients": {**COEFFICIENTS, "2": 0.5}},
            422,
            "floor_coefficients_invalid",
            "floor_coefficients",
        ),
        (
            {"floor_coefficients": {**COEFFICIENTS, "2": "-0.5"}},
            422,
            "floor_coefficients_invalid",
            "floor_coefficients",
        ),
        (
            {"floor_coefficients": {**COEFFICIENTS, "二": "1"}},
            422,
            "floor_coefficients_invalid",
            "floor_coefficients",
        ),
        (
            {"floor_coefficients": {**COEFFICIENTS, "9": "2"}},
            422,
            "floor_coefficients_invalid",
            "floor_coefficients",
        ),
        (
            {"floor_coefficients": {"1": "0", "2": "1"}},
            422,
            "floor_coefficients_invalid",
            "floor_coefficients",
        ),
        (
            {"floor_coefficients": dict.fromkeys(COEFFICIENTS, "0")},
            422,
            "no_cost_weights",
            "floor_coefficients",
        ),
        ({"common_parts_vote_id": 1}, 422, "common_parts_vote_invalid", "common_parts_vote_id"),
    ],
)
def test_bad_plans_are_refused_and_nothing_is_written(
    client, staff, elevator, fields, status, code, field
):
    assert put_plan(client, elevator, staff, total_cost="500.00", subsidy="0.00").status_code == 200
    response = put_plan(client, elevator, staff, **fields)
    assert response.status_code == status, response.json
    assert response.json["code"] == code
    assert field in response.json["errors"]
    assert response.json["message"]
    _db.session.expire_all()
    vote = _db.session.get(Vote, elevator.id)
    assert (vote.total_cost, vote.subsidy, vote.floor_coefficients) == (
        Decimal("500.00"),
        Decimal("0.00"),
        None,
    )


def test_floor_errors_name_the_floors(client, staff, elevator):
    response = put_plan(client, elevator, staff, floor_coefficients={"1": "0", "2": "1", "9": "2"})
    errors = response.json["errors"]["floor_coefficients"]
    assert set(errors) == {"3", "4", "5", "6", "9"}
    assert errors["9"] == ["该范围内没有 9 层"] and errors["3"] == ["缺少 3 层的系数"]


@pytest.mark.parametrize(
    ("buildings", "matter"),
    [(("2",), Matter.OTHER), (("2",), Matter.USE_MAINTENANCE_FUND), ((), Matter.REBUILD)],
)
def test_only_elevator_or_rebuild_votes_on_buildings_carry_a_plan(
    client, staff, sample_compound, make_vote, buildings, matter
):
    vote = make_vote(sample_compound, buildings=buildings, matter=matter)
    response = put_plan(client, vote, staff)
    assert (response.status_code, response.json["code"]) == (422, "cost_plan_not_allowed")
    assert _db.session.get(Vote, vote.id).total_cost is None


def test_rebuild_vote_on_an_entrance_may_carry_a_plan(client, staff, sample_compound, make_vote):
    entrance_id = _db.session.scalar(
        sa.text(
            "SELECT e.id FROM entrances e JOIN buildings b ON b.id = e.building_id "
            "WHERE b.compound_id = :c AND b.number = '2' AND e.number = '2'"
        ),
        {"c": sample_compound.id},
    )
    vote = make_vote(sample_compound, entrance_ids=[entrance_id], matter=Matter.REBUILD)
    assert put_plan(client, vote, staff, floor_coefficients=COEFFICIENTS).status_code == 200
    open_with_plan(vote)
    shares = client.get(plan_url(vote), headers=staff).json["shares"]
    assert len(shares) == 12 and all(s["label"].startswith("2栋2单元") for s in shares)
    assert sum(Decimal(s["share"]) for s in shares) == Decimal("666666.67")


def test_plan_is_fixed_once_opened(client, staff, elevator):
    assert put_plan(client, elevator, staff).status_code == 200
    open_with_plan(elevator)
    for response in (
        put_plan(client, elevator, staff, total_cost="1.00", subsidy="0.00"),
        client.delete(plan_url(elevator), headers=staff),
    ):
        assert (response.status_code, response.json["code"]) == (409, "vote_not_draft")
    assert _db.session.get(Vote, elevator.id).total_cost == Decimal("1000000.00")


def test_opening_checks_the_plan_against_the_frozen_electorate(
    client, staff, elevator, sample_compound, make_dwelling
):
    assert put_plan(client, elevator, staff, floor_coefficients=COEFFICIENTS).status_code == 200
    make_dwelling(sample_compound, building="2", entrance="1", room="701", floor=7, area="99.00")
    with pytest.raises(ApiError) as refused:
        open_with_plan(elevator)
    assert (refused.value.code, refused.value.error_code) == (409, "floor_coefficient_missing")
    assert "7 层" in refused.value.message


def test_opening_refuses_a_plan_on_a_vote_no_longer_elevator(client, staff, elevator):
    assert put_plan(client, elevator, staff).status_code == 200
    elevator.matter, elevator.rule = Matter.OTHER, Matter.OTHER.rule  # edited as a draft
    with pytest.raises(ApiError) as refused:
        open_with_plan(elevator)
    assert (refused.value.code, refused.value.error_code) == (409, "cost_plan_not_allowed")


# Taking common parts ----------------------------------------------------------------------


@pytest.fixture
def common_parts_vote(sample_compound, make_vote):
    """The compound-wide vote on using common parts (ordinary rule)."""
    return make_vote(sample_compound, matter=Matter.OTHER, title="占用共有部分加装电梯")


def test_common_parts_vote_is_linked_and_shown(
    client, staff, elevator, common_parts_vote, sample_compound, owner_account, sign_in
):
    response = put_plan(
        client, elevator, staff, takes_common_parts=True, common_parts_vote_id=common_parts_vote.id
    )
    assert response.status_code == 200, response.json
    linked = {
        "id": common_parts_vote.id,
        "title": "占用共有部分加装电梯",
        "status": "draft",
        "passed": None,
    }
    assert response.json["common_parts_vote"] == linked
    open_vote(common_parts_vote, confirm_unknown_owners=True)
    open_with_plan(elevator)
    resident = sign_in(owner_account(sample_compound, "2栋1单元601"))
    body = client.get(plan_url(elevator, "my-share"), headers=resident).json
    assert body["takes_common_parts"] is True
    assert body["common_parts_vote"] == {**linked, "status": "open"}


def test_opening_without_the_common_parts_vote_is_refused(client, staff, elevator):
    response = put_plan(client, elevator, staff, takes_common_parts=True)
    assert response.status_code == 200  # the compound-wide vote may be created later …
    with pytest.raises(ApiError) as refused:
        open_with_plan(elevator)  # … but it must be linked before opening
    assert (refused.value.code, refused.value.error_code) == (409, "common_parts_vote_missing")
    assert "共有部分" in refused.value.message


def test_opening_with_a_linked_vote_cancelled_since_is_refused(
    client, staff, elevator, common_parts_vote
):
    put_plan(
        client, elevator, staff, takes_common_parts=True, common_parts_vote_id=common_parts_vote.id
    )
    common_parts_vote.status = VoteStatus.CANCELLED
    with pytest.raises(ApiError) as refused:
        open_with_plan(elevator)
    assert (refused.value.code, refused.value.error_code) == (409, "common_parts_vote_invalid")


@pytest.mark.parametrize(
    "which", ["other_compound", "building_scoped", "wrong_matter", "cancelled", "itself"]
)
def test_link_must_be_a_compound_wide_common_parts_vote_of_the_same_compound(
    client, staff, elevator, sample_compound, make_compound, make_vote, which
):
    if which == "other_compound":
        linked = make_vote(make_compound(), matter=Matter.OTHER)
    elif which == "building_scoped":
        linked = make_vote(sample_compound, buildings=("2",), matter=Matter.OTHER)
    elif which == "wrong_matter":
        linked = make_vote(sample_compound, matter=Matter.PROPERTY_SERVICE)
    elif which == "cancelled":
        linked = make_vote(sample_compound, matter=Matter.OTHER, status=VoteStatus.CANCELLED)
    else:
        linked = elevator
    response = put_plan(
        client, elevator, staff, takes_common_parts=True, common_parts_vote_id=linked.id
    )
    assert response.status_code == 422
    assert response.json["code"] == "common_parts_vote_invalid"
    assert response.json["errors"]["common_parts_vote_id"]
    assert _db.session.get(Vote, elevator.id).common_parts_vote_id is None
