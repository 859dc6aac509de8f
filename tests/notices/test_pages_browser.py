"""The board's public pages in a real browser (Debian's Chromium through Playwright): the 公示
of the demo's vote fits a 320 px phone without sideways scrolling, keeps text at 18 px or more
and touch targets at 48 px, and prints on exactly one A4 page; the QR link lands on the H5."""

from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from participation import create_app
from participation.auth.models import Role, RoleAssignment, StaffUser
from participation.demo import seed_campaigns
from participation.extensions import db
from participation.notices.links import current_link
from participation.notices.models import LinkTarget, Notice, NoticeKind
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.importer import import_roster_file
from participation.roster.models import Community, Compound, District, Street


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server on a temporary SQLite file with the demo's campaigns in one compound."""
    database = tmp_path_factory.mktemp("board") / "board.sqlite3"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "SQLALCHEMY_ENGINE_OPTIONS": {}, "REDIS_URL": None})  # fmt: skip
    with app.app_context():
        db.create_all()
        community = Community(street=Street(district=District(name="示范区"), name="和平街道"),
                              name="向阳社区")  # fmt: skip
        compound = Compound(community=community, name="幸福里小区")
        db.session.add(compound)
        db.session.flush()
        rows = roster_rows(2, entrances=2, floors=6, rooms_per_floor=2, seed=1)
        assert import_roster_file(compound.id, "r.csv", roster_csv(rows)).status.value == "done"
        staff = StaffUser(username="committee", password_hash="x", display_name="业委会")
        staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
        db.session.add(staff)
        db.session.flush()
        seed_campaigns(compound, staff)
        db.session.commit()
        result = db.session.query(Notice).filter_by(kind=NoticeKind.RESULT).one()
        pages = {
            "result": f"/notices/votes/{result.vote_id}",
            "code": current_link(LinkTarget.COMPOUND, compound.id).code,
            "compound_id": compound.id,
        }
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {**pages, "url": f"http://127.0.0.1:{server.server_port}"}
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


def test_the_result_page_reads_on_a_small_phone(browser, site, tmp_path):
    context = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True,
                                  has_touch=True, locale="zh-CN")  # fmt: skip
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # (the browser's own favicon request is the one 404 it reports)
    page.on("console", lambda m: m.type == "error" and "favicon" not in m.location.get("url", "")
            and errors.append(m.text))  # fmt: skip
    page.goto(site["url"] + site["result"])
    assert page.get_by_role("heading", level=1).inner_text() == "续聘幸福物业服务有限公司"
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    smallest = page.evaluate(
        "Math.min(...[...document.querySelectorAll('main p, main td, main th')]"
        ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
    )
    assert smallest >= 18
    for link in page.locator("main a").all():
        box = link.bounding_box()
        assert box["height"] >= 48 and box["width"] >= 48, link.inner_text()
    chart = page.locator("img.chart")
    assert chart.evaluate("img => img.complete && img.naturalWidth") == 1200
    assert "表决通过" in page.locator(".verdict").inner_text()
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert errors == []
    context.close()


def test_the_result_page_prints_on_one_a4_page(browser, site, tmp_path):
    page = browser.new_page()
    page.goto(site["url"] + site["result"])
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1
    (tmp_path / "print.pdf").write_bytes(pdf)
    page.close()


def test_the_board_link_lands_on_the_compound_page(browser, site):
    page = browser.new_page()
    page.goto(f"{site['url']}/c/{site['code']}")
    assert page.url == f"{site['url']}/h5/?compound={site['compound_id']}"
    page.close()
