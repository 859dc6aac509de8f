"""Roster import (房产名册导入): read a committee's CSV or XLSX file, check every row, compare it
with the compound's roster and apply the differences in one transaction.

1. :func:`read_table` turns the bytes into text cells (CSV in UTF-8 or GB18030, or the first
   sheet of an XLSX workbook); a file that is not one of those is an :class:`ApiError`.
2. :func:`check_rows` collects every problem of every row, with the line and column the
   committee sees in the file. One problem and nothing is written.
3. :func:`_area_problems` refuses rows that would replace a stored area by one of a lower
   source (登记 > 实测 > 合同), unless the committee confirmed it with a reason; they are row
   problems like the others.
4. :func:`_plan` compares the rows with the roster, loaded once into dicts, and works out which
   resident accounts follow the roster's owners (:func:`_plan_accounts`). Buildings and
   entrances are matched by their key ("5号楼", "5栋" and "5" are building "5") and keep the
   name the file writes (:func:`_places`): a file that spells a stored one differently
   renames it, and the report says so.
5. :func:`_write` applies the plan with bulk inserts and updates; it flushes, never commits.

Full ID numbers live only in memory while a file is checked: owners are matched by the keyed
hash of the ID number and keep its last four characters; reports and logs carry no ID
numbers, and names and phones in reports are masked.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import PurePath

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import aliased

from participation.auth.models import Account, ClaimKind, ClaimStatus, DwellingClaim
from participation.common.errors import ApiError
from participation.common.privacy import id_number_hash, mask_name, mask_phone
from participation.common.schemas import TWO_PLACES
from participation.common.types import utcnow
from participation.extensions import db
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
    building_key,
    building_name,
    dwelling_label,
    entrance_key,
    entrance_name,
)

log = logging.getLogger(__name__)

BUILDING, ENTRANCE, FLOOR, ROOM = "楼栋", "单元", "楼层", "房号"
AREA, AREA_SOURCE, STATUS = "专有部分面积", "面积来源", "房屋状态"
NAME, PHONE, ID_NUMBER, USE = "业主姓名", "手机号", "业主证件号", "用途"
REQUIRED_COLUMNS = (
    BUILDING,
    ENTRANCE,
    FLOOR,
    ROOM,
    AREA,
    AREA_SOURCE,
    STATUS,
    NAME,
    PHONE,
    ID_NUMBER,
)
OPTIONAL_COLUMNS = (USE,)

AREA_SOURCES = {
    "登记": AreaSource.REGISTRY,
    "实测": AreaSource.SURVEYED,
    "合同": AreaSource.CONTRACT,
}
STATUSES = {
    "已售": DwellingStatus.SOLD,
    "未售": DwellingStatus.UNSOLD,
    "已售未交付": DwellingStatus.UNDELIVERED,
}
USES = {
    "住宅": DwellingUse.RESIDENTIAL,
    "商业": DwellingUse.COMMERCIAL,
    "车位": DwellingUse.PARKING,
}
LABELS = {member: label for m in (AREA_SOURCES, STATUSES, USES) for label, member in m.items()}

CO_OWNER_SEPARATOR = "、"
MAX_AREA = Decimal("100000000")  # Numeric(10, 2)
# No home is this large: a residential row above it is a typo (or a unit mistake).
MAX_RESIDENTIAL_AREA = Decimal("10000")
# Control characters (NUL included) and surrogate halves: invisible, and not storable text.
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
PROGRESS_EVERY = 1000
FINISHED = frozenset({ImportStatus.DONE, ImportStatus.REJECTED, ImportStatus.FAILED})

TEMPLATE_EXAMPLE = (
    "1栋",
    "1单元",
    "1",
    "101",
    "68.45",
    "登记",
    "已售",
    "张三",
    "13800000000",
    "11010519491231002X",
    "住宅",
)

DwellingKey = tuple[str, str, str]  # building, entrance, room (normalised)
Progress = Callable[[int], None]


# Entry points -----------------------------------------------------------------------------


def import_roster_file(
    compound_id: int,
    filename: str,
    content: bytes,
    dry_run: bool = False,
    created_by_id: int | None = None,
    area_downgrade_reason: str | None = None,
) -> RosterImport:
    """Create the import's row and run the import here and now. Flushes; the caller commits.

    Raises :class:`ApiError` (415/422) when ``content`` is not a readable CSV or XLSX file;
    problems in the rows make the import ``rejected`` instead. ``area_downgrade_reason``:
    the committee confirmed, for this reason, that areas may be replaced by ones of a lower
    source.
    """
    roster_import = new_import(
        compound_id,
        filename,
        b"",
        dry_run,
        created_by_id,
        area_downgrade_reason=area_downgrade_reason,
    )
    run_import(roster_import, content)
    return roster_import


def new_import(
    compound_id: int,
    filename: str,
    content: bytes,
    dry_run: bool,
    created_by_id: int | None,
    rows_total: int = 0,
    area_downgrade_reason: str | None = None,
) -> RosterImport:
    """A queued import. ``content`` is kept only until the import finishes."""
    roster_import = RosterImport(
        compound_id=compound_id,
        filename=PurePath(filename or "roster").name[:200],
        content=content,
        dry_run=dry_run,
        area_downgrade_reason=area_downgrade_reason,
        status=ImportStatus.QUEUED,
        rows_total=rows_total,
        created_by_id=created_by_id,
    )
    db.session.add(roster_import)
    db.session.flush()
    return roster_import


def run_import(
    roster_import: RosterImport, content: bytes, on_progress: Progress | None = None
) -> None:
    """Check ``content`` and, unless it is a dry run, apply it. Flushes; never commits.

    ``on_progress(rows_done)`` is called while the rows are checked, before anything is
    written, so a job may commit in it to show its progress.
    """
    roster_import.status = ImportStatus.RUNNING
    table = read_table(roster_import.filename, content)
    roster_import.rows_total = len(table.rows)
    entries, problems = check_rows(table, on_progress)
    compound_id = roster_import.compound_id
    reason = roster_import.area_downgrade_reason
    writing = not (roster_import.dry_run or problems)
    if writing:
        _lock_compound(compound_id)
    roster = _load_roster(compound_id) if entries else None
    places = _places(entries, roster) if roster is not None else None
    if roster is not None and reason is None:
        # Sorted by line with the others (a row has either kind, never both).
        problems = sorted(problems + _area_problems(entries, roster, places), key=lambda p: p.line)
    if problems:
        _finish(roster_import, ImportStatus.REJECTED, _rejection(problems, roster_import.dry_run))
        return
    plan = _plan(entries, roster, places, compound_id, reason)
    if writing:
        _write(plan, roster, compound_id)
    _finish(roster_import, ImportStatus.DONE, plan.report(roster_import.dry_run))


def mark_failed(roster_import: RosterImport) -> None:
    """After an unexpected error (the transaction was rolled back: nothing was written)."""
    message = "导入时发生意外错误，未写入任何数据，请重新上传。"
    _finish(roster_import, ImportStatus.FAILED, _report(roster_import.dry_run, message))


def retry_report(roster_import: RosterImport, message: str) -> dict:
    """The report of an import whose run failed and is being retried: the message, and how
    many runs failed so far."""
    failed_runs = ((roster_import.report or {}).get("failed_runs") or 0) + 1
    report = _report(roster_import.dry_run, f"{message}（已失败 {failed_runs} 次）")
    return {**report, "failed_runs": failed_runs}


def count_rows(filename: str, content: bytes) -> int:
    """Data rows in the file (blank rows left out); raises like :func:`read_table`."""
    return len(read_table(filename, content).rows)


def _finish(roster_import: RosterImport, status: ImportStatus, report: dict) -> None:
    roster_import.status = status
    roster_import.report = report
    roster_import.rows_done = roster_import.rows_total
    roster_import.finished_at = utcnow()
    roster_import.content = b""  # the file holds full ID numbers: never keep it
    log.info(
        "roster import %s (compound %s): %s, %s rows",
        roster_import.id,
        roster_import.compound_id,
        status.value,
        roster_import.rows_total,
    )


# Reading the file ---------------------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line as the committee sees it, cells); no blank rows


def read_table(filename: str, content: bytes) -> Table:
    """The header row and the data rows of a CSV file or of an XLSX workbook's first sheet."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".csv":
        lines = _csv_lines(content)
    elif suffix == ".xlsx":
        lines = _xlsx_lines(content)
    else:
        raise ApiError(
            415,
            "unsupported_file_type",
            "仅支持 CSV（.csv）或 Excel（.xlsx）文件；旧版 .xls 文件请先另存为 .xlsx",
        )
    header = lines[0] if lines else []
    rows = [(number, cells) for number, cells in enumerate(lines[1:], start=2) if any(cells)]
    return Table(header, rows)


