"""Buildings and entrances keep the names the roster writes ("5号楼" stays "5号楼" in the API,
the tallies and the frozen electorate), while the key still matches every spelling ("5栋",
"5号楼", "5"): in a re-import, a claim, an Open311 request."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.errors import ApiError
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building, Dwelling, Entrance
from participation.roster.services import natural_key
from participation.votes import paper
from participation.votes.models import Channel, Choice, Matter, Vote, VotePersonDwelling
from participation.votes.services import open_vote, record_cast

HAO_LOU = (Path(__file__).parents[1] / "data" / "roster-hao-lou.csv").read_bytes()
HAO_LOU_ROWS = list(csv.reader(io.StringIO(HAO_LOU.decode("utf-8"))))


def respelled(building: str) -> bytes:
    """The fixture roster with building 5 written ``building`` in every row."""
    rows = [HAO_LOU_ROWS[0]] + [
        [building, *row[1:]] if row[0] == "5号楼" else row for row in HAO_LOU_ROWS[1:]
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(client, compound, content: bytes, headers, **form):
    return client.post(
        f"/api/v1/compounds/{compound.id}/roster-imports",
        data={"file": (io.BytesIO(content), "roster.csv"), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


@pytest.fixture
def compound(make_compound):
    return make_compound("名称小区")


@pytest.fixture
def committee(compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, compound.id))


@pytest.fixture
def imported(client, compound, committee):
    response = upload(client, compound, HAO_LOU, committee)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "done"
    assert response.json["report"]["renamed"] == []
    return compound


def buildings(client, compound, headers) -> list[dict]:
    response = client.get(f"/api/v1/compounds/{compound.id}/buildings", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def labels(client, compound, headers) -> list[str]:
    response = client.get(
        f"/api/v1/compounds/{compound.id}/dwellings",
        headers=headers,
        query_string={"page_size": 100},
    )
    assert response.status_code == 200, response.json
    return [dwelling["label"] for dwelling in response.json]


def counts() -> tuple[int, int]:
    return (
        _db.session.scalar(sa.select(sa.func.count(Building.id))),
        _db.session.scalar(sa.select(sa.func.count(Entrance.id))),
    )


def building_5() -> Building:
    return _db.session.scalar(sa.select(Building).filter_by(number="5"))


# The names as written ------------------------------------------------------------------------


def test_the_api_shows_the_names_the_roster_writes(client, imported, committee):
    """ "5号楼" and "12号楼" stay, "1栋" stays, a bare "3" is "3栋", a bare entrance "1" is
    "1单元"; buildings in natural order of their numbers whatever the suffix."""
    places = buildings(client, imported, committee)
    assert [b["name"] for b in places] == ["1栋", "3栋", "5号楼", "12号楼"]
    assert [e["name"] for e in places[2]["entrances"]] == ["1单元", "2单元"]
    assert [e["name"] for e in places[1]["entrances"]] == ["1单元"]
    assert [e["name"] for e in places[3]["entrances"]] == [""]
    assert set(labels(client, imported, committee)) == {
        "5号楼1单元101", "5号楼1单元102", "5号楼2单元101", "5号楼2单元102",
        "1栋1单元101", "3栋1单元101", "12号楼101",
    }  # fmt: skip
    assert building_5().number == "5"  # the key


def test_electorate_summary_and_public_compound_use_the_names(client, imported, committee):
    response = client.get(f"/api/v1/compounds/{imported.id}/electorate", headers=committee)
    assert response.status_code == 200, response.json
    assert [b["name"] for b in response.json["by_building"]] == ["1栋", "3栋", "5号楼", "12号楼"]


def test_natural_order():
    names = ["12号楼", "综合楼", "2号楼", "10栋", "1栋"]
    assert sorted(names, key=natural_key) == ["1栋", "2号楼", "10栋", "12号楼", "综合楼"]
    assert sorted(["10", "2", "", "1"], key=natural_key) == ["", "1", "2", "10"]


# Re-imports ------------------------------------------------------------------------------------


def test_a_reimport_spelled_5栋_renames_the_building_and_says_so(client, imported, committee):
    before = counts()
    dwelling_ids = set(_db.session.scalars(sa.select(Dwelling.id)))

    preview = upload(client, imported, respelled("5栋"), committee, dry_run="true")
    assert preview.status_code == 200, preview.json
    report = preview.json["report"]
    assert report["renamed"] == ["5号楼 → 5栋"]
    assert "改名 1 处：5号楼 → 5栋" in report["message"]
    assert report["message"].startswith("试导入，未写入任何数据")
    assert report["summary"]["dwellings_created"] == 0
    _db.session.expire_all()
    assert building_5().name == "5号楼"  # the dry run wrote nothing

    response = upload(client, imported, respelled("5栋"), committee)
    assert response.status_code == 200, response.json
    report = response.json["report"]
    assert report["renamed"] == ["5号楼 → 5栋"]
    assert report["message"].startswith("导入完成")
    assert (report["summary"]["dwellings_created"], report["summary"]["dwellings_unchanged"]) == (
        0,
        7,
    )
    assert counts() == before  # the same building, not a new one
    assert set(_db.session.scalars(sa.select(Dwelling.id))) == dwelling_ids
    assert [b["name"] for b in buildings(client, imported, committee)][2] == "5栋"
    assert "5栋1单元101" in labels(client, imported, committee)

    # And back: "5号楼" again renames it back.
    again = upload(client, imported, HAO_LOU, committee)
    assert again.json["report"]["renamed"] == ["5栋 → 5号楼"]
    assert "5号楼1单元101" in labels(client, imported, committee)


def test_a_bare_number_keeps_the_stored_name(client, imported, committee):
    """ "5" names nothing: the building stays "5号楼" (a new building "5" would be "5栋")."""
    response = upload(client, imported, respelled("5"), committee)
    assert response.status_code == 200, response.json
    assert response.json["report"]["renamed"] == []
    assert "没有变化" in response.json["report"]["message"]
    assert building_5().name == "5号楼"


def test_an_entrance_spelled_differently_is_renamed(client, imported, committee):
    rows = [
        [*row[:1], "01单元", *row[2:]] if row[:2] == ["5号楼", "1单元"] else row
        for row in HAO_LOU_ROWS
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = upload(client, imported, out.getvalue().encode(), committee)
    assert response.status_code == 200, response.json
    assert response.json["report"]["renamed"] == ["5号楼1单元 → 5号楼01单元"]
    assert "5号楼01单元101" in labels(client, imported, committee)


def test_the_first_spelling_in_a_file_names_a_new_building(client, compound, committee):
    """Rows of one building spelled "7号楼", "7" and "7栋": one building, named by the first
    row that spells it out."""
    spellings = ("7", "7号楼", "7栋")
    rows = [HAO_LOU_ROWS[0]] + [
        [spelling, *row[1:]] for spelling, row in zip(spellings, HAO_LOU_ROWS[1:4], strict=True)
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = upload(client, compound, out.getvalue().encode(), committee)
    assert response.status_code == 200, response.json
    assert [b["name"] for b in buildings(client, compound, committee)] == ["7号楼"]


def test_a_name_too_long_is_a_row_problem_and_nothing_is_written(client, compound, committee):
    rows = [HAO_LOU_ROWS[0], ["0" * 31 + "5栋", *HAO_LOU_ROWS[1][1:]]]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = upload(client, compound, out.getvalue().encode(), committee)
    assert response.status_code == 422, response.json
    assert response.json["errors"]["rows"] == [
        {"line": 2, "column": "楼栋", "problem": "楼栋名称过长"}
    ]
    assert counts() == (0, 0)


def test_staff_of_another_compound_get_404(client, imported, make_compound, make_staff, sign_in):
    neighbour = sign_in(make_staff(Role.COMPOUND, make_compound("邻居小区").id))
    response = client.get(f"/api/v1/compounds/{imported.id}/buildings", headers=neighbour)
    assert response.status_code == 404
    assert upload(client, imported, respelled("5栋"), neighbour).status_code == 404
    assert building_5().name == "5号楼"


# Votes: the tally and the frozen electorate ---------------------------------------------------


@pytest.fixture
def vote_5(imported, make_staff) -> Vote:
    """加装电梯 of 5号楼, open: four persons."""
    now = utcnow()
    vote = Vote(
        compound_id=imported.id,
        title="5号楼加装电梯",
        matter=Matter.ELEVATOR,
        rule=Matter.ELEVATOR.rule,
        building_ids=[building_5().id],
        entrance_ids=[],
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=7),
        created_by_id=make_staff(Role.COMPOUND, imported.id).id,
        no_cost_plan=True,
        no_cost_plan_reason="只看楼栋名称",
    )
    _db.session.add(vote)
    _db.session.flush()
    open_vote(vote, confirm_unknown_owners=True)
    _db.session.flush()
    return vote


def test_the_tally_and_the_non_voters_show_5号楼(client, vote_5, committee):
    voter = _db.session.scalar(
        sa.select(VotePersonDwelling.person_id).filter_by(vote_id=vote_5.id, label="5号楼1单元101")
    )
    assert voter is not None
    record_cast(vote_5.id, voter, Choice.AGREE, Channel.ONLINE)

    tally = client.get(f"/api/v1/votes/{vote_5.id}/tally", headers=committee)
    assert tally.status_code == 200, tally.json
    (place,) = tally.json["buildings"]
    assert place["name"] == "5号楼"
    assert [e["name"] for e in place["entrances"]] == ["5号楼1单元", "5号楼2单元"]

    url = f"/api/v1/votes/{vote_5.id}/non-voters"
    response = client.get(url, headers=committee, query_string={"page_size": 100})
    assert response.status_code == 200, response.json
    rooms = sorted(room for item in response.json for room in item["rooms"])
    assert rooms == ["5号楼1单元102", "5号楼2单元101", "5号楼2单元102"]


def test_the_frozen_labels_keep_the_name_at_opening(client, imported, vote_5, committee):
    """A rename after the vote opened shows in the live breakdown, not in the frozen rooms."""
    response = upload(client, imported, respelled("5栋"), committee)
    assert response.status_code == 200, response.json
    url = f"/api/v1/votes/{vote_5.id}/non-voters"
    rooms = {
        room
        for item in client.get(url, headers=committee, query_string={"page_size": 100}).json
        for room in item["rooms"]
    }
    assert "5号楼1单元101" in rooms
    tally = client.get(f"/api/v1/votes/{vote_5.id}/tally", headers=committee).json
    assert tally["buildings"][0]["name"] == "5栋"


@pytest.mark.parametrize(
    "typed", ["5号楼1单元101", "5栋1单元101", "5 1单元 101", "05号楼01单元101"]
)
def test_a_paper_ballot_finds_the_room_however_it_is_typed(vote_5, typed):
    frozen = _db.session.scalar(
        sa.select(VotePersonDwelling.person_id).filter_by(vote_id=vote_5.id, label="5号楼1单元101")
    )
    assert paper.find_person(vote_5, dwelling=typed).id == frozen


@pytest.mark.parametrize("typed", ["6栋1单元101", "5号楼3单元101", "5号楼1单元103", "101"])
def test_a_paper_ballot_for_a_room_not_in_the_vote_is_422(vote_5, typed):
    with pytest.raises(ApiError) as refused:
        paper.find_person(vote_5, dwelling=typed)
    assert (refused.value.code, refused.value.error_code) == (422, "unknown_dwelling")


# Typed places: claims --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("building", "entrance"),
    [("5栋", "1单元"), ("5号楼", "1单元"), ("5", "1"), ("05号楼", "01单元"), ("５栋", "1")],
)
def test_a_claim_finds_the_dwelling_however_the_building_is_typed(
    client, imported, make_account, sign_in, building, entrance
):
    resident = sign_in(make_account("13712345678"))
    response = client.post(
        "/api/v1/me/claims",
        json={
            "compound_id": imported.id,
            "building": building,
            "entrance": entrance,
            "room": "101",
            "name": "吴敏",
            "kind": "tenant",
        },
        headers=resident,
    )
    assert response.status_code == 201, response.json
    assert response.json["dwelling_label"] == "5号楼1单元101"
