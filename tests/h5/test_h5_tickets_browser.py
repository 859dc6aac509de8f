"""A resident reports a problem during the works from the phone and follows it to the end
(issue 14): the form with its error summary, a photo, the anonymous option; the ticket's
page with the photo and the history; confirming or reopening a resolution, and rating it.
At 390 px and 320 px, with the layout measured and an axe-core audit of each page.

Screenshots go to pytest's tmp_path (``--basetemp=/tmp/h5tickets`` to find them).
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from participation.demo import DEMO_RESIDENT_PHONE
from participation.extensions import db


def _committee(site, action: str, ticket_id: int, note: str) -> None:
    """The compound's committee moves the ticket on (as the API would)."""
    from participation.auth.models import Role, StaffUser, SubjectKind
    from participation.auth.tokens import Principal
    from participation.feedback import services
    from participation.feedback.models import Ticket

    with site.app.app_context():
        staff = db.session.scalars(select(StaffUser).where(StaffUser.username == "h5-committee"))
        principal = Principal(
            SubjectKind.STAFF, staff.one().id, "", ((Role.COMPOUND, site.compound_id),)
        )
        services.act(db.session.get(Ticket, ticket_id), action, principal, note)
        db.session.commit()


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (180, 60, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("width", [390, 320])
def test_a_resident_files_a_complaint_with_a_photo_and_follows_it(phones, site, tmp_path, width):
    from playwright.sync_api import expect

    page, errors = phones.open(width)
    shot = 0

    def screenshot(name: str) -> None:
        nonlocal shot
        shot += 1
        page.screenshot(path=str(tmp_path / f"{width}-{shot:02d}-{name}.png"), full_page=True)

    page.goto(f"{site.url}/c/{site.link_code}")
    phones.ready(page)
    phones.sign_in(page, site, DEMO_RESIDENT_PHONE)
    entry = page.locator("#my-tickets")
    expect(entry.get_by_role("heading", name="施工中有问题？")).to_be_visible()
    expect(entry.locator("#ticket-list li")).to_have_count(2)  # the demo's two
    expect(entry.locator("#ticket-list li").first).to_contain_text("已提交")

    entry.get_by_role("link", name="我要反映问题").click()
    expect(page.get_by_role("heading", name="反映问题")).to_be_visible()
    page.get_by_role("button", name="提交", exact=True).click()
    summary = page.locator("#ticket-errors")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(["请选择问题类别", "请描述问题"])
    phones.check_layout(page, width)
    phones.axe(page, "complaint form with errors")

    page.get_by_label("问题类别").select_option(label="文明施工与噪音")
    page.get_by_label("问题描述").fill("2栋门口夜里还在用切割机，声音很大。")
    expect(page.locator("#ticket-description-error")).to_be_hidden()
    page.get_by_label("在哪栋楼（选填）").select_option(label="2栋")
    page.get_by_label("具体位置（选填）").fill("2栋东侧")
    page.get_by_label("照片（选填，最多 9 张）").set_input_files(
        [{"name": "夜间施工.jpg", "mimeType": "image/jpeg", "buffer": _photo()}]
    )
    page.get_by_label(re.compile("匿名反映")).check()
    phones.check_layout(page, width)
    phones.axe(page, "complaint form filled")
    screenshot("form")
    page.get_by_role("button", name="提交", exact=True).click()

    # The ticket's page: filed, its photo (fetched with the sign-in), the history.
    expect(page.locator("#ticket-load-status")).to_contain_text("提交成功")
    ticket_id = int(re.search(r"#/tickets/(\d+)$", page.url).group(1))
    expect(page.locator("#ticket-state")).to_have_text("已提交")
    expect(page.locator("#ticket-meta")).to_contain_text("位置：2栋 2栋东侧")
    expect(page.locator("#ticket-meta")).to_contain_text("匿名反映")
    photo = page.locator("#ticket-photo-list img")
    expect(photo).to_have_count(1)
    assert photo.evaluate("img => img.complete && img.naturalWidth") > 0
    expect(page.locator("#ticket-history li")).to_have_text([re.compile("^提交")])
    phones.check_layout(page, width)
    phones.axe(page, "ticket page")
    screenshot("filed")

    # The committee resolves it; the resident says it is not solved yet.
    _committee(site, "acknowledge", ticket_id, "已联系施工单位")
    _committee(site, "resolve", ticket_id, "已要求夜间22点后停止切割作业")
    page.reload()
    phones.ready(page)
    confirm = page.locator("#ticket-confirm")
    expect(confirm.get_by_role("heading", name="问题解决了吗？")).to_be_visible()
    confirm.get_by_role("button", name="还没解决，重新处理").click()
    expect(page.locator("#ticket-reopen-note-error")).to_have_text("请说明还有什么没解决")
    confirm.get_by_label("还没解决？请说明情况").fill("昨晚11点还在切割")
    confirm.get_by_role("button", name="还没解决，重新处理").click()
    expect(page.locator("#ticket-state")).to_have_text("处理中")
    expect(page.locator("#ticket-history li").last).to_contain_text("昨晚11点还在切割")

    # Resolved again: confirmed, then rated.
    _committee(site, "resolve", ticket_id, "已调整作业时间，夜间有人巡查")
    page.reload()
    phones.ready(page)
    confirm.get_by_role("button", name="已经解决了").click()
    expect(page.locator("#ticket-state")).to_have_text("已关闭")
    rate = page.locator("#ticket-rate")
    expect(rate).to_be_visible()
    rate.get_by_label("4 分").check()
    rate.get_by_label("意见（选填）").fill("处理得还算及时")
    phones.check_layout(page, width)
    phones.axe(page, "rating a closed ticket")
    rate.get_by_role("button", name="提交评价").click()
    expect(page.locator("#ticket-action-status")).to_have_text("谢谢您的评价。")
    expect(rate).to_be_hidden()
    screenshot("rated")

    from participation.feedback.models import Ticket

    with site.app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.status.value, ticket.rating, ticket.reopen_count) == ("closed", 4, 1)
        assert ticket.anonymous and len(ticket.photos) == 1
    assert not errors, errors
