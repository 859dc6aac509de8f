"""Bar charts: valid PNGs, a clear 503 for a broken installation (no font draws Chinese);
the generic .xlsx writer. The font itself: tests/common/test_fonts.py."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image

from participation.auth.models import Role
from participation.common import fonts
from participation.surveys import charts
from participation.surveys.exports import xlsx
from participation.surveys.models import QuestionType, RespondentBasis, SurveyKind
from participation.surveys.satisfaction import SCALE


@pytest.fixture
def no_fonts(monkeypatch):
    """A broken installation: no system CJK font and the shipped font missing."""
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", {False: (), True: ()})
    monkeypatch.setattr(fonts, "_fc_list", lambda: [])
    missing = {False: Path("/nonexistent/regular.ttf"), True: Path("/nonexistent/bold.ttf")}
    monkeypatch.setattr(fonts, "SHIPPED", missing)
    fonts.clear_cache()
    yield
    fonts.clear_cache()


def test_bar_chart_is_a_png():
    png = charts.bar_chart(
        "满意率（分维度）",
        [("总体", "75.00%", Fraction(3, 4)), ("改造内容", "80.00%", Fraction(4, 5))],
        percent=True,
        reference=("达标线 80.00%", Fraction(4, 5)),
    )
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG"
    assert image.size[0] == charts.WIDTH and 150 < image.size[1] < 400


def test_bar_lengths_follow_the_values():
    png = charts.bar_chart("计数", [("甲", "10", 10), ("乙", "5", 5), ("丙", "0", 0)])
    image = Image.open(io.BytesIO(png)).convert("RGB")
    bar = Image.new("RGB", (1, 1), charts.COLOURS["bar"]).getpixel((0, 0))

    def bar_length(row: int) -> int:
        top = charts.MARGIN + charts.TITLE_SIZE + 24
        y = top + charts.ROW * row + charts.ROW // 2
        return sum(image.getpixel((x, y)) == bar for x in range(image.size[0]))

    ten, five, zero = bar_length(0), bar_length(1), bar_length(2)
    assert zero == 0 and ten > 0 and abs(ten - 2 * five) <= 2


def test_negative_values_are_refused():
    with pytest.raises(ValueError):
        charts.bar_chart("计数", [("甲", "-1", -1)])


def test_a_broken_installation_is_a_clear_503_not_boxes(
    client, make_compound, make_survey, make_staff, sign_in, no_fonts
):
    compound = make_compound()
    survey = make_survey(
        compound,
        SurveyKind.SATISFACTION,
        [(QuestionType.SATISFACTION, "工程质量", [(v, k) for k, v in SCALE.items()])],
        basis=RespondentBasis.RESIDENT,
        open=True,
    )
    staff = sign_in(make_staff(Role.COMPOUND, compound.id))
    response = client.get(f"/api/v1/surveys/{survey.id}/charts/satisfaction.png", headers=staff)
    assert response.status_code == 503
    assert response.json["code"] == "chart_font_missing"
    assert "中文字体" in response.json["message"] and "重新安装" in response.json["message"]


def test_satisfaction_chart_endpoint(client, make_compound, make_survey, make_staff, sign_in):
    compound = make_compound()
    survey = make_survey(
        compound,
        SurveyKind.SATISFACTION,
        [(QuestionType.SATISFACTION, "工程质量", [(v, k) for k, v in SCALE.items()])],
        basis=RespondentBasis.RESIDENT,
        open=True,
    )
    staff = sign_in(make_staff(Role.COMPOUND, compound.id))
    for by in ("dimension", "building", "item"):
        response = client.get(
            f"/api/v1/surveys/{survey.id}/charts/satisfaction.png?by={by}", headers=staff
        )
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert Image.open(io.BytesIO(response.data)).format == "PNG"


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