def _unreadable(message: str) -> ApiError:
    return ApiError(422, "unreadable_file", message)


def _csv_lines(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise _unreadable("无法识别文件的编码，请另存为 UTF-8 编码的 CSV 文件") from exc
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise _unreadable("无法读取该 CSV 文件，请确认它是逗号分隔的文本文件") from exc


def _xlsx_lines(content: bytes) -> list[list[str]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # some writers declare wrong dimensions
            return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    except Exception as exc:  # a damaged or foreign file fails in many ways inside openpyxl
        raise _unreadable("无法读取该 Excel 文件，请确认它是 .xlsx 格式") from exc


def _cell_text(value) -> str:
    """A cell as the committee typed it. Numbers keep their shortest decimal form (68.45
    stays "68.45"); integral numbers lose the ".0" (a phone 13800000000.0 is "13800000000").
    Numbers too long for a float to hold exactly keep their exponent, so that an ID number
    stored as a number is recognised as damaged rather than read as other digits."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value).strip()


# Checking the rows --------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    problem: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "problem": self.problem}


@dataclass(frozen=True, slots=True)
class OwnerEntry:
    name: str
    phone: str | None
    id_hash: str
    id_last4: str


@dataclass(frozen=True, slots=True)
class Place:
    """A building or entrance cell: the key it matches by, and its name as written (None for
    a bare number, which names nothing: "5" is "5栋" when new and keeps a stored name)."""

    key: str
    name: str | None


@dataclass(frozen=True, slots=True)
class DwellingEntry:
    line: int  # as the committee sees it in the file
    building: str  # the keys
    entrance: str
    room: str
    floor: int
    area: Decimal
    area_source: AreaSource
    status: DwellingStatus
    use: DwellingUse | None  # None: the file has no 用途 column; keep what is stored
    owners: tuple[OwnerEntry, ...]
    building_name: str | None = None  # as written; None: a bare number (see ``Place``)
    entrance_name: str | None = None

    @property
    def key(self) -> DwellingKey:
        return (self.building, self.entrance, self.room)


class _Invalid(ValueError):
    """A cell's problem, in the words shown to the committee."""


def check_rows(
    table: Table, on_progress: Progress | None = None
) -> tuple[list[DwellingEntry], list[Problem]]:
    """Every row checked and every problem collected; the rows without a problem as entries
    (they are checked against the roster too, so that a refused file lists every problem)."""
    columns, problems = _columns(table)
    if problems:
        return [], problems
    checker = _Checker(columns, current_app.config["ID_HASH_KEY"])
    for done, (line, cells) in enumerate(table.rows, start=1):
        checker.check(line, cells)
        if on_progress and done % PROGRESS_EVERY == 0:
            on_progress(done)
    if on_progress:
        on_progress(len(table.rows))
    return checker.entries, checker.problems


def _column_name(cell: str) -> str:
    """ "专有部分面积（㎡）" → "专有部分面积"."""
    return re.sub(r"\s*[（(][^（）()]*[）)]$", "", cell.replace("\ufeff", "").strip())


def _columns(table: Table) -> tuple[dict[str, int], list[Problem]]:
    if not table.header:
        return {}, [Problem(1, "", "文件是空的：第1行应为表头（楼栋、单元、楼层……）")]
    columns: dict[str, int] = {}
    problems = []
    for index, cell in enumerate(table.header):
        name = _column_name(cell)
        if name in columns:
            problems.append(Problem(1, name, f"“{name}”列出现了两次"))
        elif name in REQUIRED_COLUMNS or name in OPTIONAL_COLUMNS:
            columns[name] = index
    problems += [
        Problem(1, name, f"缺少“{name}”列，表头应与模板一致")
        for name in REQUIRED_COLUMNS
        if name not in columns
    ]
    if not problems and not table.rows:
        problems.append(Problem(2, "", "文件中没有数据行"))
    return columns, problems


class _Checker:
    """Checks rows one by one and across rows (duplicate rooms, one ID with two names)."""

    def __init__(self, columns: dict[str, int], hash_key: str):
        self.columns = columns
        self.hash_key = hash_key
        self.entries: list[DwellingEntry] = []
        self.problems: list[Problem] = []
        self.line = 0
        self.cells: list[str] = []
        self._first_line_of_room: dict[DwellingKey, int] = {}
        self._first_owner: dict[str, tuple[int, OwnerEntry]] = {}  # by ID hash

    def check(self, line: int, cells: list[str]) -> None:
        self.line = line
        self.cells = cells
        before = len(self.problems)
        for column, index in self.columns.items():
            if index < len(cells) and UNPRINTABLE.search(cells[index]):
                self._problem(column, "含有不可见的控制字符，请删除后重新上传")
        building = self._field(BUILDING, _building)
        entrance = self._field(ENTRANCE, _entrance)
        floor = self._field(FLOOR, _floor)
        room = self._field(ROOM, _room)
        area = self._field(AREA, _area)
        area_source = self._field(AREA_SOURCE, _area_source)
        status = self._field(STATUS, _status)
        use = self._field(USE, _use) if USE in self.columns else None
        residential = use in (None, DwellingUse.RESIDENTIAL)  # no 用途 column: homes
        if area is not None and area > MAX_RESIDENTIAL_AREA and residential:
            self._problem(
                AREA,
                f"住宅的专有部分面积超过 {MAX_RESIDENTIAL_AREA} ㎡，请核对；"
                "商业用房等请在“用途”列注明",
            )
        owners = self._owners_of(status)
        if building is not None and entrance is not None and room is not None:
            self._check_room((building.key, entrance.key, room))
        if owners:
            self._check_owners_across_rows(owners)
        if len(self.problems) == before:
            self.entries.append(
                DwellingEntry(
                    self.line,
                    building.key,
                    entrance.key,
                    room,
                    floor,
                    area,
                    area_source,
                    status,
                    use,
                    owners,
                    building.name,
                    entrance.name,
                )
            )

    def _text(self, column: str) -> str:
        index = self.columns[column]
        return self.cells[index] if index < len(self.cells) else ""

    def _problem(self, column: str, text: str) -> None:
        self.problems.append(Problem(self.line, column, text))

    def _field(self, column: str, parse: Callable[[str], object]):
        try:
            return parse(self._text(column))
        except _Invalid as invalid:
            self._problem(column, str(invalid))
            return None

    def _owners_of(self, status: DwellingStatus | None) -> tuple[OwnerEntry, ...] | None:
        """The row's owners, or None if a cell about them has a problem."""
        names, phones, ids = (_split(self._text(c)) for c in (NAME, PHONE, ID_NUMBER))
        if status is not None and status.belongs_to_developer:
            filled = [c for c, v in ((NAME, names), (PHONE, phones), (ID_NUMBER, ids)) if v]
            if filled:
                self._problem(filled[0], "未售或已售未交付的房屋属于开发建设单位，不填写业主信息")
                return None
            return ()
        before = len(self.problems)
        self._check_names(names, status)
        phones = self._phones(phones, names)
        hashed = self._id_numbers(ids, names, status)
        if len(self.problems) > before or not names:
            return None
        return tuple(
            OwnerEntry(name, phone, id_hash, last4)
            for name, phone, (id_hash, last4) in zip(names, phones, hashed, strict=True)
        )

    def _check_names(self, names: list[str], status: DwellingStatus | None) -> None:
        if not names:
            if status is not None:
                self._problem(NAME, "已售房屋须填写业主姓名，共有人用“、”分隔")
        elif any(not name for name in names):
            self._problem(NAME, "业主姓名有空项，共有人用“、”分隔")
        elif any(len(name) > 64 for name in names):
            self._problem(NAME, "业主姓名过长")

    def _id_numbers(
        self, ids: list[str], names: list[str], status: DwellingStatus | None
    ) -> list[tuple[str, str]]:
        """(keyed hash, last 4 characters) of each ID number; the number itself is dropped."""
        if not ids:
            if status is not None or names:
                self._problem(ID_NUMBER, "已售房屋须填写业主证件号")
            return []
        if len(ids) != len(names):
            self._problem(ID_NUMBER, "证件号的个数与业主姓名的个数不一致，共有人用“、”分隔")
            return []
        hashed = []
        for position, raw in enumerate(ids):
            try:
                number = _id_number(raw)
            except _Invalid as invalid:
                self._problem(ID_NUMBER, _nth(position, len(ids)) + str(invalid))
                continue
            hashed.append((id_number_hash(number, self.hash_key), number[-4:]))
        if len({h for h, _ in hashed}) < len(hashed):
            self._problem(ID_NUMBER, "同一证件号在本行出现了两次")
        return hashed

    def _phones(self, phones: list[str], names: list[str]) -> list[str | None]:
        """Phones in the order of the names; an empty cell means no phone for anyone."""
        if not phones:
            return [None] * len(names)
        if len(phones) != len(names):
            self._problem(PHONE, "手机号的个数与业主姓名的个数不一致，共有人用“、”分隔")
            return []
        checked = []
        for position, raw in enumerate(phones):
            phone = _nfkc(raw)
            if not re.fullmatch(r"1[3-9][0-9]{9}", phone):
                self._problem(PHONE, _nth(position, len(phones)) + "手机号应为11位大陆手机号码")
            checked.append(phone)
        return checked

    def _check_room(self, key: DwellingKey) -> None:
        first = self._first_line_of_room.setdefault(key, self.line)
        if first != self.line:
            self._problem(ROOM, f"与第{first}行是同一户（楼栋、单元、房号都相同）")

    def _check_owners_across_rows(self, owners: Iterable[OwnerEntry]) -> None:
        for owner in owners:
            first_line, first = self._first_owner.setdefault(owner.id_hash, (self.line, owner))
            if first_line == self.line:
                continue
            if first.name != owner.name:
                self._problem(NAME, f"证件号与第{first_line}行相同，但业主姓名不同")
            elif first.phone != owner.phone:
                self._problem(PHONE, f"证件号与第{first_line}行相同，但手机号不同")


def _nfkc(text: str) -> str:
    """Full-width digits and letters (１２３Ｘ) as ASCII, spaces removed."""
    return unicodedata.normalize("NFKC", text).replace(" ", "")


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(CO_OWNER_SEPARATOR)] if cell else []


def _nth(position: int, count: int) -> str:
    return f"第{position + 1}个" if count > 1 else ""


def _place(
    text: str, key_of: Callable[[str], str], what: str, bare_name: Callable[[str], str]
) -> Place:
    """Key: "1栋", "1号楼", "01" → "1"; names that are not numbers are kept as written. Name:
    the cell as written, trimmed, with full-width digits and letters as ASCII (as room
    numbers are: "１栋" is "1栋"); None for a bare number ("01", "５")."""
    key = key_of(text)
    bare = re.fullmatch("[0-9]*", _nfkc(text)) is not None  # "" too: no entrance
    name = None if bare else unicodedata.normalize("NFKC", text).strip()
    if len(key) > 32 or len(name if name is not None else bare_name(key)) > 32:
        raise _Invalid(f"{what}名称过长")
    return Place(key, name)


def _building(text: str) -> Place:
    if not text:
        raise _Invalid("楼栋不能为空")
    return _place(text, building_key, "楼栋", building_name)


def _entrance(text: str) -> Place:
    return _place(text, entrance_key, "单元", entrance_name)


def _floor(text: str) -> int:
    text = _nfkc(text)
    if not re.fullmatch(r"-?[0-9]{1,3}", text):
        raise _Invalid("楼层应为整数")
    return int(text)


def _room(text: str) -> str:
    room = _nfkc(text)
    if not room:
        raise _Invalid("房号不能为空")
    if len(room) > 32:
        raise _Invalid("房号过长")
    return room


def _area(text: str) -> Decimal:
    text = _nfkc(text)
    if not text:
        raise _Invalid("专有部分面积不能为空")
    # Plain decimals only: Decimal() would read "1e5" as 100000 m².
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        raise _Invalid("面积应为数字（平方米）")
    area = Decimal(text)
    if area <= 0:
        raise _Invalid("面积应大于0")
    if area >= MAX_AREA:
        raise _Invalid("面积超出范围")
    if area != area.quantize(TWO_PLACES):
        raise _Invalid("面积最多保留两位小数")
    return area.quantize(TWO_PLACES)


def _choice(what: str, options: dict, default) -> Callable[[str], object]:
    allowed = "、".join(f"“{label}”" for label in options)
    message = f"{what}应为{allowed}之一，留空即为“{LABELS[default]}”"

    def parse(text: str):
        if not text:
            return default
        try:
            return options[text]
        except KeyError:
            raise _Invalid(message) from None

    return parse


_area_source = _choice("面积来源", AREA_SOURCES, AreaSource.REGISTRY)
_status = _choice("房屋状态", STATUSES, DwellingStatus.SOLD)
_use = _choice("用途", USES, DwellingUse.RESIDENTIAL)


# ID numbers: 居民身份证号码 (GB 11643) or 统一社会信用代码 (GB 32100) --------------------------

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _id_number(raw: str) -> str:
    number = _nfkc(raw).upper()
    if "E+" in number:
        raise _Invalid("证件号被表格存成了数字，末几位已丢失；请把该列设为文本格式后重新填写")
    if re.fullmatch(r"[0-9]{17}[0-9X]", number):
        if _has_birth_date(number):
            if resident_id_valid(number):
                return number
            raise _Invalid("证件号校验位不正确，请核对")
        if credit_code_valid(number):  # a credit code may be all digits
            return number
        raise _Invalid("证件号中的出生日期不正确，请核对")
    if len(number) == 18 and set(number) <= set(_CREDIT_CHARS):
        if credit_code_valid(number):
            return number
        raise _Invalid("统一社会信用代码校验位不正确，请核对")
    raise _Invalid("证件号应为18位居民身份证号码或统一社会信用代码")


def _has_birth_date(number: str) -> bool:
    try:
        born = datetime.strptime(number[6:14], "%Y%m%d")
    except ValueError:
        return False
    return born.year >= 1900


def resident_id_valid(number: str) -> bool:
    """GB 11643 check character of an 18-character resident ID number."""
    total = sum(int(d) * w for d, w in zip(number[:17], _RESIDENT_WEIGHTS, strict=True))
    return _RESIDENT_CHECK[total % 11] == number[17]


def credit_code_valid(code: str) -> bool:
    """GB 32100 check character of an 18-character unified social credit code."""
    if len(code) != 18 or not set(code) <= set(_CREDIT_CHARS):
        return False
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31] == code[17]


