"""A resident votes from the phone (issue 13), in the system Chromium driven by Playwright,
against a live server on PostgreSQL seeded with the demo compound (``seed_campaigns``): the
notice-board short link, phone sign-in, the open elevator vote with its cost share, a cast
with confirmation whose first attempt loses its answer on the network, a changed vote, and
the public receipt check. At 390 px and 320 px wide, with measurements taken in the page and
an axe-core audit (tests/h5/vendor/axe.min.js) of every page.

Screenshots go to pytest's tmp_path (``--basetemp=/tmp/h5votes`` to find them).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash
from werkzeug.serving import WSGIRequestHandler, make_server

from participation.auth.models import Role, RoleAssignment, StaffUser
from participation.demo import DEMO_RESIDENT_PHONE, seed_campaigns
from participation.extensions import db
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.importer import import_roster_file
from participation.roster.models import Community, Compound, District, Street

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
COMPOUND_NAME = "幸福里小区"
ELEVATOR = "1栋加装电梯"
PROPERTY = "续聘幸福物业服务有限公司"
PLAN_NAME = "1栋加装电梯方案.pdf"
PLAN_PDF = b"%PDF-1.4\n% the elevator plan\n%%EOF\n"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class Site:
    url: str
    app: object
    compound_id: int
    elevator_id: int
    property_id: int
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
def site(live_worker):
    """The demo compound on a PostgreSQL database of this test's own, served by werkzeug.
    Jobs (sealing) run inline: no Redis queue, so a receipt is sealed when the cast returns."""
    from participation.notices import links
    from participation.notices.models import LinkTarget
    from participation.votes.models import Vote, VoteAttachment

    app, _ = live_worker("h5votes", config={"REDIS_URL": None, "SMS_SENDER": "test"})
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
            username="h5-votes-committee",
            password_hash=generate_password_hash("secret-pass-1"),
            display_name="幸福里业委会",
        )
        staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
        db.session.add(staff)
        db.session.flush()
        seed_campaigns(compound, staff)
        db.session.flush()
        votes = {v.title: v.id for v in db.session.scalars(select(Vote))}
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

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="h5-votes", daemon=True)
    thread.start()
    try:
        yield Site(
            url=f"http://127.0.0.1:{server.server_port}",
            app=app,
            compound_id=compound_id,
            elevator_id=votes[ELEVATOR],
            property_id=votes[PROPERTY],
            link_code=code,
            outbox=app.extensions["sms_sender"].outbox,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _page(browser, width: int):
    context = browser.new_context(
        viewport={"width": width, "height": 800},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(10_000)
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
    return context, page, errors


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
        'button, a, select, input:not([type=radio]), label.choice'));
    const tiny = targets.map(e => [name(e), e.getBoundingClientRect().height,
                                   e.getBoundingClientRect().width])
        .filter(([, h, w]) => h < 48 || w < 48);
    return {scroll: root.scrollWidth, client: root.clientWidth, wide, small, body, tiny};
}"""


def _check_layout(page, width: int, large: bool = False) -> None:
    found = page.evaluate(MEASURE)
    assert found["client"] == width
    assert found["scroll"] <= found["client"], found
    assert not found["wide"], found["wide"]
    assert not found["small"], f"text under 16 px: {found['small']}"
    assert found["body"] >= (22 if large else 18), found["body"]
    assert not found["tiny"], f"touch targets under 48 px: {found['tiny']}"


