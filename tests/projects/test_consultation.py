"""方案征求意见: the plan with each household's share (to the fen, by area, hand-computed), the
residents' stances and comments during the period only and from the compound only, the
handling of each comment, the summary published as a notice without personal data, the
revised plan with its review."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.notices.models import Notice
from participation.projects.models import PlanComment, PlanConsultation, PlanStance

from .conftest import api, refused

# Areas 60, 80, 100 m² (240 in all). 外墙保温: residents pay 1000.00 → 250.00, 333.33 and
# 416.67 (41666.67 fen rounds up: the largest remainder takes the fen left over);
# 充电桩: 100.00 → 25.00, 33.33, 41.67. Per household: 275.00, 366.66, 458.34 = 1100.00.
ITEMS = [
    {"name": "外墙保温", "cost": "100000.00", "residents_part": "1000.00"},
    {"name": "电动车充电桩", "cost": "20000.00", "residents_part": "100.00"},
]
PLAN_PDF = {"name": "设计方案.pdf", "url": "files/plan.pdf", "sha256": "a" * 64}


def publish(client, project, committee, **changes):
    now = utcnow()
    body = {
        "title": "幸福小区改造设计方案",
        "opens_at": (now - timedelta(minutes=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
        "items": ITEMS,
        "documents": [PLAN_PDF],
        **changes,
    }
    return api(client, "POST", f"/projects/{project['id']}/plan-consultation", committee, **body)


def close(consultation_id: int) -> None:
    consultation = _db.session.get(PlanConsultation, consultation_id)
    consultation.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()


def counts() -> tuple[int, int]:
    comments = _db.session.scalar(sa.select(sa.func.count()).select_from(PlanComment))
    stances = _db.session.scalar(sa.select(sa.func.count()).select_from(PlanStance))
    return comments, stances


def test_shares_are_split_by_area_to_the_fen(client, compound, committee, project):
    published = publish(client, project, committee)
    assert published.status_code == 201, published.json
    assert (published.json["total_cost"], published.json["residents_total"]) == (
        "120000.00",
        "1100.00",
    )
    assert [d["name"] for d in published.json["documents"]] == ["设计方案.pdf"]
    shares = client.get(
        f"/api/v1/plan-consultations/{published.json['id']}/shares", headers=committee
    ).json
    assert [(s["label"], s["area"], s["share"]) for s in shares] == [
        ("1栋1单元101", "60.00", "275.00"),
        ("1栋1单元201", "80.00", "366.66"),
        ("1栋1单元301", "100.00", "458.34"),
    ]
    refused(publish(client, project, committee), 409, "consultation_exists")


def test_bad_plans_are_refused(client, committee, project):
    now = utcnow()
    backwards = publish(
        client,
        project,
        committee,
        opens_at=now.isoformat(),
        closes_at=(now - timedelta(days=1)).isoformat(),
    )
    refused(backwards, 422, "closes_before_opens")
    too_much = [{"name": "屋面防水", "cost": "100.00", "residents_part": "100.01"}]
    refused(publish(client, project, committee, items=too_much), 422, "residents_part_exceeds_cost")
    refused(
        publish(client, project, committee, items=[{**ITEMS[0], "cost": "1.005"}]),
        422,
        "validation_error",
    )
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(PlanConsultation)) == 0


def test_residents_comment_during_the_period_and_the_summary_is_published(
    client,
    compound,
    committee,
    project,
    owner_account,
    make_compound,
    make_dwelling,
    make_account,
    sign_in,
):
    consultation = publish(client, project, committee).json
    c = f"/plan-consultations/{consultation['id']}"
    first, second = (item["id"] for item in consultation["items"])
    a101 = sign_in(owner_account(compound, "1栋1单元101"))
    a201 = sign_in(owner_account(compound, "1栋1单元201"))

    seen = client.get(f"/api/v1{c}", headers=a101).json
    assert seen["my_share"] == "275.00" and seen["open"] is True
    assert {i["support"] for i in seen["items"]} == {None}  # counts are the committee's
    shares = [Decimal(i["my_share"]) for i in seen["items"]]  # my household's part of each
    assert sum(shares) == Decimal(seen["my_share"])

    sent = api(
        client,
        "POST",
        f"{c}/feedback",
        a101,
        stances=[{"item_id": first, "stance": "support"}, {"item_id": second, "stance": "oppose"}],
        comments=[{"item_id": second, "text": "充电桩离窗户太近，请联系13812345678"}],
    )
    assert sent.status_code == 200, sent.json
    assert len(sent.json["stances"]) == 2 and sent.json["comments"][0]["room"] == "1栋1单元101"
    api(client, "POST", f"{c}/feedback", a201, stances=[{"item_id": first, "stance": "support"}])
    changed = api(
        client,
        "POST",
        f"{c}/feedback",
        a201,
        stances=[{"item_id": first, "stance": "oppose"}],
        comments=[{"text": "希望施工避开午休时间"}],
    )
    assert changed.status_code == 200, changed.json

    staff_view = client.get(f"/api/v1{c}", headers=committee).json
    assert [(i["support"], i["oppose"]) for i in staff_view["items"]] == [(1, 1), (0, 1)]

    # a resident of another compound: 404; a staff account: not a resident
    other = make_compound("邻居小区", community=compound.community)
    stranger_owner = make_dwelling.owner(other, "外人", "13700000009")
    make_dwelling(other, owners=[stranger_owner])
    stranger = make_account("13700000009")
    stranger_owner.account_id = stranger.id
    _db.session.flush()
    outsider = sign_in(stranger)
    before = counts()
    for method in ("GET", "POST"):
        url = c if method == "GET" else f"{c}/feedback"
        response = api(client, method, url, outsider, comments=[{"text": "x"}])
        assert (response.status_code, response.json["code"]) == (404, "not_found")
    refused(api(client, "POST", f"{c}/summary", committee), 409, "consultation_still_open")

    close(consultation["id"])
    late = api(client, "POST", f"{c}/feedback", a101, comments=[{"text": "还有一条意见"}])
    refused(late, 409, "consultation_not_open")
    assert "征求意见" in late.json["message"]
    assert counts() == before

    refused(api(client, "POST", f"{c}/summary", committee), 409, "comments_unhandled")
    comments = client.get(f"/api/v1{c}/comments", headers=committee).json
    assert [x["room"] for x in comments] == ["1栋1单元101", "1栋1单元201"]
    handle = f"/plan-comments/{comments[0]['id']}/handling"
    refused(api(client, "POST", handle, committee, handling="rejected"), 422, "reason_required")
    assert _db.session.get(PlanComment, comments[0]["id"]).handling is None
    done = api(
        client,
        "POST",
        handle,
        committee,
        handling="partly",
        reason="充电桩移至3栋北侧，距住宅窗户不少于6米",
    )
    assert done.status_code == 200 and done.json["handling"] == "partly"
    api(
        client,
        "POST",
        f"/plan-comments/{comments[1]['id']}/handling",
        committee,
        handling="adopted",
    )

    published = api(client, "POST", f"{c}/summary", committee)
    assert published.status_code == 200, published.json
    assert [(i["support"], i["oppose"]) for i in published.json["items"]] == [(1, 1), (0, 1)]
    summary_id = client.get(f"/api/v1{c}", headers=committee).json["summary_notice_id"]
    notice = _db.session.get(Notice, summary_id)
    assert notice.public and notice.compound_id == compound.id
    assert "外墙保温：支持 1 户，反对 1 户" in notice.body
    assert "1栋1单元101（电动车充电桩）" in notice.body and "部分采纳：充电桩移至" in notice.body
    assert "13812345678" not in notice.body and "业主1" not in notice.body
    refused(api(client, "POST", f"{c}/summary", committee), 409, "summary_published")
    refused(api(client, "POST", handle, committee, handling="adopted"), 409, "summary_published")


def test_the_revised_plan_and_its_review_are_published(client, committee, project):
    consultation = publish(client, project, committee).json
    c = f"/plan-consultations/{consultation['id']}"
    review = {
        "items": [{"name": "外墙保温", "cost": "96000.00", "residents_part": "960.00"}],
        "documents": [{"name": "修改稿.pdf", "url": "files/plan-2.pdf", "sha256": "b" * 64}],
        "changes": "取消充电桩，外墙保温降低造价",
        "reviewer": "区住房和城乡建设局",
        "reviewed_on": "2026-12-01",
        "conclusion": "同意按修改稿实施",
    }
    refused(api(client, "POST", f"{c}/revision", committee, **review), 409, "summary_not_published")
    close(consultation["id"])
    assert api(client, "POST", f"{c}/summary", committee).status_code == 200
    recorded = api(client, "POST", f"{c}/revision", committee, **review)
    assert recorded.status_code == 201, recorded.json
    assert recorded.json["revision"] == 1
    detail = client.get(f"/api/v1{c}", headers=committee).json
    assert [i["name"] for i in detail["items"]] == ["外墙保温"]
    assert detail["residents_total"] == "960.00"
    assert {d["name"] for d in detail["documents"]} == {"设计方案.pdf", "修改稿.pdf"}
    shares = client.get(f"/api/v1{c}/shares", headers=committee).json
    assert [s["share"] for s in shares] == ["240.00", "320.00", "400.00"]
    notice = _db.session.get(Notice, recorded.json["notice_id"])
    assert "区住房和城乡建设局" in notice.body and "合计 96000.00 元，其中居民出资 960.00 元" in (
        notice.body
    )


def test_feedback_before_the_period_is_refused(
    client, compound, committee, project, owner_account, sign_in
):
    now = utcnow()
    consultation = publish(
        client,
        project,
        committee,
        opens_at=(now + timedelta(days=1)).isoformat(),
        closes_at=(now + timedelta(days=8)).isoformat(),
    ).json
    resident = sign_in(owner_account(compound, "1栋1单元301"))
    early = api(
        client,
        "POST",
        f"/plan-consultations/{consultation['id']}/feedback",
        resident,
        stances=[{"item_id": consultation["items"][0]["id"], "stance": "support"}],
    )
    refused(early, 409, "consultation_not_open")
    assert counts() == (0, 0)


def test_a_retried_submission_is_stored_once(
    client, compound, committee, project, owner_account, sign_in
):
    consultation = publish(client, project, committee).json
    url = f"/api/v1/plan-consultations/{consultation['id']}/feedback"
    resident = sign_in(owner_account(compound, "1栋1单元201"))
    body = {"comments": [{"text": "楼道灯请换成声控"}, {"text": "请保留信报箱"}]}
    headers = {**resident, "Idempotency-Key": "retry-1"}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.json
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 200 and again.json == first.json
    assert counts() == (2, 0)
    other = client.post(url, json=body, headers={**resident, "Idempotency-Key": "retry-2"})
    assert len(other.json["comments"]) == 4 and counts() == (4, 0)
    # a retry after the period still answers what was stored, and stores nothing
    close(consultation["id"])
    late = client.post(url, json=body, headers=headers)
    assert late.status_code == 200 and counts() == (4, 0)
