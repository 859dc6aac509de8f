"""A resident votes from the phone (issue 13), in the system Chromium driven by Playwright,
against a live server on PostgreSQL seeded with the demo compound (the ``site`` and ``phones``
fixtures of tests/h5/conftest.py): the notice-board short link, phone sign-in, the open
elevator vote with its cost share, a cast with confirmation whose first attempt loses its
answer on the network, a changed vote, and the public receipt check. At 390 px and 320 px
wide, with the layout measured in the page and an axe-core audit of every page.

Screenshots go to pytest's tmp_path (``--basetemp=/tmp/h5votes`` to find them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from participation.demo import DEMO_RESIDENT_PHONE

COMPOUND_NAME = "幸福里小区"
ELEVATOR = "1栋加装电梯"
PROPERTY = "续聘幸福物业服务有限公司"
PLAN_NAME = "1栋加装电梯方案.pdf"
PLAN_PDF = b"%PDF-1.4\n% the elevator plan\n%%EOF\n"


# --- the scenario -----------------------------------------------------------------------------


@pytest.mark.parametrize("width", [390, 320])
def test_owner_votes_changes_the_vote_and_checks_the_receipts(phones, site, tmp_path, width):
    from playwright.sync_api import expect

    page, errors = phones.open(width)
    shot = 0

    def screenshot(name: str) -> None:
        nonlocal shot
        shot += 1
        page.screenshot(path=str(tmp_path / f"{width}-{shot:02d}-{name}.png"), full_page=True)

    # The notice-board QR code: /c/<code> → the compound's landing page, before sign-in.
    page.goto(f"{site.url}/c/{site.link_code}")
    phones.ready(page)
    assert f"/h5/?compound={site.compound_id}" in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(COMPOUND_NAME)
    board = page.locator("#view-board")
    expect(board).to_be_visible()
    expect(board.locator("li")).to_contain_text(["12月8日停水通知"])
    result_link = board.get_by_role("link", name="查看结果公示")
    expect(result_link).to_have_attribute("href", f"/notices/votes/{site.property_id}")
    phones.check_layout(page, width)
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
    phones.axe(page, "landing page before sign-in")
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
    phones.check_layout(page, width)
    phones.axe(page, "landing page signed in")
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
    phones.check_layout(page, width)
    phones.axe(page, "vote page")
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
    phones.check_layout(page, width)
    phones.axe(page, "confirm step")
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
    phones.check_layout(page, width)
    phones.axe(page, "receipt after casting")
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
    phones.check_layout(page, width)
    phones.axe(page, "receipt check page")
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
    phones.ready(page)
    expect(page.locator("#vote-cast")).to_be_visible()
    expect(page.get_by_role("button", name="大字")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#cast-mine")).to_contain_text("投的是「不同意」")
    phones.check_layout(page, width, large=True)
    screenshot("vote-large")

    assert not errors, errors


def test_vote_link_asks_to_sign_in_and_lets_a_resident_choose_the_person(phones, site):
    """The QR code of one vote (``?vote=``) opens its page after sign-in. With several persons
    in scope (my-ballots answered with a second, foreign one added by the test) the resident
    chooses which one to cast for; the API's refusal is shown as its Chinese sentence."""
    import json

    from playwright.sync_api import expect

    page, errors = phones.open(390)
    page.goto(f"{site.url}/h5/?compound={site.compound_id}&vote={site.elevator_id}")
    phones.ready(page)
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
    phones.check_layout(page, 390)

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
    phones.check_layout(page, 390)
    phones.axe(page, "closed vote page")
    assert not errors, errors


def test_an_owner_grants_a_proxy_who_casts_from_another_phone(phones, site):
    """委托: the owner names a family member (signed in once, living elsewhere) by phone; the
    committee confirms; the family member finds the vote under 受托代投 and casts it, marked
    as a proxy's ballot; the owner revokes the proxy afterwards."""
    from playwright.sync_api import expect
    from sqlalchemy import select

    from participation.auth.models import StaffUser
    from participation.extensions import db
    from participation.votes import proxies
    from participation.votes.models import Ballot, Proxy

    family = "13900000002"  # in no roster
    helper, helper_errors = phones.open(320)
    helper.goto(f"{site.url}/h5/?compound={site.compound_id}")
    phones.ready(helper)
    phones.sign_in(helper, site, family)
    expect(helper.get_by_role("heading", name="我的房屋")).to_be_visible()

    owner, errors = phones.open(390)
    owner.goto(f"{site.url}/h5/?compound={site.compound_id}&vote={site.elevator_id}")
    phones.ready(owner)
    phones.sign_in(owner, site, DEMO_RESIDENT_PHONE)
    section = owner.locator("#vote-proxy")
    expect(section.get_by_role("heading", name="委托家人代投")).to_be_visible()
    section.get_by_role("button", name="委托家人代我投票").click()
    section.get_by_label("受托人的手机号").fill("1390000")
    section.get_by_role("button", name="提交委托").click()
    expect(owner.locator("#proxy-phone-error")).to_have_text("请输入受托人的 11 位手机号")
    section.get_by_label("受托人的手机号").fill(family)
    section.get_by_role("button", name="提交委托").click()
    expect(owner.locator("#proxy-status")).to_contain_text("委托已提交")
    expect(section.locator("#granted-proxies li")).to_contain_text("139****0002")
    expect(section.locator("#granted-proxies li")).to_contain_text("等待确认")
    phones.check_layout(owner, 390)
    phones.axe(owner, "vote page with a proxy granted")

    with site.app.app_context():
        proxy = db.session.scalars(select(Proxy).where(Proxy.vote_id == site.elevator_id)).one()
        staff = db.session.scalars(select(StaffUser).where(StaffUser.username == "h5-committee"))
        proxies.confirm_proxy(proxy, staff.one().id, limit=3)
        db.session.commit()
        proxy_id = proxy.id

    helper.reload()
    phones.ready(helper)
    held = helper.locator("#held-proxies li")
    expect(held).to_contain_text(ELEVATOR)
    expect(held).to_contain_text("为 1栋1单元101 投票")
    held.get_by_role("link", name="去代投").click()
    assert helper.url.endswith(f"#/proxies/{proxy_id}")
    expect(helper.locator("#cast-mine")).to_contain_text("委托，为 1栋1单元101 代投")
    phones.check_layout(helper, 320)
    phones.axe(helper, "proxy's vote page")
    helper.get_by_role("button", name="同意", exact=True).click()
    expect(helper.locator("#confirm-text")).to_contain_text("为 1栋1单元101 投「同意」")
    helper.get_by_role("button", name="确认投「同意」").click()
    expect(helper.get_by_role("heading", name="投票成功")).to_be_visible()
    with site.app.app_context():
        ballot = db.session.scalars(select(Ballot).where(Ballot.vote_id == site.elevator_id)).one()
        assert (ballot.choice.value, ballot.channel.value) == ("agree", "proxy")

    owner.reload()
    phones.ready(owner)
    expect(owner.locator("#cast-mine")).to_contain_text("投的是「同意」（受托人代投")
    expect(section.locator("#granted-proxies li")).to_contain_text("已确认")
    section.get_by_role("button", name="撤销这项委托").click()
    expect(owner.locator("#proxy-status")).to_contain_text("已撤销委托")
    expect(section.locator("#granted-proxies li")).to_contain_text("已撤销")
    assert not errors and not helper_errors, errors + helper_errors
