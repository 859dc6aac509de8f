"""Area precedence (issue 18, item 7): 登记 > 实测 > 合同 (SPC interpretation on 建筑物区分所有权,
Art. 8). A re-import that would replace an area by one of a lower source is refused for that
row, in the preview too, unless the committee confirms it with a reason."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from participation.auth.models import Role
from participation.extensions import db as _db
from participation.roster.importer import REQUIRED_COLUMNS
from participation.roster.models import AreaSource, Dwelling, RosterImport

ID_101 = "11010519491231002X"
ID_102 = "110105198001011238"


def roster_file(
    area_101: tuple[str, str],
    area_102: tuple[str, str] = ("80.00", "登记"),
    phone_102: str = "13900000002",
) -> bytes:
    """Two dwellings of 1栋1单元; ``(area, source)`` of each."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REQUIRED_COLUMNS)
    writer.writerow(["1栋", "1单元", "1", "101", *area_101, "已售", "张三", "13800000001", ID_101])
    writer.writerow(["1栋", "1单元", "1", "102", *area_102, "已售", "李四", phone_102, ID_102])
    return out.getvalue().encode("utf-8")


@pytest.fixture
def compound(make_compound):
    return make_compound()


@pytest.fixture
def staff(compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, compound.id))


def upload(client, compound, content: bytes, headers, **form):
    return client.post(
        f"/api/v1/compounds/{compound.id}/roster-imports",
        data={"file": (io.BytesIO(content), "roster.csv"), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


def areas(compound) -> dict[str, tuple[Decimal, AreaSource]]:
    _db.session.expire_all()
    return {
        room: (area, source)
        for room, area, source in _db.session.execute(
            select(Dwelling.room, Dwelling.area, Dwelling.area_source).where(
                Dwelling.compound_id == compound.id
            )
        )
    }


def imports() -> int:
    return _db.session.scalar(select(func.count()).select_from(RosterImport))


@pytest.fixture
def registered(client, compound, staff):
    """101 registered at 89.50 m² (登记)."""
    response = upload(client, compound, roster_file(("89.50", "登记")), staff)
    assert response.status_code == 200, response.json
    return compound


REFUSAL = (
    "1栋1单元101 系统中的面积为登记 89.50 ㎡，文件中为合同 92.00 ㎡：面积以登记为先，其次实测，"
    "再次合同（最高人民法院建筑物区分所有权司法解释第八条），不能以较低的来源替换较高的来源；"
    "确需替换的，请确认降级并填写理由后重新导入"
)


def test_registry_replaced_by_contract_is_refused_for_that_row_and_nothing_is_written(
    client, registered, staff
):
    before = areas(registered)
    # 102's phone changes too: one problem, and nothing of the file is written.
    response = upload(
        client, registered, roster_file(("92.00", "合同"), phone_102="13700000000"), staff
    )

    assert response.status_code == 422
    assert response.json["code"] == "roster_invalid"
    assert response.json["errors"]["rows"] == [
        {"line": 2, "column": "面积来源", "problem": REFUSAL}
    ]
    assert areas(registered) == before
    detail = client.get(response.headers["Location"], headers=staff).json
    assert detail["status"] == "rejected"


def test_the_preview_shows_the_same_refusal(client, registered, staff):
    response = upload(client, registered, roster_file(("92.00", "合同")), staff, dry_run="true")

    assert response.status_code == 422
    assert response.json["errors"]["rows"] == [
        {"line": 2, "column": "面积来源", "problem": REFUSAL}
    ]


def test_every_problem_of_the_file_is_listed_with_the_refusal(client, registered, staff):
    response = upload(client, registered, roster_file(("92.00", "合同"), phone_102="1234"), staff)

    assert response.status_code == 422
    assert [(p["line"], p["column"]) for p in response.json["errors"]["rows"]] == [
        (2, "面积来源"),
        (3, "手机号"),
    ]


def test_a_confirmed_downgrade_is_applied_and_the_report_keeps_the_reason(
    client, registered, staff
):
    reason = "不动产登记簿记载有误，已申请更正，暂按购房合同面积"

    response = upload(
        client,
        registered,
        roster_file(("92.00", "合同")),
        staff,
        confirm_area_downgrade="true",
        area_downgrade_reason=reason,
    )

    assert response.status_code == 200, response.json
    report = response.json["report"]
    assert report["area_downgrade_reason"] == reason
    assert report["area_downgrades"] == [
        {"dwelling": "1栋1单元101", "before": "登记 89.50 ㎡", "after": "合同 92.00 ㎡"}
    ]
    assert report["summary"]["areas_downgraded"] == 1
    assert f"理由：{reason}" in response.json["message"]
    assert areas(registered)["101"] == (Decimal("92.00"), AreaSource.CONTRACT)
    detail = client.get(f"/api/v1/roster-imports/{response.json['id']}", headers=staff).json
    assert detail["area_downgrade_reason"] == reason
    assert detail["report"]["area_downgrades"] == report["area_downgrades"]


def test_a_confirmed_downgrade_survives_the_queue(app, client, registered, staff, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_ROWS", 1)

    response = upload(
        client,
        registered,
        roster_file(("92.00", "合同")),
        staff,
        confirm_area_downgrade="true",
        area_downgrade_reason="按合同面积",
    )

    assert response.status_code == 202
    detail = client.get(response.headers["Location"], headers=staff).json
    assert detail["status"] == "done"  # no Redis configured: the job ran inline
    assert detail["report"]["area_downgrade_reason"] == "按合同面积"
    assert areas(registered)["101"] == (Decimal("92.00"), AreaSource.CONTRACT)


@pytest.mark.parametrize(
    ("stored", "new"),
    [
        (("70.00", "合同"), ("68.45", "登记")),  # a higher source replaces a lower one
        (("70.00", "合同"), ("69.00", "实测")),
        (("89.50", "登记"), ("90.00", "登记")),  # same source
        (("70.00", "合同"), ("71.00", "合同")),
    ],
)
def test_same_or_higher_source_is_applied_as_before(client, compound, staff, stored, new):
    assert upload(client, compound, roster_file(stored), staff).status_code == 200

    response = upload(client, compound, roster_file(new), staff)

    assert response.status_code == 200, response.json
    assert response.json["report"]["area_downgrades"] == []
    assert response.json["report"]["area_downgrade_reason"] is None
    area, source = new
    assert areas(compound)["101"] == (
        Decimal(area),
        AreaSource({"登记": "registry", "实测": "surveyed", "合同": "contract"}[source]),
    )


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_confirming_without_a_reason_is_422_and_writes_nothing(client, registered, staff, reason):
    before, count = areas(registered), imports()
    form = {"confirm_area_downgrade": "true"}
    if reason is not None:
        form["area_downgrade_reason"] = reason

    response = upload(client, registered, roster_file(("92.00", "合同")), staff, **form)

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert response.json["errors"]["area_downgrade_reason"] == [
        "确认以较低优先的面积来源替换时，须填写理由"
    ]
    assert areas(registered) == before
    assert imports() == count


def test_a_reason_without_confirming_confirms_nothing(client, registered, staff):
    response = upload(
        client, registered, roster_file(("92.00", "合同")), staff, area_downgrade_reason="按合同"
    )

    assert response.status_code == 422
    assert response.json["code"] == "roster_invalid"
