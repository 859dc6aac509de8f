"""The tally: totals by headcount and area, the rule, the breakdown per building and entrance,
the non-voters, and what residents see."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.votes.models import (
    Channel,
    Choice,
    Matter,
    VoteEvent,
    VotePersonDwelling,
    VoteStatus,
)
from participation.votes.schemas import BuildingFiguresSchema
from participation.votes.services import record_cast
from participation.votes.tally import final_result
from participation.votes.tasks import CLOSED_NOTIFIED

AGREE, DISAGREE, ABSTAIN = Choice.AGREE, Choice.DISAGREE, Choice.ABSTAIN


def person_of(vote, label: str) -> int:
    return _db.session.scalar(
        sa.select(VotePersonDwelling.person_id).filter_by(vote_id=vote.id, label=label)
    )


def cast(vote, choices: dict[str, Choice]) -> None:
    for label, choice in choices.items():
        record_cast(vote.id, person_of(vote, label), choice, Channel.ONLINE)


def close(vote) -> None:
    vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()


def option(result: dict, choice: Choice) -> tuple[int, str]:
    (entry,) = [o for o in result["options"] if o["choice"] == choice.value]
    return entry["count"], entry["area"]


@pytest.fixture
def building_2(sample_compound, make_vote):
    """加装电梯 vote of 2栋: 22 persons, 1814.14 m² (2栋1单元 907.18, 2栋2单元 906.96)."""
    return make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, open=True)


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


# The whole 2栋1单元 agrees: 12 persons, 59.80 × 5 + 60.02 + 91.36 × 6 = 907.18 m².
ENTRANCE_1_AGREES = {f"2栋1单元{floor}0{room}": AGREE for floor in range(1, 7) for room in (1, 2)}


def test_hand_computed_building_2(client, building_2, committee):
    cast(building_2, ENTRANCE_1_AGREES)
    cast(
        building_2,
        {
            "2栋2单元101": DISAGREE,  # 59.80
            "2栋2单元102": DISAGREE,  # 91.36
            "2栋2单元201": ABSTAIN,  # 59.80
        },
    )
    response = client.get(f"/api/v1/votes/{building_2.id}/tally", headers=committee)
    assert response.status_code == 200, response.json
    tally = response.json
    # P = 15 persons, 907.18 + 151.16 + 59.80 = 1118.14 m²; Y = 12 persons, 907.18 m².
    assert (tally["t_cnt"], tally["t_area"]) == (22, "1814.14")
    assert (tally["p_cnt"], tally["p_area"]) == (15, "1118.14")
    assert (tally["y_cnt"], tally["y_area"]) == (12, "907.18")
    assert option(tally, AGREE) == (12, "907.18")
    assert option(tally, DISAGREE) == (2, "151.16")
    assert option(tally, ABSTAIN) == (1, "59.80")
    # Quorum: 3·15 = 45 ≥ 44 by count, but 3·1118.14 = 3354.42 < 3628.28 by area.
    # The least area that reaches it is ⌈2·181414 / 3⌉ = 120943 hundredths: 1209.43 m².
    assert tally["quorum_met"] is False
    assert tally["missing"]["participation"] == {"persons": 0, "area": "91.29"}
    # Approval: 4·12 = 48 ≥ 45 and 4·907.18 = 3628.72 ≥ 3354.42.
    assert (tally["approved"], tally["passed"]) == (True, False)
    assert tally["missing"]["agreement"] == {"persons": 0, "area": "91.29"}
    assert tally["participation"]["count"] == {
        "numerator": 15,
        "denominator": 22,
        "percent": "68.18",
    }
    assert tally["participation"]["area"] == {
        "numerator": "1118.14",
        "denominator": "1814.14",
        "percent": "61.63",
    }
    assert tally["agreement"]["count"]["percent"] == "80.00"
    assert tally["agreement"]["area"] == {
        "numerator": "907.18",
        "denominator": "1118.14",
        "percent": "81.13",
    }
    assert tally["status"] == "open" and tally["rule"] == "civil_code_major"

    # The developer (2栋2单元501, 601 and 602: 59.80 + 59.80 + 91.36 = 210.96 m²) agrees:
    # P = 16 persons, 1329.10 m² (3·1329.10 = 3987.30 ≥ 3628.28); Y = 13, 1118.14 m²
    # (4·1118.14 = 4472.56 ≥ 3·1329.10 = 3987.30): passes.
    cast(building_2, {"2栋2单元601": AGREE})
    tally = client.get(f"/api/v1/votes/{building_2.id}/tally", headers=committee).json
    assert (tally["p_cnt"], tally["p_area"], tally["y_cnt"], tally["y_area"]) == (
        16,
        "1329.10",
        13,
        "1118.14",
    )
    assert (tally["quorum_met"], tally["approved"], tally["passed"]) == (True, True, True)
    assert tally["missing"]["participation"] == {"persons": 0, "area": "0.00"}

    # Per entrance: 2栋1单元 all agree; 2栋2单元 10 persons (9 owners and the developer).
    (building,) = tally["buildings"]
    assert (building["name"], building["t_cnt"], building["t_area"]) == ("2栋", 22, "1814.14")
    first, second = building["entrances"]
    assert (first["name"], first["t_cnt"], first["p_cnt"], first["y_area"]) == (
        "2栋1单元",
        12,
        12,
        "907.18",
    )
    assert (second["name"], second["t_cnt"], second["t_area"]) == ("2栋2单元", 10, "906.96")
    assert (second["p_cnt"], second["p_area"], second["y_cnt"]) == (4, "421.92", 1)


def test_latest_cast_is_the_one_counted(building_2):
    cast(building_2, {"2栋1单元101": AGREE})
    cast(building_2, {"2栋1单元101": DISAGREE})
    result = final_result(building_2)
    assert option(result, AGREE) == (0, "0.00")
    assert option(result, DISAGREE) == (1, "59.80")


@pytest.fixture
def example_compound(db, make_compound, make_dwelling):
    """DESIGN.md's worked example: a building of 30 persons, 80.00 m² each (2,400.00 m²)."""
    compound = make_compound()
    for number in range(30):
        owner = make_dwelling.owner(compound, f"业主{number}")
        make_dwelling(compound, room=f"{number + 101}", area="80.00", owners=[owner])
    return compound


