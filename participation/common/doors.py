"""The printed door-to-door sheet (入户发动表), shared by votes and surveys: one A4 sheet per
entrance with its progress and the households still to visit.

Each campaign computes its groups (entrances with ``name``, ``entrance_id``, ``t_cnt``,
``t_area``, the taken-part figures under ``<done>_cnt`` / ``<done>_area``, ``missing_cnt``,
``missing_area`` and ``households``: ``room``, ``floor``, ``owners`` (names already masked),
``developer``, ``area``, ``reminded_today``) and hands them to :func:`door_to_door_workbook`.
"""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.page import PageMargins

from participation.common.schemas import SHANGHAI

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VISIT_WIDTH = 40  # characters: room for a handwritten note
AREA_FORMAT = "0.00"


def door_to_door_workbook(
    compound: str,
    title: str,
    closes_at: datetime,
    groups: list[dict],
    *,
    done: str = "voted",
    unit: str = "人",
    empty: str = "范围内没有住户",
) -> bytes:
    """Printed on A4 portrait, one page wide, the header rows repeated on every page: the
    entrance's progress (``unit``: 人 or 户), then each household (room, floor, owners'
    names as given — masked: a printed sheet travels from hand to hand —, area, whether a
    reminder SMS reached it today) and an empty 走访记录 column for the visitor."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    if not groups:
        workbook.create_sheet("入户发动").append([empty])
    used: set[str] = set()
    for group in groups:
        sheet_title = group["name"][:31] or f"单元{group['entrance_id']}"
        while sheet_title in used:  # Excel wants distinct titles of at most 31 characters
            sheet_title = f"{sheet_title[:27]}-{len(used)}"
        used.add(sheet_title)
        sheet = workbook.create_sheet(sheet_title)
        sheet.append([f"{compound} {group['name']} 入户发动表 —「{title}」"])
        sheet.cell(1, 1).font = Font(bold=True, size=14)
        local = closes_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        sheet.append(
            [
                f"共 {group['t_cnt']} {unit} {group['t_area']:.2f} m²；"
                f"已参与 {group[f'{done}_cnt']} {unit} {group[f'{done}_area']:.2f} m²；"
                f"尚未参与 {group['missing_cnt']} {unit} {group['missing_area']:.2f} m²；"
                f"{local} 截止"
            ]
        )
        sheet.append(["房号", "楼层", "业主", "面积（m²）", "今日已发短信", "走访记录"])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for household in group["households"]:
            sheet.append(
                [
                    household["room"],
                    household["floor"],
                    "、".join(o["name"] for o in household["owners"])
                    or ("开发建设单位" if household.get("developer") else ""),
                    household["area"],
                    "是" if household["reminded_today"] else "否",
                    "",
                ]
            )
        for row in sheet.iter_rows(min_row=4):
            row[3].number_format = AREA_FORMAT
        for column, width in zip("ABCDEF", (10, 6, 18, 12, 12, VISIT_WIDTH), strict=True):
            sheet.column_dimensions[column].width = width
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.orientation = sheet.ORIENTATION_PORTRAIT
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        sheet.print_title_rows = "1:3"
        sheet.print_options.gridLines = True
        sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