# Comparing with the roster ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _StoredDwelling:
    id: int
    floor: int
    area: Decimal
    area_source: AreaSource
    status: DwellingStatus
    use: DwellingUse


@dataclass(frozen=True, slots=True)
class _StoredOwner:
    id: int
    id_hash: str
    name: str
    phone: str | None
    id_last4: str
    account_id: int | None
    account_phone: str | None  # the linked account's phone
    phone_account_id: int | None  # the account whose phone is the owner's, linked or not


@dataclass
class _Roster:
    """The compound's roster, loaded once (five queries)."""

    buildings: dict[str, int]  # by key
    entrances: dict[tuple[str, str], int]  # by (building key, entrance key)
    building_names: dict[str, str]  # stored names, by key
    entrance_names: dict[tuple[str, str], str]
    dwellings: dict[DwellingKey, _StoredDwelling]
    owners: dict[str, _StoredOwner]  # by ID hash
    owners_by_id: dict[int, _StoredOwner]
    ownerships: dict[int, dict[int, int]]  # dwelling id → {owner id: ownership id}


def _lock_compound(compound_id: int) -> None:
    """Imports of one compound run one after the other (a row lock on PostgreSQL; SQLite has
    a single writer anyway)."""
    db.session.execute(select(Compound.id).where(Compound.id == compound_id).with_for_update())


