"""Exports for the archive (档案): the tally and the ballot register as .xlsx workbooks.

The register lists every person of the frozen electorate with masked names: room labels,
area, the counted choice, its channel and time (Asia/Shanghai), whether any cast was on paper
or by proxy, and how many casts there were.
"""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import and_, case, func, select

from participation.common import doors
from participation.common.privacy import mask_name
from participation.common.schemas import SHANGHAI
from participation.extensions import db
from participation.roster.electorate import DEVELOPER_KEY
from participation.roster.models import Compound
from participation.roster.services import scope_names
from participation.votes.models import Ballot, Channel, Choice, Vote, VoteEvent, VotePerson
from participation.votes.tally import (
    committee_tally,
    owners_of,
    require_opened,
    rooms_of,
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHOICE_LABELS = {Choice.AGREE: "同意", Choice.DISAGREE: "不同意", Choice.ABSTAIN: "弃权"}
CHANNEL_LABELS = {Channel.ONLINE: "线上", Channel.PROXY: "委托", Channel.PAPER: "纸质票"}
RULE_LABELS = {
    "civil_code_major": "民法典第278条（特别多数）：双三分之二参与，参与者双四分之三同意",
    "civil_code_ordinary": "民法典第278条（一般多数）：双三分之二参与，参与者双过半数同意",
    "renovation_consent": "改造意愿：同意人数达总数三分之二以上",
}
AREA_FORMAT = "0.00"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
BOLD = Font(bold=True)


def _xlsx(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _header(sheet, titles: list[str]) -> None:
    sheet.append(titles)
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD


def _area_columns(sheet, columns: list[int], first_row: int) -> None:
    for row in sheet.iter_rows(min_row=first_row):
        for index in columns:
            row[index].number_format = AREA_FORMAT


def _local(value) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _excel_time(value):
    """Excel has no time zones: Beijing time, to the second."""
    if value is None:
        return None
    return value.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _ratio_text(ratio: dict) -> list:
    if ratio["percent"] is None:
        return [f"{ratio['numerator']}/{ratio['denominator']}", None]
    return [f"{ratio['numerator']}/{ratio['denominator']}", Decimal(ratio["percent"])]


def _decision_rows(decision: dict) -> list[tuple[str, str]]:
    """An elevator vote that takes common parts: the linked vote's outcome and the decision
    (``votes.decision``); otherwise the vote's own result is the decision."""
    common_parts = decision["common_parts"]
    if common_parts is None:
        return []
    words = {True: "通过", False: "未通过", None: "尚无结果"}
    return [
        (f"全小区共有部分表决：{common_parts['title'] or '未关联'}", words[common_parts["passed"]]),
        ("最终结果（两项均通过方为通过）", words[decision["passed"]]),
    ]


def tally_workbook(vote: Vote) -> bytes:
    """表决结果 (totals, ratios, outcome) and 分楼栋统计 (per building and entrance)."""
    result = committee_tally(vote)
    final = vote.result is not None
    buildings, entrances = scope_names(vote.building_ids or [], vote.entrance_ids or [])
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "表决结果"
    for label, value in (
        ("表决事项", vote.title),
        ("小区", db.session.get(Compound, vote.compound_id).name),
        ("表决范围", "、".join(buildings + entrances) or "全小区"),
        ("表决规则", RULE_LABELS[result["rule"]]),
        ("开始时间", _local(vote.opens_at)),
        ("截止时间", _local(vote.closes_at)),
        ("统计口径", "截止时的最终计票" if final else "实时统计，非最终结果"),
        ("统计时间", _local(datetime.fromisoformat(result["computed_at"]))),
    ):
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 1).font = BOLD
    sheet.append([])
    _header(sheet, ["项目", "人数", "面积（m²）"])
    first = sheet.max_row + 1
    options = {o["choice"]: o for o in result["options"]}
    t_cnt, t_area = result["t_cnt"], Decimal(result["t_area"])
    p_cnt, p_area = result["p_cnt"], Decimal(result["p_area"])
    for label, cnt, area in (
        ("业主总数", t_cnt, t_area),
        ("参与表决", p_cnt, p_area),
        *(
            (CHOICE_LABELS[c], options[c.value]["count"], Decimal(options[c.value]["area"]))
            for c in CHOICE_LABELS
        ),
        ("未参与表决", t_cnt - p_cnt, t_area - p_area),
    ):
        sheet.append([label, cnt, area])
    _area_columns(sheet, [2], first)
    sheet.append([])
    _header(sheet, ["比例", "人数（分子/分母）", "人数（%）", "面积（分子/分母）", "面积（%）"])
    for label, key in (
        ("参与率（参与/总数）", "participation"),
        ("同意率（同意/参与）", "agreement"),
    ):
        sheet.append([label, *_ratio_text(result[key]["count"]), *_ratio_text(result[key]["area"])])
    sheet.append([])
    missing = result["missing"]
    for label, value in (
        ("参与是否达到法定要求", _yes(result["quorum_met"])),
        ("同意是否达到法定要求", _yes(result["approved"])),
        (
            "表决结果" if result["decision"]["common_parts"] is None else "本范围表决结果",
            "通过" if result["passed"] else "未通过",
        ),
        *_decision_rows(result["decision"]),
        (
            "还需参与",
            f"{missing['participation']['persons']} 人 / {missing['participation']['area']} m²",
        ),
        ("还需同意", f"{missing['agreement']['persons']} 人 / {missing['agreement']['area']} m²"),
    ):
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 1).font = BOLD
    for column, width in zip("ABCDE", (24, 40, 16, 22, 16), strict=True):
        sheet.column_dimensions[column].width = width

    places = workbook.create_sheet("分楼栋统计")
    _header(
        places,
        [
            "楼栋/单元",
            "业主数",
            "总面积（m²）",
            "参与人数",
            "参与面积（m²）",
            *[
                f"{CHOICE_LABELS[c]}{unit}"
                for c in CHOICE_LABELS
                for unit in ("人数", "面积（m²）")
            ],
            "人数参与率（%）",
            "面积参与率（%）",
        ],
    )
    for building in result["buildings"]:
        for place in (building, *building["entrances"]):
            places.append(_place_row(place))
    _area_columns(places, [2, 4, 6, 8, 10], 2)
    places.column_dimensions["A"].width = 16
    return _xlsx(workbook)


