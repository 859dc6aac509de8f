"""The workbench's project pages (project.js) in a real browser at phone width (375 px), on
PostgreSQL, each with the axe-core audit: the compound's project and its eight steps (a step
refused by its gate, then completed once the organisation is recorded, reopened with a reason,
the history naming who), the organisation's new committee account shown once, the archive;
the plan consultation (a comment handled, the summary published); the money by source (the
API's 422 when it does not add up, then reconciled, a household's payment); the printable
绩效评估 report printed to PDF; the district view sorted and downloaded.

Screenshots go to ``$WORKBENCH_SCREENSHOTS`` (default: the test's tmp dir)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.security import generate_password_hash

from participation.auth.models import Role, RoleAssignment, StaffUser
from participation.common.types import utcnow
from participation.extensions import db
from participation.projects.models import PlanConsultation, ProjectStep, StepKey, StepStatus
from participation.roster.models import Building, Compound
from participation.surveys import tallies
from participation.surveys.models import Answer, Response
from participation.surveys.services import create_from_template, open_survey

from .test_workbench_browser import SAMPLE, check_layout, owner_headers, sign_in_at, staff_headers

PHONE = 375


def heading(page):
    return page.get_by_role("heading", level=1)


def phone_page(bench, desk):
    page, errors = desk(PHONE)
    sign_in_at(page, bench)
    expect(heading(page)).to_have_text("我负责的小区")
    return page, errors


def import_roster(bench) -> None:
    from participation.roster.importer import import_roster_file

    with bench.app.app_context():
        result = import_roster_file(bench.compound_id, "r.csv", SAMPLE.read_bytes())
        assert result.status.value == "done"
        db.session.commit()


def create_project(bench, headers=None, compound_id=None, title="幸福里小区改造") -> int:
    client = bench.app.test_client()
    created = client.post(
        f"/api/v1/compounds/{compound_id or bench.compound_id}/projects",
        headers=headers or staff_headers(bench.app),
        json={"year": 2026, "title": title},
    )
    assert created.status_code == 201, created.json
    return created.json["id"]


def publish_plan(bench, project_id: int) -> int:
    """A two-item design plan open for comment since yesterday; two residents comment."""
    client, headers = bench.app.test_client(), staff_headers(bench.app)
    now = utcnow()
    items = [
        {"name": "屋面防水", "cost": "300000.00", "residents_part": "0.00"},
        {"name": "加装电梯", "cost": "600000.00", "residents_part": "48000.00"},
    ]
    published = client.post(
        f"/api/v1/projects/{project_id}/plan-consultation",
        headers=headers,
        json={
            "title": "幸福里小区改造设计方案",
            "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=6)).isoformat(),
            "items": items,
        },
    )
    assert published.status_code == 201, published.json
    consultation = published.json
    elevator = consultation["items"][1]["id"]
    for label, text in (("1栋1单元101", "电梯费用太高"), ("1栋1单元102", "希望先做防水")):
        feedback = client.post(
            f"/api/v1/plan-consultations/{consultation['id']}/feedback",
            headers={**owner_headers(bench.app, label), "Idempotency-Key": f"k-{label}"},
            json={"stances": [{"item_id": elevator, "stance": "oppose"}],
                  "comments": [{"item_id": elevator, "text": text}]},
        )  # fmt: skip
        assert feedback.status_code == 200, feedback.json
    return consultation["id"]


def close_plan(bench, consultation_id: int) -> None:
    with bench.app.app_context():
        db.session.execute(
            sa.update(PlanConsultation)
            .where(PlanConsultation.id == consultation_id)
            .values(closes_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()


def test_the_project_steps_organisation_history_and_archive(bench, desk, axe):
    page, errors = phone_page(bench, desk)
    page.get_by_role("link", name="改造项目", exact=True).click()
    expect(heading(page)).to_have_text("改造项目")
    axe(page, "no project yet")
    page.get_by_label("项目名称").fill("幸福里小区老旧小区改造")
    page.get_by_role("button", name="创建项目").click()
    expect(heading(page)).to_have_text("幸福里小区老旧小区改造")
    steps = page.locator(".timeline-step")
    expect(steps).to_have_count(8)
    organise = page.locator("#step-organise")
    expect(organise).to_contain_text("未开始")
    expect(organise).to_contain_text("现在还不能完成")
    # the gate refuses: no organisation yet — the API's sentence, nothing written
    organise.get_by_role("button", name="标记完成").click()
    expect(page.locator("#step-status-organise")).to_contain_text("自治组织")
    axe(page, "project with a refused step")
    check_layout(page, PHONE)
    bench.shot(page, "project-refused")

    # the organisation, and a 主任 whose new committee account is shown once
    page.get_by_role("link", name="自治组织").click()
    expect(heading(page)).to_have_text("自治组织")
    page.get_by_label("组织名称").fill("幸福里小区业主委员会")
    page.get_by_role("button", name="登记").click()
    expect(page.get_by_role("heading", name="成员", exact=True)).to_be_visible()
    page.get_by_label("姓名").fill("王建国")
    page.get_by_label("职务").select_option("chair")
    page.get_by_role("button", name="添加成员").click()
    expect(page.locator("#member-summary")).to_contain_text("须填写手机号")
    page.get_by_label("手机号").fill("13912345678")
    page.get_by_role("button", name="添加成员").click()
    expect(page.locator("#new-account")).to_contain_text("密码只显示这一次")
    assert page.locator("#new-password").inner_text().strip()
    expect(page.locator("main")).to_contain_text("王建国")
    axe(page, "organisation with a new account")
    check_layout(page, PHONE)
    bench.shot(page, "organisation-new-account")

    # now 成立组织 completes; reopened with a reason; the history says who and why
    page.go_back()
    expect(heading(page)).to_have_text("幸福里小区老旧小区改造")
    organise.get_by_label("说明（可不填）").fill("业委会已成立")
    organise.get_by_role("button", name="标记完成").click()
    expect(page.locator("#step-status-organise")).to_contain_text("已完成")
    expect(organise.locator(".badge")).to_have_text("已完成")
    expect(page.locator("#step-apply")).to_have_attribute("aria-current", "step")
    organise.get_by_text("重新打开这一步").click()
    organise.get_by_role("button", name="重新打开").click()
    expect(page.locator("#step-status-organise")).to_contain_text("请填写重新打开的原因")
    organise.get_by_label("重新打开的原因（必填）").fill("成员调整，需重新确认")
    organise.get_by_role("button", name="重新打开").click()
    expect(organise.locator(".badge")).to_have_text("已重新打开")
    # the plan of a step: dates and the responsible organisation
    works = page.locator("#step-works")
    works.get_by_text("修改计划日期和责任单位").click()
    works.get_by_label("计划开始").fill("2027-03-01")
    works.get_by_label("计划完成").fill("2027-02-01")
    works.get_by_role("button", name="保存计划").click()
    expect(page.locator("#step-status-works")).not_to_contain_text("正在提交")
    assert "已保存" not in page.locator("#step-status-works").inner_text()
    works.get_by_label("计划完成").fill("2027-09-30")
    works.get_by_label("责任单位").fill("区住建局")
    works.get_by_role("button", name="保存计划").click()
    expect(works).to_contain_text("2027-03-01 至 2027-09-30")
    expect(works).to_contain_text("区住建局")
    history = page.locator("table.history")
    expect(history).to_contain_text("成员调整，需重新确认")
    expect(history).to_contain_text("幸福里小区业委会")
    expect(history).to_contain_text("业委会已成立")

    # the archive: started, followed, downloaded
    page.get_by_role("button", name="生成档案").click()
    expect(page.locator("#archive-status")).to_contain_text("档案已生成", timeout=30_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="下载档案（zip）").click()
    assert download.value.suggested_filename.endswith(".zip")
    axe(page, "project with history and archive")
    check_layout(page, PHONE)
    bench.shot(page, "project-steps")
    assert not errors, errors


def test_a_comment_is_handled_and_the_summary_published(bench, desk, axe):
    import_roster(bench)
    project_id = create_project(bench)
    consultation_id = publish_plan(bench, project_id)
    page, errors = phone_page(bench, desk)
    page.goto(f"{bench.url}/workbench/#/p/{project_id}/consultation")
    expect(heading(page)).to_have_text("方案征求意见")
    expect(page.locator("table.plan-items")).to_contain_text("加装电梯")
    expect(page.locator("main")).to_contain_text("居民意见（2 条）")
    axe(page, "consultation open")
    # still open: the API refuses the summary, its sentence shown
    page.get_by_role("button", name="发布意见处理情况").click()
    expect(page.locator("#summary-status")).to_contain_text("之后才能公布意见汇总")

    close_plan(bench, consultation_id)
    page.reload()
    comments = page.locator(".comment")
    expect(comments).to_have_count(2)
    first, second = comments.nth(0), comments.nth(1)
    first.get_by_label("不采纳", exact=True).check()
    first.get_by_role("button", name="保存处理结果").click()
    expect(first.locator(".status")).to_contain_text("请写明理由")
    first.get_by_label("理由（部分采纳、不采纳时必填）").fill(
        "电梯费用已按面积分摊，政府补助三分之一"
    )
    first.get_by_role("button", name="保存处理结果").click()
    expect(first.locator(".status")).to_contain_text("已记录：不采纳")
    # one comment left unhandled: the API says how many
    page.get_by_role("button", name="发布意见处理情况").click()
    expect(page.locator("#summary-status")).to_contain_text("还有 1 条意见未处理")
    second.get_by_label("采纳", exact=True).check()
    second.get_by_role("button", name="保存处理结果").click()
    expect(second.locator(".status")).to_contain_text("已记录：采纳")
    axe(page, "consultation with handled comments")
    check_layout(page, PHONE)
    bench.shot(page, "consultation-handled")
    page.get_by_role("button", name="发布意见处理情况").click()
    expect(page.locator("main")).to_contain_text("已于")
    summary = bench.app.test_client().get(
        f"/api/v1/plan-consultations/{consultation_id}/summary", headers=staff_headers(bench.app)
    )
    assert summary.json["published_at"]
    assert [c["handling"] for c in summary.json["comments"]] == ["rejected", "adopted"]

    # the revised plan and its review
    page.get_by_label("主要修改").fill("屋面防水增加保温层")
    page.get_by_label("审查单位").fill("区住建局")
    page.get_by_label("审查日期").fill("2026-12-01")
    page.get_by_label("审查结论").fill("同意按修改稿实施")
    page.get_by_role("button", name="登记修改稿和审查").click()
    expect(page.locator("main")).to_contain_text("第 1 次修改")
    assert not errors, errors


def test_the_funding_is_reconciled_after_a_refusal(bench, desk, axe):
    import_roster(bench)
    project_id = create_project(bench)
    publish_plan(bench, project_id)
    page, errors = phone_page(bench, desk)
    page.goto(f"{bench.url}/workbench/#/p/{project_id}/funding")
    expect(heading(page)).to_have_text("资金与居民出资")
    page.get_by_label("中央/省级补助（元）").fill("500000")
    page.get_by_label("居民出资（元）").fill("48000")
    expect(page.locator("#funding-difference")).to_contain_text("还差 352000.00 元")
    page.get_by_label("地方财政（元）").fill("400000")
    expect(page.locator("#funding-difference")).to_contain_text("多出 48000.00 元")
    page.get_by_role("button", name="保存资金来源").click()
    summary = page.locator("#funding-summary")
    expect(summary).to_be_visible()
    expect(summary).not_to_contain_text("提交的内容有误")  # the API's own sentence
    refusal = summary.inner_text()
    axe(page, "funding refused")
    check_layout(page, PHONE)
    bench.shot(page, "funding-refused")
    page.get_by_label("地方财政（元）").fill("352000")
    expect(page.locator("#funding-difference")).to_contain_text("与方案总投资相等")
    page.get_by_role("button", name="保存资金来源").click()
    expect(page.locator("main")).to_contain_text("（已平衡）")
    expect(page.locator("#page-alert")).to_contain_text("资金来源已保存")

    # a household's payment
    households = page.locator("table.households")
    expect(households).to_contain_text("1栋1单元101")
    page.get_by_label("金额（元）").fill("500")
    page.get_by_role("button", name="登记缴款").click()
    expect(page.locator("#page-alert")).to_contain_text("缴款已登记")
    expect(page.locator("main")).to_contain_text("500.00 元 /")
    axe(page, "funding reconciled")
    check_layout(page, PHONE)
    assert "元" in refusal
    assert not errors, errors


def satisfaction_survey(app, compound_id: int) -> int:
    """A satisfaction survey of the compound: 1栋's three residents on 改造内容 — 2/3."""
    with app.app_context():
        staff = db.session.scalar(sa.select(StaffUser).filter_by(username="xingfuli-committee"))
        now = utcnow()
        survey = create_from_template(
            compound_id,
            "satisfaction",
            {"opens_at": now - timedelta(minutes=1), "closes_at": now + timedelta(days=3)},
            staff.id,
        )
        open_survey(survey)
        building = db.session.scalar(
            sa.select(Building.id).filter_by(compound_id=compound_id, name="1栋")
        )
        first = survey.questions[0]
        options = {o.value: o.id for o in first.options}
        for index, value in enumerate(("satisfied", "basic", "dissatisfied")):
            response = Response(
                survey_id=survey.id,
                respondent_key=f"key-{index}",
                building_id=building,
                submitted_at=now,
            )
            response.answers = [Answer(question_id=first.id, option_id=options[value])]
            db.session.add(response)
        db.session.flush()
        tallies.rebuild(survey)
        db.session.commit()
        return survey.id