def _load_roster(compound_id: int) -> _Roster:
    same_phone = aliased(Account)
    buildings = db.session.execute(
        select(Building.number, Building.id, Building.name).where(
            Building.compound_id == compound_id
        )
    ).all()
    entrances = db.session.execute(
        select(Building.number, Entrance.number, Entrance.id, Entrance.name)
        .join(Building, Entrance.building_id == Building.id)
        .where(Building.compound_id == compound_id)
    ).all()
    dwellings = db.session.execute(
        select(
            Building.number,
            Entrance.number,
            Dwelling.room,
            Dwelling.id,
            Dwelling.floor,
            Dwelling.area,
            Dwelling.area_source,
            Dwelling.status,
            Dwelling.use,
        )
        .join(Building, Dwelling.building_id == Building.id)
        .join(Entrance, Dwelling.entrance_id == Entrance.id)
        .where(Dwelling.compound_id == compound_id)
    )
    owners = [
        _StoredOwner(*row)
        for row in db.session.execute(
            select(
                Owner.id,
                Owner.id_hash,
                Owner.name,
                Owner.phone,
                Owner.id_last4,
                Owner.account_id,
                Account.phone,
                same_phone.id,
            )
            .outerjoin(Account, Owner.account_id == Account.id)
            .outerjoin(same_phone, Owner.phone == same_phone.phone)
            .where(Owner.compound_id == compound_id)
        )
    ]
    ownerships = db.session.execute(
        select(Ownership.dwelling_id, Ownership.owner_id, Ownership.id)
        .join(Dwelling, Ownership.dwelling_id == Dwelling.id)
        .where(Dwelling.compound_id == compound_id)
        .order_by(Ownership.id)
    )
    held: dict[int, dict[int, int]] = {}
    for dwelling_id, owner_id, ownership_id in ownerships:
        held.setdefault(dwelling_id, {})[owner_id] = ownership_id
    return _Roster(
        buildings={number: id_ for number, id_, _ in buildings},
        entrances={(b, e): id_ for b, e, id_, _ in entrances},
        building_names={number: name for number, _, name in buildings},
        entrance_names={(b, e): name for b, e, _, name in entrances},
        dwellings={
            (b, e, room): _StoredDwelling(id_, *rest) for b, e, room, id_, *rest in dwellings
        },
        owners={owner.id_hash: owner for owner in owners},
        owners_by_id={owner.id: owner for owner in owners},
        ownerships=held,
    )