def _place_row(place: dict) -> list:
    options = {o["choice"]: o for o in place["options"]}
    percent = place["participation"]
    return [
        place["name"],
        place["t_cnt"],
        Decimal(place["t_area"]),
        place["p_cnt"],
        Decimal(place["p_area"]),
        *[
            value
            for c in CHOICE_LABELS
            for value in (options[c.value]["count"], Decimal(options[c.value]["area"]))
        ],
        *[
            None if percent[basis]["percent"] is None else Decimal(percent[basis]["percent"])
            for basis in ("count", "area")
        ],
    ]


REGISTER_HEADERS = [
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
]


def register_workbook(vote: Vote) -> bytes:
    """投票登记册: every person of the electorate, names masked."""
    require_opened(vote)
    casts = (
        select(
            VoteEvent.person_id,
            func.count().label("casts"),
            func.sum(case((VoteEvent.channel == Channel.PAPER, 1), else_=0)).label("paper"),
            func.sum(case((VoteEvent.channel == Channel.PROXY, 1), else_=0)).label("proxy"),
        )
        .where(VoteEvent.vote_id == vote.id, VoteEvent.kind == "cast")
        .group_by(VoteEvent.person_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            VotePerson.id,
            VotePerson.key,
            VotePerson.area,
            Ballot.choice,
            Ballot.channel,
            Ballot.cast_at,
            casts.c.casts,
            casts.c.paper,
            casts.c.proxy,
        )
        .outerjoin(Ballot, and_(Ballot.vote_id == vote.id, Ballot.person_id == VotePerson.id))
        .outerjoin(casts, casts.c.person_id == VotePerson.id)
        .where(VotePerson.vote_id == vote.id)
        .order_by(VotePerson.id)
    )
    rooms, owners = rooms_of(vote.id), owners_of(vote.id)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "投票登记册"
    _header(sheet, REGISTER_HEADERS)
    for number, row in enumerate(rows, start=1):
        names = "、".join(mask_name(name) for name, _ in owners[row.id])
        sheet.append(
            [
                number,
                "、".join(rooms[row.id]),
                names or ("开发建设单位" if row.key == DEVELOPER_KEY else ""),
                row.area,
                CHOICE_LABELS[row.choice] if row.choice else "未投票",
                CHANNEL_LABELS[row.channel] if row.channel else "",
                _excel_time(row.cast_at),
                _yes(bool(row.paper)),
                _yes(bool(row.proxy)),
                row.casts or 0,
            ]
        )
        sheet.cell(sheet.max_row, 4).number_format = AREA_FORMAT
        sheet.cell(sheet.max_row, 7).number_format = TIME_FORMAT
    for column, width in zip("ABCDEFGHIJ", (6, 28, 16, 12, 10, 10, 20, 10, 10, 10), strict=True):
        sheet.column_dimensions[column].width = width
    return _xlsx(workbook)


# The door-to-door sheet (入户发动) ----------------------------------------------------------


def door_to_door_workbook(vote: Vote) -> bytes:
    """One sheet per entrance of the vote's scope (``common.doors.door_to_door_workbook``,
    shared with surveys): the entrance's progress, then each household whose person has not
    taken part (room, floor, owners' names masked, area, whether a reminder SMS reached it
    today) and an empty 走访记录 column. Names are masked even for the committee: a printed
    sheet travels from hand to hand."""
    from participation.votes.tally import door_to_door_entrances, door_to_door_households

    require_opened(vote)
    groups = door_to_door_households(vote, door_to_door_entrances(vote), full_contact=False)
    compound = db.session.get(Compound, vote.compound_id).name
    return doors.door_to_door_workbook(
        compound, vote.title, vote.closes_at, groups, done="voted", empty="表决范围内没有住户"
    )
