"""Survey results as .xlsx workbooks.

Generic: ``xlsx(sheet_title, headers, rows)`` (one sheet) and ``workbook(sheets)``: bold
headers, column widths from the content, ``Decimal`` cells shown with two decimals and times
in Beijing time (Excel has no time zones). ``satisfaction_workbook`` builds on them.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from participation.common.schemas import SHANGHAI
from participation.surveys.models import MenuTier, Survey
from participation.surveys.satisfaction import SCALE, satisfaction_result

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOLD = Font(bold=True)
DECIMAL_FORMAT = "0.00"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MIN_WIDTH, MAX_WIDTH = 8, 60

Sheet = tuple[str, Sequence[str], Iterable[Sequence]]


def _width(value) -> int:
    """Display width: a CJK character takes two columns."""
    return sum(2 if ord(char) > 0x2E80 else 1 for char in str(value))


def _cell(value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):  # a control character typed into a title: not in a worksheet
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def workbook(sheets: Iterable[Sheet]) -> bytes:
    """A workbook with one sheet per ``(title, headers, rows)``."""
    book = Workbook()
    book.remove(book.active)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(list(headers))
        for cell in sheet[1]:
            cell.font = BOLD
        widths = [_width(h) for h in headers]
        for row in rows:
            sheet.append([_cell(value) for value in row])
            for index, cell in enumerate(sheet[sheet.max_row]):
                if isinstance(cell.value, Decimal):
                    cell.number_format = DECIMAL_FORMAT
                elif isinstance(cell.value, datetime):
                    cell.number_format = TIME_FORMAT
                if index >= len(widths):
                    widths.append(0)
                shown = 19 if isinstance(cell.value, datetime) else _width(cell.value or "")
                widths[index] = max(widths[index], shown)
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = min(
                max(width + 2, MIN_WIDTH), MAX_WIDTH
            )
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx(sheet_title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """A one-sheet workbook: a bold header row, then ``rows``."""
    return workbook([(sheet_title, headers, rows)])


TIER_LABELS = {
    MenuTier.BASIC: "基础类",
    MenuTier.IMPROVEMENT: "完善类",
    MenuTier.ENHANCEMENT: "提升类",
}


def _figures(figures: dict) -> list:
    rate = figures["rate"]
    passed = {True: "达标", False: "未达标", None: "无有效评价"}[figures["passed"]]
    return [
        *(figures["counts"][value] for value in SCALE),
        f"{rate['numerator']}/{rate['denominator']}",
        None if rate["percent"] is None else Decimal(rate["percent"]),
        passed,
    ]


def satisfaction_workbook(survey: Survey) -> bytes:
    """满意度: per dimension (and overall), per building and per renovation item."""
    return workbook(satisfaction_sheets(satisfaction_result(survey)))


def satisfaction_sheets(result: dict) -> list[Sheet]:
    """The sheets of a satisfaction result (``satisfaction.satisfaction_result``): 分维度,
    分楼栋, 分改造项目 (a project's evaluation report puts them beside its own)."""
    figures = [
        *SCALE.values(),
        "满意率（分子/分母）",
        "满意率（%）",
        f"是否达标（≥{result['threshold']}%）",
    ]
    dimensions = [[d["dimension"], d["text"], *_figures(d)] for d in result["dimensions"]]
    dimensions.append(["总体", "全部维度合计", *_figures(result["overall"])])
    buildings = [
        [building["name"], place["dimension"], *_figures(place)]
        for building in result["buildings"]
        for place in ({**building, "dimension": "总体"}, *building["dimensions"])
    ]
    items = [
        [item["name"], TIER_LABELS[MenuTier(item["tier"])], *_figures(item)]
        for item in result["items"]
    ]
    return [
        ("分维度", ["维度", "题目", *figures], dimensions),
        ("分楼栋", ["楼栋", "维度", *figures], buildings),
        ("分改造项目", ["改造项目", "类别", *figures], items),
    ]