@pytest.fixture
def worked_example(example_compound, make_vote):
    return make_vote(example_compound, buildings=("1",), matter=Matter.ELEVATOR, open=True)


def _labels(first: int, count: int) -> list[str]:
    return [f"1栋1单元{number + 101}" for number in range(first, first + count)]


def test_exactly_two_thirds_and_exactly_three_quarters_pass(
    worked_example, example_compound, make_dwelling
):
    vote = worked_example
    # A dwelling added after opening does not move the frozen T.
    make_dwelling(example_compound, room="999", area="80.00")
    cast(vote, dict.fromkeys(_labels(0, 15), AGREE) | dict.fromkeys(_labels(15, 5), DISAGREE))
    result = final_result(vote)
    # 3·20 = 60 ≥ 2·30 and 3·1600 = 4800 ≥ 4800; 4·15 = 60 ≥ 3·20 and 4·1200 = 4800 ≥ 4800.
    assert (result["t_cnt"], result["t_area"]) == (30, "2400.00")
    assert (result["p_cnt"], result["p_area"], result["y_cnt"], result["y_area"]) == (
        20,
        "1600.00",
        15,
        "1200.00",
    )
    assert (result["quorum_met"], result["approved"], result["passed"]) == (True, True, True)
    assert result["participation"]["count"]["percent"] == "66.67"
    assert result["agreement"]["area"]["percent"] == "75.00"

    # One fewer agreeing person (now disagreeing) fails the approval: 4·14 = 56 < 60.
    cast(vote, {_labels(14, 1)[0]: DISAGREE})
    result = final_result(vote)
    assert (result["quorum_met"], result["approved"], result["passed"]) == (True, False, False)
    # k agreeing ballots of non-voters would need 4·(14 + k) ≥ 3·(20 + k): k ≥ 4, and
    # 4·(1120 + 80k) ≥ 3·(1600 + 80k): 320.00 m².
    assert result["missing"]["agreement"] == {"persons": 4, "area": "320.00"}


def test_one_short_of_two_thirds_fails_the_quorum(worked_example):
    cast(worked_example, dict.fromkeys(_labels(0, 19), AGREE))
    result = final_result(worked_example)
    assert (result["quorum_met"], result["approved"], result["passed"]) == (False, True, False)
    assert result["missing"]["participation"] == {"persons": 1, "area": "80.00"}


def test_abstaining_participates_and_non_voters_never_agree(
    worked_example, example_compound, make_vote
):
    cast(worked_example, dict.fromkeys(_labels(0, 30), ABSTAIN))
    result = final_result(worked_example)
    assert (result["p_cnt"], result["y_cnt"]) == (30, 0)
    assert (result["quorum_met"], result["approved"]) == (True, False)

    nobody = final_result(make_vote(example_compound, matter=Matter.ELEVATOR, open=True))
    assert (nobody["p_cnt"], nobody["y_cnt"], nobody["passed"]) == (0, 0, False)
    assert nobody["agreement"]["count"] == {"numerator": 0, "denominator": 0, "percent": None}


