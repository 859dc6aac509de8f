"""设计方案征求意见 on the resident's pages (issue 17): from 改造进度 on the landing page a
resident signs in with a phone code and opens the design plan of the compound's project — the
items with cost and the household's share, one item a page with big 支持 / 反对 choices, a
comment, check your answers, confirmation — at 320 px and in large text, with the axe-core
audit. A network drop after the server stored the submission is retried with the same
Idempotency-Key (stored once). After the period the page says so plainly; a handled comment
shows its handling; a plan the resident may not see is explained."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from participation.common.types import utcnow
from participation.demo import DEMO_RESIDENT_PHONE
from participation.extensions import db
from participation.projects.models import Handling, PlanComment, PlanConsultation

from .test_h5_progress_browser import _seed

COMMENT = "希望施工避开午休时间，谢谢"


def _shot(page, name: str) -> None:
    """A full-page screenshot to ``$H5_SCREENSHOTS`` when set."""
    if os.environ.get("H5_SCREENSHOTS"):
        folder = Path(os.environ["H5_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _comments(site) -> int:
    with site.app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(PlanComment).where(PlanComment.text == COMMENT)
        )


def test_a_resident_supports_an_item_and_comments(phones, site):
    from playwright.sync_api import expect

    _seed(site)
    page, errors = phones.open(320)
    page.goto(f"{site.url}/c/{site.link_code}")
    phones.ready(page)
    expect(page.locator("#progress-plan")).to_contain_text("正在征求意见")
    page.get_by_role("link", name="查看设计方案，表态和提意见").click()
    expect(page.locator("#sign-in-status")).to_contain_text("请先用手机号登录")
    phones.sign_in(page, site, DEMO_RESIDENT_PHONE)
    title = page.locator("#plan-title")
    expect(title).to_be_visible()
    expect(page.locator("#plan-page")).to_contain_text("您家共需出资")
    expect(page.locator("#plan-page")).to_contain_text("您家分摊")
    phones.check_layout(page, 320)
    phones.axe(page, "plan: what it is")
    _shot(page, "plan-intro")

    page.get_by_role("button", name="开始表态").click()
    expect(page.locator("#plan-page")).to_contain_text("第 1 项")
    first_item = title.inner_text()
    page.get_by_label("支持").check()
    phones.check_layout(page, 320)
    phones.axe(page, "plan: one item")
    _shot(page, "plan-item")
    page.get_by_role("button", name="大字").click()
    phones.check_layout(page, 320, large=True)
    page.get_by_role("button", name="大字").click()
    page.get_by_role("button", name="下一步").click()
    while title.inner_text() != "您还有什么意见？":
        page.get_by_label("反对").check()
        page.get_by_role("button", name="下一步").click()
    page.get_by_label("意见（可不填）").fill(COMMENT)
    phones.axe(page, "plan: a comment")
    page.get_by_role("button", name="下一步").click()
    expect(title).to_have_text("请核对您的表态和意见")
    check = page.locator(".check-list")
    expect(check).to_contain_text(first_item)
    expect(check).to_contain_text("支持")
    expect(check).to_contain_text(COMMENT)
    # change the first answer from the check page, and come back through the pages
    page.get_by_role("link", name=f"修改对“{first_item}”的表态").click()
    expect(page.get_by_label("支持")).to_be_checked()
    page.get_by_role("button", name="下一步").click()
    while title.inner_text() != "您还有什么意见？":
        page.get_by_role("button", name="下一步").click()
    expect(page.get_by_label("意见（可不填）")).to_have_value(COMMENT)
    page.get_by_role("button", name="下一步").click()
    phones.check_layout(page, 320)
    phones.axe(page, "plan: check your answers")
    _shot(page, "plan-check")

    # the first attempt reaches the server but its answer is lost: retried, same key
    keys: list[str] = []

    def drop_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()
            route.abort()
        else:
            route.continue_()

    page.route("**/api/v1/plan-consultations/*/feedback", drop_first_answer)
    page.get_by_role("button", name="确认提交").click()
    expect(title).to_have_text("提交成功", timeout=15_000)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    assert _comments(site) == 1
    expect(page.locator("#plan-page")).to_contain_text(COMMENT)
    expect(page.locator("#plan-page")).to_contain_text("社区正在研究")
    phones.check_layout(page, 320)
    phones.axe(page, "plan: confirmation")
    _shot(page, "plan-done")

    # after the period: said plainly, no way to answer; the handling of my comment shows
    with site.app.app_context():
        db.session.execute(
            update(PlanConsultation).values(closes_at=utcnow() - timedelta(minutes=1))
        )
        db.session.execute(
            update(PlanComment)
            .where(PlanComment.text == COMMENT)
            .values(
                handling=Handling.ADOPTED,
                reason="施工时间调整为 8:00–12:00、14:30–18:00",
                handled_at=utcnow(),
            )
        )
        db.session.commit()
    page.reload()
    phones.ready(page)
    expect(page.locator("#plan-page")).to_contain_text("现在不能再表态或提意见")
    expect(page.get_by_role("button", name="开始表态")).to_have_count(0)
    expect(page.locator("#plan-page")).to_contain_text("处理结果：采纳")
    phones.check_layout(page, 320)
    phones.axe(page, "plan: after the period")
    _shot(page, "plan-closed")

    # a plan this resident may not see
    page.goto(f"{site.url}/h5/?compound={site.compound_id}#/plan/999999")
    phones.ready(page)
    expect(page.locator("#plan-page")).to_contain_text("只有本小区的居民")
    assert not errors, errors
