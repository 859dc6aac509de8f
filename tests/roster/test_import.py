"""Roster import (房产名册导入): parsing, every validation rule, diff and apply, the API, the
background job on a real Redis, privacy and scoping."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import selectinload

from participation.auth.models import Role
from participation.extensions import db as _db
from participation.roster import importer
from participation.roster.models import (
    AreaSource,
    Building,
    Compound,
    Dwelling,
    DwellingStatus,
    DwellingUse,
    Entrance,
    ImportStatus,
    Owner,
    Ownership,
    RosterImport,
)
from participation.roster.tasks import run_roster_import

SAMPLE = (Path(__file__).parents[1] / "data" / "roster-sample.csv").read_bytes()
SAMPLE_ROWS = list(csv.reader(io.StringIO(SAMPLE.decode("utf-8"))))
HEADER = SAMPLE_ROWS[0]
SAMPLE_IDS = {i for row in SAMPLE_ROWS[1:] for i in row[9].split("、") if i}
SAMPLE_PHONES = {p for row in SAMPLE_ROWS[1:] for p in row[8].split("、") if p}

AREA, PHONE, ID_NUMBER, NAME = "专有部分面积", "手机号", "业主证件号", "业主姓名"


# Helpers ------------------------------------------------------------------------------------


def resident_id(first17: str) -> str:
    """A resident ID number with its GB 11643 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def credit_code(first17: str) -> str:
    """A unified social credit code with its GB 32100 check character."""
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(chars.index(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + chars[(31 - total % 31) % 31]


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def edited(changes: dict[tuple[int, str], str], drop_lines: tuple[int, ...] = ()) -> bytes:
    """The sample with cells changed, addressed by (line in the file, column)."""
    rows = [list(row) for row in SAMPLE_ROWS]
    for (line, column), value in changes.items():
        rows[line - 1][HEADER.index(column)] = value
    return to_csv([row for number, row in enumerate(rows, start=1) if number not in drop_lines])


def to_xlsx(rows: list[list[str]]) -> bytes:
    """The rows as a committee's workbook: floors, areas and phones as numbers."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(rows[0])
    for row in rows[1:]:
        cells: list = list(row)
        cells[2] = int(row[2])
        cells[4] = float(row[4])
        if row[8] and "、" not in row[8]:
            cells[8] = int(row[8])
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def run(compound, content: bytes, filename: str = "roster.csv", dry_run: bool = False):
    roster_import = importer.import_roster_file(compound.id, filename, content, dry_run=dry_run)
    _db.session.flush()
    return roster_import


def roster(compound) -> dict[str, tuple]:
    """Everything the import writes, by dwelling label."""
    dwellings = _db.session.scalars(
        select(Dwelling)
        .where(Dwelling.compound_id == compound.id)
        .options(
            selectinload(Dwelling.building),
            selectinload(Dwelling.entrance),
            selectinload(Dwelling.ownerships).selectinload(Ownership.owner),
        )
    )
    return {
        d.label: (
            d.floor,
            d.area,
            d.area_source,
            d.status,
            d.use,
            sorted((o.owner.name, o.owner.phone, o.owner.id_last4) for o in d.ownerships),
        )
        for d in dwellings
    }


def dwelling_ids(compound) -> dict[str, int]:
    dwellings = _db.session.scalars(
        select(Dwelling)
        .where(Dwelling.compound_id == compound.id)
        .options(selectinload(Dwelling.building), selectinload(Dwelling.entrance))
    )
    return {d.label: d.id for d in dwellings}


def counts() -> dict[str, int]:
    return {
        model.__tablename__: _db.session.scalar(select(func.count()).select_from(model))
        for model in (Building, Entrance, Dwelling, Owner, Ownership)
    }


def owners_named(compound, name: str) -> list[Owner]:
    return list(
        _db.session.scalars(
            select(Owner)
            .where(Owner.compound_id == compound.id, Owner.name == name)
            .options(
                selectinload(Owner.ownerships)
                .selectinload(Ownership.dwelling)
                .selectinload(Dwelling.building),
                selectinload(Owner.ownerships)
                .selectinload(Ownership.dwelling)
                .selectinload(Dwelling.entrance),
            )
        )
    )


def labels_of(owner: Owner) -> set[str]:
    return {ownership.dwelling.label for ownership in owner.ownerships}


@pytest.fixture
def compound(make_compound):
    return make_compound()


# The sample file ----------------------------------------------------------------------------


def test_sample_imports_cleanly(compound):
    result = run(compound, SAMPLE)

    assert result.status is ImportStatus.DONE
    assert result.rows_total == result.rows_done == 48
    assert result.report["problems"] == []
    assert result.report["summary"] == {
        "rows": 48,
        "dwellings_created": 48,
        "dwellings_updated": 0,
        "dwellings_unchanged": 0,
        "dwellings_not_in_file": 0,
        "owners_created": 45,
        "owners_updated": 0,
        "areas_downgraded": 0,
        "accounts_linked": 0,
        "accounts_unlinked": 0,
    }
    state = roster(compound)
    assert len(state) == 48
    assert sum(area for _, area, *_ in state.values()) == Decimal("3622.29")
    assert state["1栋1单元101"][:5] == (
        1, Decimal("68.45"), AreaSource.REGISTRY, DwellingStatus.SOLD, DwellingUse.RESIDENTIAL
    )
    assert state["1栋1单元101"][5] == [("赵桂兰", "19091390996", "570X")]
    assert state["1栋2单元101"][2] is AreaSource.CONTRACT
    assert state["2栋1单元401"][2] is AreaSource.SURVEYED
    assert _db.session.scalar(select(func.count()).select_from(Building)) == 2


def test_sample_owners_are_recognised_by_id_number_not_by_name(compound):
    run(compound, SAMPLE)
    state = roster(compound)

    [xu] = owners_named(compound, "徐丽华")
    assert labels_of(xu) == {"1栋2单元501", "2栋1单元202"}
    assert [name for name, _, _ in state["1栋1单元302"][5]] == ["李红梅", "高淑珍"]
    assert state["2栋2单元501"][3] is DwellingStatus.UNDELIVERED
    for label in ("2栋2单元501", "2栋2单元601", "2栋2单元602"):
        assert state[label][5] == []
    assert state["2栋2单元601"][3] is DwellingStatus.UNSOLD
    zhao = owners_named(compound, "赵桂兰")
    assert len(zhao) == 3  # same name, three ID numbers: three different owners
    assert [len(labels_of(owner)) for owner in zhao] == [1, 1, 1]
    he = owners_named(compound, "何伟")
    assert len(he) == 2
    assert {frozenset(labels_of(owner)) for owner in he} == {
        frozenset({"1栋2单元302"}),
        frozenset({"1栋2单元401"}),
    }


def test_three_broken_rows_are_reported_exactly_and_nothing_is_written(compound, make_compound):
    run(compound, SAMPLE)
    before, state_before = counts(), roster(compound)
    wrong_check = SAMPLE_ROWS[11][9][:-1] + ("7" if SAMPLE_ROWS[11][9][-1] != "7" else "8")
    broken = edited(
        {(4, AREA): "0", (9, PHONE): "1326859952", (12, ID_NUMBER): wrong_check}
    )

    result = run(compound, broken)

    assert result.status is ImportStatus.REJECTED
    assert result.report["problems"] == [
        {"line": 4, "column": "专有部分面积", "problem": "面积应大于0"},
        {"line": 9, "column": "手机号", "problem": "手机号应为11位大陆手机号码"},
        {"line": 12, "column": "业主证件号", "problem": "证件号校验位不正确，请核对"},
    ]
    assert result.report["summary"] is None
    assert "3 处问题" in result.report["message"]
    assert counts() == before
    assert roster(compound) == state_before

    empty = make_compound()
    assert run(empty, broken).status is ImportStatus.REJECTED
    assert roster(empty) == {}
    assert counts() == before


def test_reimporting_the_same_file_changes_nothing(compound):
    run(compound, SAMPLE)
    ids, state = dwelling_ids(compound), roster(compound)

    again = run(compound, SAMPLE)

    assert again.status is ImportStatus.DONE
    assert again.report["summary"] == {
        "rows": 48,
        "dwellings_created": 0,
        "dwellings_updated": 0,
        "dwellings_unchanged": 48,
        "dwellings_not_in_file": 0,
        "owners_created": 0,
        "owners_updated": 0,
        "areas_downgraded": 0,
        "accounts_linked": 0,
        "accounts_unlinked": 0,
    }
    assert again.report["changes"] == again.report["owner_changes"] == []
    assert "没有变化" in again.report["message"]
    assert dwelling_ids(compound) == ids
    assert roster(compound) == state


def test_an_edited_file_updates_in_place_and_reports_each_change(compound):
    run(compound, SAMPLE)
    ids = dwelling_ids(compound)
    new_id = resident_id("11010519800101123")
    changed = edited(
        {
            (2, AREA): "70.00",
            (3, NAME): "钱多多",
            (3, PHONE): "13800001111",
            (3, ID_NUMBER): new_id,
            (4, PHONE): "13700002222",
            (7, NAME): "李红梅",
            (7, PHONE): "18236671276",
            (7, ID_NUMBER): "510902197505058384",
            (10, "楼层"): "6",
            (14, "面积来源"): "实测",  # 合同 → 实测: a higher source replaces a lower one
        },
        drop_lines=(49,),
    )

    result = run(compound, changed)

    assert result.status is ImportStatus.DONE
    assert result.report["summary"] == {
        "rows": 47,
        "dwellings_created": 0,
        "dwellings_updated": 5,
        "dwellings_unchanged": 42,
        "dwellings_not_in_file": 1,
        "owners_created": 1,
        "owners_updated": 1,
        "areas_downgraded": 0,
        "accounts_linked": 0,
        "accounts_unlinked": 0,
    }
    assert result.report["changes"] == [
        {"dwelling": "1栋1单元101", "changes": ["面积 68.45 → 70.00"]},
        {"dwelling": "1栋1单元102", "changes": ["业主 变更：周** → 钱**"]},
        {"dwelling": "1栋1单元302", "changes": ["业主 变更：李**、高** → 李**"]},
        {"dwelling": "1栋1单元501", "changes": ["楼层 5 → 6"]},
        {"dwelling": "1栋2单元101", "changes": ["面积来源 合同 → 实测"]},
    ]
    assert result.report["owner_changes"] == [
        {
            "owner": "张*",
            "dwellings": ["1栋1单元201"],
            "changes": ["手机号 139****5797 → 137****2222"],
        }
    ]
    assert result.report["not_in_file"] == ["2栋2单元602"]
    assert "已原样保留" in result.report["message"]

    assert dwelling_ids(compound) == ids  # updated in place; the dwelling not in file is kept
    state = roster(compound)
    assert state["1栋1单元101"][1] == Decimal("70.00")
    assert state["1栋1单元102"][5] == [("钱多多", "13800001111", new_id[-4:])]
    assert state["1栋1单元201"][5] == [("张敏", "13700002222", "8138")]
    assert state["1栋1单元302"][5] == [("李红梅", "18236671276", "8384")]
    assert state["1栋1单元501"][:3] == (6, Decimal("68.45"), AreaSource.REGISTRY)
    assert state["1栋2单元101"][:3] == (1, Decimal("70.00"), AreaSource.SURVEYED)
    assert len(owners_named(compound, "周文华")) == 1  # kept, now without dwellings


def test_dry_run_reports_the_changes_and_writes_nothing(compound):
    result = run(compound, SAMPLE, dry_run=True)

    assert result.status is ImportStatus.DONE
    assert result.report["dry_run"] is True
    assert result.report["summary"]["dwellings_created"] == 48
    assert result.report["message"].startswith("试导入")
    assert roster(compound) == {}

    run(compound, SAMPLE)
    edit = run(compound, edited({(2, AREA): "70.00"}), dry_run=True)
    assert edit.report["changes"] == [
        {"dwelling": "1栋1单元101", "changes": ["面积 68.45 → 70.00"]}
    ]
    assert roster(compound)["1栋1单元101"][1] == Decimal("68.45")


def test_xlsx_gives_the_same_roster_as_csv(compound, make_compound):
    run(compound, SAMPLE)
    other = make_compound()

    result = run(other, to_xlsx(SAMPLE_ROWS), filename="名册.xlsx")

    assert result.status is ImportStatus.DONE, result.report["problems"]
    assert roster(other) == roster(compound)
    assert roster(other)["1栋1单元101"][1] == Decimal("68.45")
    assert run(other, SAMPLE).report["summary"]["dwellings_unchanged"] == 48


def test_the_whole_import_takes_a_fixed_number_of_statements(compound):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        run(compound, SAMPLE)
        first = len(statements)
        statements.clear()
        run(compound, edited({(2, AREA): "70.00", (3, PHONE): "13800001111"}))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert first <= 20, first  # no statement per row: 48 rows, a handful of bulk statements
    assert len(statements) <= 20, len(statements)


# Validation rules, one by one ---------------------------------------------------------------

BASE = ["1栋", "1单元", "1", "101", "68.45", "登记", "已售", "张三", "13800000000",
        "11010519491231002X"]


def one_row(**cells) -> bytes:
    row = list(BASE)
    for column, value in cells.items():
        row[HEADER.index(column)] = value
    return to_csv([HEADER, row])


def problems_of(compound, content: bytes, filename: str = "roster.csv") -> list[tuple]:
    report = run(compound, content, filename).report
    return [(p["line"], p["column"], p["problem"]) for p in report["problems"]]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"专有部分面积": "0"}, [(AREA, "面积应大于0")]),
        ({"专有部分面积": "-3.5"}, [(AREA, "面积应大于0")]),
        ({"专有部分面积": "六十八"}, [(AREA, "面积应为数字（平方米）")]),
        ({"专有部分面积": "68.456"}, [(AREA, "面积最多保留两位小数")]),
        ({"专有部分面积": ""}, [(AREA, "专有部分面积不能为空")]),
        ({"专有部分面积": "NaN"}, [(AREA, "面积应为数字（平方米）")]),
        ({"楼层": "2.5"}, [("楼层", "楼层应为整数")]),
        ({"楼层": "二"}, [("楼层", "楼层应为整数")]),
        ({"房号": ""}, [("房号", "房号不能为空")]),
        ({"楼栋": ""}, [("楼栋", "楼栋不能为空")]),
        ({"手机号": "12345678901"}, [(PHONE, "手机号应为11位大陆手机号码")]),
        ({"手机号": "1380000000"}, [(PHONE, "手机号应为11位大陆手机号码")]),
        ({"业主证件号": "110105194912310021"}, [(ID_NUMBER, "证件号校验位不正确，请核对")]),
        ({"业主证件号": "110105194913310023"}, [(ID_NUMBER, "证件号中的出生日期不正确，请核对")]),
        (
            {"业主证件号": "91510902MA62X3Y4LA"},
            [(ID_NUMBER, "统一社会信用代码校验位不正确，请核对")],
        ),
        (
            {"业主证件号": "1101051949"},
            [(ID_NUMBER, "证件号应为18位居民身份证号码或统一社会信用代码")],
        ),
        (
            {"业主证件号": "5.10902196305088E+17"},
            [(ID_NUMBER, "证件号被表格存成了数字，末几位已丢失；请把该列设为文本格式后重新填写")],
        ),
        ({"业主证件号": ""}, [(ID_NUMBER, "已售房屋须填写业主证件号")]),
        (
            {"业主姓名": "张三、李四"},
            [
                (PHONE, "手机号的个数与业主姓名的个数不一致，共有人用“、”分隔"),
                (ID_NUMBER, "证件号的个数与业主姓名的个数不一致，共有人用“、”分隔"),
            ],
        ),
        (
            {
                "业主姓名": "张三、李四",
                "手机号": "13800000000、23800000000",
                "业主证件号": "11010519491231002X、110105194912310021",
            },
            [
                (PHONE, "第2个手机号应为11位大陆手机号码"),
                (ID_NUMBER, "第2个证件号校验位不正确，请核对"),
            ],
        ),
        (
            {
                "业主姓名": "张三、李四",
                "手机号": "",
                "业主证件号": "11010519491231002X、11010519491231002X",
            },
            [(ID_NUMBER, "同一证件号在本行出现了两次")],
        ),
        (
            {"业主姓名": "张三、", "手机号": "", "业主证件号": "11010519491231002X、"},
            [
                (NAME, "业主姓名有空项，共有人用“、”分隔"),
                (ID_NUMBER, "第2个证件号应为18位居民身份证号码或统一社会信用代码"),
            ],
        ),
        (
            {"面积来源": "估算"},
            [("面积来源", "面积来源应为“登记”、“实测”、“合同”之一，留空即为“登记”")],
        ),
        (
            {"房屋状态": "出租"},
            [("房屋状态", "房屋状态应为“已售”、“未售”、“已售未交付”之一，留空即为“已售”")],
        ),
        (
            {"业主姓名": "", "手机号": "", "业主证件号": ""},
            [
                (NAME, "已售房屋须填写业主姓名，共有人用“、”分隔"),
                (ID_NUMBER, "已售房屋须填写业主证件号"),
            ],
        ),
        (
            {"房屋状态": "未售"},
            [(NAME, "未售或已售未交付的房屋属于开发建设单位，不填写业主信息")],
        ),
        (
            {"房屋状态": "已售未交付", "业主姓名": "", "手机号": ""},
            [(ID_NUMBER, "未售或已售未交付的房屋属于开发建设单位，不填写业主信息")],
        ),
    ],
)
def test_each_row_rule(compound, cells, expected):
    assert problems_of(compound, one_row(**cells)) == [(2, c, p) for c, p in expected]


def test_unknown_use_is_a_problem_and_use_defaults_to_residential(compound):
    rows = [[*HEADER, "用途"], [*BASE, "办公"]]
    assert problems_of(compound, to_csv(rows)) == [
        (2, "用途", "用途应为“住宅”、“商业”、“车位”之一，留空即为“住宅”")
    ]
    shop = [*BASE[:3], "102", *BASE[4:7], "李四", "13900000000", resident_id("11010519500101123")]
    rows = [[*HEADER, "用途"], [*BASE, ""], [*shop, "商业"]]
    assert run(compound, to_csv(rows)).status is ImportStatus.DONE
    state = roster(compound)
    assert state["1栋1单元101"][4] is DwellingUse.RESIDENTIAL
    assert state["1栋1单元102"][4] is DwellingUse.COMMERCIAL


def test_a_file_without_the_use_column_keeps_the_stored_use(compound):
    rows = [[*HEADER, "用途"], [*BASE, "车位"]]
    run(compound, to_csv(rows))
    result = run(compound, to_csv([HEADER, BASE]))
    assert result.report["summary"]["dwellings_unchanged"] == 1
    assert roster(compound)["1栋1单元101"][4] is DwellingUse.PARKING


def test_duplicate_rooms_are_found_after_normalising_building_and_entrance(compound):
    second = ["1号楼", "1", *BASE[2:7], "李四", "13900000000", resident_id("11010519500101123")]
    assert problems_of(compound, to_csv([HEADER, BASE, second])) == [
        (3, "房号", "与第2行是同一户（楼栋、单元、房号都相同）")
    ]


def test_building_and_entrance_spellings_name_the_same_place(compound):
    spellings = [("1栋", "1单元"), ("1号楼", "1"), ("1", "1单元"), ("1幢", "01单元"), ("01", "1")]
    rows = [HEADER]
    for number, (building, entrance) in enumerate(spellings):
        rows.append(
            [building, entrance, "1", f"10{number}", "50.00", "", "", f"业主{number}",
             "", resident_id(f"1101051950010112{number}")]
        )
    rows.append(["2", "", "1", "101", "50", "", "", "王五", "", resident_id("11010519500101130")])

    assert run(compound, to_csv(rows)).status is ImportStatus.DONE
    assert counts()["buildings"] == 2
    assert counts()["entrances"] == 2
    assert set(roster(compound)) == {*(f"1栋1单元10{n}" for n in range(5)), "2栋101"}


def test_one_id_number_with_two_names_or_two_phones_is_a_problem(compound):
    other_room = ["1栋", "1单元", "1", "102", *BASE[4:7]]
    rows = [
        HEADER,
        BASE,
        [*other_room, "张叁", "13800000000", "11010519491231002x"],
        [*other_room[:3], "103", *BASE[4:7], "张三", "13900000000", "11010519491231002X"],
    ]
    assert problems_of(compound, to_csv(rows)) == [
        (3, NAME, "证件号与第2行相同，但业主姓名不同"),
        (4, PHONE, "证件号与第2行相同，但手机号不同"),
    ]


def test_every_problem_of_the_file_is_reported(compound):
    rows = [
        HEADER,
        [*BASE[:4], "0", *BASE[5:8], "123", "1"],
        [*BASE[:3], "102", "abc", "估", "卖", "", "", ""],
    ]
    assert [(line, column) for line, column, _ in problems_of(compound, to_csv(rows))] == [
        (2, AREA), (2, PHONE), (2, ID_NUMBER), (3, AREA), (3, "面积来源"), (3, "房屋状态"),
    ]


def test_missing_columns_reject_the_whole_file(compound):
    header = [c for c in HEADER if c not in (PHONE, "面积来源")]
    row = [v for c, v in zip(HEADER, BASE, strict=True) if c not in (PHONE, "面积来源")]
    assert problems_of(compound, to_csv([header, row])) == [
        (1, "面积来源", "缺少“面积来源”列，表头应与模板一致"),
        (1, PHONE, "缺少“手机号”列，表头应与模板一致"),
    ]
    assert problems_of(compound, b"") == [
        (1, "", "文件是空的：第1行应为表头（楼栋、单元、楼层……）")
    ]
    assert problems_of(compound, to_csv([HEADER])) == [(2, "", "文件中没有数据行")]
    assert roster(compound) == {}


def test_tolerated_spellings(compound):
    """BOM, units in the header, an extra column, blank lines, full-width digits, a lower-case
    x, "68.450", a basement floor, empty defaults, no phone, an organisation as owner."""
    header = [*HEADER[:4], "专有部分面积（㎡）", *HEADER[5:], "备注"]
    org = credit_code("91510902MA6" + "2X3Y4L")
    rows = [
        header,
        ["１栋", "1单元", "1", "１０１", "68.450", "", "", "张三", "１３８００００００００",
         "11010519491231002x", "见备注"],
        [],
        ["1栋", "", "-1", "B1", "12.5", "合同", "已售", "某某物业有限公司", "", org, ""],
    ]
    content = "\ufeff".encode() + to_csv(rows)

    result = run(compound, content)

    assert result.status is ImportStatus.DONE, result.report["problems"]
    state = roster(compound)
    assert state["1栋1单元101"] == (
        1, Decimal("68.45"), AreaSource.REGISTRY, DwellingStatus.SOLD, DwellingUse.RESIDENTIAL,
        [("张三", "13800000000", "002X")],
    )
    assert state["1栋B1"][:3] == (-1, Decimal("12.50"), AreaSource.CONTRACT)
    assert state["1栋B1"][5] == [("某某物业有限公司", None, org[-4:])]


def test_line_numbers_count_blank_lines_as_in_the_file(compound):
    rows = [HEADER, BASE, [], [*BASE[:3], "102", "0", *BASE[5:]]]
    assert problems_of(compound, to_csv(rows))[0][:2] == (4, AREA)


def test_gb18030_csv_is_read(compound):
    content = to_csv([HEADER, BASE]).decode().encode("gb18030")
    assert run(compound, content).status is ImportStatus.DONE
    assert roster(compound)["1栋1单元101"][5] == [("张三", "13800000000", "002X")]


def test_xlsx_cells_keep_their_values(compound):
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADER)
    workbook.active.append([*BASE[:2], 3, 101, 68.45, *BASE[5:8], 13800000000, BASE[9]])
    workbook.active.append([])
    workbook.active.append([*BASE[:2], 3.0, 102, 70.0, *BASE[5:8], 13800000000, BASE[9]])
    workbook.active.append([*BASE[:2], 3, 103, 70, *BASE[5:8], 13800000000, 5.109021963050881e17])
    out = io.BytesIO()
    workbook.save(out)

    assert problems_of(compound, out.getvalue(), "名册.xlsx") == [
        (5, ID_NUMBER, "证件号被表格存成了数字，末几位已丢失；请把该列设为文本格式后重新填写")
    ]
    assert importer._cell_text(510902196305088138) == "510902196305088138"
    assert importer._cell_text(68.45) == "68.45"
    assert importer._cell_text(13800000000.0) == "13800000000"


@pytest.mark.parametrize(
    ("filename", "content", "status", "code"),
    [
        ("roster.xls", b"\xd0\xcf\x11\xe0", 415, "unsupported_file_type"),
        ("roster.txt", b"a,b", 415, "unsupported_file_type"),
        ("roster.xlsx", b"not a zip file", 422, "unreadable_file"),
        ("roster.csv", b"\xff\xfe\x00\x00\x81", 422, "unreadable_file"),
    ],
)
def test_files_that_are_not_rosters(compound, filename, content, status, code):
    with pytest.raises(importer.ApiError) as raised:
        importer.import_roster_file(compound.id, filename, content)
    assert (raised.value.code, raised.value.error_code) == (status, code)
    assert raised.value.message


# Privacy ------------------------------------------------------------------------------------


def test_no_full_id_number_is_stored_or_logged(
    app, client, compound, staff, caplog, monkeypatch
):
    caplog.set_level("DEBUG")
    run(compound, SAMPLE)
    run(compound, edited({(2, AREA): "0"}))
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_ROWS", 10)
    response = upload(client, compound, edited({(3, PHONE): "13800001111"}), staff)
    assert response.status_code == 202

    stored = [
        repr(row)
        for model in (Owner, RosterImport, Dwelling)
        for row in _db.session.execute(select(*model.__table__.columns))
    ]
    text = "\n".join(stored)
    assert "徐丽华" in text  # the scan does see the data
    assert not [i for i in SAMPLE_IDS if i in text]
    assert not [i for i in SAMPLE_IDS if i in caplog.text]
    assert not [p for p in SAMPLE_PHONES if p in caplog.text]
    assert "徐丽华" not in caplog.text
    contents = _db.session.scalars(select(RosterImport.content)).all()
    assert contents and set(contents) == {b""}


# API ----------------------------------------------------------------------------------------


def upload(client, compound, content: bytes, headers, filename="roster.csv", **form):
    return client.post(
        f"/api/v1/compounds/{compound.id}/roster-imports",
        data={"file": (io.BytesIO(content), filename), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


@pytest.fixture
def staff(compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, compound.id))


def test_api_small_file_is_imported_in_the_request(client, compound, staff):
    response = upload(client, compound, SAMPLE, staff)

    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "done"
    assert body["rows_done"] == body["rows_total"] == 48
    assert body["report"]["summary"]["dwellings_created"] == 48
    assert body["message"].startswith("导入完成")
    assert len(roster(compound)) == 48


def test_api_rejected_file_is_422_with_every_problem(client, compound, staff):
    broken = edited({(4, AREA): "0", (9, PHONE): "1326859952"})

    response = upload(client, compound, broken, staff)

    assert response.status_code == 422
    assert response.json["code"] == "roster_invalid"
    assert "2 处问题" in response.json["message"]
    assert response.json["errors"]["rows"] == [
        {"line": 4, "column": "专有部分面积", "problem": "面积应大于0"},
        {"line": 9, "column": "手机号", "problem": "手机号应为11位大陆手机号码"},
    ]
    detail = client.get(response.headers["Location"], headers=staff)
    assert detail.status_code == 200
    assert detail.json["status"] == "rejected"
    assert detail.json["report"]["problems"] == response.json["errors"]["rows"]
    assert roster(compound) == {}


def test_api_dry_run_writes_nothing(client, compound, staff):
    response = upload(client, compound, SAMPLE, staff, dry_run="true")

    assert response.status_code == 200
    assert response.json["dry_run"] is True
    assert response.json["report"]["summary"]["dwellings_created"] == 48
    assert roster(compound) == {}


def test_api_large_file_runs_as_a_job(app, client, compound, staff, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_ROWS", 10)

    response = upload(client, compound, SAMPLE, staff)

    assert response.status_code == 202
    assert response.json["rows_total"] == 48
    location = response.headers["Location"]
    assert location.endswith(f"/api/v1/roster-imports/{response.json['id']}")
    detail = client.get(location, headers=staff).json
    assert detail["status"] == "done"  # no Redis configured: the job ran inline
    assert detail["rows_done"] == detail["rows_total"] == 48
    assert detail["report"]["summary"]["owners_created"] == 45
    assert len(roster(compound)) == 48


def test_api_lists_imports_newest_first(client, compound, staff):
    upload(client, compound, SAMPLE, staff)
    upload(client, compound, edited({(2, AREA): "0"}), staff)

    response = client.get(
        f"/api/v1/compounds/{compound.id}/roster-imports?page_size=1", headers=staff
    )

    assert response.status_code == 200
    assert '"total": 2' in response.headers["X-Pagination"]
    [latest] = response.json
    assert latest["status"] == "rejected"
    assert "report" not in latest
    assert latest["message"]


def test_api_file_errors(app, client, compound, staff, monkeypatch):
    wrong_type = upload(client, compound, b"a,b", staff, filename="roster.pdf")
    assert (wrong_type.status_code, wrong_type.json["code"]) == (415, "unsupported_file_type")
    assert "xlsx" in wrong_type.json["message"]

    damaged = upload(client, compound, b"PK\x03\x04 broken", staff, filename="roster.xlsx")
    assert (damaged.status_code, damaged.json["code"]) == (422, "unreadable_file")

    no_file = client.post(
        f"/api/v1/compounds/{compound.id}/roster-imports",
        data={"dry_run": "true"},
        headers=staff,
        content_type="multipart/form-data",
    )
    assert no_file.status_code == 422
    assert "file" in no_file.json["errors"]

    bad_flag = upload(client, compound, SAMPLE, staff, dry_run="maybe")
    assert bad_flag.status_code == 422
    assert "dry_run" in bad_flag.json["errors"]

    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 100)
    too_large = upload(client, compound, SAMPLE, staff)
    assert (too_large.status_code, too_large.json["code"]) == (413, "file_too_large")
    assert _db.session.scalar(select(func.count()).select_from(RosterImport)) == 0


def test_api_templates_download_and_import(client, compound, staff):
    csv_file = client.get("/api/v1/roster-template.csv", headers=staff)
    assert csv_file.status_code == 200
    assert csv_file.mimetype == "text/csv"
    assert csv_file.data.startswith("\ufeff楼栋,单元,楼层,房号".encode())
    assert "attachment" in csv_file.headers["Content-Disposition"]

    xlsx_file = client.get("/api/v1/roster-template.xlsx", headers=staff)
    assert xlsx_file.status_code == 200
    assert xlsx_file.mimetype.endswith("spreadsheetml.sheet")

    assert upload(client, compound, csv_file.data, staff).status_code == 200
    again = upload(client, compound, xlsx_file.data, staff, filename="模板.xlsx")
    assert again.status_code == 200
    assert again.json["report"]["summary"]["dwellings_unchanged"] == 1


def test_api_templates_are_for_staff_only(client, make_account, sign_in):
    assert client.get("/api/v1/roster-template.csv").status_code == 401
    resident = sign_in(make_account())
    response = client.get("/api/v1/roster-template.xlsx", headers=resident)
    assert response.status_code == 403


def test_api_staff_of_another_compound_gets_404(
    client, compound, staff, make_compound, make_staff, make_account, sign_in
):
    imported = upload(client, compound, SAMPLE, staff).json
    neighbour = make_compound(community=compound.community)
    for headers in (
        sign_in(make_staff(Role.COMPOUND, neighbour.id)),
        sign_in(make_account()),
    ):
        assert upload(client, compound, SAMPLE, headers).status_code == 404
        listing = client.get(f"/api/v1/compounds/{compound.id}/roster-imports", headers=headers)
        assert listing.status_code == 404
        detail = client.get(f"/api/v1/roster-imports/{imported['id']}", headers=headers)
        assert (detail.status_code, detail.json["code"]) == (404, "not_found")
    community_staff = sign_in(make_staff(Role.COMMUNITY, compound.community_id))
    detail = client.get(f"/api/v1/roster-imports/{imported['id']}", headers=community_staff)
    assert detail.status_code == 200
    assert client.get("/api/v1/roster-imports/999999", headers=staff).status_code == 404


def test_openapi_documents_the_import(client):
    spec = client.get("/api/v1/openapi.json").json
    post = spec["paths"]["/api/v1/compounds/{compound_id}/roster-imports"]["post"]
    body = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    upload_schema = spec["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert set(upload_schema["properties"]) == {
        "file", "dry_run", "confirm_area_downgrade", "area_downgrade_reason"
    }
    assert {"200", "202", "404", "413", "415", "422"} <= set(post["responses"])
    assert "/api/v1/roster-template.xlsx" in spec["paths"]


# The job ------------------------------------------------------------------------------------


def test_job_is_idempotent_and_a_failure_writes_nothing(compound, monkeypatch):
    queued = importer.new_import(compound.id, "roster.csv", SAMPLE, False, None, rows_total=48)
    _db.session.commit()
    real_write = importer._write

    def write_then_fail(*args):
        real_write(*args)
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_write", write_then_fail)
    with pytest.raises(RuntimeError):
        run_roster_import(queued.id)
    failed = _db.session.get(RosterImport, queued.id)
    assert failed.status is ImportStatus.FAILED
    assert failed.content == b""
    assert "未写入" in failed.report["message"]
    assert roster(compound) == {}

    monkeypatch.setattr(importer, "_write", real_write)
    run_roster_import(queued.id)  # finished: left alone
    assert _db.session.get(RosterImport, queued.id).status is ImportStatus.FAILED

    done = importer.new_import(compound.id, "roster.csv", SAMPLE, False, None, rows_total=48)
    _db.session.commit()
    run_roster_import(done.id)
    report = _db.session.get(RosterImport, done.id).report
    run_roster_import(done.id)
    assert _db.session.get(RosterImport, done.id).report == report
    assert report["summary"]["dwellings_created"] == 48


@pytest.mark.redis
def test_large_import_through_rq_reports_progress(
    app, client, compound, staff, redis_url, monkeypatch
):
    from redis import Redis
    from rq import Queue, SimpleWorker
    from rq.job import Job

    queue_name = f"test-roster-import-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "RQ_QUEUE", queue_name)
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_ROWS", 10)
    connection = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    try:
        response = upload(client, compound, SAMPLE, staff)
        assert response.status_code == 202
        assert (response.json["status"], response.json["rows_done"]) == ("queued", 0)
        [job_id] = queue.job_ids
        assert client.get(response.headers["Location"], headers=staff).json["status"] == "queued"

        compound_id = compound.id
        SimpleWorker([queue], connection=connection).work(burst=True)
        # the worker closed the session (as after every job): reload what the test holds
        compound = _db.session.get(Compound, compound_id)

        job = Job.fetch(job_id, connection=connection)
        assert job.is_finished
        assert job.meta == {"rows_done": 48, "rows_total": 48}
        detail = client.get(response.headers["Location"], headers=staff).json
        assert detail["status"] == "done"
        assert detail["rows_done"] == detail["rows_total"] == 48
        assert detail["report"]["summary"]["dwellings_created"] == 48
        assert len(roster(compound)) == 48
    finally:
        queue.delete(delete_jobs=True)


# Odd input (issue 11): plain decimals, plausible areas, no control characters -------------


@pytest.mark.parametrize("area", ["1e5", "1E2", "68.45e0", "Infinity", "NaN", "0x10", "-"])
def test_an_area_is_a_plain_decimal(compound, area):
    assert problems_of(compound, one_row(**{"专有部分面积": area})) == [
        (2, "专有部分面积", "面积应为数字（平方米）")
    ]


def test_a_residential_area_above_ten_thousand_square_metres_is_refused(compound):
    message = "住宅的专有部分面积超过 10000 ㎡，请核对；商业用房等请在“用途”列注明"
    assert problems_of(compound, one_row(**{"专有部分面积": "10000.01"})) == [
        (2, "专有部分面积", message)
    ]
    rows = [[*HEADER, "用途"], [*BASE[:4], "10000.01", *BASE[5:], "住宅"]]
    assert problems_of(compound, to_csv(rows)) == [(2, "专有部分面积", message)]
    # exactly 10,000 m² is still a possible home; a shopping arcade may be larger
    assert problems_of(compound, one_row(**{"专有部分面积": "10000.00"})) == []
    rows = [[*HEADER, "用途"], [*BASE[:4], "25000.00", *BASE[5:], "商业"]]
    assert run(compound, to_csv(rows)).status is ImportStatus.DONE


@pytest.mark.parametrize("text", ["张\x00三", "张三\x07", "\x1b张三"])
def test_control_characters_in_a_cell_are_refused_and_nothing_is_written(compound, text):
    assert problems_of(compound, one_row(**{"业主姓名": text})) == [
        (2, "业主姓名", "含有不可见的控制字符，请删除后重新上传")
    ]
    assert roster(compound) == {}
