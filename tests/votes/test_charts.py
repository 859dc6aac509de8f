"""The chart of a vote's result: drawn from the tally on the sample roster (the whole compound
with its two buildings; an elevator vote of one building with two entrances), from a stored
result, 暂无数据 before any ballot; 409 for a draft, 404 outside the scope, 403 for residents.

``CHARTS_OUT=/tmp/charts`` writes every chart drawn here to that folder, to look at them."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
import sqlalchemy as sa
from PIL import Image, ImageChops

from participation.auth.models import Role
from participation.common import charts as drawing
from participation.common import fonts
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.votes import charts
from participation.votes.models import Channel, Choice, Matter, VotePersonDwelling
from participation.votes.services import close_if_due, record_cast

URL = "/api/v1/votes/{}/charts/result.png"


def picture(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.size[0] == drawing.WIDTH
    return image.convert("RGB")


def pixels_of(image: Image.Image, colour: str) -> int:
    rgb = Image.new("RGB", (1, 1), colour).getpixel((0, 0))
    return sum(n for n, value in image.getcolors(1 << 20) if value == rgb)


def says_no_data(draw) -> bool:
    with_words = picture(draw())
    original = drawing.NO_DATA
    drawing.NO_DATA = ""
    try:
        without = picture(draw())
    finally:
        drawing.NO_DATA = original
    box = ImageChops.difference(with_words, without).getbbox()
    words = fonts.font(drawing.TITLE_SIZE, bold=True).getbbox("暂无数据")
    return box is not None and abs((box[2] - box[0]) - (words[2] - words[0])) <= 2


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


def cast(vote, choices: dict[str, Choice]) -> None:
    for label, choice in choices.items():
        person_id = _db.session.scalar(
            sa.select(VotePersonDwelling.person_id).filter_by(vote_id=vote.id, label=label)
        )
        record_cast(vote.id, person_id, choice, Channel.ONLINE)


def rooms(building: str, entrance: str) -> list[str]:
    return [f"{building}栋{entrance}单元{floor}0{room}" for floor in range(1, 7) for room in (1, 2)]


@pytest.fixture
def compound_vote(sample_compound, make_vote):
    """A compound-wide vote on using the maintenance fund (过半数 of those who vote)."""
    vote = make_vote(
        sample_compound,
        matter=Matter.USE_MAINTENANCE_FUND,
        open=True,
        title="关于使用住宅专项维修资金维修屋面的表决",
    )
    choices = dict.fromkeys(rooms("1", "1") + rooms("2", "1")[:8], Choice.AGREE)
    choices |= dict.fromkeys(rooms("1", "2")[:4], Choice.DISAGREE)
    choices |= dict.fromkeys(rooms("1", "2")[4:7], Choice.ABSTAIN)
    cast(vote, choices)
    return vote


def test_vote_chart(client, compound_vote, committee, keep_png):
    response = client.get(URL.format(compound_vote.id), headers=committee)
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = picture(keep_png("vote", response.data))
    assert 900 < image.size[1] < 1600 and len(response.data) < 120_000
    for colour in (drawing.BLUE, drawing.VERMILLION, drawing.ORANGE, drawing.GREY):
        assert pixels_of(image, colour) > 0, colour  # 同意, 不同意, 弃权, 未投票

    tally = client.get(f"/api/v1/votes/{compound_vote.id}/tally", headers=committee).json
    assert [b["name"] for b in tally["buildings"]] == ["1栋", "2栋"]
    whole_only = picture(charts.vote_chart({**tally, "buildings": []}))
    assert image.size[1] - whole_only.size[1] > 150  # the per-building panel


def test_the_whole_scope_bars_are_the_shares_of_the_electorate(client, compound_vote, committee):
    tally = client.get(f"/api/v1/votes/{compound_vote.id}/tally", headers=committee).json
    count = charts._whole(tally, "cnt", "按人数", str)
    assert [value for _, value in count.segments] == [
        Fraction(20, 45),
        Fraction(4, 45),
        Fraction(3, 45),
        Fraction(18, 45),
    ]
    assert [style.label for style, _ in count.segments] == ["同意", "不同意", "弃权", "未投票"]
    by_area = charts._whole(tally, "area", "按面积", str)
    t_area = Fraction(Decimal(tally["t_area"]))
    agree = next(o for o in tally["options"] if o["choice"] == "agree")
    assert by_area.segments[0][1] == Fraction(Decimal(agree["area"])) / t_area
    assert sum(value for _, value in by_area.segments) == 1
    assert (
        count.text == "参与 60.00%" and "同意 20 · 不同意 4 · 弃权 3 · 未投票 18" in count.caption
    )


def test_an_elevator_vote_is_drawn_per_entrance(
    client, sample_compound, make_vote, committee, keep_png
):
    vote = make_vote(
        sample_compound, buildings=("2",), matter=Matter.ELEVATOR, open=True, title="2栋加装电梯"
    )
    cast(vote, dict.fromkeys(rooms("2", "1"), Choice.AGREE) | {"2栋2单元101": Choice.DISAGREE})
    tally = client.get(f"/api/v1/votes/{vote.id}/tally", headers=committee).json
    assert len(tally["buildings"]) == 1 and len(tally["buildings"][0]["entrances"]) == 2
    png = keep_png("vote-elevator", client.get(URL.format(vote.id), headers=committee).data)
    single = picture(charts.vote_chart(tally, title=vote.title))
    assert picture(png).size == single.size  # the entrances, not one building again
    no_entrances = {**tally["buildings"][0], "entrances": tally["buildings"][0]["entrances"][:1]}
    assert picture(charts.vote_chart({**tally, "buildings": [no_entrances]}, vote.title)).size[
        1
    ] < (single.size[1] - 150)


def test_vote_chart_of_a_stored_result(compound_vote, keep_png):
    compound_vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    assert close_if_due(compound_vote)
    stored = json.loads(json.dumps(compound_vote.result))  # as a published notice holds it
    png = keep_png("vote-stored", charts.vote_chart(stored, title=compound_vote.title))
    assert charts.vote_chart(stored, title=compound_vote.title) == png  # deterministic
    assert pixels_of(picture(png), drawing.BLUE) > 0


def test_vote_chart_before_any_ballot_says_no_data(
    client, sample_compound, make_vote, committee, keep_png
):
    vote = make_vote(sample_compound, open=True, title="尚未投票的表决")
    png = keep_png("vote-no-data", client.get(URL.format(vote.id), headers=committee).data)
    assert pixels_of(picture(png), drawing.BLUE) == 0
    tally = client.get(f"/api/v1/votes/{vote.id}/tally", headers=committee).json
    assert says_no_data(lambda: charts.vote_chart(tally))


def test_vote_chart_refusals(
    client,
    sample_compound,
    make_vote,
    compound_vote,
    committee,
    make_compound,
    make_staff,
    owner_account,
    sign_in,
):
    draft = make_vote(sample_compound)
    response = client.get(URL.format(draft.id), headers=committee)
    assert (response.status_code, response.json["code"]) == (409, "vote_not_opened")
    neighbour = make_compound("邻近小区", community=sample_compound.community)
    url = URL.format(compound_vote.id)
    response = client.get(url, headers=sign_in(make_staff(Role.COMPOUND, neighbour.id)))
    assert (response.status_code, response.json["code"]) == (404, "not_found")
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    assert client.get(url, headers=resident).status_code == 403
    missing = client.get("/api/v1/votes/999999/charts/result.png", headers=committee)
    assert missing.status_code == 404