def _axe(page, where: str) -> None:
    """axe-core's audit: no serious or critical violation. The page's CSP (script-src 'self')
    refuses an inline script, so axe.min.js is served at a same-origin address by the test
    (Playwright answers it from tests/h5/vendor) and the CSP stays on."""
    origin = re.match(r"https?://[^/]+", page.url).group(0)
    address = f"{origin}/__test__/axe.min.js"
    page.route(address, lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    page.add_script_tag(url=address)
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe on the {where}: {bad}"


def _ready(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-ready", "true")


# --- the scenario -----------------------------------------------------------------------------


@pytest.mark.parametrize("width", [390, 320])
def test_owner_votes_changes_the_vote_and_checks_the_receipts(browser, site, tmp_path, width):
    from playwright.sync_api import expect

    context, page, errors = _page(browser, width)
    shot = 0

    def screenshot(name: str) -> None:
        nonlocal shot
        shot += 1
        page.screenshot(path=str(tmp_path / f"{width}-{shot:02d}-{name}.png"), full_page=True)

    try:
        # The notice-board QR code: /c/<code> → the compound's landing page, before sign-in.
        page.goto(f"{site.url}/c/{site.link_code}")
        _ready(page)
        assert f"/h5/?compound={site.compound_id}" in page.url
        expect(page.get_by_role("heading", level=1)).to_have_text(COMPOUND_NAME)
        board = page.locator("#view-board")
        expect(board).to_be_visible()
        expect(board.locator("li")).to_contain_text(["12月8日停水通知"])
        result_link = board.get_by_role("link", name="查看结果公示")
        expect(result_link).to_have_attribute("href", f"/notices/votes/{site.property_id}")
        _check_layout(page, width)
        # The phone field shows its whole placeholder (the button wraps below it at 320 px).
        room = page.evaluate(
            """() => {
                const input = document.getElementById('phone');
                const style = getComputedStyle(input);
                const probe = document.createElement('span');
                probe.textContent = input.placeholder;
                probe.style.font = style.font;
                probe.style.whiteSpace = 'pre';
                document.body.appendChild(probe);
                const text = probe.getBoundingClientRect().width;
                probe.remove();
                const inner = input.clientWidth - parseFloat(style.paddingLeft)
                    - parseFloat(style.paddingRight);
                return {text, inner};
            }"""
        )
        assert room["text"] <= room["inner"], room
        _axe(page, "landing page before sign-in")
        screenshot("landing")

        # Sign in with the phone code (the test SMS sender's outbox).
        page.get_by_label("手机号", exact=True).fill(DEMO_RESIDENT_PHONE)
        page.get_by_role("button", name="获取验证码").click()
        expect(page.locator("#sign-in-status")).to_have_text("验证码已发送，请查收短信")
        page.get_by_label("验证码", exact=True).fill(site.code_for(DEMO_RESIDENT_PHONE))
        page.get_by_role("button", name="登录", exact=True).click()

        # 现在可以参加: the open elevator vote with its deadline; the published result.
        expect(page.get_by_role("heading", name="现在可以参加")).to_be_visible()
        open_votes = page.locator("#open-votes li")
        expect(open_votes).to_have_count(1)
        expect(open_votes).to_contain_text(ELEVATOR)
        expect(open_votes).to_contain_text(re.compile(r"截止时间：\d{4}-\d\d-\d\d \d\d:\d\d"))
        expect(open_votes).to_contain_text("未投票")
        done = page.locator("#done-votes li")
        expect(done).to_contain_text([PROPERTY])
        expect(done.get_by_role("link", name="查看结果公示")).to_have_attribute(
            "href", f"/notices/votes/{site.property_id}"
        )
        expect(page.locator("#owned-list li")).to_contain_text("1栋1单元101")
        _check_layout(page, width)
        _axe(page, "landing page signed in")
        screenshot("signed-in")

        # The vote page: the matter, the rule in words, the deadline, my share, progress.
        open_votes.get_by_role("link", name="去投票").click()
        expect(page.get_by_role("heading", level=2, name=ELEVATOR)).to_be_visible()
        assert page.url.endswith(f"#/votes/{site.elevator_id}")
        expect(page.locator("#vote-description")).to_contain_text("加装电梯")
        expect(page.locator("#vote-rule")).to_contain_text("四分之三")
        expect(page.locator("#vote-precedence")).not_to_be_empty()
        expect(page.locator("#vote-share")).to_be_visible()
        expect(page.locator("#share-summary")).to_contain_text(
            "总费用 960,000.00 元，财政补贴 480,000.00 元"
        )
        expect(page.locator("#share-list li")).to_contain_text(
            re.compile(r"1栋1单元101.*我家应出 [\d,]+\.\d\d 元")
        )
        expect(page.locator("#progress-text")).to_contain_text("已有 0 户参加表决")
        expect(page.locator("#cast-mine")).to_contain_text("您还没有为 1栋1单元101 投票")
        # The materials: downloaded with the sign-in token (the API serves them to residents).
        material = page.get_by_role("button", name=f"查看材料：{PLAN_NAME}")
        with page.expect_download() as downloaded:
            material.click()
        assert downloaded.value.suggested_filename == PLAN_NAME
        assert Path(downloaded.value.path()).read_bytes() == PLAN_PDF
        _check_layout(page, width)
        _axe(page, "vote page")
        screenshot("vote")

        # 同意, confirmed; the first answer is lost on the network after the server took the
        # ballot: the page retries with the same Idempotency-Key and nothing counts twice.
        keys: list[str] = []

        def drop_first_answer(route):
            keys.append(route.request.headers.get("idempotency-key"))
            if len(keys) == 1:
                response = route.fetch()
                assert response.status == 201
                route.abort("internetdisconnected")
            else:
                route.continue_()

        page.route("**/api/v1/votes/*/ballots", drop_first_answer)
        page.get_by_role("button", name="同意", exact=True).click()
        expect(page.get_by_role("heading", name="请确认您的投票")).to_be_visible()
        expect(page.locator("#confirm-text")).to_contain_text("您将为 1栋1单元101 投「同意」")
        _check_layout(page, width)
        _axe(page, "confirm step")
        screenshot("confirm")
        page.get_by_role("button", name="确认投「同意」").click()
        expect(page.locator("#cast-progress")).to_contain_text("网络中断，正在重试")
        expect(page.get_by_role("heading", name="投票成功")).to_be_visible()
        expect(page.locator("#receipt-text")).to_contain_text("已确认")
        expect(page.locator("#receipt-text")).to_contain_text("没有重复计票")
        page.unroute("**/api/v1/votes/*/ballots")
        assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
        assert site.casts(site.elevator_id) == 1
        first = page.locator("#receipt-code").inner_text().strip()
        assert re.fullmatch(r"[A-Z2-7]{10}", first), first
        expect(page.locator("#progress-text")).to_contain_text("已有 1 户参加表决")
        _check_layout(page, width)
        _axe(page, "receipt after casting")
        screenshot("receipt-1")

        # Change to 不同意 before the deadline: a new intent, a new key; the latest counts.
        page.get_by_role("button", name="修改我的投票").click()
        expect(page.locator("#cast-mine")).to_contain_text("投的是「同意」")
        page.get_by_role("button", name="不同意", exact=True).click()
        expect(page.locator("#confirm-text")).to_contain_text("替换您之前投的「同意」")
        with page.expect_request("**/api/v1/votes/*/ballots") as second_cast:
            page.get_by_role("button", name="确认投「不同意」").click()
        assert second_cast.value.headers["idempotency-key"] not in keys
        expect(page.locator("#receipt-text")).to_contain_text("替换了您之前的投票")
        second = page.locator("#receipt-code").inner_text().strip()
        assert second != first
        assert site.casts(site.elevator_id) == 2
        expect(page.locator("#progress-text")).to_contain_text("已有 1 户参加表决")
        screenshot("receipt-2")

        # The public receipt check: the first replaced, the second counted.
        page.get_by_role("link", name="核验这张选票").click()
        expect(page.get_by_role("heading", name="核验投票回执码")).to_be_visible()
        verdict = page.locator("#check-result")
        expect(verdict.locator(".verdict-title")).to_have_text("计入")
        expect(verdict).to_contain_text("已封存")
        page.get_by_label("回执码", exact=True).fill(first.lower())
        page.get_by_role("button", name="核验", exact=True).click()
        expect(verdict.locator(".verdict-title")).to_have_text("已被更新的投票取代")
        _check_layout(page, width)
        _axe(page, "receipt check page")
        screenshot("receipt-check")

        # A code that is not in the record: the API's Chinese message.
        page.get_by_label("回执码", exact=True).fill("AAAAAAAAAA")
        page.get_by_role("button", name="核验", exact=True).click()
        expect(verdict).to_contain_text("未找到该回执码")

        # 大字: 22 px, remembered after a reload, nothing cut off.
        toggle = page.get_by_role("button", name="大字")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        page.goto(f"{site.url}/h5/?compound={site.compound_id}#/votes/{site.elevator_id}")
        page.reload()  # the same document with another hash: load it afresh
        _ready(page)
        expect(page.locator("#vote-cast")).to_be_visible()
        expect(page.get_by_role("button", name="大字")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#cast-mine")).to_contain_text("投的是「不同意」")
        _check_layout(page, width, large=True)
        screenshot("vote-large")

        assert not errors, errors
    finally:
        page.unroute_all(behavior="ignoreErrors")  # handlers still running at the end
        context.close()


def test_vote_link_asks_to_sign_in_and_lets_a_resident_choose_the_person(browser, site):
    """The QR code of one vote (``?vote=``) opens its page after sign-in. With several persons
    in scope (my-ballots answered with a second, foreign one added by the test) the resident
    chooses which one to cast for; the API's refusal is shown as its Chinese sentence."""
    import json

    from playwright.sync_api import expect

    context, page, errors = _page(browser, 390)
    try:
        page.goto(f"{site.url}/h5/?compound={site.compound_id}&vote={site.elevator_id}")
        _ready(page)
        assert page.url.endswith(f"#/votes/{site.elevator_id}")
        expect(page.locator("#sign-in-status")).to_have_text("请先用手机号登录，再参加表决。")
        expect(page.locator("#view-board")).to_be_hidden()

        def two_persons(route):
            persons = route.fetch().json()
            assert len(persons) == 1
            persons.append({**persons[0], "person_id": 999_999, "dwellings": "2栋1单元101"})
            route.fulfill(json=persons)

        page.route("**/api/v1/votes/*/my-ballots", two_persons)
        page.get_by_label("手机号", exact=True).fill(DEMO_RESIDENT_PHONE)
        page.get_by_role("button", name="获取验证码").click()
        expect(page.locator("#sign-in-status")).to_have_text("验证码已发送，请查收短信")
        page.get_by_label("验证码", exact=True).fill(site.code_for(DEMO_RESIDENT_PHONE))
        page.get_by_role("button", name="登录", exact=True).click()

        expect(page.get_by_role("heading", level=2, name=ELEVATOR)).to_be_visible()
        chooser = page.get_by_role("group", name="为哪一户投票")
        expect(chooser).to_be_visible()
        expect(chooser.get_by_role("radio")).to_have_count(2)
        expect(chooser.get_by_label("1栋1单元101")).to_be_checked()

        chooser.get_by_label("2栋1单元101").check()
        expect(page.locator("#cast-mine")).to_contain_text("2栋1单元101")
        page.get_by_role("button", name="弃权", exact=True).click()
        expect(page.locator("#confirm-text")).to_contain_text("您将为 2栋1单元101 投「弃权」")
        with page.expect_request("**/api/v1/votes/*/ballots") as refused:
            page.get_by_role("button", name="确认投「弃权」").click()
        assert json.loads(refused.value.post_data)["person_id"] == 999_999
        expect(page.locator("#cast-progress")).to_have_text("只能为您本人的房屋投票")
        expect(page.locator("#cast-progress")).to_have_class(re.compile(r"\berror\b"))

        page.get_by_role("button", name="返回修改").click()
        chooser.get_by_label("1栋1单元101").check()
        page.get_by_role("button", name="弃权", exact=True).click()
        with page.expect_request("**/api/v1/votes/*/ballots") as cast:
            page.get_by_role("button", name="确认投「弃权」").click()
        assert json.loads(cast.value.post_data)["person_id"] != 999_999
        expect(page.get_by_role("heading", name="投票成功")).to_be_visible()
        assert site.casts(site.elevator_id) == 1
        _check_layout(page, 390)

        # A closed vote on 公示: its result and the public page; no buttons to cast.
        page.goto(f"{site.url}/h5/?compound={site.compound_id}#/votes/{site.property_id}")
        expect(page.get_by_role("heading", level=2, name=PROPERTY)).to_be_visible()
        expect(page.locator("#vote-state")).to_have_text("结果公示中")
        expect(page.locator("#result-text")).to_contain_text(re.compile(r"^表决(未)?通过。"))
        expect(page.get_by_role("link", name="查看结果公示")).to_have_attribute(
            "href", f"/notices/votes/{site.property_id}"
        )
        expect(page.locator("#vote-progress")).to_be_hidden()
        expect(page.get_by_role("button", name="同意", exact=True)).to_be_hidden()
        _check_layout(page, 390)
        _axe(page, "closed vote page")
        assert not errors, errors
    finally:
        page.unroute_all(behavior="ignoreErrors")  # handlers still running at the end
        context.close()
