"""A resident answers the compound's surveys from the phone (issue 13), in the system Chromium
driven by Playwright, against the demo compound on PostgreSQL (tests/h5/conftest.py): the
consent survey (its first answer lost on the network and retried with the same
Idempotency-Key, then changed), the menu with each item's cost to the household and the
running total, the satisfaction survey with 不了解 and a comment; a form kept through an
expired session for the same resident only; an objection to a result on 公示. At 390 px and
320 px wide, with the layout measured in the page and an axe-core audit of every page.

Screenshots go to pytest's tmp_path (``--basetemp=/tmp/h5surveys`` to find them).
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from participation.demo import DEMO_RESIDENT_PHONE
from participation.extensions import db


def _responses(site, survey_id: int) -> list[dict]:
    """Each stored response of the survey: revision and answers as {question position: …}."""
    from participation.surveys.models import Answer, Option, Question, Response

    with site.app.app_context():
        found = []
        for response in db.session.scalars(
            select(Response).where(Response.survey_id == survey_id).order_by(Response.id)
        ):
            answers: dict[int, list] = {}
            rows = db.session.execute(
                select(Question.position, Option.label, Answer.rating, Answer.text)
                .join(Question, Question.id == Answer.question_id)
                .outerjoin(Option, Option.id == Answer.option_id)
                .where(Answer.response_id == response.id)
                .order_by(Question.position, Option.position)
            )
            for position, label, rating, text in rows:
                answers.setdefault(position, []).append(label or rating or text)
            found.append({"revision": response.revision, "answers": answers})
        return found


def _api(page, path: str):
    """GET an API path with the page's own sign-in (what the page itself would see)."""
    return page.evaluate(
        """async (path) => {
            const tokens = JSON.parse(sessionStorage.getItem('participation.h5.tokens'));
            const response = await fetch('/api/v1/' + path,
                {headers: {Authorization: 'Bearer ' + tokens.access}});
            return await response.json();
        }""",
        path,
    )


def _fen(amount: str) -> int:
    whole, _, cents = amount.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