@dataclass
class _Places:
    """The names of the buildings and entrances after the import: as the file writes them,
    else as stored, else as a bare number stands for ("5" → "5栋"); and the stored ones the
    file renames."""

    buildings: dict[str, str]  # by key
    entrances: dict[tuple[str, str], str]  # by (building key, entrance key)
    renamed_buildings: dict[int, str] = field(default_factory=dict)  # id → new name
    renamed_entrances: dict[int, str] = field(default_factory=dict)
    renamed: list[str] = field(default_factory=list)  # for the report: "5栋 → 5号楼"

    def label(self, key: DwellingKey) -> str:
        building, entrance, room = key
        return dwelling_label(self.buildings[building], self.entrances[(building, entrance)], room)


def _places(entries: list[DwellingEntry], roster: _Roster) -> _Places:
    """Names by the file's first spelling of each place; a bare number names nothing."""
    written_buildings: dict[str, str] = {}
    written_entrances: dict[tuple[str, str], str] = {}
    for entry in entries:
        if entry.building_name is not None:
            written_buildings.setdefault(entry.building, entry.building_name)
        if entry.entrance_name is not None:
            written_entrances.setdefault((entry.building, entry.entrance), entry.entrance_name)
    places = _Places(dict(roster.building_names), dict(roster.entrance_names))
    for entry in entries:
        places.buildings.setdefault(entry.building, building_name(entry.building))
        places.entrances.setdefault((entry.building, entry.entrance), entrance_name(entry.entrance))
    renamed_entrances = []
    for key, name in written_buildings.items():
        places.buildings[key] = name
        stored = roster.building_names.get(key)
        if stored is not None and stored != name:
            places.renamed_buildings[roster.buildings[key]] = name
            places.renamed.append(f"{stored} → {name}")
    for key, name in written_entrances.items():
        places.entrances[key] = name
        stored = roster.entrance_names.get(key)
        if stored is not None and stored != name:
            places.renamed_entrances[roster.entrances[key]] = name
            building = places.buildings[key[0]]
            renamed_entrances.append(f"{building}{stored} → {building}{name}")
    places.renamed += renamed_entrances
    return places


@dataclass
class _Plan:
    """What the file changes, computed in memory before anything is written."""

    rows: int
    places: _Places
    new_dwellings: list[DwellingEntry] = field(default_factory=list)
    changed_dwellings: list[tuple[int, DwellingEntry]] = field(default_factory=list)
    unchanged_dwellings: int = 0
    new_owners: dict[str, OwnerEntry] = field(default_factory=dict)  # by ID hash
    changed_owners: dict[int, OwnerEntry] = field(default_factory=dict)  # by owner id
    ownerships_removed: list[int] = field(default_factory=list)
    ownerships_added: list[tuple[DwellingKey, str]] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    owner_changes: list[dict] = field(default_factory=list)
    not_in_file: list[str] = field(default_factory=list)
    area_downgrade_reason: str | None = None
    area_downgrades: list[dict] = field(default_factory=list)
    links: dict[str, int] = field(default_factory=dict)  # owner's ID hash → account id
    unlinks: dict[int, int] = field(default_factory=dict)  # owner id → account id
    account_links: list[dict] = field(default_factory=list)

    def report(self, dry_run: bool) -> dict:
        summary = {
            "rows": self.rows,
            "dwellings_created": len(self.new_dwellings),
            "dwellings_updated": len(self.changed_dwellings),
            "dwellings_unchanged": self.unchanged_dwellings,
            "dwellings_not_in_file": len(self.not_in_file),
            "owners_created": len(self.new_owners),
            "owners_updated": len(self.changed_owners),
            "areas_downgraded": len(self.area_downgrades),
            "accounts_linked": len(self.links),
            "accounts_unlinked": len(self.unlinks),
        }
        return _report(
            dry_run,
            _summary_message(summary, dry_run, self.area_downgrade_reason, self.places.renamed),
            summary=summary,
            renamed=self.places.renamed,
            changes=self.changes,
            owner_changes=self.owner_changes,
            not_in_file=self.not_in_file,
            area_downgrade_reason=self.area_downgrade_reason,
            area_downgrades=self.area_downgrades,
            account_links=self.account_links,
        )


def _plan(
    entries: list[DwellingEntry],
    roster: _Roster,
    places: _Places,
    compound_id: int,
    area_downgrade_reason: str | None = None,
) -> _Plan:
    """What the file changes. Area downgrades are in it only when confirmed (``reason``):
    unconfirmed ones were refused before, by :func:`_area_problems`. Dwellings are named in
    the report by their labels after the import."""
    plan = _Plan(rows=len(entries), places=places, area_downgrade_reason=area_downgrade_reason)
    _plan_owners(plan, entries, roster)
    for entry in entries:
        stored = roster.dwellings.get(entry.key)
        if stored is None:
            plan.new_dwellings.append(entry)
            plan.ownerships_added += [(entry.key, owner.id_hash) for owner in entry.owners]
            continue
        label = places.label(entry.key)
        if _area_downgrade(stored, entry):
            plan.area_downgrades.append(
                {
                    "dwelling": label,
                    "before": _area_text(stored.area_source, stored.area),
                    "after": _area_text(entry.area_source, entry.area),
                }
            )
        changes = _dwelling_changes(stored, entry) + _plan_ownerships(plan, stored, entry, roster)
        if changes:
            plan.changed_dwellings.append((stored.id, entry))
            plan.changes.append({"dwelling": label, "changes": changes})
        else:
            plan.unchanged_dwellings += 1
    in_file = {entry.key for entry in entries}
    plan.not_in_file = sorted(places.label(key) for key in roster.dwellings if key not in in_file)
    _plan_accounts(plan, entries, roster, compound_id)
    return plan


# Area sources: 登记 > 实测 > 合同 (最高人民法院关于审理建筑物区分所有权纠纷案件适用法律若干问题的
# 解释, Art. 8: the register first, then the survey, then the contract).
AREA_PRECEDENCE = {AreaSource.REGISTRY: 3, AreaSource.SURVEYED: 2, AreaSource.CONTRACT: 1}


def _area_downgrade(stored: _StoredDwelling, entry: DwellingEntry) -> bool:
    """Whether the row would replace the stored area by one of a lower source."""
    return AREA_PRECEDENCE[entry.area_source] < AREA_PRECEDENCE[stored.area_source]


