"""A survey's door-to-door sheet (入户发动): the households not yet answered for, by
entrance, with each entrance's progress; as JSON and as a printable workbook."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from participation.auth.models import Role
from participation.auth.sms import TestSender
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.surveys.models import (
    Answer,
    QuestionType,
    RespondentBasis,
    Response,
    SurveyKind,
    SurveyPersonOwner,
)


def answer(survey, owner) -> None:
    person_id = _db.session.scalar(
        sa.select(SurveyPersonOwner.person_id).filter_by(survey_id=survey.id, owner_id=owner.id)
    )
    [question] = survey.questions
    response = Response(
        survey_id=survey.id,
        respondent_key=f"person:{person_id}",
        person_id=person_id,
        submitted_at=utcnow(),
    )
    response.answers = [Answer(question_id=question.id, option_id=question.options[1].id)]
    _db.session.add(response)
    _db.session.flush()


@pytest.fixture
def estate(make_compound, make_dwelling, make_survey, consent_question, make_staff, sign_in):
    """10栋 and 2栋: 2栋1单元 has 101 (co-owned), 102 (answered) and 201; 2栋2单元 has 101
    (answered); 10栋1单元 has 101. The buyer of 2栋2单元301 also owns 10栋1单元102 (one person
    in two entrances), and has not answered."""
    compound = make_compound("和平小区")
    owner = make_dwelling.owner
    wife, husband = owner(compound, "王芳", "13900000001"), owner(compound, "李强", "13900000002")
    answers, upstairs = owner(compound, "吴刚", "13900000003"), owner(compound, "赵敏")
    answered, tower = owner(compound, "钱进", "13900000005"), owner(compound, "郑华", "13900000006")
    both = owner(compound, "欧阳娜娜", "13900000007")
    make_dwelling(compound, "10", "1", "101", area="90.00", owners=[tower])
    make_dwelling(compound, "2", "1", "201", area="70.00", floor=2, owners=[upstairs])
    make_dwelling(compound, "2", "1", "102", area="60.00", owners=[answers])
    make_dwelling(compound, "2", "1", "101", area="80.50", owners=[wife, husband])
    make_dwelling(compound, "2", "2", "101", area="75.00", owners=[answered])
    make_dwelling(compound, "2", "2", "301", area="50.00", floor=3, owners=[both])
    make_dwelling(compound, "10", "1", "102", area="40.00", owners=[both])
    survey = make_survey(compound, SurveyKind.CONSENT, [consent_question], open=True)
    answer(survey, answers)  # disagreeing is taking part
    answer(survey, answered)
    staff = make_staff(Role.COMPOUND, compound.id)
    return compound, survey, sign_in(staff)


def sheet_url(survey) -> str:
    return f"/api/v1/surveys/{survey.id}/door-to-door"


PROGRESS = ("t_cnt", "t_area", "answered_cnt", "answered_area", "missing_cnt", "missing_area")


def test_households_to_visit_by_entrance_with_progress(client, estate, make_staff, sign_in):
    compound, survey, committee = estate
    response = client.get(sheet_url(survey), headers=committee)
    assert response.status_code == 200, response.json
    groups = response.json
    assert [g["name"] for g in groups] == ["2栋1单元", "2栋2单元", "10栋1单元"]
    first, second, tower = groups
    assert (first["building"], first["entrance"]) == ("2栋", "1单元")
    assert [first[k] for k in PROGRESS] == [3, "210.50", 1, "60.00", 2, "150.50"]
    assert [second[k] for k in PROGRESS] == [2, "125.00", 1, "75.00", 1, "50.00"]
    assert [tower[k] for k in PROGRESS] == [2, "130.00", 0, "0.00", 2, "130.00"]
    assert [h["room"] for h in first["households"]] == ["101", "201"]
    assert [h["room"] for h in second["households"]] == ["301"]
    assert [h["room"] for h in tower["households"]] == ["101", "102"]
    co_owned = first["households"][0]
    assert co_owned["area"] == "80.50" and co_owned["floor"] == 1
    assert co_owned["label"].endswith("101") and co_owned["reminded_today"] is False
    assert co_owned["owners"] == [
        {"name": "王芳", "phone": "13900000001"},
        {"name": "李强", "phone": "13900000002"},
    ]
    assert first["households"][1]["owners"] == [{"name": "赵敏", "phone": ""}]
    # staff of the community above see them masked
    community = sign_in(make_staff(Role.COMMUNITY, compound.community_id))
    masked = client.get(sheet_url(survey), headers=community).json
    assert masked[0]["households"][0]["owners"] == [
        {"name": "王*", "phone": "139****0001"},
        {"name": "李*", "phone": "139****0002"},
    ]
    assert masked[2]["households"][1]["owners"] == [{"name": "欧***", "phone": "139****0007"}]


def test_one_building_or_entrance_and_pages(client, estate):
    _, survey, committee = estate
    groups = client.get(sheet_url(survey), headers=committee).json
    only = client.get(
        sheet_url(survey), headers=committee, query_string={"building_id": groups[0]["building_id"]}
    )
    assert [g["name"] for g in only.json] == ["2栋1单元", "2栋2单元"]
    page = client.get(
        sheet_url(survey), headers=committee, query_string={"page": 2, "page_size": 2}
    )
    assert [g["name"] for g in page.json] == ["10栋1单元"]
    assert '"total": 3' in page.headers["X-Pagination"]


def test_resident_basis_counts_dwellings(client, estate, make_survey, make_account):
    compound, _, committee = estate
    survey = make_survey(
        compound,
        SurveyKind.GENERAL,
        [(QuestionType.TEXT, "您的意见", [])],
        basis=RespondentBasis.RESIDENT,
        open=True,
    )
    groups = client.get(sheet_url(survey), headers=committee).json
    tower = groups[2]
    assert [tower[k] for k in PROGRESS] == [2, "130.00", 0, "0.00", 2, "130.00"]
    assert [h["person_id"] for h in tower["households"]] == [None, None]
    assert tower["households"][1]["owners"] == [{"name": "欧阳娜娜", "phone": "13900000007"}]


def test_reminded_today_after_a_survey_reminder(app, client, estate, monkeypatch):
    _, survey, committee = estate
    monkeypatch.setitem(app.extensions, "sms_sender", TestSender())
    url = f"/api/v1/surveys/{survey.id}/reminders"
    assert client.post(url, headers=committee).status_code == 202
    groups = client.get(sheet_url(survey), headers=committee).json
    reminded = {
        (g["name"], h["room"]): h["reminded_today"] for g in groups for h in g["households"]
    }
    assert reminded == {
        ("2栋1单元", "101"): True,
        ("2栋1单元", "201"): False,  # no phone on the roster
        ("2栋2单元", "301"): True,
        ("10栋1单元", "101"): True,
        ("10栋1单元", "102"): True,
    }


def test_door_to_door_workbook(client, estate):
    _, survey, committee = estate
    response = client.get(
        f"/api/v1/surveys/{survey.id}/exports/door-to-door.xlsx", headers=committee
    )
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["2栋1单元", "2栋2单元", "10栋1单元"]
    sheet = workbook["2栋1单元"]
    assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "和平小区" in rows[0][0] and "尚未参与 2 人 150.50 m²" in rows[1][0]
    assert rows[2] == ["房号", "楼层", "业主", "面积（m²）", "今日已发短信", "走访记录"]
    assert rows[3][:5] == ["101", 1, "王*、李*", 80.5, "否"]
    assert rows[3][5] in (None, "")
    assert len(rows) == 5
    assert not any("王芳" in str(cell) for row in rows for cell in row)


@pytest.mark.parametrize(
    "path", ["door-to-door", "exports/door-to-door.xlsx", "reminders"], ids=str
)
def test_another_compounds_staff_get_404(client, estate, make_compound, make_staff, sign_in, path):
    _, survey, _ = estate
    headers = sign_in(make_staff(Role.COMPOUND, make_compound("邻居小区").id))
    for method in ("get", "post") if path == "reminders" else ("get",):
        response = client.open(
            f"/api/v1/surveys/{survey.id}/{path}", method=method, headers=headers
        )
        assert response.status_code == 404, (method, response.json)


def test_a_draft_has_no_sheet(client, estate, make_survey, consent_question):
    compound, _, committee = estate
    draft = make_survey(compound, SurveyKind.CONSENT, [consent_question])
    response = client.get(sheet_url(draft), headers=committee)
    assert (response.status_code, response.json["code"]) == (409, "survey_not_opened")
