"""The notice board: staff post notices, residents read those of their buildings, the public
reads those marked public; campaigns post their own when they open."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.notices.models import Notice, NoticeAttachment

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def post(client, board, **fields):
    body = {"title": "停水通知", "body": "12月8日 9:00–17:00 停水。", **fields}
    response = client.post(
        f"/api/v1/compounds/{board.compound.id}/notices", json=body, headers=board.staff
    )
    assert response.status_code == 201, response.json
    return response.json


def titles(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [n["title"] for n in response.json]


def test_residents_read_the_notices_of_their_buildings(client, board):
    post(client, board, title="全小区停水")
    post(client, board, title="3栋电梯检修", building_ids=[board.building_3])
    mine = client.get("/api/v1/me/notices", headers=board.resident_1)
    assert titles(mine) == ["全小区停水"]
    tenant = client.get("/api/v1/me/notices", headers=board.resident_3)
    assert titles(tenant) == ["3栋电梯检修", "全小区停水"]
    assert titles(client.get("/api/v1/me/notices", headers=board.resident_other)) == []


def test_pinned_first_then_newest_and_only_current(client, board):
    now = utcnow()
    post(client, board, title="旧通知", valid_from=(now - timedelta(days=2)).isoformat())
    post(client, board, title="置顶", pinned=True, valid_from=(now - timedelta(days=3)).isoformat())
    post(client, board, title="新通知", valid_from=(now - timedelta(days=1)).isoformat())
    post(
        client,
        board,
        title="已过期",
        valid_from=(now - timedelta(days=5)).isoformat(),
        valid_until=(now - timedelta(days=4)).isoformat(),
    )
    post(client, board, title="明天才发布", valid_from=(now + timedelta(days=1)).isoformat())
    gone = post(client, board, title="已撤下")
    assert client.delete(f"/api/v1/notices/{gone['id']}", headers=board.staff).status_code == 204

    assert titles(client.get("/api/v1/me/notices", headers=board.resident_1)) == [
        "置顶",
        "新通知",
        "旧通知",
    ]
    staff_view = client.get(f"/api/v1/compounds/{board.compound.id}/notices", headers=board.staff)
    assert len(staff_view.json) == 6  # staff see every notice, withdrawn ones included
    assert next(n for n in staff_view.json if n["title"] == "已撤下")["withdrawn_at"]


def test_the_public_reads_only_public_notices(client, board):
    public = post(client, board, title="改造方案公示", public=True)
    post(client, board, title="业委会内部通知")
    listed = client.get(f"/api/v1/public/compounds/{board.compound.id}/notices")
    assert titles(listed) == ["改造方案公示"]
    assert "source" not in listed.json[0] and "created_by_id" not in listed.json[0]
    assert client.get(f"/api/v1/public/notices/{public['id']}").status_code == 200
    private = client.get(f"/api/v1/compounds/{board.compound.id}/notices", headers=board.staff)
    private_id = next(n["id"] for n in private.json if n["title"] == "业委会内部通知")
    assert client.get(f"/api/v1/public/notices/{private_id}").status_code == 404


def test_a_resident_opens_a_notice_of_their_board_only(client, board):
    notice = post(client, board, title="3栋电梯检修", building_ids=[board.building_3])
    url = f"/api/v1/notices/{notice['id']}"
    shown = client.get(url, headers=board.resident_3)
    assert shown.status_code == 200 and shown.json["title"] == "3栋电梯检修"
    assert "created_by_id" not in shown.json  # staff fields stay with staff
    assert client.get(url, headers=board.resident_1).status_code == 404
    assert client.get(url, headers=board.resident_other).status_code == 404
    assert client.patch(url, json={"pinned": True}, headers=board.resident_3).status_code == 403


def test_staff_change_a_notice(client, board):
    notice = post(client, board)
    url = f"/api/v1/notices/{notice['id']}"
    changed = client.patch(
        url, json={"pinned": True, "title": "停水通知（更正）"}, headers=board.staff
    )
    assert changed.status_code == 200
    assert changed.json["pinned"] is True and changed.json["updated_at"]
    assert changed.json["body"] == notice["body"]


def test_attachments_are_pdf_or_images_within_10_mb(client, board):
    notice = post(client, board, public=True)
    url = f"/api/v1/notices/{notice['id']}/attachments"

    def upload(content: bytes, name: str):
        return client.post(
            url,
            data={"file": (__import__("io").BytesIO(content), name)},
            headers=board.staff,
            content_type="multipart/form-data",
        )

    refused = upload(b"MZ\x90\x00 not a pdf", "plan.pdf")
    assert refused.status_code == 415 and refused.json["code"] == "unsupported_file_type"
    too_big = upload(PDF + b"0" * (10 * 2**20), "big.pdf")
    assert too_big.status_code == 413 and too_big.json["code"] == "file_too_large"
    assert _db.session.scalar(sa.select(sa.func.count(NoticeAttachment.id))) == 0

    stored = upload(PDF, "方案.pdf")
    assert stored.status_code == 201
    assert stored.json["filename"] == "方案.pdf" and stored.json["size"] == len(PDF)
    attachment_id = stored.json["id"]
    staff_copy = client.get(f"{url}/{attachment_id}", headers=board.staff)
    assert staff_copy.data == PDF and staff_copy.mimetype == "application/pdf"
    public_copy = client.get(f"/api/v1/public/notices/{notice['id']}/attachments/{attachment_id}")
    assert public_copy.data == PDF
    resident_copy = client.get(f"{url}/{attachment_id}", headers=board.resident_1)
    assert resident_copy.status_code == 200
    assert client.get(f"{url}/{attachment_id}", headers=board.resident_other).status_code == 404


def test_bad_notices_are_refused_with_nothing_written(client, board):
    url = f"/api/v1/compounds/{board.compound.id}/notices"
    now = utcnow()
    cases = [
        ({"title": ""}, "validation_error"),
        ({"title": "   "}, "validation_error"),
        ({"title": "x" * 121}, "validation_error"),
        ({"title": "通知", "kind": "poster"}, "validation_error"),
        (
            {
                "title": "通知",
                "valid_from": now.isoformat(),
                "valid_until": (now - timedelta(hours=1)).isoformat(),
            },
            "valid_until_before_from",
        ),
        ({"title": "通知", "building_ids": [999999]}, "scope_invalid"),
    ]
    for body, code in cases:
        response = client.post(url, json=body, headers=board.staff)
        assert response.status_code == 422, (body, response.json)
        assert response.json["code"] == code, (body, response.json)
    # another compound's building is not in this one's scope
    other = client.get(
        f"/api/v1/compounds/{board.other.id}/buildings", headers=board.neighbour_staff
    )
    other_building = other.json[0]["id"]
    response = client.post(
        url, json={"title": "x", "building_ids": [other_building]}, headers=board.staff
    )
    assert response.json["code"] == "scope_invalid"
    assert _db.session.scalar(sa.select(sa.func.count(Notice.id))) == 0


def test_neighbours_see_nothing(client, board):
    notice = post(client, board)
    for method, url in [
        ("GET", f"/api/v1/compounds/{board.compound.id}/notices"),
        ("POST", f"/api/v1/compounds/{board.compound.id}/notices"),
        ("GET", f"/api/v1/notices/{notice['id']}"),
        ("PATCH", f"/api/v1/notices/{notice['id']}"),
        ("DELETE", f"/api/v1/notices/{notice['id']}"),
    ]:
        response = client.open(
            url, method=method, json={"title": "x"}, headers=board.neighbour_staff
        )
        assert response.status_code == 404, (method, url, response.json)


def test_a_vote_posts_its_notice_when_it_opens_and_takes_it_down_if_cancelled(client, board):
    from participation.votes.models import Matter, Vote
    from participation.votes.services import cancel_vote, open_vote

    vote = Vote(
        compound_id=board.compound.id,
        title="3栋加装电梯",
        matter=Matter.ELEVATOR,
        rule=Matter.ELEVATOR.rule,
        building_ids=[board.building_3],
        opens_at=utcnow() - timedelta(minutes=1),
        closes_at=utcnow() + timedelta(days=7),
        created_by_id=board.staff_id,
        no_cost_plan=True,  # an elevator vote opens with a cost plan or this declaration
        no_cost_plan_reason="测试：不涉及居民出资",
    )
    _db.session.add(vote)
    _db.session.flush()
    open_vote(vote, confirm_unknown_owners=True)
    notices = client.get("/api/v1/me/notices", headers=board.resident_3).json
    assert [n["title"] for n in notices] == ["表决：3栋加装电梯"]
    assert notices[0]["vote_id"] == vote.id and notices[0]["pinned"] and notices[0]["public"]
    assert "截止时间" in notices[0]["body"]
    assert client.get("/api/v1/me/notices", headers=board.resident_1).json == []

    cancel_vote(vote, staff_id=board.staff_id)
    assert client.get("/api/v1/me/notices", headers=board.resident_3).json == []