def test_a_buyer_with_dwellings_in_two_buildings_counts_in_both(
    client, sample_compound, make_vote, committee
):
    """徐丽华 owns 1栋2单元501 (68.45 m²) and 2栋1单元202 (91.36 m²): one person of the
    compound-wide vote, counted in each building with her area there."""
    vote = make_vote(sample_compound, open=True)
    assert person_of(vote, "1栋2单元501") == person_of(vote, "2栋1单元202")
    cast(vote, {"1栋2单元501": AGREE})
    tally = client.get(f"/api/v1/votes/{vote.id}/tally", headers=committee).json
    assert (tally["t_cnt"], tally["p_cnt"], tally["y_area"]) == (45, 1, "159.81")
    one, two = tally["buildings"]
    assert (one["name"], one["t_cnt"], one["t_area"]) == ("1栋", 24, "1808.15")
    assert (two["name"], two["t_cnt"], two["t_area"]) == ("2栋", 22, "1814.14")
    # 24 + 22 = 46 persons for 45: she counts in both; areas add up to T_area exactly.
    assert Decimal(one["t_area"]) + Decimal(two["t_area"]) == Decimal(tally["t_area"])
    assert (one["y_cnt"], one["y_area"], two["y_cnt"], two["y_area"]) == (1, "68.45", 1, "91.36")
    entrances = {e["name"]: e for b in tally["buildings"] for e in b["entrances"]}
    assert entrances["1栋2单元"]["p_cnt"] == entrances["2栋1单元"]["p_cnt"] == 1
    assert entrances["1栋1单元"]["p_cnt"] == entrances["2栋2单元"]["p_cnt"] == 0


def test_the_breakdown_is_sent_as_its_schema_would_dump_it(sample_compound, make_vote):
    """The tally's breakdown is sent as the service made it (``Prepared``, for speed): it
    must be exactly what dumping it through its documented schema gives."""
    vote = make_vote(sample_compound, open=True)
    cast(vote, {"1栋2单元501": AGREE, "1栋1单元101": DISAGREE, "2栋1单元101": ABSTAIN})
    buildings = final_result(vote)["buildings"]
    assert BuildingFiguresSchema(many=True).dump(buildings) == buildings
    assert {e["name"] for b in buildings for e in b["entrances"]} >= {"1栋2单元", "2栋1单元"}


def test_a_buyer_with_dwellings_in_two_entrances_counts_once_in_the_building(
    db, make_compound, make_dwelling, make_vote
):
    compound = make_compound()
    buyer = make_dwelling.owner(compound, "王五")
    make_dwelling(compound, entrance="1", room="101", area="60.00", owners=[buyer])
    make_dwelling(compound, entrance="2", room="101", area="70.00", owners=[buyer])
    make_dwelling(compound, entrance="2", room="102", area="80.00", owners=[buyer])
    other = make_dwelling.owner(compound, "赵六")
    make_dwelling(compound, entrance="2", room="201", area="90.00", owners=[other])
    vote = make_vote(compound, open=True)
    cast(vote, {"1栋2单元102": AGREE})
    (building,) = final_result(vote)["buildings"]
    assert (building["t_cnt"], building["t_area"], building["y_cnt"]) == (2, "300.00", 1)
    one, two = building["entrances"]
    assert (one["t_cnt"], one["y_cnt"], one["y_area"]) == (1, 1, "60.00")
    assert (two["t_cnt"], two["t_area"], two["y_cnt"], two["y_area"]) == (2, "240.00", 1, "150.00")


def test_tally_is_for_staff_and_needs_an_opened_vote(
    client, sample_compound, make_vote, owner_account, sign_in, committee
):
    vote = make_vote(sample_compound, open=True)
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    refused = client.get(f"/api/v1/votes/{vote.id}/tally", headers=resident)
    assert (refused.status_code, refused.json["code"]) == (403, "staff_only")
    draft = make_vote(sample_compound)
    response = client.get(f"/api/v1/votes/{draft.id}/tally", headers=committee)
    assert (response.status_code, response.json["code"]) == (409, "vote_not_opened")


# Non-voters ---------------------------------------------------------------------------------


