"""改造进度 on the resident's landing page (issue 17): the compound's project read from the
public JSON API only — its eight steps with their status and dates, the current step marked,
the money by source and the photos before and after — in large text, at 320 px, with the
layout measured in the page and an axe-core audit; a compound without a project shows none."""

from __future__ import annotations

from sqlalchemy import select

from participation.auth.models import StaffUser
from participation.demo import seed_project
from participation.extensions import db
from participation.roster.models import Compound


def _seed(site) -> None:
    from participation.projects import services
    from participation.projects.models import PhotoKind, Project

    with site.app.app_context():
        compound = db.session.get(Compound, site.compound_id)
        staff = db.session.scalar(select(StaffUser).where(StaffUser.username == "h5-committee"))
        seed_project(compound, staff)
        project = db.session.scalar(select(Project).where(Project.compound_id == compound.id))
        services.add_document(
            project,
            {
                "name": "1栋外墙",
                "url": "/static/none.jpg",
                "sha256": "0" * 64,
                "photo": PhotoKind.BEFORE,
            },
            staff.id,
        )
        db.session.commit()


def test_the_landing_page_shows_the_project_progress(phones, site):
    from playwright.sync_api import expect

    page, errors = phones.open(320)
    page.goto(f"{site.url}/c/{site.link_code}")
    phones.ready(page)
    expect(page.locator("#progress")).to_be_hidden()  # no project yet

    _seed(site)
    page.reload()
    phones.ready(page)
    expect(page.get_by_role("heading", name="改造进度")).to_be_visible()
    steps = page.locator("#progress-steps li")
    expect(steps).to_have_count(8)
    expect(steps.nth(0)).to_contain_text("成立组织")
    expect(steps.nth(0)).to_contain_text("已完成")
    expect(page.locator("#progress-steps li[aria-current=step]")).to_contain_text("编制方案")
    expect(page.locator("#progress-steps li[aria-current=step]")).to_contain_text("进行中")
    expect(page.locator("#progress-sources")).to_contain_text("合计 1724400.00 元")
    expect(page.get_by_role("link", name="改造前：1栋外墙")).to_be_visible()
    text = page.locator("#progress").inner_text()
    assert "业主" not in text.replace("业主委员会", "")  # no one's name, only organisations
    phones.check_layout(page, 320)
    phones.axe(page, "landing page with the project's progress")

    page.get_by_role("button", name="大字").click()
    phones.check_layout(page, 320, large=True)
    assert not errors, errors
