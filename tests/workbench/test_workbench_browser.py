"""The committee's workbench in a real browser (Debian's Chromium through Playwright), on
PostgreSQL: the issue's whole flow — sign in, import the sample roster (preview, then
confirm), create the 1栋1单元 加装电梯 vote by names with a cost plan, open it, watch the live
tally move as owners vote, print the door-to-door sheet, send reminders, close, publish the
公示 — with an axe-core audit on each page; then the bad input a committee member meets.

Screenshots of the wizard, the live tally and the door-to-door sheet are written to
``$WORKBENCH_SCREENSHOTS`` (default: the test's tmp dir)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from participation.auth.models import Account, StaffUser, SubjectKind
from participation.auth.tokens import issue_tokens
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.models import Dwelling, Owner, Ownership
from participation.votes.models import Vote

SAMPLE = Path(__file__).parent.parent / "data" / "roster-sample.csv"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def owner_headers(app, label: str) -> dict:
    """A resident account linked to the owner of ``label`` (as the phone sign-in does)."""
    with app.app_context():
        dwelling = next(d for d in db.session.scalars(sa.select(Dwelling)) if d.label == label)
        owner = db.session.scalar(
            sa.select(Owner)
            .join(Ownership, Ownership.owner_id == Owner.id)
            .where(Ownership.dwelling_id == dwelling.id)
            .order_by(Owner.id)
        )
        if owner.account_id is None:
            account = Account(phone=owner.phone)
            db.session.add(account)
            db.session.flush()
            owner.account_id = account.id
        with app.test_request_context():
            tokens = issue_tokens(SubjectKind.RESIDENT, owner.account_id)
        db.session.commit()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def heading(page):
    return page.get_by_role("heading", level=1)


def test_the_whole_flow(bench, signed_in, axe):
    page, errors = signed_in
    # Home: only the compound in the committee's scope, no campaigns yet, no numeric ids.
    expect(page.get_by_role("heading", name="幸福里小区")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("和谐苑")
    axe(page, "home page")

    # 名册: preview first (nothing written), then confirm.
    page.get_by_role("link", name="名册", exact=True).click()
    expect(heading(page)).to_have_text("幸福里小区 · 名册")
    page.get_by_label("名册文件（CSV 或 XLSX）").set_input_files(str(SAMPLE))
    page.get_by_role("button", name="检查名册").click()
    expect(page.get_by_role("heading", name="试导入结果（未写入）")).to_be_visible()
    expect(page.locator("#roster-report")).to_contain_text("新增 48 户")
    assert count(bench.app, Dwelling) == 0
    axe(page, "roster preview")
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator("#roster-status")).to_contain_text("导入完成")
    assert count(bench.app, Dwelling) == 48
    expect(page.locator("#roster-structure")).to_contain_text("1栋1单元：12 户")
    axe(page, "roster imported")

    # 发起表决: a 1栋1单元 加装电梯 vote chosen by names, with its cost plan.
    page.get_by_role("link", name="首页").click()
    page.get_by_role("link", name="发起表决/调查").click()
    expect(heading(page)).to_have_text("发起表决/调查")
    page.get_by_role("radio", name=re.compile("^业主表决")).check()
    page.get_by_label("表决事项（仅业主表决）").select_option(label="加装电梯")
    axe(page, "wizard: kind")
    page.get_by_role("button", name="继续").click()
    page.get_by_role("button", name="继续").click()  # nothing chosen: refused
    expect(page.locator("#wizard-summary")).to_contain_text("加装电梯表决须选择楼栋或单元")
    page.get_by_label("1栋1单元（12 户）").check()
    axe(page, "wizard: scope")
    page.get_by_role("button", name="继续").click()
    expect(page.get_by_label("标题")).to_have_value("1栋1单元加装电梯")
    page.get_by_role("button", name="继续").click()
    page.get_by_label("总费用（元）").fill("600000.00")
    page.get_by_label("政府补贴（元）").fill("700000.00")
    page.get_by_role("button", name="继续").click()
    expect(page.locator("#wizard-summary a")).to_have_text("补贴不能超过总费用")
    expect(page.get_by_label("政府补贴（元）")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("政府补贴（元）").fill("200000.00")
    page.get_by_role("radio", name=re.compile("^按楼层系数分摊")).check()
    floors = page.locator("#coefficients input")
    expect(floors).to_have_count(6)  # the floors of 1栋1单元, from the roster
    for floor, coefficient in enumerate(["0", "0.5", "1", "1.2", "1.4", "1.6"], start=1):
        page.get_by_label(f"{floor} 楼", exact=True).fill(coefficient)
    page.get_by_role("button", name="继续").click()
    expect(page.get_by_role("heading", name="核对信息")).to_be_visible()
    check = page.locator("#wizard")
    expect(check).to_contain_text("1栋1单元")
    expect(check).to_contain_text("双三分之二")
    expect(check).to_contain_text("共 12 人，专有部分面积 903.30 m²")
    expect(check).to_contain_text("业主分摊 400000.00 元")
    expect(check).to_contain_text("按楼层系数（1楼 0，2楼 0.5，3楼 1")
    axe(page, "wizard: check your answers")
    each_width(page)
    bench.shot(page, "wizard-check")
    page.get_by_role("button", name="创建草稿").click()
    expect(page.get_by_role("heading", name="草稿已保存：预览并开启")).to_be_visible()
    expect(page.locator("#share-preview")).to_contain_text("业主分摊 400000.00 元")
    bench.shot(page, "wizard-preview")
    with bench.app.app_context():
        vote = db.session.scalars(sa.select(Vote)).one()
        vote_id = vote.id
        assert vote.entrance_ids and vote.status.value == "draft"
    page.get_by_role("button", name="开启表决").click()
    expect(page.get_by_role("heading", name="已开启：1栋1单元加装电梯")).to_be_visible()
    expect(page.locator("#wizard")).to_contain_text("参加人数 12 人")

    # 实时统计: owners vote through the API, the numbers move.
    page.clock.install()  # the 15 s refresh, without waiting 15 s
    page.get_by_role("link", name="查看实时统计").click()
    expect(heading(page)).to_have_text("1栋1单元加装电梯")
    expect(page.locator("#p-cnt")).to_have_text("0 / 12 人（0.00%）")
    expect(page.locator("#missing")).to_contain_text("还需 8 人 / 602.20 m² 参与")
    client = bench.app.test_client()
    for label, choice in (("1栋1单元101", "agree"), ("1栋1单元102", "agree"),
                          ("1栋1单元201", "disagree")):  # fmt: skip
        answer = client.post(f"/api/v1/votes/{vote_id}/ballots", json={"choice": choice},
                             headers=owner_headers(bench.app, label))  # fmt: skip
        assert answer.status_code == 201, answer.json
    expect(page.locator("#p-cnt")).to_have_text("0 / 12 人（0.00%）")
    page.clock.run_for(16_000)  # refreshed by itself while the tab is shown
    expect(page.locator("#p-cnt")).not_to_have_text(re.compile(r"^0 / 12"))
    p_cnt = int(page.locator("#p-cnt").inner_text().split(" ")[0])
    assert p_cnt >= 2  # 101 and 201 may be one buyer (赵桂兰): one person
    expect(page.locator("#y-cnt")).not_to_have_text(re.compile(r"^0 人"))
    expect(page.locator("table.options")).to_contain_text("不同意")
    # A hidden tab stops asking; shown again, it refreshes at once.
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    answer = client.post(f"/api/v1/votes/{vote_id}/ballots", json={"choice": "agree"},
                         headers=owner_headers(bench.app, "1栋1单元301"))  # fmt: skip
    assert answer.status_code == 201, answer.json
    page.clock.run_for(31_000)
    expect(page.locator("#p-cnt")).to_contain_text(f"{p_cnt} / 12 人")
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    expect(page.locator("#p-cnt")).to_contain_text(f"{p_cnt + 1} / 12 人")
    axe(page, "live tally")
    each_width(page)
    bench.shot(page, "live-tally")

    # 入户发动 and the printed sheet: one entrance a page, A4.
    page.get_by_role("link", name="入户发动").first.click()
    expect(heading(page)).to_have_text("入户发动：1栋1单元加装电梯")
    expect(page.locator("main")).to_contain_text("1栋1单元")
    assert not re.search(r"1[3-9]\d{9}", page.locator("main").inner_text())  # phones hidden
    axe(page, "door-to-door")
    each_width(page)
    page.get_by_role("link", name="打印入户发动表").click()
    expect(heading(page)).to_have_text("入户发动表")
    sheets = page.locator(".sheet-page")
    expect(sheets.first).to_contain_text("走访记录")
    expect(sheets.first).to_contain_text("幸福里小区")
    axe(page, "door-to-door sheet")
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.printed") is True
    page.emulate_media(media="print")
    assert page.locator(".masthead").is_hidden()
    breaks = sheets.evaluate_all("s => s.map(e => getComputedStyle(e).breakAfter)")
    assert breaks[:-1] == ["page"] * (len(breaks) - 1)
    bench.shot(page, "door-to-door-sheet")
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == sheets.count()
    page.emulate_media(media="screen")

    # 发送短信提醒, with a confirm step, then the counts and the history.
    page.go_back()
    expect(heading(page)).to_have_text("入户发动：1栋1单元加装电梯")
    page.get_by_role("button", name="发送短信提醒").click()
    page.get_by_role("button", name="确认发送").click()
    expect(page.locator("#remind-result")).to_contain_text("提醒已发送")
    expect(page.locator("#reminder-history tbody tr")).to_have_count(1)
    assert bench.sms.notices, "the test SMS sender recorded the reminders"

    # Close (the closing time moved in the database), then publish the 公示.
    with bench.app.app_context():
        vote = db.session.get(Vote, vote_id)
        vote.opens_at = utcnow() - timedelta(days=2)
        vote.closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page.goto(f"{bench.url}/workbench/#/v/{vote_id}/result")
    expect(heading(page)).to_have_text("结果公示：1栋1单元加装电梯")
    axe(page, "result before publication")
    page.get_by_role("button", name="发布公示").click()
    expect(page.locator("#result-status")).to_have_text("已发布公示。")
    with bench.app.app_context():
        assert db.session.get(Vote, vote_id).status.value == "published"
    expect(page.get_by_role("link", name="查看公示页")).to_be_visible()
    assert not errors, errors


# --- bad input, other compounds, layout --------------------------------------------------------

MEASURE = """() => {
    const root = document.documentElement;
    const visible = e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden';
    const all = [...document.querySelectorAll('body *')].filter(visible)
        .filter(e => !e.closest('.skip-link, .visually-hidden'));
    const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '');
    const texty = all.filter(e => [...e.childNodes].some(
        n => n.nodeType === 3 && n.textContent.trim()));
    const small = texty.map(e => [name(e), parseFloat(getComputedStyle(e).fontSize)])
        .filter(([, size]) => size < 16);
    const targets = all.filter(e => e.matches(
        'button, a, select, textarea, input:not([type=radio]):not([type=checkbox])'));
    const tiny = targets.map(e => [name(e) + ' ' + e.textContent.trim().slice(0, 12),
                                   e.getBoundingClientRect().height])
        .filter(([, h]) => h < 44);
    return {scroll: root.scrollWidth, client: root.clientWidth, small, tiny};
}"""


def check_layout(page, width: int) -> None:
    found = page.evaluate(MEASURE)
    assert found["client"] == width
    assert found["scroll"] <= found["client"], found
    assert not found["small"], f"text under 16 px: {found['small']}"
    assert not found["tiny"], f"targets under 44 px: {found['tiny']}"
    shown = page.locator("body").inner_text()
    assert not re.search(r"\b(null|undefined|NaN|\[object Object\])\b", shown), shown


def each_width(page) -> None:
    """The page as it stands fits 1280, 768 and 390 px wide windows."""
    for width in (768, 390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        check_layout(page, width)


def sign_in_at(page, bench, username="xingfuli-committee", password="secret-pass-1") -> None:
    page.goto(bench.url + "/workbench/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_wrong_password_and_empty_fields_are_named_in_the_summary(bench, desk, axe):
    page, errors = desk()
    page.goto(bench.url + "/workbench/")
    page.get_by_role("button", name="登录").click()
    summary = page.locator("#sign-in-summary")
    expect(summary).to_contain_text("请输入用户名")
    expect(summary).to_contain_text("请输入密码")
    summary.get_by_role("link", name="请输入密码").click()
    expect(page.get_by_label("密码")).to_be_focused()
    axe(page, "sign-in with errors")
    sign_in_at(page, bench, password="wrong-password")
    expect(summary).to_be_visible()
    assert re.search(r"[\u4e00-\u9fff]", summary.inner_text())
    expect(page.get_by_label("密码")).to_have_attribute("aria-invalid", "true")
    # Signed in, then out: the tokens leave sessionStorage and stop working.
    sign_in_at(page, bench)
    expect(heading(page)).to_have_text("我负责的小区")
    stored = page.evaluate("sessionStorage.getItem('participation.workbench.tokens')")
    access = json.loads(stored)["access"]
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("#page-alert")).to_have_text("您已退出登录。")
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    me = bench.app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 401
    assert not errors, errors


def test_a_broken_upload_is_explained_and_nothing_is_written(bench, signed_in, tmp_path, axe):
    page, errors = signed_in
    page.get_by_role("link", name="名册", exact=True).click()
    page.get_by_role("button", name="检查名册").click()
    expect(page.locator("#roster-summary")).to_contain_text("请选择要上传的名册文件")
    broken = tmp_path / "名册.csv"
    broken.write_bytes(SAMPLE.read_bytes().replace(b"68.45", b"abc", 1))
    page.get_by_label("名册文件（CSV 或 XLSX）").set_input_files(str(broken))
    page.get_by_role("button", name="检查名册").click()
    expect(page.locator("#roster-summary")).to_contain_text("名册中有 1 处问题，未导入任何数据")
    report = page.locator("#roster-report")
    expect(report).to_contain_text("第 2 行")
    expect(report).to_contain_text("专有部分面积")
    expect(report).to_contain_text("面积应为数字")
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)
    axe(page, "roster with problems")
    text = tmp_path / "名册.txt"
    text.write_text("不是名册")
    page.get_by_label("名册文件（CSV 或 XLSX）").set_input_files(str(text))
    page.get_by_role("button", name="检查名册").click()
    expect(page.locator("#roster-summary li")).to_have_count(1)
    assert re.search(r"[\u4e00-\u9fff]", page.locator("#roster-summary li").inner_text())
    assert count(bench.app, Dwelling) == 0
    assert not errors, errors


def test_another_compounds_pages_show_a_message_and_no_data(bench, desk):
    page, _ = desk()
    sign_in_at(page, bench, username="hexieyuan-committee")
    expect(heading(page)).to_have_text("我负责的小区")
    expect(page.locator("main")).not_to_contain_text("幸福里")
    for where in ("roster", "new", "claims"):
        page.goto(f"{bench.url}/workbench/#/c/{bench.compound_id}/{where}")
        expect(heading(page)).to_have_text("无法查看")
        expect(page.get_by_role("alert").last).to_contain_text("未找到")
        expect(page.locator("main")).not_to_contain_text("幸福里")


def test_pages_fit_desktop_tablet_and_phone(bench, desk):
    for width in (1280, 768, 390):
        page, errors = desk(width)
        page.goto(bench.url + "/workbench/")
        expect(page.get_by_label("用户名")).to_be_visible()
        check_layout(page, width)
        sign_in_at(page, bench)
        expect(heading(page)).to_have_text("我负责的小区")
        check_layout(page, width)
        page.get_by_role("link", name="名册", exact=True).click()
        expect(page.locator("#roster-structure")).to_contain_text("还没有导入名册")
        check_layout(page, width)
        page.get_by_role("link", name="首页").click()
        page.get_by_role("link", name="发起表决/调查").click()
        expect(page.get_by_role("heading", name="发起什么？")).to_be_visible()
        check_layout(page, width)
        assert not errors, errors


def staff_headers(app, username: str = "xingfuli-committee") -> dict:
    with app.app_context():
        staff = db.session.scalar(sa.select(StaffUser).filter_by(username=username))
        with app.test_request_context():
            tokens = issue_tokens(SubjectKind.STAFF, staff.id)
        db.session.commit()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def open_elevator_vote(bench, whole_building: bool = False) -> int:
    """The sample roster imported and a 1栋1单元 (or the whole of 1栋) elevator vote opened two
    days ago, by the API."""
    from participation.roster.importer import import_roster_file

    with bench.app.app_context():
        result = import_roster_file(bench.compound_id, "r.csv", SAMPLE.read_bytes())
        assert result.status.value == "done"
        db.session.commit()
    client, headers = bench.app.test_client(), staff_headers(bench.app)
    buildings = client.get(f"/api/v1/compounds/{bench.compound_id}/buildings", headers=headers)
    building = next(b for b in buildings.json if b["name"] == "1栋")
    entrance = next(e["id"] for e in building["entrances"] if e["name"] == "1单元")
    now = utcnow()
    scope = {"building_ids": [building["id"]]} if whole_building else {"entrance_ids": [entrance]}
    vote = client.post(f"/api/v1/compounds/{bench.compound_id}/votes", headers=headers, json={
        "title": "1栋1单元加装电梯", "matter": "elevator", **scope,
        "opens_at": (now - timedelta(days=2)).isoformat(),
        "closes_at": (now + timedelta(days=10)).isoformat()})  # fmt: skip
    assert vote.status_code == 201, vote.json
    vote_id = vote.json["id"]
    plan = {"total_cost": "600000.00", "subsidy": "200000.00", "takes_common_parts": False}
    put = client.put(f"/api/v1/votes/{vote_id}/cost-plan", headers=headers, json=plan)
    assert put.status_code == 200, put.json
    opened = client.post(f"/api/v1/votes/{vote_id}/open", headers=headers, json={})
    assert opened.status_code == 200, opened.json
    return vote_id


def test_paper_ballots_proxies_claims_and_objections(bench, signed_in, tmp_path, axe):
    from PIL import Image

    from participation.auth.models import DwellingClaim as Claim

    page, errors = signed_in
    vote_id = open_elevator_vote(bench)
    client = bench.app.test_client()
    owner = owner_headers(bench.app, "1栋1单元301")
    assert client.post(f"/api/v1/votes/{vote_id}/ballots", json={"choice": "agree"},
                       headers=owner).status_code == 201  # fmt: skip
    with bench.app.app_context():
        holder = Account(phone="13900000099")
        stranger = Account(phone="13900000088")
        db.session.add_all([holder, stranger])
        db.session.commit()
        with bench.app.test_request_context():
            stranger_token = issue_tokens(SubjectKind.RESIDENT, stranger.id)["access_token"]
        db.session.commit()
    granted = client.post(f"/api/v1/votes/{vote_id}/proxies", json={"proxy_phone": "13900000099"},
                          headers=owner_headers(bench.app, "1栋1单元102"))  # fmt: skip
    assert granted.status_code == 201, granted.json
    claim = client.post("/api/v1/me/claims", headers={"Authorization": f"Bearer {stranger_token}"},
                        json={"compound_id": bench.compound_id, "building": "1栋",
                              "entrance": "1单元", "room": "402", "name": "王小明",
                              "id_last4": "1234", "kind": "owner"})  # fmt: skip
    assert claim.status_code == 201, claim.json

    # 纸质票: every missing field named, then entered by room label; the conflict shown.
    page.goto(f"{bench.url}/workbench/#/v/{vote_id}/paper")
    expect(heading(page)).to_have_text("纸质票与委托：1栋1单元加装电梯")
    page.get_by_role("button", name="录入纸质票").click()
    expect(page.locator("#paper-summary li")).to_have_count(4)
    expect(page.get_by_label("房号")).to_have_attribute("aria-invalid", "true")
    axe(page, "paper ballot with errors")
    photo = tmp_path / "ballot.png"
    Image.new("RGB", (60, 40), "white").save(photo)
    page.get_by_label("房号").select_option(value="1栋1单元301")
    page.get_by_label("表决意见").select_option(label="不同意")
    signed = utcnow() + timedelta(hours=8) - timedelta(hours=1)  # Beijing time, an hour ago
    page.get_by_label("业主签署时间（北京时间）").fill(signed.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("签字选票照片（JPEG 或 PNG）").set_input_files(str(photo))
    page.get_by_role("button", name="录入纸质票").click()
    expect(page.locator("#paper-status")).to_have_text("纸质票已录入。")
    expect(page.locator("main")).to_contain_text("已被取代")  # signed before the online cast
    expect(page.locator("main")).to_contain_text("线上")
    # 委托: confirmed by the committee; the holder's phone masked.
    expect(page.locator("main")).to_contain_text("139****0099")
    page.get_by_role("button", name="确认委托").click()
    expect(page.locator("main")).to_contain_text("已确认")
    axe(page, "paper ballots and proxies")

    # 业主认证审核: the flags in words; a rejection needs a reason the resident sees.
    page.goto(f"{bench.url}/workbench/#/c/{bench.compound_id}/claims")
    expect(heading(page)).to_have_text("幸福里小区 · 业主认证审核")
    expect(page.locator(".flags")).to_contain_text("需核实")
    axe(page, "claims review")
    page.get_by_role("button", name="驳回").click()
    expect(page.locator("#claims-summary")).to_contain_text("驳回时请填写原因")
    page.get_by_label("驳回原因（居民可见）").fill("姓名与房产证不符，请携带房产证到居委会办理")
    page.get_by_role("button", name="驳回").click()
    expect(page.locator("main")).to_contain_text("没有待审核的认证申请")
    with bench.app.app_context():
        rejected = db.session.scalars(sa.select(Claim)).one()
        assert rejected.status.value == "rejected" and "房产证" in rejected.decision_note

    # 公示 and an objection's resolution.
    with bench.app.app_context():
        vote = db.session.get(Vote, vote_id)
        vote.closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    headers = staff_headers(bench.app)
    assert client.get(f"/api/v1/votes/{vote_id}", headers=headers).json["status"] == "closed"
    assert client.post(f"/api/v1/votes/{vote_id}/publish", headers=headers).status_code == 200
    objection = client.post(f"/api/v1/votes/{vote_id}/objections", headers=headers,
                            json={"summary": "301 的纸质票签署时间有误"})  # fmt: skip
    assert objection.status_code == 201, objection.json
    page.goto(f"{bench.url}/workbench/#/v/{vote_id}/result")
    expect(page.locator("main")).to_contain_text("301 的纸质票签署时间有误")
    page.get_by_label("处理说明（业主可见）").fill("经核对签署时间无误，异议不成立")
    page.get_by_role("button", name="记录处理结果").click()
    expect(page.locator("#result-status")).to_have_text("处理结果已记录。")
    expect(page.locator("main")).to_contain_text("异议不成立")
    axe(page, "result with an objection")
    assert not errors, errors


def test_a_consent_survey_from_its_template(bench, signed_in, axe):
    from participation.roster.importer import import_roster_file
    from participation.surveys.models import Survey

    page, errors = signed_in
    with bench.app.app_context():
        imported = import_roster_file(bench.compound_id, "r.csv", SAMPLE.read_bytes())
        assert imported.status.value == "done"
        db.session.commit()
    page.get_by_role("link", name="发起表决/调查").click()
    page.get_by_role("radio", name=re.compile("^意愿征询")).check()
    page.get_by_role("button", name="继续").click()
    page.get_by_role("button", name="继续").click()  # no building chosen: the whole compound
    expect(page.get_by_label("标题")).to_have_value("意愿征询")
    page.get_by_label("标题").fill("")
    page.get_by_role("button", name="继续").click()
    expect(page.locator("#wizard-summary")).to_contain_text("请填写标题")
    page.locator("#wizard-summary").get_by_role("link", name="请填写标题").click()
    expect(page.get_by_label("标题")).to_be_focused()
    page.get_by_label("标题").fill("幸福里小区改造意愿征集")
    page.get_by_role("button", name="继续").click()
    check = page.locator("#wizard")
    expect(check).to_contain_text("全小区")
    expect(check).to_contain_text("同意改造的业主须达到业主总数的三分之二以上")
    expect(check).to_contain_text("共 45 人")
    check.get_by_role("link", name=re.compile(r"^修改\s*标题$")).click()
    expect(page.get_by_label("标题")).to_have_value("幸福里小区改造意愿征集")
    page.get_by_role("button", name="继续").click()
    page.get_by_role("button", name="创建草稿").click()
    page.get_by_role("button", name="开启调查").click()
    expect(page.get_by_role("heading", name="已开启：幸福里小区改造意愿征集")).to_be_visible()
    with bench.app.app_context():
        survey = db.session.scalars(sa.select(Survey)).one()
        assert survey.status.value == "open" and survey.kind.value == "consent"
    page.get_by_role("link", name="返回首页").click()
    campaigns = page.locator("table.campaigns")
    expect(campaigns).to_contain_text("幸福里小区改造意愿征集")
    expect(campaigns).to_contain_text("调查 · 意愿征询")
    expect(campaigns).to_contain_text("进行中")
    assert not re.search(r"编号|\bid\b", page.locator("main").inner_text())
    axe(page, "home with a survey")
    page.get_by_role("link", name="幸福里小区改造意愿征集").click()
    expect(page.get_by_role("heading", name="改造意愿（实时）")).to_be_visible()
    expect(page.locator("main")).to_contain_text("0 / 45 人")
    expect(page.locator("main")).to_contain_text("还需 30 人同意")
    axe(page, "consent survey")
    assert not errors, errors


def test_a_large_roster_is_queued_and_followed_to_the_end(bench, signed_in):
    """Over ``IMPORT_INLINE_MAX_ROWS`` rows the API answers 202 and the page follows the
    import (here the job runs inline: no Redis) to its report, for the preview and for real."""
    page, errors = signed_in
    bench.app.config["IMPORT_INLINE_MAX_ROWS"] = 10
    seen = []
    page.on("response", lambda r: "roster-imports" in r.url and seen.append(r.status))
    page.get_by_role("link", name="名册", exact=True).click()
    page.get_by_label("名册文件（CSV 或 XLSX）").set_input_files(str(SAMPLE))
    page.get_by_role("button", name="检查名册").click()
    expect(page.locator("#roster-report")).to_contain_text("新增 48 户")
    assert count(bench.app, Dwelling) == 0
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator("#roster-status")).to_contain_text("导入完成")
    assert count(bench.app, Dwelling) == 48
    assert 202 in seen, seen
    assert not errors, errors


def test_the_door_to_door_sheet_prints_one_entrance_a_page(bench, signed_in, axe):
    page, errors = signed_in
    vote_id = open_elevator_vote(bench, whole_building=True)
    page.goto(f"{bench.url}/workbench/#/v/{vote_id}/door")
    expect(page.get_by_role("heading", name="1栋1单元", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="1栋2单元", exact=True)).to_be_visible()
    page.get_by_role("link", name="打印入户发动表").click()
    sheets = page.locator(".sheet-page")
    expect(sheets).to_have_count(2)
    expect(sheets.nth(0)).to_contain_text("入户发动表 · 1栋1单元")
    expect(sheets.nth(1)).to_contain_text("入户发动表 · 1栋2单元")
    axe(page, "door-to-door sheet of two entrances")
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2
    # A4 (595 x 842 pt) as the page's @page asks.
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box and round(float(box.group(1))) == 595 and round(float(box.group(2))) == 842
    assert not errors, errors


def test_a_reimport_preview_lists_what_would_change(bench, signed_in, tmp_path):
    from participation.roster.importer import import_roster_file

    page, errors = signed_in
    with bench.app.app_context():
        imported = import_roster_file(bench.compound_id, "r.csv", SAMPLE.read_bytes())
        assert imported.status.value == "done"
        db.session.commit()
    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    lines[1] = lines[1].replace("68.45", "70.00")
    del lines[5]  # 1栋1单元301
    changed = tmp_path / "名册-更新.csv"
    changed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page.get_by_role("link", name="名册", exact=True).click()
    page.get_by_label("名册文件（CSV 或 XLSX）").set_input_files(str(changed))
    page.get_by_role("button", name="检查名册").click()
    report = page.locator("#roster-report")
    expect(report).to_contain_text("1栋1单元101：面积 68.45 → 70.00")
    expect(report).to_contain_text("系统中有、本文件中没有的房屋（原样保留）（1）")
    expect(report).to_contain_text("1栋1单元301")
    with bench.app.app_context():
        dwelling = next(
            d for d in db.session.scalars(sa.select(Dwelling)) if d.label == "1栋1单元101"
        )
        assert str(dwelling.area) == "68.45"  # a preview writes nothing
    assert not errors, errors


def test_an_expired_access_token_is_refreshed_once_and_the_page_goes_on(bench, desk):
    import time

    bench.app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(seconds=2)
    page, errors = desk()
    sign_in_at(page, bench)
    expect(heading(page)).to_have_text("我负责的小区")
    first = json.loads(page.evaluate("sessionStorage.getItem('participation.workbench.tokens')"))
    time.sleep(3.5)
    page.get_by_role("link", name="名册", exact=True).click()
    expect(heading(page)).to_have_text("幸福里小区 · 名册")
    expect(page.locator("#roster-structure")).to_contain_text("还没有导入名册")
    now = json.loads(page.evaluate("sessionStorage.getItem('participation.workbench.tokens')"))
    assert now["access"] != first["access"] and now["refresh"] == first["refresh"]
    assert not errors, errors


def draft_elevator_vote(bench, **extra) -> int:
    """The sample roster imported and a draft 1栋1单元 elevator vote, by the API."""
    from participation.roster.importer import import_roster_file

    with bench.app.app_context():
        imported = import_roster_file(bench.compound_id, "r.csv", SAMPLE.read_bytes())
        assert imported.status.value == "done"
        db.session.commit()
    client, headers = bench.app.test_client(), staff_headers(bench.app)
    buildings = client.get(f"/api/v1/compounds/{bench.compound_id}/buildings", headers=headers)
    building = next(b for b in buildings.json if b["name"] == "1栋")
    entrance = next(e["id"] for e in building["entrances"] if e["name"] == "1单元")
    now = utcnow()
    vote = client.post(f"/api/v1/compounds/{bench.compound_id}/votes", headers=headers, json={
        "title": "1栋1单元加装电梯", "matter": "elevator", "entrance_ids": [entrance],
        "opens_at": now.isoformat(), "closes_at": (now + timedelta(days=10)).isoformat(),
        **extra})  # fmt: skip
    assert vote.status_code == 201, vote.json
    return vote.json["id"]


def test_opening_an_elevator_vote_without_a_cost_plan_is_refused(bench, signed_in, axe):
    page, errors = signed_in
    vote_id = draft_elevator_vote(bench)
    page.goto(f"{bench.url}/workbench/#/v/{vote_id}/tally")
    expect(page.locator("main")).to_contain_text("草稿还没有开启")
    page.get_by_role("button", name="开启表决").click()
    summary = page.locator("#open-summary")
    expect(summary).to_contain_text("费用方案")
    axe(page, "draft refused for want of a cost plan")
    with bench.app.app_context():
        assert db.session.get(Vote, vote_id).status.value == "draft"
    assert not errors, errors


def test_an_elevator_vote_declared_without_a_cost_plan_opens(bench, signed_in):
    from participation.roster.importer import import_roster_file

    page, errors = signed_in
    with bench.app.app_context():
        imported = import_roster_file(bench.compound_id, "r.csv", SAMPLE.read_bytes())
        assert imported.status.value == "done"
        db.session.commit()
    page.get_by_role("link", name="发起表决/调查").click()
    page.get_by_role("radio", name=re.compile("^业主表决")).check()
    page.get_by_role("button", name="继续").click()
    page.get_by_label("1栋2单元（12 户）").check()
    page.get_by_role("button", name="继续").click()
    page.get_by_role("button", name="继续").click()
    page.get_by_label("本次表决没有费用方案").check()
    page.get_by_role("button", name="继续").click()
    expect(page.locator("#wizard-summary")).to_contain_text("请说明没有费用方案的原因")
    page.get_by_label("没有费用方案的原因").fill("费用由政府全额承担，居民不出资")
    page.get_by_role("button", name="继续").click()
    expect(page.locator("#wizard")).to_contain_text("没有费用方案：费用由政府全额承担")
    page.get_by_role("button", name="创建草稿").click()
    page.get_by_role("button", name="开启表决").click()
    expect(page.get_by_role("heading", name="已开启：1栋2单元加装电梯")).to_be_visible()
    with bench.app.app_context():
        vote = db.session.scalars(sa.select(Vote)).one()
        assert vote.status.value == "open" and vote.no_cost_plan
    assert not errors, errors


def test_reminders_in_quiet_hours_and_a_deadline_extension(bench, signed_in, reminder_clock):
    page, errors = signed_in
    vote_id = open_elevator_vote(bench)
    reminder_clock.at(22, 0)
    page.goto(f"{bench.url}/workbench/#/v/{vote_id}/door")
    page.get_by_role("button", name="发送短信提醒").click()
    page.get_by_role("button", name="确认发送").click()
    summary = page.locator("#remind-summary")
    expect(summary).to_contain_text("21")
    assert not bench.sms.notices
    reminder_clock.at(10, 0)
    page.get_by_role("button", name="发送短信提醒").click()
    page.get_by_role("button", name="确认发送").click()
    expect(page.locator("#remind-result")).to_contain_text("提醒已发送")
    assert bench.sms.notices
    page.reload()
    expect(page.locator("table").last).to_contain_text("是")  # reminded today
    # 延长截止时间: an earlier time is refused with its message, a later one recorded.
    page.goto(f"{bench.url}/workbench/#/v/{vote_id}/tally")
    page.get_by_text("延长截止时间").click()
    with bench.app.app_context():
        closes = db.session.get(Vote, vote_id).closes_at
    earlier = (closes + timedelta(hours=8) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("新的截止时间（北京时间）").fill(earlier)
    page.get_by_label("延长原因（将记录在表决记录中）").fill("春节假期，业主返乡")
    page.get_by_role("button", name="延长", exact=True).click()
    expect(page.locator("#extend-summary")).to_be_visible()
    assert re.search(r"[\u4e00-\u9fff]", page.locator("#extend-summary").inner_text())
    later = (closes + timedelta(hours=8) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("新的截止时间（北京时间）").fill(later)
    page.get_by_role("button", name="延长", exact=True).click()
    expect(page.locator("#extend-status")).to_contain_text("截止时间已延长至")
    with bench.app.app_context():
        assert db.session.get(Vote, vote_id).closes_at > closes
    assert not errors, errors


def test_a_consent_surveys_door_to_door_and_reminders(bench, signed_in, axe):
    """The consent survey's last days, as a vote's: who has not answered, by entrance, the
    A4 sheet, and SMS to exactly their roster phones (those who answered get none)."""
    from participation.roster.importer import import_roster_file
    from participation.surveys.services import create_from_template, open_survey

    page, errors = signed_in
    with bench.app.app_context():
        assert import_roster_file(bench.compound_id, "r.csv", SAMPLE.read_bytes()).status.value
        staff_id = db.session.scalar(
            sa.select(StaffUser.id).where(StaffUser.username == "xingfuli-committee")
        )
        survey = create_from_template(
            bench.compound_id,
            "consent",
            {"opens_at": utcnow(), "closes_at": utcnow() + timedelta(days=10)},
            staff_id,
        )
        open_survey(survey, confirm_unknown_owners=True)
        db.session.commit()
        survey_id = survey.id
    page.reload()
    campaigns = page.locator("table.campaigns")
    campaigns.get_by_role("link", name="入户发动").click()
    expect(heading(page)).to_contain_text("入户发动：")
    expect(page.locator("main")).to_contain_text("尚未回答")
    expect(page.get_by_role("heading", name="1栋1单元", exact=True)).to_be_visible()
    axe(page, "a survey's door-to-door")
    page.get_by_role("button", name="发送短信提醒").click()
    expect(page.locator("#remind")).to_contain_text("尚未回答的业主")
    page.get_by_role("button", name="确认发送").click()
    expect(page.locator("#remind-result")).to_contain_text("提醒已发送")
    with bench.app.app_context():
        phones = set(
            db.session.scalars(
                sa.select(Owner.phone).where(
                    Owner.compound_id == bench.compound_id, Owner.phone.is_not(None)
                )
            )
        )
    texted = [notice[0] for notice in bench.sms.notices]
    assert len(texted) == len(set(texted)) and set(texted) == phones
    page.get_by_role("link", name="打印入户发动表").click()
    expect(page.locator(".sheet-page").first).to_contain_text("入户发动表 · 1栋1单元")
    assert page.locator(".sheet-page").count() >= 2
    assert f"/s/{survey_id}/sheet" in page.url
    assert not errors, errors


def test_menu_and_satisfaction_results_with_their_exports(bench, signed_in, axe):
    from participation.roster.importer import import_roster_file
    from participation.surveys.menu import demo_menu, seed_catalogue, set_menu
    from participation.surveys.services import create_from_template, open_survey

    page, errors = signed_in
    with bench.app.app_context():
        assert import_roster_file(bench.compound_id, "r.csv", SAMPLE.read_bytes()).status.value
        seed_catalogue()
        staff_id = db.session.scalar(
            sa.select(StaffUser.id).where(StaffUser.username == "xingfuli-committee")
        )
        period = {"opens_at": utcnow(), "closes_at": utcnow() + timedelta(days=10)}
        menu = create_from_template(bench.compound_id, "menu", dict(period), staff_id)
        set_menu(menu, demo_menu())
        satisfaction = create_from_template(bench.compound_id, "satisfaction", period, staff_id)
        for survey in (menu, satisfaction):
            open_survey(survey, confirm_unknown_owners=True)
        db.session.commit()
        ids = menu.id, satisfaction.id
    page.goto(f"{bench.url}/workbench/#/s/{ids[0]}")
    expect(page.get_by_role("heading", name="菜单选择结果（实时）")).to_be_visible()
    expect(page.locator("main")).to_contain_text("基础类")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载菜单选择结果（Excel）").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    axe(page, "menu survey result")
    page.goto(f"{bench.url}/workbench/#/s/{ids[1]}")
    expect(page.get_by_role("heading", name="满意度（实时）")).to_be_visible()
    expect(page.locator("main")).to_contain_text("工程质量")
    axe(page, "satisfaction survey result")
    assert not errors, errors