def test_non_voters_list_rooms_and_contacts_by_role(
    client, sample_compound, building_2, committee, make_staff, sign_in
):
    cast(building_2, ENTRANCE_1_AGREES)
    cast(building_2, {"2栋2单元101": DISAGREE})
    url = f"/api/v1/votes/{building_2.id}/non-voters"
    response = client.get(url, headers=committee, query_string={"page_size": 100})
    assert response.status_code == 200, response.json
    # 22 persons, 13 have voted: 9 left, all in 2栋2单元, the developer among them.
    assert len(response.json) == 9
    assert '"total": 9' in response.headers["X-Pagination"]
    rooms = [room for item in response.json for room in item["rooms"]]
    assert all(room.startswith("2栋2单元") for room in rooms)
    assert "2栋2单元101" not in rooms
    by_room = {item["rooms"][0]: item for item in response.json}
    assert by_room["2栋2单元102"]["owners"] == [{"name": "郭海燕", "phone": "18777183417"}]
    assert by_room["2栋2单元102"]["area"] == "91.36"
    developer = by_room["2栋2单元501"]
    assert developer["developer"] is True and developer["owners"] == []
    assert developer["rooms"] == ["2栋2单元501", "2栋2单元601", "2栋2单元602"]
    assert developer["area"] == "210.96"

    # Community staff above the compound see the list masked.
    community = sign_in(make_staff(Role.COMMUNITY, sample_compound.community_id))
    masked = client.get(url, headers=community, query_string={"page_size": 100}).json
    masked_by_room = {item["rooms"][0]: item for item in masked}
    assert masked_by_room["2栋2单元102"]["owners"] == [{"name": "郭**", "phone": "187****3417"}]


def test_non_voters_filtered_by_building_and_entrance(
    client, sample_compound, make_vote, committee
):
    vote = make_vote(sample_compound, open=True)
    cast(vote, {"2栋1单元202": AGREE})  # 徐丽华: no longer a non-voter in either building
    url = f"/api/v1/votes/{vote.id}/non-voters"
    entrance_id = _db.session.scalar(
        sa.select(VotePersonDwelling.entrance_id).filter_by(vote_id=vote.id, label="1栋2单元501")
    )
    building_id = _db.session.scalar(
        sa.select(VotePersonDwelling.building_id).filter_by(vote_id=vote.id, label="1栋2单元501")
    )
    in_building = client.get(url, headers=committee, query_string={"building_id": building_id})
    assert '"total": 23' in in_building.headers["X-Pagination"]
    in_entrance = client.get(
        url, headers=committee, query_string={"entrance_id": entrance_id, "page_size": 50}
    ).json
    assert len(in_entrance) == 11
    assert all(item["rooms"][0].startswith("1栋2单元") for item in in_entrance)


# What residents see -------------------------------------------------------------------------


def test_residents_see_progress_without_the_split_until_closed(
    client, sample_compound, building_2, owner_account, sign_in
):
    resident = sign_in(owner_account(sample_compound, "2栋1单元101"))
    cast(building_2, {"2栋1单元101": AGREE, "2栋1单元102": DISAGREE})
    url = f"/api/v1/votes/{building_2.id}/progress"
    progress = client.get(url, headers=resident)
    assert progress.status_code == 200, progress.json
    body = progress.json
    assert (body["t_cnt"], body["p_cnt"], body["p_area"]) == (22, 2, "151.16")
    assert body["participation"]["count"] == {"numerator": 2, "denominator": 22, "percent": "9.09"}
    assert body["result"] is None
    text = progress.get_data(as_text=True)
    for secret in ("y_cnt", "y_area", "agree", "options", "approved", "passed"):
        assert secret not in text

    close(building_2)
    after = client.get(url, headers=resident).json
    assert after["status"] == "closed"
    assert (after["result"]["y_cnt"], after["result"]["p_cnt"]) == (1, 2)
    assert after["result"]["passed"] is False
    assert "buildings" not in after["result"]


def test_reading_a_vote_past_its_closing_time_closes_it_and_stores_the_result(
    client, building_2, committee
):
    cast(building_2, ENTRANCE_1_AGREES)
    close(building_2)
    response = client.get(f"/api/v1/votes/{building_2.id}/tally", headers=committee)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "closed"
    _db.session.refresh(building_2)
    assert building_2.status is VoteStatus.CLOSED
    stored = building_2.result
    assert (stored["p_cnt"], stored["y_area"], stored["passed"]) == (12, "907.18", False)
    # The closing side effects ran (inline without Redis): the electorate was told.
    notified = _db.session.scalar(
        sa.select(sa.func.count()).where(
            VoteEvent.vote_id == building_2.id, VoteEvent.kind == CLOSED_NOTIFIED
        )
    )
    assert notified == 1
    assert stored["buildings"][0]["entrances"][0]["y_cnt"] == 12
    # Later reads return the stored result.
    again = client.get(f"/api/v1/votes/{building_2.id}/tally", headers=committee).json
    assert again["computed_at"] == stored["computed_at"]