def test_the_evaluation_report_prints_on_a4(bench, desk, axe):
    import_roster(bench)
    project_id = create_project(bench)
    satisfaction_survey(bench.app, bench.compound_id)
    page, errors = phone_page(bench, desk)
    # the satisfaction survey linked to the project from its page
    page.goto(f"{bench.url}/workbench/#/p/{project_id}")
    page.get_by_label("本小区的表决或问卷").select_option(index=0)
    page.get_by_role("button", name="关联到本项目").click()
    expect(page.locator("#page-alert")).to_contain_text("已关联到本项目")
    expect(page.locator("#links-title + div")).to_contain_text("问卷")
    expect(page.get_by_label("本小区的表决或问卷")).to_have_count(0)  # nothing left to link
    page.goto(f"{bench.url}/workbench/#/p/{project_id}/evaluation")
    expect(heading(page)).to_have_text("绩效评估报告")
    expect(page.locator("main")).to_contain_text("总体满意率 66.67%")
    expect(page.locator("table.by-dimension")).to_contain_text("改造内容")
    expect(page.locator("table.by-building")).to_contain_text("1栋")
    expect(page.locator(".bar-row").first).to_be_visible()
    axe(page, "evaluation report")
    check_layout(page, PHONE)
    bench.shot(page, "evaluation")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="打印")).to_be_hidden()
    pdf = page.pdf(prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    (bench.shots / "evaluation.pdf").write_bytes(pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        for words in ("绩效评估报告", "居民满意度", "投诉和建议", "计划与实际", "成立组织"):
            assert words in text, (words, text[:500])
        assert "打印" not in text and "下载 Excel" not in text
    assert not errors, errors


def test_the_district_view_sorts_pages_and_downloads(bench, desk, axe):
    with bench.app.app_context():
        compound = db.session.get(Compound, bench.compound_id)
        staff = StaffUser(
            username="xiangyang-community",
            password_hash=generate_password_hash("secret-pass-1"),
            display_name="向阳社区居委会",
        )
        staff.roles.append(RoleAssignment(role=Role.COMMUNITY, scope_id=compound.community_id))
        db.session.add(staff)
        db.session.commit()
    first = create_project(bench)
    create_project(
        bench,
        staff_headers(bench.app, "hexieyuan-committee"),
        bench.neighbour_id,
        title="和谐苑小区改造",
    )
    with bench.app.app_context():
        db.session.execute(
            sa.update(ProjectStep)
            .where(ProjectStep.project_id == first, ProjectStep.step == StepKey.ORGANISE)
            .values(status=StepStatus.DONE)
        )
        db.session.commit()
    page, errors = desk(PHONE)
    sign_in_at(page, bench, "xiangyang-community")
    expect(heading(page)).to_have_text("我负责的小区")
    page.get_by_role("link", name="改造项目一览").click()
    expect(heading(page)).to_have_text("改造项目一览")
    rows = page.locator("table.overview tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("和谐苑小区")  # by compound name, ascending
    expect(page.locator("#overview-chart")).to_be_visible()
    axe(page, "district view")
    check_layout(page, PHONE)
    bench.shot(page, "overview")
    page.get_by_role("button", name="当前步骤").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("当前步骤")
    expect(rows.nth(0)).to_contain_text("成立组织")
    page.get_by_role("button", name="当前步骤 ▲").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("当前步骤")
    expect(rows.nth(0)).to_contain_text("申请项目")
    expect(rows.nth(0)).to_contain_text("幸福里小区")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    rows.nth(0).get_by_role("link", name="幸福里小区").click()
    expect(heading(page)).to_have_text("幸福里小区改造")
    assert not errors, errors


def test_the_plan_is_published_from_the_page_and_management_needs_a_result(bench, desk, axe):
    import_roster(bench)
    project_id = create_project(bench)
    page, errors = phone_page(bench, desk)
    page.goto(f"{bench.url}/workbench/#/p/{project_id}/consultation")
    expect(page.get_by_role("heading", name="发布设计方案，征求居民意见")).to_be_visible()
    page.get_by_label("名称").fill("屋面防水")
    page.get_by_label("费用（元）").fill("三十万")
    page.get_by_role("button", name="发布方案").click()
    summary = page.locator("#publish-summary")
    expect(summary).to_contain_text("改造项目 1 的费用请填写金额")
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("费用（元）")).to_be_focused()
    expect(page.get_by_label("费用（元）")).to_have_attribute("aria-invalid", "true")
    axe(page, "plan form with an error")
    check_layout(page, PHONE)
    page.get_by_label("费用（元）").fill("300000")
    page.get_by_label("其中居民出资（元）").fill("400000")  # more than the cost: the API says so
    page.get_by_role("button", name="发布方案").click()
    expect(summary).to_contain_text("居民出资")
    expect(summary).not_to_contain_text("提交的内容有误")
    page.get_by_label("其中居民出资（元）").fill("30000")
    page.get_by_role("button", name="发布方案").click()
    expect(page.locator("table.plan-items")).to_contain_text("屋面防水")
    expect(page.locator("main")).to_contain_text("总投资 300000.00 元")

    page.goto(f"{bench.url}/workbench/#/p/{project_id}/management")
    expect(heading(page)).to_have_text("改造后的管理方式")
    expect(page.locator("main")).to_contain_text("还没有已结束的表决或问卷")
    axe(page, "management without a campaign")
    check_layout(page, PHONE)
    assert not errors, errors
