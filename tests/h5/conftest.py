"""What the resident's pages are tried on: the demo compound (``seed_campaigns``) on a
PostgreSQL database of the test's own, served by werkzeug in a thread, and phones — Chromium
pages at a given width — with the checks every page must pass: the layout measured in the
page (nothing cut off, no text under 16 px, touch targets of 48 px, base text 18 px or 22 px
with 大字) and an axe-core audit (tests/h5/vendor/axe.min.js) without serious or critical
violations.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from participation.auth.models import Role, RoleAssignment, StaffUser
from participation.demo import DEMO_RESIDENT_PHONE, seed_campaigns, seed_tickets
from participation.extensions import db
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.importer import import_roster_file
from participation.roster.models import Community, Compound, District, Street

COMPOUND_NAME = "幸福里小区"
ELEVATOR = "1栋加装电梯"
PROPERTY = "续聘幸福物业服务有限公司"
PLAN_NAME = "1栋加装电梯方案.pdf"
PLAN_PDF = b"%PDF-1.4\n% the elevator plan\n%%EOF\n"


@dataclass
class Site:
    url: str
    app: object
    compound_id: int
    elevator_id: int
    property_id: int
    surveys: dict  # kind ("consent", "menu", "satisfaction") → survey id
    link_code: str
    outbox: list = field(repr=False)

    def code_for(self, phone: str) -> str:
        for sent_to, code in reversed(self.outbox):
            if sent_to == phone:
                return code
        raise AssertionError("no code was sent to this phone")

    def casts(self, vote_id: int) -> int:
        from participation.votes.models import VoteEvent

        with self.app.app_context():
            return db.session.scalar(
                select(func.count(VoteEvent.id)).where(
                    VoteEvent.vote_id == vote_id, VoteEvent.kind == "cast"
                )
            )


@pytest.fixture
def site(live_worker, serve):
    """The demo compound: an open elevator vote with its cost plan and a plan document, a
    vote on 公示, open consent, menu and satisfaction surveys, notices, the short link and the
    demo's complaints (the resident's first one resolved, waiting for their answer).
    Jobs (sealing) run inline: no Redis queue, so a receipt is sealed when the cast returns."""
    from participation.notices import links
    from participation.notices.models import LinkTarget
    from participation.surveys.models import Survey
    from participation.votes.models import Vote, VoteAttachment

    # A test may sign in again within the minute (an expired session, a neighbour).
    config = {"REDIS_URL": None, "SMS_SENDER": "test", "SMS_PER_PHONE_PER_MINUTE": 5}
    app, _ = live_worker("h5site", config=config)
    with app.app_context():
        district = District(name="示范区")
        street = Street(district=district, name="和平街道")
        community = Community(street=street, name="向阳社区")
        compound = Compound(community=community, name=COMPOUND_NAME, address="向阳路1号")
        db.session.add_all([district, street, community, compound])
        db.session.flush()
        rows = roster_rows(2, 2, 6, 2, seed=1, first_phone=DEMO_RESIDENT_PHONE)
        result = import_roster_file(compound.id, "demo.csv", roster_csv(rows))
        assert result.status.value == "done", result.report
        staff = StaffUser(
            username="h5-committee",
            password_hash=generate_password_hash("secret-pass-1"),
            display_name="幸福里业委会",
        )
        staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
        db.session.add(staff)
        db.session.flush()
        seed_campaigns(compound, staff)
        seed_tickets(compound, staff)
        db.session.flush()
        votes = {v.title: v.id for v in db.session.scalars(select(Vote))}
        surveys = {s.kind.value: s.id for s in db.session.scalars(select(Survey))}
        db.session.add(
            VoteAttachment(
                vote_id=votes[ELEVATOR],
                kind="plan",
                filename=PLAN_NAME,
                content_type="application/pdf",
                content=PLAN_PDF,
                sha256=hashlib.sha256(PLAN_PDF).hexdigest(),
                uploaded_by_id=staff.id,
            )
        )
        db.session.commit()
        code = links.current_link(LinkTarget.COMPOUND, compound.id).code
        compound_id = compound.id

    yield Site(
        url=serve(app, "h5-site"),
        app=app,
        compound_id=compound_id,
        elevator_id=votes[ELEVATOR],
        property_id=votes[PROPERTY],
        surveys=surveys,
        link_code=code,
        outbox=app.extensions["sms_sender"].outbox,
    )


# --- measurements in the page -----------------------------------------------------------------

MEASURE = """() => {
    const root = document.documentElement;
    const visible = e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden';
    const all = [...document.querySelectorAll('body *')].filter(visible);
    const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '');
    const wide = all.filter(e => e.getBoundingClientRect().right > root.clientWidth + 0.5
                              || e.getBoundingClientRect().left < -0.5)
        .filter(e => !e.classList.contains('skip-link')).map(name);
    const texty = all.filter(e => [...e.childNodes].some(
        n => n.nodeType === 3 && n.textContent.trim()));
    const small = texty.map(e => [name(e), parseFloat(getComputedStyle(e).fontSize)])
        .filter(([, size]) => size < 16);
    const body = parseFloat(getComputedStyle(document.body).fontSize);
    const targets = all.filter(e => e.matches(
        'button, a, select, textarea, input:not([type=radio]):not([type=checkbox]), label.choice'));
    const tiny = targets.map(e => [name(e), e.getBoundingClientRect().height,
                                   e.getBoundingClientRect().width])
        .filter(([, h, w]) => h < 48 || w < 48);
    return {scroll: root.scrollWidth, client: root.clientWidth, wide, small, body, tiny};
}"""


class Phones:
    """Phone-sized Chromium pages and the checks each resident page must pass."""

    def __init__(self, browser, axe):
        self.browser = browser
        self.axe = axe  # axe(page, where): the audit (tests/conftest.py)
        self.contexts: list = []

    def open(self, width: int):
        """A new phone (its own storage): ``(page, errors)``, errors collecting page errors
        and console errors other than failed loads (a refused request is part of a test)."""
        context = self.browser.new_context(
            viewport={"width": width, "height": 800},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        return page, errors

    @staticmethod
    def ready(page) -> None:
        from playwright.sync_api import expect

        expect(page.locator("body")).to_have_attribute("data-ready", "true")

    @staticmethod
    def sign_in(page, site: Site, phone: str) -> None:
        """The phone code sign-in on the page as it stands (the test SMS sender's outbox)."""
        from playwright.sync_api import expect

        page.get_by_label("手机号", exact=True).fill(phone)
        page.get_by_role("button", name="获取验证码").click()
        expect(page.locator("#sign-in-status")).to_have_text("验证码已发送，请查收短信")
        page.get_by_label("验证码", exact=True).fill(site.code_for(phone))
        page.get_by_role("button", name="登录", exact=True).click()

    @staticmethod
    def check_layout(page, width: int, large: bool = False) -> None:
        found = page.evaluate(MEASURE)
        assert found["client"] == width
        assert found["scroll"] <= found["client"], found
        assert not found["wide"], found["wide"]
        assert not found["small"], f"text under 16 px: {found['small']}"
        assert found["body"] >= (22 if large else 18), found["body"]
        assert not found["tiny"], f"touch targets under 48 px: {found['tiny']}"

    def close(self) -> None:
        for context in self.contexts:
            for page in context.pages:
                page.unroute_all(behavior="ignoreErrors")  # handlers still running at the end
            context.close()


@pytest.fixture
def phones(browser, axe):
    kit = Phones(browser, axe)
    try:
        yield kit
    finally:
        kit.close()
