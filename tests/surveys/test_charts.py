"""The charts of survey results — consent, menu, satisfaction — drawn from real results built
on the sample roster, through the API and from a stored result; 暂无数据 without answers;
409 for a survey of another kind, 404 outside the scope, 503 for a broken installation; and
the generic .xlsx writer.

``CHARTS_OUT=/tmp/charts`` writes every chart drawn here to that folder, to look at them."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from PIL import Image, ImageChops

from participation.auth.models import Role
from participation.common import charts as drawing
from participation.common import fonts
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.surveys import charts, menu, tallies
from participation.surveys.exports import xlsx
from participation.surveys.models import (
    Answer,
    MenuItem,
    QuestionType,
    RespondentBasis,
    Response,
    SurveyKind,
    SurveyPerson,
    SurveyPersonDwelling,
)
from participation.surveys.satisfaction import SCALE, satisfaction_result
from participation.surveys.services import close_if_due, open_survey

URL = "/api/v1/surveys/{}/charts/{}.png"


def picture(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.size[0] == drawing.WIDTH
    return image.convert("RGB")


def blue_pixels(image: Image.Image) -> int:
    blue = Image.new("RGB", (1, 1), drawing.BLUE).getpixel((0, 0))
    return sum(n for n, colour in image.getcolors(1 << 20) if colour == blue)


def says_no_data(draw) -> bool:
    """Whether ``draw()`` writes 暂无数据: the drawing differs from the same drawing without
    those words by a box of their size."""
    with_words = picture(draw())
    original = drawing.NO_DATA
    drawing.NO_DATA = ""
    try:
        without = picture(draw())
    finally:
        drawing.NO_DATA = original
    box = ImageChops.difference(with_words, without).getbbox()
    if box is None:
        return False
    words = fonts.font(drawing.TITLE_SIZE, bold=True).getbbox("暂无数据")
    return abs((box[2] - box[0]) - (words[2] - words[0])) <= 2


def get_png(client, url: str, headers: dict):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "image/png"
    return response.data


def refused(response, status: int, code: str) -> None:
    assert (response.status_code, response.json["code"]) == (status, code), response.json


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


@pytest.fixture
def neighbour(sample_compound, make_compound, make_staff, sign_in):
    other = make_compound("邻近小区", community=sample_compound.community)
    return sign_in(make_staff(Role.COMPOUND, other.id))


# 意愿征集 ----------------------------------------------------------------------------------


@pytest.fixture
def consent_survey(sample_compound, make_survey, consent_question):
    return make_survey(
        sample_compound,
        SurveyKind.CONSENT,
        [consent_question],
        open=True,
        title="样例小区老旧小区综合改造意愿征集",
    )


def answer_consent(survey, count: int, value: str, skip: int = 0) -> None:
    """``count`` persons (after the first ``skip``, in id order) answer ``value``."""
    question = survey.questions[0]
    option = next(o for o in question.options if o.value == value)
    persons = _db.session.scalars(
        sa.select(SurveyPerson).filter_by(survey_id=survey.id).order_by(SurveyPerson.id)
    ).all()
    for person in persons[skip : skip + count]:
        response = Response(
            survey_id=survey.id,
            respondent_key=f"person:{person.id}",
            person_id=person.id,
            submitted_at=utcnow(),
        )
        response.answers = [Answer(question_id=question.id, option_id=option.id)]
        _db.session.add(response)
    _db.session.flush()
    tallies.rebuild(survey)


def test_consent_chart(client, consent_survey, committee, keep_png):
    answer_consent(consent_survey, 26, "agree")
    answer_consent(consent_survey, 6, "disagree", skip=26)
    png = keep_png("consent", get_png(client, URL.format(consent_survey.id, "consent"), committee))
    image = picture(png)
    assert 700 < image.size[1] < 1400 and len(png) < 120_000
    assert blue_pixels(image) > 10_000  # the 同意 bars

    # The same drawing from the result the API returns, outside any request: the whole scope
    # and the two buildings (a person counts in each building where they have a dwelling).
    result = client.get(f"/api/v1/surveys/{consent_survey.id}/consent", headers=committee).json
    assert [b["name"] for b in result["buildings"]] == ["1栋", "2栋"]
    whole_only = picture(charts.consent_chart({**result, "buildings": []}))
    assert image.size[1] - whole_only.size[1] > 150  # the per-building panel

    # Passed: the gate drawn the same way, with the outcome said.
    answer_consent(consent_survey, 4, "agree", skip=32)
    keep_png("consent-passed", get_png(client, URL.format(consent_survey.id, "consent"), committee))


def test_consent_chart_of_a_stored_result(consent_survey, keep_png):
    answer_consent(consent_survey, 31, "agree")
    consent_survey.closes_at = utcnow() - timedelta(microseconds=1)
    assert close_if_due(consent_survey)
    stored = json.loads(json.dumps(consent_survey.result))  # as a published notice holds it
    png = keep_png("consent-stored", charts.consent_chart(stored, title=consent_survey.title))
    assert blue_pixels(picture(png)) > 0
    assert charts.consent_chart(stored) == charts.consent_chart(stored)  # deterministic


def test_consent_chart_without_answers_says_no_data(client, consent_survey, committee, keep_png):
    png = keep_png(
        "consent-no-data", get_png(client, URL.format(consent_survey.id, "consent"), committee)
    )
    assert blue_pixels(picture(png)) == 0  # no bars, no legend
    result = client.get(f"/api/v1/surveys/{consent_survey.id}/consent", headers=committee).json
    assert says_no_data(lambda: charts.consent_chart(result))
    answer_consent(consent_survey, 1, "agree")
    with_data = client.get(f"/api/v1/surveys/{consent_survey.id}/consent", headers=committee).json
    assert not says_no_data(lambda: charts.consent_chart(with_data))


def test_consent_chart_refusals(
    client,
    sample_compound,
    make_survey,
    consent_question,
    consent_survey,
    committee,
    neighbour,
    owner_account,
    sign_in,
):
    other_kind = make_survey(
        sample_compound,
        SurveyKind.SATISFACTION,
        [(QuestionType.SATISFACTION, "工程质量", [(v, k) for k, v in SCALE.items()])],
        basis=RespondentBasis.RESIDENT,
        open=True,
    )
    refused(
        client.get(URL.format(other_kind.id, "consent"), headers=committee),
        409,
        "not_consent_survey",
    )
    draft = make_survey(sample_compound, SurveyKind.CONSENT, [consent_question])
    refused(
        client.get(URL.format(draft.id, "consent"), headers=committee), 409, "survey_not_opened"
    )
    url = URL.format(consent_survey.id, "consent")
    refused(client.get(url, headers=neighbour), 404, "not_found")
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    refused(client.get(url, headers=resident), 403, "staff_only")
    assert client.get(url).status_code == 401


# 菜单式 ------------------------------------------------------------------------------------

MENU = [  # name, estimated cost, residents' part
    ("消防", "200000.00", "20000.00"),
    ("供水", "300000.00", "30000.00"),
    ("屋面/外墙/楼梯等公共部位维修", "260000.00", "26000.00"),
    ("加装电梯", "400000.00", "200000.00"),
    ("绿化", "120000.00", "12000.00"),
    ("照明", "50000.00", "5000.00"),
    ("停车泊位及停车库(场)", "80000.00", "40000.00"),
    ("养老", "150000.00", "15000.00"),
    ("邮政快递末端综合服务站", "30000.00", "3000.00"),
]
CHOICES = {  # dwelling label → items chosen
    "1栋1单元101": ["消防", "供水", "加装电梯", "绿化", "停车泊位及停车库(场)"],
    "1栋1单元102": ["消防", "供水", "加装电梯", "养老", "绿化", "照明"],
    "1栋1单元201": ["消防", "加装电梯", "养老", "绿化", "停车泊位及停车库(场)"],
    "1栋1单元202": ["消防", "供水", "加装电梯", "养老", "照明"],
    "1栋1单元301": ["消防", "加装电梯", "养老", "绿化"],
    "1栋1单元302": ["加装电梯", "养老", "照明"],
    "2栋1单元101": ["消防", "加装电梯", "养老"],
    "2栋1单元102": ["照明", "邮政快递末端综合服务站"],
    "2栋1单元201": ["照明"],
    "2栋1单元302": ["照明", "养老"],
}


@pytest.fixture
def menu_survey(client, sample_compound, make_survey, committee):
    """A menu survey whose menu was set through the API, then opened."""

    def make(budget_cap: str | None = "900000.00"):
        menu.ensure_catalogue()
        survey = make_survey(sample_compound, SurveyKind.MENU, title="样例小区改造内容菜单式选择")
        items = [
            {
                "menu_item_id": _db.session.scalar(
                    sa.select(MenuItem.id).filter_by(name=name, district_id=None)
                ),
                "estimated_cost": cost,
                "residents_part": part,
            }
            for name, cost, part in MENU
        ]
        body = {"items": items, "min_items": 0, "max_items": len(items)}
        if budget_cap:
            body["budget_cap"] = budget_cap
        response = client.put(f"/api/v1/surveys/{survey.id}/menu", json=body, headers=committee)
        assert response.status_code == 200, response.json
        _db.session.expire_all()
        open_survey(survey, confirm_unknown_owners=True)
        _db.session.flush()
        return survey

    return make


def choose(survey, label: str, names: list[str]) -> None:
    question = menu.menu_question(survey)
    options = {option.label: option.id for option in question.options}
    person_id = _db.session.scalar(
        sa.select(SurveyPersonDwelling.person_id).filter_by(survey_id=survey.id, label=label)
    )
    response = Response(
        survey_id=survey.id,
        respondent_key=f"person:{person_id}",
        person_id=person_id,
        submitted_at=utcnow(),
    )
    response.answers = [Answer(question_id=question.id, option_id=options[n]) for n in names]
    _db.session.add(response)
    _db.session.flush()
    tallies.rebuild(survey)


def test_menu_chart(client, menu_survey, committee, keep_png):
    survey = menu_survey()
    for label, names in CHOICES.items():
        choose(survey, label, names)
    result = client.get(f"/api/v1/surveys/{survey.id}/menu/result", headers=committee).json
    statuses = {item["name"]: item["status"] for item in result["items"]}
    assert set(statuses.values()) == {"basic", "included", "over_budget", "not_adopted"}
    png = keep_png("menu", get_png(client, URL.format(survey.id, "menu"), committee))
    image = picture(png)
    assert 900 < image.size[1] < 1800 and len(png) < 120_000
    # Grey (未采纳) and hatched orange (超出预算) bars besides the blue ones (纳入).
    assert blue_pixels(image) > 0
    assert any(colour == (0xE6, 0x9F, 0x00) for _, colour in image.getcolors(1 << 20))
    # Drawn from the result dict alone, the same picture (the result has no clock in it).
    assert charts.menu_chart(result, title=survey.title) == png


def test_menu_chart_without_respondents_says_no_data(client, menu_survey, committee, keep_png):
    survey = menu_survey(budget_cap=None)
    png = keep_png("menu-no-data", get_png(client, URL.format(survey.id, "menu"), committee))
    assert blue_pixels(picture(png)) == 0
    result = client.get(f"/api/v1/surveys/{survey.id}/menu/result", headers=committee).json
    assert says_no_data(lambda: charts.menu_chart(result))


def test_menu_chart_refusals(client, consent_survey, menu_survey, committee, neighbour):
    refused(
        client.get(URL.format(consent_survey.id, "menu"), headers=committee),
        409,
        "not_a_menu_survey",
    )
    survey = menu_survey()
    refused(client.get(URL.format(survey.id, "menu"), headers=neighbour), 404, "not_found")


# 满意度 ------------------------------------------------------------------------------------


DIMENSIONS = ("改造内容", "施工过程", "工程质量", "长效管理")


@pytest.fixture
def satisfaction_survey(make_compound, make_dwelling, make_survey):
    compound = make_compound("效果小区")
    for building in ("1", "2", "3"):
        make_dwelling(compound, building, "1", "101", owners=[make_dwelling.owner(compound)])
    survey = make_survey(
        compound,
        SurveyKind.SATISFACTION,
        [
            (QuestionType.SATISFACTION, f"您对{name}是否满意？", [(v, k) for k, v in SCALE.items()])
            for name in DIMENSIONS
        ],
        basis=RespondentBasis.RESIDENT,
        open=True,
        title="样例小区改造效果评价",
    )
    for question, name in zip(survey.questions, DIMENSIONS, strict=True):
        question.dimension = name
    _db.session.flush()
    return survey


def rate(survey, building: str, values: list[str]) -> None:
    from participation.roster.models import Building

    building_id = _db.session.scalar(
        sa.select(Building.id).filter_by(compound_id=survey.compound_id, number=building)
    )
    response = Response(
        survey_id=survey.id,
        respondent_key=f"account:{building}-{len(values)}-{utcnow().timestamp()}",
        building_id=building_id,
        submitted_at=utcnow(),
    )
    response.answers = [
        Answer(question_id=q.id, option_id=next(o.id for o in q.options if o.value == v))
        for q, v in zip(survey.questions, values, strict=True)
    ]
    _db.session.add(response)
    _db.session.flush()
    tallies.rebuild(survey)


def test_satisfaction_charts(client, satisfaction_survey, make_staff, sign_in, keep_png):
    survey = satisfaction_survey
    staff = sign_in(make_staff(Role.COMPOUND, survey.compound_id))
    s, b, d, u = "satisfied", "basic", "dissatisfied", "unknown"
    for building, values in (
        ("1", [s, s, b, d]),
        ("1", [s, b, s, u]),
        ("2", [d, s, b, s]),
        ("2", [s, d, d, b]),
        ("3", [b, s, s, s]),
    ):
        rate(survey, building, values)
    for by in ("dimension", "building", "item"):
        png = get_png(client, URL.format(survey.id, "satisfaction") + f"?by={by}", staff)
        keep_png(f"satisfaction-{by}", png)
        assert picture(png).size[1] > 200
    # No renovation item is rated: by item there is nothing to draw.
    result = satisfaction_result(survey)
    assert says_no_data(lambda: charts.satisfaction_chart(result, "item"))
    assert not says_no_data(lambda: charts.satisfaction_chart(result, "dimension"))


def test_satisfaction_chart_without_answers_says_no_data(
    client, satisfaction_survey, make_staff, sign_in, keep_png
):
    staff = sign_in(make_staff(Role.COMPOUND, satisfaction_survey.compound_id))
    png = get_png(client, URL.format(satisfaction_survey.id, "satisfaction"), staff)
    keep_png("satisfaction-no-data", png)
    assert blue_pixels(picture(png)) == 0
    result = satisfaction_result(satisfaction_survey)
    assert says_no_data(lambda: charts.satisfaction_chart(result))


def test_a_broken_installation_is_a_clear_503(
    client, monkeypatch, consent_survey, committee, satisfaction_survey, make_staff, sign_in
):
    """No system CJK font and the shipped font missing: 503 chart_font_missing."""
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", {False: (), True: ()})
    monkeypatch.setattr(fonts, "_fc_list", lambda: [])
    missing = {False: Path("/nonexistent/regular.ttf"), True: Path("/nonexistent/bold.ttf")}
    monkeypatch.setattr(fonts, "SHIPPED", missing)
    fonts.clear_cache()
    try:
        answer_consent(consent_survey, 3, "agree")
        staff = sign_in(make_staff(Role.COMPOUND, satisfaction_survey.compound_id))
        for url, headers in (
            (URL.format(consent_survey.id, "consent"), committee),
            (URL.format(satisfaction_survey.id, "satisfaction"), staff),
        ):
            response = client.get(url, headers=headers)
            refused(response, 503, "chart_font_missing")
            assert "中文字体" in response.json["message"]
    finally:
        fonts.clear_cache()


# The .xlsx writer --------------------------------------------------------------------------


def test_xlsx_writes_rows_under_a_bold_header():
    when = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)
    content = xlsx(
        "改造内容清单",
        ["项目", "估算（元）", "时间"],
        [["加装电梯", Decimal("123456.70"), when], ["绿化", Decimal("0.50"), None]],
    )
    sheet = load_workbook(io.BytesIO(content))["改造内容清单"]
    assert [c.value for c in sheet[1]] == ["项目", "估算（元）", "时间"]
    assert all(c.font.bold for c in sheet[1])
    assert sheet["A2"].value == "加装电梯" and sheet["B2"].number_format == "0.00"
    assert sheet["C2"].value == datetime(2025, 3, 1, 10, 30)  # Beijing time
    assert sheet.column_dimensions["A"].width >= 10
