"""Exports for the archive: the tally and the ballot register as .xlsx, read back."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from participation.auth.models import Role
from participation.common.schemas import SHANGHAI
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.votes.models import Ballot, Channel, Choice, Matter, VotePersonDwelling
from participation.votes.services import record_cast


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


def person_of(vote, label: str) -> int:
    return _db.session.scalar(
        sa.select(VotePersonDwelling.person_id).filter_by(vote_id=vote.id, label=label)
    )


@pytest.fixture
def vote(sample_compound, make_vote, make_staff):
    """A 2栋 vote: 2栋1单元101 cast twice online; 2栋1单元102 online then on paper; the
    developer abstained by proxy."""
    vote = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, open=True)
    staff = make_staff(Role.COMPOUND, sample_compound.id)
    for label, choice, channel in (
        ("2栋1单元101", Choice.DISAGREE, Channel.ONLINE),
        ("2栋1单元101", Choice.AGREE, Channel.ONLINE),
        ("2栋1单元102", Choice.AGREE, Channel.ONLINE),
        ("2栋1单元102", Choice.DISAGREE, Channel.PAPER),
        ("2栋2单元501", Choice.ABSTAIN, Channel.PROXY),
    ):
        staff_id = staff.id if channel is Channel.PAPER else None
        record_cast(vote.id, person_of(vote, label), choice, channel, staff_id=staff_id)
    return vote


def download(client, vote, name: str, headers: dict):
    response = client.get(f"/api/v1/votes/{vote.id}/exports/{name}", headers=headers)
    assert response.status_code == 200, response.json
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return response, load_workbook(io.BytesIO(response.data))


def rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def test_register_lists_every_person_masked(client, vote, committee):
    response, workbook = download(client, vote, "register.xlsx", committee)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote(f"vote-{vote.id}-register-表决{vote.id}投票登记册.xlsx") in (
        disposition
    )
    sheet = workbook["投票登记册"]
    header, *persons = rows(sheet)
    assert header == (
        "序号",
        "房号",
        "业主（已脱敏）",
        "面积（m²）",
        "计票选择",
        "投票方式",
        "投票时间（北京时间）",
        "含纸质票",
        "含委托投票",
        "投票次数",
    )
    assert len(persons) == 22
    by_room = {row[1]: row for row in persons}
    first = by_room["2栋1单元101"]
    assert first[2:4] == ("吴**", 59.8)
    assert first[4:6] == ("同意", "线上") and first[7:] == ("否", "否", 2)
    ballot = _db.session.get(Ballot, (vote.id, person_of(vote, "2栋1单元101")))
    assert first[6] == ballot.cast_at.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
    assert by_room["2栋1单元102"][4:] == (
        "不同意",
        "纸质票",
        by_room["2栋1单元102"][6],
        "是",
        "否",
        2,
    )
    developer = by_room["2栋2单元501、2栋2单元601、2栋2单元602"]
    assert developer[2:6] == ("开发建设单位", 210.96, "弃权", "委托")
    assert developer[8:] == ("是", 1)
    assert by_room["2栋2单元102"][4:] == ("未投票", None, None, "否", "否", 0)
    text = " ".join(str(cell) for row in persons for cell in row)
    assert "张淑珍" not in text and "13931417058" not in text


def test_tally_workbook_has_totals_outcome_and_buildings(client, vote, committee):
    vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    response, workbook = download(client, vote, "tally.xlsx", committee)
    assert quote("计票结果") in response.headers["Content-Disposition"]
    summary = {row[0]: row[1:] for row in rows(workbook["表决结果"]) if row[0]}
    assert summary["表决事项"][0] == "测试表决"
    assert summary["表决范围"][0] == "2栋"
    assert summary["统计口径"][0] == "截止时的最终计票"
    # Areas are numbers with two decimals, as written (Decimal → "1814.14" in the file).
    assert summary["业主总数"][:2] == (22, 1814.14)
    assert summary["参与表决"][0] == 3
    assert summary["同意"][:2] == (1, 59.8)
    assert summary["未参与表决"][0] == 19
    assert summary["参与率（参与/总数）"][:2] == ("3/22", 13.64)
    assert summary["表决结果"][0] == "未通过"
    assert summary["还需参与"][0].startswith("12 人 / ")

    header, *places = rows(workbook["分楼栋统计"])
    assert header[:3] == ("楼栋/单元", "业主数", "总面积（m²）")
    assert [(p[0], p[1]) for p in places] == [("2栋", 22), ("2栋1单元", 12), ("2栋2单元", 10)]


def test_exports_are_for_staff_of_an_opened_vote(
    client, sample_compound, vote, make_vote, owner_account, sign_in, committee
):
    resident = sign_in(owner_account(sample_compound, "2栋1单元101"))
    for name in ("tally.xlsx", "register.xlsx"):
        response = client.get(f"/api/v1/votes/{vote.id}/exports/{name}", headers=resident)
        assert (response.status_code, response.json["code"]) == (403, "staff_only")
        draft = make_vote(sample_compound)
        response = client.get(f"/api/v1/votes/{draft.id}/exports/{name}", headers=committee)
        assert (response.status_code, response.json["code"]) == (409, "vote_not_opened")