def _area_text(source: AreaSource, area: Decimal) -> str:
    return f"{LABELS[source]} {area:.2f} ㎡"


def _area_problems(entries: list[DwellingEntry], roster: _Roster, places: _Places) -> list[Problem]:
    """A row that would replace a stored area by one of a lower source is refused: a lower
    source never silently replaces a higher one. (Same source, or a higher one, is applied;
    the committee may confirm a downgrade with a reason, and then there is no problem.)"""
    problems = []
    for entry in entries:
        stored = roster.dwellings.get(entry.key)
        if stored is not None and _area_downgrade(stored, entry):
            before = _area_text(stored.area_source, stored.area)
            problems.append(
                Problem(
                    entry.line,
                    AREA_SOURCE,
                    f"{places.label(entry.key)} 系统中的面积为{before}，"
                    f"文件中为{_area_text(entry.area_source, entry.area)}：面积以登记为先，"
                    "其次实测，再次合同（最高人民法院建筑物区分所有权司法解释第八条），"
                    "不能以较低的来源替换较高的来源；确需替换的，请确认降级并填写理由后重新导入",
                )
            )
    return problems


def _plan_owners(plan: _Plan, entries: list[DwellingEntry], roster: _Roster) -> None:
    """New owners, and stored owners whose name or phone the file changes."""
    in_file: dict[str, OwnerEntry] = {}
    dwellings_of: dict[str, list[str]] = {}
    for entry in entries:
        for owner in entry.owners:
            in_file.setdefault(owner.id_hash, owner)
            dwellings_of.setdefault(owner.id_hash, []).append(plan.places.label(entry.key))
    for id_hash, owner in in_file.items():
        stored = roster.owners.get(id_hash)
        if stored is None:
            plan.new_owners[id_hash] = owner
        elif (stored.name, stored.phone) != (owner.name, owner.phone):
            plan.changed_owners[stored.id] = owner
            plan.owner_changes.append(
                {
                    "owner": mask_name(owner.name),
                    "dwellings": dwellings_of[id_hash],
                    "changes": _owner_changes(stored, owner),
                }
            )


def _plan_ownerships(
    plan: _Plan, stored: _StoredDwelling, entry: DwellingEntry, roster: _Roster
) -> list[str]:
    """Who owns a stored dwelling: the change for the report, if any."""
    held = roster.ownerships.get(stored.id, {})
    current = {roster.owners_by_id[owner_id].id_hash: i for owner_id, i in held.items()}
    wanted = {owner.id_hash for owner in entry.owners}
    if wanted == current.keys():
        return []
    plan.ownerships_removed += [i for id_hash, i in current.items() if id_hash not in wanted]
    plan.ownerships_added += [(entry.key, id_hash) for id_hash in wanted - current.keys()]
    before = _masked_names(roster.owners_by_id[owner_id].name for owner_id in held)
    after = _masked_names(owner.name for owner in entry.owners)
    return [f"业主 变更：{before} → {after}"]


def _dwelling_changes(stored: _StoredDwelling, entry: DwellingEntry) -> list[str]:
    changes = []
    if stored.floor != entry.floor:
        changes.append(f"楼层 {stored.floor} → {entry.floor}")
    if stored.area != entry.area:
        changes.append(f"面积 {stored.area:.2f} → {entry.area:.2f}")
    for what, before, after in (
        ("面积来源", stored.area_source, entry.area_source),
        ("房屋状态", stored.status, entry.status),
        ("用途", stored.use, entry.use),
    ):
        if after is not None and before != after:
            changes.append(f"{what} {LABELS[before]} → {LABELS[after]}")
    return changes


def _owner_changes(stored: _StoredOwner, owner: OwnerEntry) -> list[str]:
    changes = []
    if stored.name != owner.name:
        changes.append(f"姓名 {mask_name(stored.name)} → {mask_name(owner.name)}")
    if stored.phone != owner.phone:
        changes.append(f"手机号 {_masked_phone(stored.phone)} → {_masked_phone(owner.phone)}")
    return changes


# Accounts follow the roster ----------------------------------------------------------------

# How the link of an owner to a resident account came about is not stored; it is told from
# the account's phone: sign-in links the owners whose phone is the account's, and a claim's
# approval links an account whatever its phone.
LINKED = "该手机号已登录过本系统，现为名册中的业主，已关联"
UNLINKED_REMOVED = "已不再是名册中的业主，解除按手机号的关联"
UNLINKED_PHONE = "名册中的手机号已更改，解除按原手机号的关联"
KEPT_CLAIM = "经审核通过的房屋认领关联，认领仍然有效，予以保留"
KEPT_NOT_BY_PHONE = "该关联由房屋认领审核建立，导入不作改动，请核实"


def _plan_accounts(
    plan: _Plan, entries: list[DwellingEntry], roster: _Roster, compound_id: int
) -> None:
    """Which resident accounts the import links to owners and unlinks from them, so that the
    next request (votes and surveys find a resident's compounds through ``Owner.account_id``,
    read afresh on every request: nothing is cached) sees the roster as imported.

    - An owner of the file without an account, whose phone is an account's, is linked to it
      at once, as if that phone signed in again (new owners, a changed phone, and owners an
      earlier import left unlinked).
    - An owner the import removes (no dwelling left) or whose phone it changes is unlinked
      from the account linked by the old phone: the account's phone is the owner's stored one.
    - Conservatively kept, and said so in the report: a link by phone that an approved owner
      claim of the same account still backs (the owner still owns the claimed dwelling, under
      the claimed name and ID digits — what the approval checked), and any link whose account
      has another phone, which only a claim's approval makes: staff decided it, the file cannot
      tell whether it still holds, so the committee is asked to check it.

    Two reads at most besides the roster (which brings the accounts of stored phones): the
    accounts of new phones (one query a thousand phones) and, only when a link by phone is to
    go, the compound's approved claims.
    """
    final = {owner.id_hash: owner for entry in entries for owner in entry.owners}
    dwellings_after = _dwellings_after(entries, roster)
    by_phone: list[tuple[_StoredOwner, str]] = []  # (owner, reason) whose link may go
    for owner in roster.owners.values():
        if owner.account_id is None:
            continue
        entry = final.get(owner.id_hash)
        removed = entry is None and owner.id_hash not in dwellings_after
        if not (removed or (entry is not None and entry.phone != owner.phone)):
            continue
        if owner.account_phone != owner.phone:
            _account_link(plan, "kept", owner.name, owner.account_phone, KEPT_NOT_BY_PHONE)
        else:
            by_phone.append((owner, UNLINKED_REMOVED if removed else UNLINKED_PHONE))
    backed = _claim_backed(by_phone, final, dwellings_after, compound_id)
    for owner, reason in by_phone:
        if owner.id in backed:
            _account_link(plan, "kept", owner.name, owner.account_phone, KEPT_CLAIM)
        else:
            plan.unlinks[owner.id] = owner.account_id
            _account_link(plan, "unlinked", owner.name, owner.account_phone, reason)

    unlinked = {owner.id_hash for owner, _ in by_phone if owner.id in plan.unlinks}
    wanting = {
        id_hash: owner.phone
        for id_hash, owner in final.items()
        if owner.phone is not None
        and (
            id_hash not in roster.owners
            or roster.owners[id_hash].account_id is None
            or id_hash in unlinked
        )
    }
    # Stored owners keeping their phone came with its account; only other phones are read.
    known = {
        h: roster.owners[h].phone_account_id
        for h, phone in wanting.items()
        if h in roster.owners and roster.owners[h].phone == phone
    }
    accounts = _accounts_by_phone({p for h, p in wanting.items() if h not in known})
    for id_hash, phone in wanting.items():
        account_id = known[id_hash] if id_hash in known else accounts.get(phone)
        if account_id is not None:
            plan.links[id_hash] = account_id
            _account_link(plan, "linked", final[id_hash].name, phone, LINKED)


