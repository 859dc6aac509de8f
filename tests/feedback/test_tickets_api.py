"""Tickets through the API: a full lifecycle with its history and notifications, photos
without metadata, bad input refused with nothing stored, who sees and moves what."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from participation.feedback.models import Ticket, TicketEvent, TicketPhoto

from .conftest import jpeg


def _act(client, ticket_id, headers, action, note="", **extra):
    return client.post(
        f"/api/v1/tickets/{ticket_id}/actions",
        json={"action": action, "note": note, **extra},
        headers=headers,
    )


def _notifications(client, headers, unread=False):
    query = "?unread=true" if unread else ""
    return client.get(f"/api/v1/me/notifications{query}", headers=headers).json


def test_a_full_lifecycle_file_acknowledge_resolve_reopen_resolve_confirm_rate(
    client, works, file_ticket
):
    filed = file_ticket(photos=[jpeg()], building_id=works.building_1, location_text="北侧")
    assert filed.status_code == 201, filed.json
    ticket = filed.json
    assert ticket["status"] == "submitted" and ticket["status_label"] == "已提交"
    assert ticket["category"] == "施工安全" and ticket["place"] == "1栋 北侧"
    assert len(ticket["photos"]) == 1 and ticket["reporter"] is None  # not shown to themselves
    assert ticket["ack_due_at"] < ticket["resolve_due_at"]
    assert ticket["actions"] == []  # nothing for the reporter until it is resolved
    tid = ticket["id"]

    # The committee was told, and sees the reporter's phone in full.
    assert [n["kind"] for n in _notifications(client, works.committee)] == ["ticket_filed"]
    seen = client.get(f"/api/v1/tickets/{tid}", headers=works.committee).json
    assert seen["reporter"]["phone"].isdigit() and not seen["reporter"]["anonymous"]
    assert "acknowledge" in seen["actions"] and "assign" in seen["actions"]

    steps = [
        (works.committee, "acknowledge", "已安排施工单位核查", "acknowledged"),
        (works.committee, "resolve", "已加装防护网", "resolved"),
        (works.owner, "reopen", "东侧还没有装", "in_progress"),
        (works.committee, "resolve", "东侧也已加装", "resolved"),
        (works.owner, "confirm", "", "closed"),
    ]
    for headers, action, note, status in steps:
        moved = _act(client, tid, headers, action, note)
        assert moved.status_code == 200, (action, moved.json)
        assert moved.json["status"] == status
    rated = client.post(
        f"/api/v1/tickets/{tid}/rating",
        json={"rating": 5, "comment": "处理及时"},
        headers=works.owner,
    )
    assert rated.status_code == 200, rated.json
    assert rated.json["rating"] == 5 and rated.json["reopen_count"] == 1
    again = client.post(f"/api/v1/tickets/{tid}/rating", json={"rating": 1}, headers=works.owner)
    assert again.status_code == 409 and again.json["code"] == "already_rated"

    history = client.get(f"/api/v1/tickets/{tid}", headers=works.owner).json["history"]
    assert [(h["action"], h["to_status"]) for h in history] == [
        ("file", "submitted"),
        ("acknowledge", "acknowledged"),
        ("resolve", "resolved"),
        ("reopen", "in_progress"),
        ("resolve", "resolved"),
        ("confirm", "closed"),
        ("rate", "closed"),
    ]
    assert [h["seq"] for h in history] == list(range(1, 8))
    assert history[1]["note"] == "已安排施工单位核查" and history[3]["actor"] == "居民"
    # The reporter heard of each of the committee's moves.
    told = _notifications(client, works.owner)
    assert [n["title"] for n in reversed(told)] == [
        "您反映的问题已受理",
        "您反映的问题已办结",
        "您反映的问题已办结",
    ]
    assert all(n["link"].endswith(f"#/tickets/{tid}") for n in told)


def test_the_history_cannot_be_changed(client, works, file_ticket, db):
    from sqlalchemy.exc import DatabaseError

    tid = file_ticket().json["id"]
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tid)).one()
    with pytest.raises(DatabaseError), db.session.begin_nested():
        db.session.execute(
            TicketEvent.__table__.update().where(TicketEvent.id == event.id).values(note="x")
        )


def test_moves_that_do_not_fit_are_refused_with_a_message(client, works, file_ticket):
    tid = file_ticket().json["id"]
    early = _act(client, tid, works.owner, "confirm")
    assert early.status_code == 409 and early.json["code"] == "ticket_status_changed"
    by_owner = _act(client, tid, works.owner, "acknowledge")
    assert by_owner.status_code == 403 and by_owner.json["code"] == "not_allowed"
    start = _act(client, tid, works.committee, "start")
    assert start.status_code == 409 and start.json["code"] == "ticket_status_changed"
    assert "已提交" in start.json["message"]
    bare = _act(client, tid, works.committee, "reject")
    assert bare.status_code == 422 and "note" in bare.json["errors"]
    unknown = _act(client, tid, works.committee, "delete")
    assert unknown.status_code == 422
    staff_confirm = _act(client, tid, works.committee, "confirm")
    assert staff_confirm.status_code == 403
    rate_early = client.post(
        f"/api/v1/tickets/{tid}/rating", json={"rating": 4}, headers=works.owner
    )
    assert rate_early.status_code == 409 and rate_early.json["code"] == "not_rateable_yet"


def test_refusals_duplicate_and_referral(client, works, file_ticket):
    first = file_ticket().json["id"]
    second = file_ticket(description="同样是3栋北侧脚手架的问题").json["id"]
    third = file_ticket(description="小区门口的公交站牌坏了").json["id"]
    dup = _act(client, second, works.committee, "duplicate", duplicate_of_id=first)
    assert dup.status_code == 200 and dup.json["duplicate_of_id"] == first
    self_dup = _act(client, first, works.committee, "duplicate", duplicate_of_id=first)
    assert self_dup.status_code == 422
    referred = _act(
        client,
        third,
        works.committee,
        "refer",
        "公交站牌由交通部门管理",
        referred_to="区交通运输局",
    )
    assert referred.json["status"] == "not_responsible"
    assert referred.json["referred_to"] == "区交通运输局"
    # Refused tickets can be rated too.
    rated = client.post(f"/api/v1/tickets/{third}/rating", json={"rating": 3}, headers=works.owner)
    assert rated.status_code == 200


def test_an_unanswered_resolution_closes_itself_after_the_confirmation_period(
    client, works, file_ticket, db
):
    from datetime import timedelta

    from participation.feedback import services

    tid = file_ticket().json["id"]
    _act(client, tid, works.committee, "acknowledge")
    _act(client, tid, works.committee, "resolve", "已处理")
    ticket = db.session.get(Ticket, tid)
    assert ticket.confirm_due_at - ticket.resolved_at == timedelta(days=7)
    assert services.close_unconfirmed(ticket.confirm_due_at - timedelta(seconds=1)) == 0
    # Read after the period: closed by the reading itself, the reopen refused.
    ticket.confirm_due_at = ticket.resolved_at
    db.session.flush()
    seen = client.get(f"/api/v1/tickets/{tid}", headers=works.owner).json
    assert seen["status"] == "closed" and seen["history"][-1]["action"] == "expire"
    assert seen["actions"] == ["rate"]
    late = _act(client, tid, works.owner, "reopen", "还没好")
    assert late.status_code == 409


def test_a_photo_comes_back_without_any_metadata_and_upright(client, works, file_ticket):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    exif[0x010F] = "TestCam"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.0)})
    source = jpeg(400, 300, exif=exif.tobytes())
    assert b"TestCam" in source
    filed = file_ticket(photos=[source])
    photo = filed.json["photos"][0]
    assert (photo["width"], photo["height"]) == (300, 400)
    got = client.get(photo["url"], headers=works.owner)
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(got.data))
    assert image.size == (300, 400)
    assert not image.getexif() and b"Exif" not in got.data and b"TestCam" not in got.data
    thumb = client.get(photo["thumbnail_url"], headers=works.owner)
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 400
    # The neighbour and the other compound's committee cannot fetch it.
    assert client.get(photo["url"], headers=works.neighbour).status_code == 404
    assert client.get(photo["url"], headers=works.neighbour_committee).status_code == 404


def _stored_files(app) -> list[Path]:
    return [p for p in Path(app.config["FEEDBACK_DIR"]).rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("photos", "status", "code"),
    [
        ([jpeg()] * 10, 422, "too_many_photos"),
        ([jpeg(), b"this is not an image at all"], 415, "not_an_image"),
        ([jpeg(), b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64], 415, "heic_not_supported"),
        ([jpeg(), b"\xff\xd8\xff" + b"\x00" * (10 * 2**20)], 413, "file_too_large"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_stored(
    client, app, works, file_ticket, db, photos, status, code
):
    before = len(_stored_files(app))
    refused = file_ticket(photos=photos)
    assert refused.status_code == status, refused.json
    assert refused.json["code"] == code and refused.json["message"]
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(TicketPhoto.id))) == 0
    assert len(_stored_files(app)) == before


def test_a_failed_write_leaves_no_file_behind(client, app, works, file_ticket, db, monkeypatch):
    from participation.feedback import services

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    before = len(_stored_files(app))
    monkeypatch.setattr(services, "_photo_rows", broken)
    with pytest.raises(RuntimeError):
        file_ticket(photos=[jpeg(), jpeg()])
    assert len(_stored_files(app)) == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"description": ""}, "description"),
        ({"description": "长" * 2001}, "description"),
        ({"category_id": 999999}, "category_id"),
        ({"building_id": 999999}, "building_id"),
        ({"entrance_id": 1}, "building_id"),
        ({"link_kind": "vote", "link_id": 999999}, "link_id"),
        ({"link_kind": "vote"}, "link_id"),
        ({"kind": "rant"}, "kind"),
        ({"lat": "31.2"}, "lng"),
        ({"compound_id": "abc"}, "compound_id"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(client, works, file_ticket, db, fields, field):
    refused = file_ticket(**fields)
    assert refused.status_code == 422, refused.json
    assert field in refused.json["errors"], refused.json
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_only_residents_of_the_compound_file_there(client, works, file_ticket):
    assert file_ticket(headers=works.tenant).status_code == 201  # tenants may file
    outsider = file_ticket(headers=works.neighbour)
    assert outsider.status_code == 403 and outsider.json["code"] == "not_a_resident"
    staff = file_ticket(headers=works.committee)
    assert staff.status_code == 403 and staff.json["code"] == "resident_only"


def test_filing_is_rate_limited_with_the_wait(client, works, file_ticket, app, monkeypatch):
    monkeypatch.setitem(app.config, "TICKETS_PER_HOUR", 2)
    assert file_ticket().status_code == 201
    assert file_ticket().status_code == 201
    third = file_ticket()
    assert third.status_code == 429 and third.json["code"] == "rate_limited"
    assert int(third.headers["Retry-After"]) > 0 and "后再试" in third.json["message"]


def test_who_sees_which_ticket(client, works, file_ticket):
    tid = file_ticket(anonymous="true").json["id"]
    # One resident's tickets are not another's, not even in the same compound.
    assert client.get(f"/api/v1/tickets/{tid}", headers=works.tenant).status_code == 404
    for headers in (works.neighbour, works.neighbour_committee, works.other_contractor):
        assert client.get(f"/api/v1/tickets/{tid}", headers=headers).status_code == 404
        assert _act(client, tid, headers, "acknowledge").status_code == 404
    assert client.get("/api/v1/me/tickets", headers=works.tenant).json == []
    # The community's staff see it (masked phone, anonymous flagged), the contractor not yet.
    community = client.get(f"/api/v1/tickets/{tid}", headers=works.community).json
    assert "****" in community["reporter"]["phone"] and community["reporter"]["anonymous"]
    assert client.get(f"/api/v1/tickets/{tid}", headers=works.contractor).status_code == 404
    assert client.get("/api/v1/tickets", headers=works.contractor).json == []

    assigned = client.post(
        f"/api/v1/tickets/{tid}/assignment",
        json={"handler_id": works.contractor_id},
        headers=works.committee,
    )
    assert assigned.status_code == 200, assigned.json
    assert assigned.json["handler"]
    mine = client.get("/api/v1/tickets", headers=works.contractor).json
    assert [t["id"] for t in mine] == [tid]
    seen = mine[0]
    assert seen["reporter"] is None  # anonymous: hidden from the contractor
    assert "assign" not in seen["actions"] and "acknowledge" in seen["actions"]
    assert [n["kind"] for n in _notifications(client, works.contractor)] == ["ticket_assigned"]
    # The contractor moves it on, but assigns nothing and sees nothing else of the compound.
    assert _act(client, tid, works.contractor, "acknowledge").status_code == 200
    reassign = client.post(
        f"/api/v1/tickets/{tid}/assignment",
        json={"handler_id": works.committee_id},
        headers=works.contractor,
    )
    assert reassign.status_code == 403
    assert (
        client.get(
            f"/api/v1/compounds/{works.compound.id}/votes", headers=works.contractor
        ).status_code
        == 404
    )
    # A contractor of another compound is no handler here.
    other = client.post(
        f"/api/v1/tickets/{tid}/assignment",
        json={"handler_id": 999999},
        headers=works.committee,
    )
    assert other.status_code == 422


def test_staff_lists_filter_and_sort(client, works, file_ticket, categories, db):
    from datetime import timedelta

    a = file_ticket(building_id=works.building_1).json["id"]
    b = file_ticket(category_id=categories["施工质量"], kind="suggestion").json["id"]
    c = file_ticket().json["id"]
    _act(client, c, works.committee, "acknowledge")
    late = db.session.get(Ticket, a)
    late.ack_due_at = late.created_at - timedelta(minutes=1)
    db.session.flush()

    def ids(query):
        listed = client.get(f"/api/v1/tickets?{query}", headers=works.committee)
        assert listed.status_code == 200, listed.json
        return [t["id"] for t in listed.json]

    assert ids("") == [c, b, a]
    assert ids("sort=oldest") == [a, b, c]
    assert ids("status=acknowledged") == [c]
    assert ids("status=submitted,acknowledged") == [c, b, a]
    assert ids(f"category_id={categories['施工质量']}") == [b]
    assert ids("kind=suggestion") == [b]
    assert ids(f"building_id={works.building_1}") == [a]
    assert ids("overdue=true") == [a]
    assert ids(f"compound_id={works.other.id}") == []
    assert client.get("/api/v1/tickets?status=lost", headers=works.committee).status_code == 422
    assert client.get("/api/v1/tickets", headers=works.owner).status_code == 403
    mine = client.get("/api/v1/me/tickets", headers=works.owner).json
    assert mine[0]["status_label"] == "已受理" and mine[0]["actions"] == []
    assert [t["id"] for t in mine] == [
        c,
        b,
        a,
    ]


def test_notifications_are_read_one_by_one_or_all(client, works, file_ticket):
    tid = file_ticket().json["id"]
    _act(client, tid, works.committee, "acknowledge", "收到")
    _act(client, tid, works.committee, "start", "")
    unread = _notifications(client, works.owner, unread=True)
    assert len(unread) == 2
    read = client.post(f"/api/v1/me/notifications/{unread[0]['id']}/read", headers=works.owner)
    assert read.json == {"changed": 1, "unread": 1}
    foreign = client.post(f"/api/v1/me/notifications/{unread[1]['id']}/read", headers=works.tenant)
    assert foreign.status_code == 404
    everything = client.post("/api/v1/me/notifications/read", headers=works.owner)
    assert everything.json == {"changed": 1, "unread": 0}
    assert _notifications(client, works.owner, unread=True) == []


def test_a_retry_with_the_same_key_files_once(client, works, file_ticket, app, db):
    import io as _io

    def post(key):
        return client.post(
            "/api/v1/me/tickets",
            data={
                "compound_id": str(works.compound.id),
                "category_id": str(file_ticket.categories["施工安全"]),
                "description": "网络不好，提交了两次",
                "photos": [(_io.BytesIO(jpeg()), "a.jpg")],
            },
            headers={**works.owner, "Idempotency-Key": key},
            content_type="multipart/form-data",
        )

    before = len(_stored_files(app))
    first, again = post("k-1"), post("k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"]
    assert db.session.scalar(select(func.count(Ticket.id))) == 1
    assert len(_stored_files(app)) == before + 2  # one photo and its thumbnail, once
    assert post("k-2").status_code == 201
    # The same key from another resident is refused, not taken for theirs.
    other = client.post(
        "/api/v1/me/tickets",
        data={
            "compound_id": str(works.compound.id),
            "category_id": str(file_ticket.categories["施工安全"]),
            "description": "租户的问题",
        },
        headers={**works.tenant, "Idempotency-Key": "k-1"},
        content_type="multipart/form-data",
    )
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"


def test_a_ticket_links_to_something_of_its_own_compound_only(client, works, file_ticket, db):
    from participation.notices.models import Notice, NoticeKind

    here = Notice(compound_id=works.compound.id, kind=NoticeKind.PROGRESS, title="外墙施工")
    there = Notice(compound_id=works.other.id, kind=NoticeKind.PROGRESS, title="外墙施工")
    db.session.add_all([here, there])
    db.session.flush()
    linked = file_ticket(link_kind="notice", link_id=here.id)
    assert linked.status_code == 201, linked.json
    assert (linked.json["link_kind"], linked.json["link_id"]) == ("notice", here.id)
    foreign = file_ticket(link_kind="notice", link_id=there.id)
    assert foreign.status_code == 422 and "link_id" in foreign.json["errors"]


def test_the_sweep_is_due_only_when_a_ticket_waits_for_it(client, works, file_ticket, db):
    from datetime import timedelta

    from participation.common.sql import db_now
    from participation.feedback import services

    tid = file_ticket().json["id"]
    assert not services.sweep_due(db_now())
    ticket = db.session.get(Ticket, tid)
    ticket.ack_due_at = db_now() - timedelta(minutes=1)
    db.session.flush()
    assert services.sweep_due(db_now())
    assert services.mark_overdue() == 1
    assert not services.sweep_due(db_now())  # marked once: nothing left to do


def test_a_filing_may_carry_more_than_the_usual_request_size(client, works, file_ticket, app):
    """Nine photos of up to 10 MB each: the filing alone may exceed MAX_CONTENT_LENGTH (here
    three files of 9 MB, 27 MB in all, reach the photo check instead of a 413)."""
    assert app.config["MAX_CONTENT_LENGTH"] < 27 * 2**20
    refused = file_ticket(photos=[b"not a photo" * (9 * 2**20 // 11)] * 3)
    assert refused.status_code == 415 and refused.json["code"] == "not_an_image"
