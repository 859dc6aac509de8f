"""The public progress of a compound's project: steps, photos, money by source — no sign-in,
no personal data — and the same as a notice of the board on demand."""

from __future__ import annotations

import json

from participation.demo import seed_project
from participation.extensions import db as _db
from participation.notices.models import Notice, NoticeKind
from participation.projects.models import OrganisationMember

from .conftest import api


def test_the_public_progress_has_no_personal_data(
    client, compound, committee, committee_staff, make_compound
):
    empty = client.get(f"/api/v1/public/compounds/{make_compound().id}/project-progress")
    assert (empty.status_code, empty.json["code"]) == (404, "not_found")

    seed_project(compound, committee_staff)
    project_id = client.get(f"/api/v1/compounds/{compound.id}/projects", headers=committee).json[0][
        "id"
    ]
    for name, photo in (("楼道扶手图纸.pdf", None), ("1栋外墙（改造前）", "before")):
        added = api(
            client,
            "POST",
            f"/projects/{project_id}/documents",
            committee,
            name=name,
            url=f"files/{len(name)}",
            sha256="c" * 64,
            photo=photo,
        )
        assert added.status_code == 201, added.json

    response = client.get(f"/api/v1/public/compounds/{compound.id}/project-progress")
    assert response.status_code == 200, response.json
    progress = response.json
    assert progress["current_step"] == "design"
    assert [(s["label"], s["status_label"]) for s in progress["steps"][2:4]] == [
        ("申报计划", "已完成"),
        ("编制方案", "进行中"),
    ]
    assert progress["steps"][0]["actual_end"] == "2026-03-15"
    assert [p["name"] for p in progress["photos"]] == ["1栋外墙（改造前）"]
    assert progress["funding"]["funded_total"] == progress["funding"]["plan_total"] == "1724400.00"
    plan = progress["plan_consultation"]  # where residents open the plan; no counts
    assert set(plan) == {"id", "title", "opens_at", "closes_at", "open", "summary_published_at"}
    text = json.dumps(progress, ensure_ascii=False)
    members = _db.session.query(OrganisationMember).all()
    owner_phones = [str(n) for n in range(13900000101, 13900000104)]
    for secret in [m.name for m in members] + [m.phone for m in members if m.phone] + owner_phones:
        assert secret not in text, secret
    assert "充电桩请装在" not in text  # residents' comments are not progress


def test_the_progress_is_posted_as_one_notice_kept_up_to_date(
    client, compound, committee, committee_staff
):
    seed_project(compound, committee_staff)
    project = client.get(f"/api/v1/compounds/{compound.id}/projects", headers=committee).json[0]
    url = f"/projects/{project['id']}/progress-notice"
    first = api(client, "POST", url, committee)
    assert first.status_code == 200, first.json
    notice = _db.session.get(Notice, first.json["notice_id"])
    assert (notice.kind, notice.public) == (NoticeKind.PROGRESS, True)
    assert "4. 编制方案：进行中（市政设计研究院）" in notice.body
    assert "合计 1724400.00 元" in notice.body

    design = next(s for s in project["steps"] if s["step"] == "design")
    api(client, "PATCH", f"/project-steps/{design['id']}", committee, organisation="城建设计院")
    second = api(client, "POST", url, committee)
    assert second.json["notice_id"] == first.json["notice_id"]
    _db.session.expire_all()
    assert "（城建设计院）" in _db.session.get(Notice, first.json["notice_id"]).body
    board = client.get(f"/api/v1/public/compounds/{compound.id}/notices").json
    assert [n["kind"] for n in board].count("progress") == 1