def _dwellings_after(entries: list[DwellingEntry], roster: _Roster) -> dict[str, set[int]]:
    """The stored dwellings each linked owner owns after the import, by ID hash (dwellings
    the file creates have no claim and are left out)."""
    linked = {o.id_hash for o in roster.owners.values() if o.account_id is not None}
    after: dict[str, set[int]] = {}
    if not linked:
        return after
    for entry in entries:
        stored = roster.dwellings.get(entry.key)
        for owner in entry.owners:
            if stored is not None and owner.id_hash in linked:
                after.setdefault(owner.id_hash, set()).add(stored.id)
    in_file = {entry.key for entry in entries}
    for key, stored in roster.dwellings.items():
        if key not in in_file:
            for owner_id in roster.ownerships.get(stored.id, {}):
                owner = roster.owners_by_id[owner_id]
                after.setdefault(owner.id_hash, set()).add(stored.id)
    return after


def _claim_backed(
    owners: list[tuple[_StoredOwner, str]],
    final: dict[str, OwnerEntry],
    dwellings_after: dict[str, set[int]],
    compound_id: int,
) -> set[int]:
    """Ids of ``owners`` whose account has an approved owner claim that still holds: for a
    dwelling the owner owns after the import, with the owner's name and ID digits."""
    if not owners:
        return set()
    claims = {
        (account_id, dwelling_id, name, (id_last4 or "").upper())
        for account_id, dwelling_id, name, id_last4 in db.session.execute(
            select(
                DwellingClaim.account_id,
                DwellingClaim.dwelling_id,
                DwellingClaim.name,
                DwellingClaim.id_last4,
            ).where(
                DwellingClaim.compound_id == compound_id,
                DwellingClaim.kind == ClaimKind.OWNER,
                DwellingClaim.status == ClaimStatus.APPROVED,
            )
        )
    }
    backed = set()
    for owner, _ in owners:
        name = final[owner.id_hash].name if owner.id_hash in final else owner.name
        if any(
            (owner.account_id, dwelling_id, name, owner.id_last4.upper()) in claims
            for dwelling_id in dwellings_after.get(owner.id_hash, ())
        ):
            backed.add(owner.id)
    return backed


def _accounts_by_phone(phones: set[str]) -> dict[str, int]:
    """Account ids by phone, for the phones that have one (a query per thousand phones)."""
    found: dict[str, int] = {}
    ordered = sorted(phones)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        found |= {
            phone: id_
            for id_, phone in db.session.execute(
                select(Account.id, Account.phone).where(Account.phone.in_(chunk))
            )
        }
    return found


def _account_link(plan: _Plan, action: str, name: str, phone: str | None, reason: str) -> None:
    plan.account_links.append(
        {
            "action": action,
            "owner": mask_name(name),
            "phone": _masked_phone(phone),
            "reason": reason,
        }
    )


def _masked_names(names: Iterable[str]) -> str:
    return "、".join(mask_name(name) for name in names) or "（无）"


def _masked_phone(phone: str | None) -> str:
    return mask_phone(phone) or "（空）"


# The report ---------------------------------------------------------------------------------


def _report(
    dry_run: bool,
    message: str,
    *,
    problems: list[Problem] = (),
    summary: dict | None = None,
    renamed: list[str] = (),
    changes: list[dict] = (),
    owner_changes: list[dict] = (),
    not_in_file: list[str] = (),
    area_downgrade_reason: str | None = None,
    area_downgrades: list[dict] = (),
    account_links: list[dict] = (),
) -> dict:
    """The report stored on the import; the same keys whatever the outcome."""
    return {
        "dry_run": dry_run,
        "message": message,
        "problems": [problem.as_dict() for problem in problems],
        "summary": summary,
        "renamed": list(renamed),
        "changes": list(changes),
        "owner_changes": list(owner_changes),
        "not_in_file": list(not_in_file),
        "area_downgrade_reason": area_downgrade_reason,
        "area_downgrades": list(area_downgrades),
        "account_links": list(account_links),
    }


def _rejection(problems: list[Problem], dry_run: bool) -> dict:
    message = f"名册中有 {len(problems)} 处问题，未导入任何数据；请逐条修改后重新上传。"
    return _report(dry_run, message, problems=problems)


def _summary_message(
    summary: dict, dry_run: bool, area_downgrade_reason: str | None, renamed: list[str] = ()
) -> str:
    changed = (
        summary["dwellings_created"]
        + summary["dwellings_updated"]
        + summary["owners_created"]
        + summary["owners_updated"]
    )
    if changed:
        text = (
            f"新增 {summary['dwellings_created']} 户，更新 {summary['dwellings_updated']} 户，"
            f"未变 {summary['dwellings_unchanged']} 户；新增业主 {summary['owners_created']} 人，"
            f"更新业主 {summary['owners_updated']} 人。"
        )
    elif renamed:
        text = f"系统中的 {summary['dwellings_unchanged']} 户没有变化。"
    else:
        text = f"名册与系统中的 {summary['dwellings_unchanged']} 户一致，没有变化。"
    if renamed:
        shown = "；".join(renamed[:10]) + ("等" if len(renamed) > 10 else "")
        text += f"按文件中的写法改名 {len(renamed)} 处：{shown}。"
    if summary["dwellings_not_in_file"]:
        text += (
            f"系统中另有 {summary['dwellings_not_in_file']} 户不在本文件中，已原样保留，未作改动。"
        )
    if summary["areas_downgraded"]:
        text += (
            f"经确认，{summary['areas_downgraded']} 户的面积改用较低优先的来源"
            f"（理由：{area_downgrade_reason}）。"
        )
    if summary["accounts_linked"] or summary["accounts_unlinked"]:
        text += (
            f"业主账号：关联 {summary['accounts_linked']} 个，"
            f"解除关联 {summary['accounts_unlinked']} 个。"
        )
    return ("试导入，未写入任何数据：" if dry_run else "导入完成：") + text