@pytest.mark.parametrize("width", [390, 320])
def test_owner_answers_consent_menu_and_satisfaction(phones, site, tmp_path, width):
    from playwright.sync_api import expect

    page, errors = phones.open(width)
    shot = 0

    def screenshot(name: str) -> None:
        nonlocal shot
        shot += 1
        page.screenshot(path=str(tmp_path / f"{width}-{shot:02d}-{name}.png"), full_page=True)

    consent_id, menu_id = site.surveys["consent"], site.surveys["menu"]
    satisfaction_id = site.surveys["satisfaction"]

    page.goto(f"{site.url}/c/{site.link_code}")
    phones.ready(page)
    phones.sign_in(page, site, DEMO_RESIDENT_PHONE)

    # 现在可以参加: the three open surveys, none answered yet.
    surveys = page.locator("#open-surveys li")
    expect(surveys).to_have_count(3)
    expect(surveys.filter(has_text="未回答")).to_have_count(3)
    expect(surveys.filter(has_text="改造意愿征集")).to_contain_text(
        re.compile(r"截止时间：\d{4}-\d\d-\d\d \d\d:\d\d")
    )
    phones.check_layout(page, width)
    phones.axe(page, "landing page with surveys")
    screenshot("landing")

    # --- consent -------------------------------------------------------------------------------
    surveys.filter(has_text="改造意愿征集").get_by_role("link", name="去回答").click()
    assert page.url.endswith(f"#/surveys/{consent_id}")
    title = "幸福里小区老旧小区改造意愿征集"
    expect(page.get_by_role("heading", level=2, name=title)).to_be_visible()
    expect(page.locator("#survey-rule")).to_contain_text("三分之二以上（含三分之二）")
    expect(page.locator("#survey-mine")).to_contain_text("请为 1栋1单元101 回答")

    # Nothing chosen: each required question says so, nothing is sent.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/responses") else None)
    page.get_by_role("button", name="提交", exact=True).click()
    summary = page.locator("#answer-errors")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(
        ["第 1 题：请回答这道题", "第 3 题：请回答这道题"]
    )
    required = page.locator("#survey-questions fieldset[aria-invalid=true]")
    expect(required).to_have_count(2)
    expect(required.first).to_contain_text("请回答这道题")
    assert sent == []
    summary.get_by_role("link", name="第 3 题：请回答这道题").click()
    expect(page.get_by_label("专业物业")).to_be_focused()
    assert page.url.endswith(f"#/surveys/{consent_id}")  # the route stays
    phones.check_layout(page, width)
    phones.axe(page, "consent survey with errors")

    question = page.get_by_role("group", name=re.compile("是否同意本小区实施"))
    question.get_by_label("同意", exact=True).check()
    ways = page.get_by_role("group", name=re.compile("参与改造出资"))
    ways.get_by_label("直接出资").check()
    ways.get_by_label("投工投劳").check()
    page.get_by_role("group", name=re.compile("长效管理方式")).get_by_label("专业物业").check()

    # The first answer is lost on the network after the server took it: the retry carries
    # the same Idempotency-Key and is not counted again.
    keys: list[str] = []

    def drop_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            assert route.fetch().status == 201
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/v1/surveys/*/responses", drop_first_answer)
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#answer-progress")).to_contain_text("网络中断，正在重试")
    expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
    expect(page.locator("#done-text")).to_contain_text("没有重复计算")
    page.unroute("**/api/v1/surveys/*/responses")
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    expect(page.locator("#done-answers")).to_contain_text("直接出资、投工投劳")
    assert _responses(site, consent_id) == [
        {"revision": 1, "answers": {1: ["同意"], 2: ["直接出资", "投工投劳"], 3: ["专业物业"]}}
    ]
    phones.check_layout(page, width)
    phones.axe(page, "consent survey answered")
    screenshot("consent-done")

    # Answering again shows my answers in place and replaces them: one response, revision 2.
    page.get_by_role("button", name="修改我的回答").click()
    expect(page.locator("#survey-mine")).to_contain_text("再次提交会替换之前的回答")
    expect(question.get_by_label("同意", exact=True)).to_be_checked()
    expect(ways.get_by_label("投工投劳")).to_be_checked()
    question.get_by_label("不同意", exact=True).check()
    ways.get_by_label("投工投劳").uncheck()
    page.get_by_role("button", name="提交并替换之前的回答").click()
    expect(page.locator("#done-text")).to_contain_text("替换了您之前的回答，以最后一次为准")
    assert _responses(site, consent_id) == [
        {"revision": 2, "answers": {1: ["不同意"], 2: ["直接出资"], 3: ["专业物业"]}}
    ]

    # --- menu ----------------------------------------------------------------------------------
    page.get_by_role("link", name="返回小区首页").first.click()
    expect(surveys.filter(has_text="改造意愿征集")).to_contain_text("已回答")
    surveys.filter(has_text="菜单式选择").get_by_role("link", name="去回答").click()
    expect(page.get_by_role("heading", level=2, name=re.compile("菜单式选择"))).to_be_visible()
    menu = _api(page, f"surveys/{menu_id}")["details"]
    items = [item for tier in menu["tiers"] for item in tier["items"]]
    menu_question = page.get_by_role("group", name=re.compile("改造项目"))
    for item in items:
        choice = menu_question.locator("label.choice", has_text=item["name"])
        mine = item["my_cost"]
        expect(choice).to_contain_text(
            f"我家约出 {_yuan(_fen(mine))} 元" if _fen(mine) else "我家不用出钱"
        )
    for tier in ("基础类", "完善类", "提升类"):
        expect(menu_question).to_contain_text(tier)
    expect(page.locator("#menu-total")).to_contain_text("预算上限 4,500,000.00 元")

    # Five of at most four: said at the question, nothing sent.
    chosen = [item for item in items if _fen(item["my_cost"])][:5]
    assert len(chosen) == 5
    for item in chosen:
        menu_question.get_by_label(re.compile(re.escape(item["name"]))).check()
    expect(page.locator("#menu-total")).to_contain_text("已选 5 项")
    sent.clear()
    page.get_by_role("button", name="提交", exact=True).click()
    expect(menu_question).to_contain_text("这道题最多选 4 项，您选了 5 项")
    expect(page.locator("#answer-errors")).to_contain_text("第 1 题：这道题最多选 4 项")
    assert sent == []
    menu_question.get_by_label(re.compile(re.escape(chosen[-1]["name"]))).uncheck()
    expect(menu_question.locator(".field-error")).to_be_hidden()
    total = sum(_fen(item["my_cost"]) for item in chosen[:4])
    expect(page.locator("#menu-total")).to_contain_text(
        f"已选 4 项，这些项目我家合计约出 {_yuan(total)} 元"
    )
    phones.check_layout(page, width)
    phones.axe(page, "menu survey")
    screenshot("menu")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
    (stored,) = _responses(site, menu_id)
    assert sorted(stored["answers"][1]) == sorted(item["name"] for item in chosen[:4])

    # --- satisfaction (anonymous, by residents) ------------------------------------------------
    page.goto(f"{site.url}/h5/?compound={site.compound_id}#/surveys/{satisfaction_id}")
    expect(page.get_by_role("heading", level=2, name="老旧小区改造效果满意度评价")).to_be_visible()
    expect(page.locator("#survey-privacy")).to_contain_text("不记录是谁回答的")
    dimensions = page.locator("#survey-questions fieldset").filter(has_text="是否满意")
    expect(dimensions).to_have_count(4)
    for index, answer in enumerate(["满意", "基本满意", "不了解", "不满意"]):
        dimensions.nth(index).get_by_label(answer, exact=True).check()
    comment = page.get_by_role("textbox", name=re.compile("意见或建议"))
    comment.fill("楼道灯还是不亮")
    expect(page.locator("#survey-questions")).to_contain_text("还可以写 993 字")
    phones.check_layout(page, width)
    phones.axe(page, "satisfaction survey")
    screenshot("satisfaction")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
    (stored,) = _responses(site, satisfaction_id)
    assert stored["answers"] == {
        1: ["满意"],
        2: ["基本满意"],
        3: ["不了解"],
        4: ["不满意"],
        5: ["楼道灯还是不亮"],
    }

    # 大字: the menu survey at 22 px, nothing cut off.
    page.get_by_role("button", name="大字").click()
    page.goto(f"{site.url}/h5/?compound={site.compound_id}#/surveys/{menu_id}")
    page.reload()
    phones.ready(page)
    expect(page.locator("#survey-mine")).to_contain_text("下面是您现在的回答")
    phones.check_layout(page, width, large=True)
    screenshot("menu-large")
    assert not errors, errors


def _revoke_session(page) -> None:
    """The session ends on the server (signed out on another device, or expired)."""
    page.evaluate(
        """async () => {
            const tokens = JSON.parse(sessionStorage.getItem('participation.h5.tokens'));
            await fetch('/api/v1/auth/session', {method: 'DELETE',
                headers: {Authorization: 'Bearer ' + tokens.refresh}});
        }"""
    )


def test_an_expired_session_keeps_the_form_for_the_same_resident_only(phones, site):
    """Session over while answering: sign in again and the same page comes back with what
    was chosen; a neighbour signing in on the same phone sees an empty form."""
    from playwright.sync_api import expect

    from participation.roster.models import Owner

    with site.app.app_context():
        neighbour = db.session.scalars(
            select(Owner.phone).where(Owner.phone.is_not(None), Owner.phone != DEMO_RESIDENT_PHONE)
        ).first()
    consent_id = site.surveys["consent"]
    page, errors = phones.open(390)
    page.goto(f"{site.url}/h5/?compound={site.compound_id}&survey={consent_id}")
    phones.ready(page)
    assert page.url.endswith(f"#/surveys/{consent_id}")
    expect(page.locator("#sign-in-status")).to_have_text("请先用手机号登录，再回答问卷。")
    phones.sign_in(page, site, DEMO_RESIDENT_PHONE)
    question = page.get_by_role("group", name=re.compile("是否同意本小区实施"))
    question.get_by_label("同意", exact=True).check()
    page.get_by_role("group", name=re.compile("长效管理方式")).get_by_label("自治管理").check()

    _revoke_session(page)
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
    expect(page.locator("#sign-in-status")).not_to_be_empty()
    assert _responses(site, consent_id) == []

    phones.sign_in(page, site, DEMO_RESIDENT_PHONE)
    expect(question.get_by_label("同意", exact=True)).to_be_checked()
    expect(page.get_by_label("自治管理")).to_be_checked()

    _revoke_session(page)
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
    phones.sign_in(page, site, neighbour)
    expect(page.locator("#survey-mine")).to_contain_text("请为")
    expect(question.get_by_label("同意", exact=True)).not_to_be_checked()
    expect(page.get_by_label("自治管理")).not_to_be_checked()
    assert _responses(site, consent_id) == []
    assert not errors, errors


def test_owner_objects_to_a_result_on_public_notice(phones, site, tmp_path):
    """The vote on 公示: the owner writes an objection with a photo; it is listed as waiting
    for the committee's answer and stored with the photo."""
    from playwright.sync_api import expect

    from participation.notices.models import Objection, ObjectionPhoto

    page, errors = phones.open(320)
    page.goto(f"{site.url}/h5/?compound={site.compound_id}&vote={site.property_id}")
    phones.ready(page)
    phones.sign_in(page, site, DEMO_RESIDENT_PHONE)
    block = page.locator("#objection")
    expect(block.get_by_role("heading", name="对结果有异议")).to_be_visible()
    expect(block).to_contain_text("结果公示到")
    expect(page.locator("#cast-note")).to_be_hidden()
    block.get_by_role("button", name="我要提出异议").click()

    block.get_by_role("button", name="提交异议").click()
    expect(page.locator("#objection-summary-error")).to_have_text("请写明异议的事实和理由")
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(photo, "PNG")
    summary = "3栋2单元的纸质票签名与业主本人笔迹不符，请核实。"
    block.get_by_label("异议的事实和理由").fill(summary)
    block.get_by_label(re.compile("照片或材料")).set_input_files(
        [{"name": "签名.png", "mimeType": "image/png", "buffer": photo.getvalue()}]
    )
    phones.check_layout(page, 320)
    phones.axe(page, "objection form")
    block.get_by_role("button", name="提交异议").click()
    expect(page.locator("#objection-status")).to_contain_text("异议已提交")
    expect(page.locator("#my-objections li")).to_contain_text(summary)
    expect(page.locator("#my-objections li")).to_contain_text("等待答复")
    expect(page.locator("#my-objections li")).to_contain_text("附 1 个文件")
    page.screenshot(path=str(tmp_path / "objection.png"), full_page=True)
    with site.app.app_context():
        objection = db.session.scalars(
            select(Objection).where(
                Objection.vote_id == site.property_id, Objection.summary == summary
            )
        ).one()
        (stored,) = db.session.scalars(
            select(ObjectionPhoto).where(ObjectionPhoto.objection_id == objection.id)
        ).all()
        assert stored.content_type == "image/png"
    assert not errors, errors