# Writing ------------------------------------------------------------------------------------


def _write(plan: _Plan, roster: _Roster, compound_id: int) -> None:
    """Bulk statements only: per table, one per thousand rows or so, never one per row."""
    db.session.flush()
    _update(Building, [{"id": i, "name": n} for i, n in plan.places.renamed_buildings.items()])
    _update(Entrance, [{"id": i, "name": n} for i, n in plan.places.renamed_entrances.items()])
    dwelling_ids = _write_dwellings(plan, roster, compound_id)
    owner_ids = _write_owners(plan, roster, compound_id)
    removed = plan.ownerships_removed
    for start in range(0, len(removed), 1000):
        db.session.execute(
            delete(Ownership).where(Ownership.id.in_(removed[start : start + 1000])),
            execution_options={"synchronize_session": False},
        )
    added = [
        {"dwelling_id": dwelling_ids[key], "owner_id": owner_ids[id_hash]}
        for key, id_hash in plan.ownerships_added
    ]
    if added:
        db.session.execute(insert(Ownership), added)
    _write_accounts(plan, owner_ids)
    db.session.expire_all()  # bulk statements bypass the objects already in the session


_owners = Owner.__table__
# Conditional, so that a link a sign-in or a claim made meanwhile is left alone.
_UNLINK = (
    update(_owners)
    .where(_owners.c.id == bindparam("b_owner"), _owners.c.account_id == bindparam("b_account"))
    .values(account_id=None)
)
_LINK = (
    update(_owners)
    .where(_owners.c.id == bindparam("b_owner"), _owners.c.account_id.is_(None))
    .values(account_id=bindparam("b_account"))
)


def _write_accounts(plan: _Plan, owner_ids: dict[str, int]) -> None:
    """Unlink, then link (an owner whose phone changed may go from one account to another):
    one executemany statement each."""
    unlinks = [{"b_owner": o, "b_account": a} for o, a in plan.unlinks.items()]
    links = [{"b_owner": owner_ids[h], "b_account": a} for h, a in plan.links.items()]
    for statement, rows in ((_UNLINK, unlinks), (_LINK, links)):
        if rows:
            db.session.execute(statement, rows)


def _insert_ids(model, rows: list[dict], *key_columns) -> dict:
    """Insert ``rows`` in bulk; the new ids by the value(s) of ``key_columns``. (RETURNING
    the key, not ``sort_by_parameter_order``, which SQLite would run one row at a time.)"""
    if not rows:
        return {}
    result = db.session.execute(insert(model).returning(model.id, *key_columns), rows)
    return {key[0] if len(key) == 1 else tuple(key): id_ for id_, *key in result}


def _update(model, rows: list[dict]) -> None:
    """Bulk UPDATE by primary key (each row has its ``id``)."""
    if rows:
        db.session.execute(update(model), rows)


def _write_dwellings(plan: _Plan, roster: _Roster, compound_id: int) -> dict[DwellingKey, int]:
    new = plan.new_dwellings
    names = plan.places
    buildings = dict(roster.buildings)
    rows = [
        {"compound_id": compound_id, "number": number, "name": names.buildings[number]}
        for number in {entry.building for entry in new} - buildings.keys()
    ]
    buildings |= _insert_ids(Building, rows, Building.number)

    entrances = dict(roster.entrances)
    rows = [
        {"building_id": buildings[b], "number": e, "name": names.entrances[(b, e)]}
        for b, e in {(entry.building, entry.entrance) for entry in new} - entrances.keys()
    ]
    building_numbers = {id_: number for number, id_ in buildings.items()}
    inserted = _insert_ids(Entrance, rows, Entrance.building_id, Entrance.number)
    entrances |= {(building_numbers[b], e): id_ for (b, e), id_ in inserted.items()}

    rows = [
        {
            "compound_id": compound_id,
            "building_id": buildings[entry.building],
            "entrance_id": entrances[(entry.building, entry.entrance)],
            "room": entry.room,
            **_dwelling_values(entry),
            "use": entry.use or DwellingUse.RESIDENTIAL,
        }
        for entry in new
    ]
    places = {id_: place for place, id_ in entrances.items()}
    inserted = _insert_ids(Dwelling, rows, Dwelling.entrance_id, Dwelling.room)
    ids = {key: stored.id for key, stored in roster.dwellings.items()}
    ids |= {(*places[entrance_id], room): id_ for (entrance_id, room), id_ in inserted.items()}
    _update(Dwelling, [{"id": id_, **_dwelling_values(e)} for id_, e in plan.changed_dwellings])
    return ids


def _dwelling_values(entry: DwellingEntry) -> dict:
    values = {
        "floor": entry.floor,
        "area": entry.area,
        "area_source": entry.area_source,
        "status": entry.status,
    }
    if entry.use is not None:
        values["use"] = entry.use
    return values


def _write_owners(plan: _Plan, roster: _Roster, compound_id: int) -> dict[str, int]:
    rows = [
        {
            "compound_id": compound_id,
            "name": owner.name,
            "phone": owner.phone,
            "id_hash": owner.id_hash,
            "id_last4": owner.id_last4,
        }
        for owner in plan.new_owners.values()
    ]
    ids = {id_hash: stored.id for id_hash, stored in roster.owners.items()}
    ids |= _insert_ids(Owner, rows, Owner.id_hash)
    _update(
        Owner,
        [
            {"id": owner_id, "name": owner.name, "phone": owner.phone}
            for owner_id, owner in plan.changed_owners.items()
        ],
    )
    return ids


# Templates ----------------------------------------------------------------------------------


def template_csv() -> bytes:
    """Header row and one invented example row, with a BOM so that Excel reads UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
    writer.writerow(TEMPLATE_EXAMPLE)
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """The same as an XLSX workbook; rooms, phones and ID numbers are text columns, so that
    Excel does not turn an ID number into 5.10902E+17."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "房产名册"
    header = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    sheet.append(header)
    example = list(TEMPLATE_EXAMPLE)
    example[2], example[4] = int(example[2]), float(example[4])
    sheet.append(example)
    for index, name in enumerate(header, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 22 if name in (ID_NUMBER, PHONE, NAME) else 12
        if name in (ROOM, PHONE, ID_NUMBER):
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
