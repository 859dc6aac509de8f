"""The questionnaire engine through the staff API: drafts and their validation, templates,
opening, cancelling, lists and closing on read."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building
from participation.surveys import services
from participation.surveys.models import (
    MenuItem,
    MenuTier,
    Option,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyKind,
    SurveyMenuItem,
    SurveyStatus,
)


def iso(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


WEEK = {"opens_at": iso(timedelta(minutes=-1)), "closes_at": iso(timedelta(days=7))}
SINGLE = {"type": "single", "text": "单选", "options": [{"label": "甲"}, {"label": "乙"}]}


@pytest.fixture
def case(sample_compound, make_staff, sign_in):
    class Case:
        compound = sample_compound
        staff = sign_in(make_staff(Role.COMPOUND, sample_compound.id))
        url = f"/api/v1/compounds/{sample_compound.id}/surveys"

    return Case


def surveys() -> int:
    return _db.session.scalar(sa.select(sa.func.count(Survey.id)))


def create(client, case, **fields):
    body = {"kind": "general", "title": "问卷", **WEEK, "questions": [SINGLE], **fields}
    return client.post(case.url, json=body, headers=case.staff)


def test_a_draft_with_every_question_type(client, case):
    questions = [
        SINGLE,
        {
            "type": "multiple",
            "text": "多选",
            "options": [{"label": "甲", "value": "a"}, {"label": "乙"}, {"label": "丙"}],
        },
        {"type": "rating", "text": "评分", "required": False},
        {"type": "text", "text": "意见", "required": False},
        {"type": "satisfaction", "text": "您对工程质量是否满意？", "dimension": "工程质量"},
    ]
    response = create(client, case, questions=questions)
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["status"], body["basis"], body["anonymous"]) == ("draft", "resident", False)
    assert body["accepting_responses"] is False
    single, multiple, rating, text, satisfaction = body["questions"]
    assert [q["position"] for q in body["questions"]] == [1, 2, 3, 4, 5]
    assert [o["label"] for o in single["options"]] == ["甲", "乙"]
    assert (multiple["min_choices"], multiple["max_choices"]) == (1, 3)
    assert (rating["scale_min"], rating["scale_max"], rating["required"]) == (1, 5, False)
    assert text["options"] == []
    assert [(o["label"], o["value"]) for o in satisfaction["options"]] == [
        ("满意", "satisfied"),
        ("基本满意", "basic"),
        ("不满意", "dissatisfied"),
        ("不了解", "unknown"),
    ]
    assert satisfaction["dimension"] == "工程质量"
    survey = _db.session.get(Survey, body["id"])
    assert survey.status is SurveyStatus.DRAFT and len(survey.questions) == 5


def test_a_consent_survey_defaults_to_owners_and_gets_its_options(client, case):
    response = create(
        client, case, kind="consent", questions=[{"type": "consent", "text": "是否同意改造？"}]
    )
    assert response.status_code == 201, response.json
    assert response.json["basis"] == "owner"
    (question,) = response.json["questions"]
    assert [(o["label"], o["value"]) for o in question["options"]] == [
        ("同意", "agree"),
        ("不同意", "disagree"),
    ]


CONSENT_Q = {"type": "consent", "text": "是否同意改造？"}


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"basis": "resident"}, "consent_needs_owners", "basis"),
        ({"anonymous": True}, "consent_not_anonymous", "anonymous"),
        ({"questions": [SINGLE]}, "questions_invalid", "questions"),
        ({"questions": [CONSENT_Q, CONSENT_Q]}, "questions_invalid", "questions"),
    ],
)
def test_consent_survey_rules(client, case, fields, code, field):
    before = surveys()
    response = create(client, case, kind="consent", **{"questions": [CONSENT_Q], **fields})
    assert (response.status_code, response.json["code"]) == (422, code)
    assert field in response.json["errors"]
    assert surveys() == before


@pytest.mark.parametrize(
    ("kind", "question", "message"),
    [
        ("general", CONSENT_Q, "同意题只能用于意愿征集问卷"),
        ("general", {"type": "menu", "text": "菜单"}, "菜单题只能用于菜单式问卷"),
    ],
)
def test_consent_and_menu_questions_only_in_their_surveys(client, case, kind, question, message):
    response = create(client, case, kind=kind, questions=[question])
    assert (response.status_code, response.json["message"]) == (422, message)


def options(*labels):
    return [{"label": label} for label in labels]


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ({"type": "single", "options": options("甲")}, "单选题和多选题至少需要两个选项"),
        ({"type": "multiple"}, "单选题和多选题至少需要两个选项"),
        (
            {
                "type": "multiple",
                "options": options("甲", "乙"),
                "min_choices": 2,
                "max_choices": 1,
            },
            "多选题须满足 1 ≤ 最少选择数 ≤ 最多选择数 ≤ 选项数",
        ),
        (
            {"type": "multiple", "options": options("甲", "乙"), "max_choices": 3},
            "多选题须满足 1 ≤ 最少选择数 ≤ 最多选择数 ≤ 选项数",
        ),
        (
            {"type": "multiple", "options": options("甲", "乙"), "min_choices": 0},
            "多选题须满足 1 ≤ 最少选择数 ≤ 最多选择数 ≤ 选项数",
        ),
        ({"type": "rating", "scale_min": 5, "scale_max": 5}, "评分题的最低分须小于最高分"),
        ({"type": "rating", "options": options("甲", "乙")}, "该题型不设选项"),
        ({"type": "text", "options": options("甲")}, "该题型不设选项"),
        (
            {"type": "single", "options": options("甲", "乙"), "max_choices": 1},
            "只有多选题可以设置选择数量",
        ),
        ({"type": "text", "scale_max": 10}, "只有评分题可以设置分值范围"),
        ({"type": "text", "dimension": "质量"}, "只有满意度题可以设置评价维度"),
        (
            {
                "type": "satisfaction",
                "options": [{"label": "满意", "value": "satisfied"}, {"label": "不满意"}],
            },
            "满意度题的选项固定为 满意、基本满意、不满意、不了解"
            "（satisfied/basic/dissatisfied/unknown）",
        ),
        ({"type": "satisfaction", "menu_item_id": 999999}, "关联的改造项目不存在"),
        (
            {
                "type": "single",
                "options": [{"label": "甲", "value": "x"}, {"label": "乙", "value": "x"}],
            },
            "同一题的选项代码不能重复",
        ),
    ],
)
def test_questions_are_checked_by_type(client, case, question, message):
    before = surveys()
    response = create(client, case, questions=[SINGLE, {"text": "题目", **question}])
    assert response.status_code == 422, response.json
    assert response.json["code"] == "question_invalid"
    assert response.json["message"] == f"第 2 题：{message}"
    assert response.json["errors"] == {"questions.1": [message]}
    assert surveys() == before


def test_consent_options_must_be_agree_and_disagree(client, case):
    question = {**CONSENT_Q, "options": [{"label": "同意", "value": "agree"}, {"label": "弃权"}]}
    response = create(client, case, kind="consent", questions=[question])
    assert response.status_code == 422
    assert "同意（agree）和 不同意（disagree）" in response.json["message"]


def test_a_menu_question_takes_no_options_of_its_own(client, case):
    question = {"type": "menu", "text": "菜单", "options": options("甲", "乙")}
    response = create(client, case, kind="menu", questions=[question])
    assert response.status_code == 422
    assert "菜单题的选项来自本问卷的改造项目菜单" in response.json["message"]


def test_a_satisfaction_question_may_name_a_catalogue_item(client, case):
    item = MenuItem(tier=MenuTier.IMPROVEMENT, name="测试项目-加装电梯", position=1)
    _db.session.add(item)
    _db.session.flush()
    question = {"type": "satisfaction", "text": "加装电梯", "menu_item_id": item.id}
    response = create(client, case, kind="satisfaction", questions=[question])
    assert response.status_code == 201, response.json
    assert response.json["questions"][0]["menu_item_id"] == item.id
    assert response.json["questions"][0]["dimension"] == "加装电梯"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"closes_at": iso(timedelta(minutes=-2))}, "closes_before_opens", "closes_at"),
        (
            {"opens_at": iso(timedelta(hours=-2)), "closes_at": iso(timedelta(hours=-1))},
            "closes_in_past",
            "closes_at",
        ),
        ({"building_ids": [999999]}, "scope_invalid", "building_ids"),
        ({"menu_min_items": 1}, "field_not_for_kind", "menu_min_items"),
        ({"budget_cap": "100.00"}, "field_not_for_kind", "budget_cap"),
        ({"satisfaction_threshold": "80"}, "field_not_for_kind", "satisfaction_threshold"),
        (
            {"kind": "menu", "questions": [], "menu_min_items": 3, "menu_max_items": 2},
            "menu_items_range",
            "menu_min_items",
        ),
        (
            {"kind": "menu", "questions": [], "adoption_numerator": 2, "adoption_denominator": 2},
            "adoption_threshold_invalid",
            "adoption_numerator",
        ),
        ({"title": ""}, "validation_error", "title"),
        ({"kind": "poll"}, "validation_error", "kind"),
    ],
)
def test_draft_fields_are_checked(client, case, fields, code, field):
    before = surveys()
    response = create(client, case, **fields)
    assert (response.status_code, response.json["code"]) == (422, code), response.json
    assert field in response.json["errors"]
    assert surveys() == before


def test_a_menu_survey_with_its_settings(client, case):
    response = create(
        client,
        case,
        kind="menu",
        questions=[{"type": "menu", "text": "请选择改造项目"}],
        menu_min_items=1,
        menu_max_items=3,
        budget_cap="500000.00",
        adoption_numerator=2,
        adoption_denominator=3,
        adoption_strict=False,
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["basis"], body["budget_cap"], body["menu_max_items"]) == ("owner", "500000.00", 3)
    assert (body["adoption_numerator"], body["adoption_denominator"]) == (2, 3)
    assert body["questions"][0]["options"] == []


def test_a_scope_of_buildings(client, case):
    building = _db.session.scalar(
        sa.select(Building.id).filter_by(compound_id=case.compound.id, number="2")
    )
    response = create(client, case, building_ids=[building, building])
    assert response.status_code == 201
    assert response.json["building_ids"] == [building]


# Templates ------------------------------------------------------------------------------------


def test_templates_are_listed_with_their_questions(client, case):
    response = client.get("/api/v1/survey-templates", headers=case.staff)
    assert response.status_code == 200
    templates = {t["template"]: t for t in response.json}
    assert set(templates) == {"consent", "menu", "satisfaction"}
    consent = templates["consent"]
    assert (consent["kind"], consent["basis"], consent["anonymous"]) == ("consent", "owner", False)
    assert [q["type"] for q in consent["questions"]] == ["consent", "multiple", "single"]
    assert [o["value"] for o in consent["questions"][1]["options"]] == [
        "direct",
        "maintenance_fund",
        "public_income",
        "labour",
    ]
    satisfaction = templates["satisfaction"]
    assert (satisfaction["basis"], satisfaction["anonymous"]) == ("resident", True)
    assert [q["dimension"] for q in satisfaction["questions"]] == [
        "改造内容",
        "施工过程",
        "工程质量",
        "长效管理",
        None,
    ]
    assert "id" not in consent["questions"][0]


def from_template(client, case, template, **fields):
    return client.post(
        f"{case.url}/from-template",
        json={"template": template, **WEEK, **fields},
        headers=case.staff,
    )


def test_the_consent_template(client, case):
    response = from_template(client, case, "consent")
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["kind"], body["status"], body["title"]) == (
        "consent",
        "draft",
        "老旧小区改造意愿征集",
    )
    agree, contribute, manage = body["questions"]
    assert agree["type"] == "consent"
    assert [(o["label"], o["value"]) for o in agree["options"]] == [
        ("同意", "agree"),
        ("不同意", "disagree"),
    ]
    assert contribute["type"] == "multiple" and contribute["required"] is False
    assert [(o["label"], o["value"]) for o in contribute["options"]] == [
        ("直接出资", "direct"),
        ("住宅专项维修资金", "maintenance_fund"),
        ("让渡公共收益", "public_income"),
        ("投工投劳", "labour"),
    ]
    assert (contribute["min_choices"], contribute["max_choices"]) == (1, 4)
    assert manage["type"] == "single"
    assert [(o["label"], o["value"]) for o in manage["options"]] == [
        ("专业物业", "professional"),
        ("自治管理", "self_managed"),
    ]
    opened = client.post(f"/api/v1/surveys/{body['id']}/open", json={}, headers=case.staff)
    assert opened.status_code == 200, opened.json
    assert (opened.json["t_cnt"], opened.json["t_area"]) == (45, "3622.29")


def test_the_satisfaction_template(client, case):
    response = from_template(client, case, "satisfaction", title="1栋改造满意度")
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["title"], body["basis"], body["anonymous"]) == ("1栋改造满意度", "resident", True)
    *dimensions, comment = body["questions"]
    assert [q["dimension"] for q in dimensions] == ["改造内容", "施工过程", "工程质量", "长效管理"]
    assert all(len(q["options"]) == 4 and q["type"] == "satisfaction" for q in dimensions)
    assert (comment["type"], comment["required"]) == ("text", False)


def test_the_menu_template_opens_only_with_a_menu(client, case):
    response = from_template(client, case, "menu")
    assert response.status_code == 201, response.json
    (question,) = response.json["questions"]
    assert (question["type"], question["options"]) == ("menu", [])
    opened = client.post(f"/api/v1/surveys/{response.json['id']}/open", json={}, headers=case.staff)
    assert (opened.status_code, opened.json["code"]) == (422, "menu_empty")
    survey = _db.session.get(Survey, response.json["id"])
    _db.session.refresh(survey)
    assert survey.status is SurveyStatus.DRAFT


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"template": "consent", "basis": "resident"}, "consent_needs_owners"),
        ({"template": "consent", "anonymous": True}, "consent_not_anonymous"),
        ({"template": "vote"}, "validation_error"),
        ({"template": "consent", "kind": "general"}, "validation_error"),
    ],
)
def test_template_overrides_are_checked(client, case, body, code):
    before = surveys()
    response = client.post(f"{case.url}/from-template", json={**WEEK, **body}, headers=case.staff)
    assert (response.status_code, response.json["code"]) == (422, code)
    assert surveys() == before


# Editing, opening, cancelling ------------------------------------------------------------------


def test_a_draft_is_edited_and_its_questions_replaced(client, case):
    survey_id = create(client, case).json["id"]
    response = client.patch(
        f"/api/v1/surveys/{survey_id}",
        json={"title": "新标题", "questions": [{"type": "text", "text": "意见"}, SINGLE]},
        headers=case.staff,
    )
    assert response.status_code == 200, response.json
    assert response.json["title"] == "新标题"
    assert [q["type"] for q in response.json["questions"]] == ["text", "single"]
    count = _db.session.scalar(sa.select(sa.func.count(Question.id)).filter_by(survey_id=survey_id))
    assert count == 2
    bad = client.patch(
        f"/api/v1/surveys/{survey_id}",
        json={"kind": "consent", "basis": "owner"},
        headers=case.staff,
    )
    assert (bad.status_code, bad.json["code"]) == (422, "questions_invalid")


def test_replacing_a_menu_draft_questions_keeps_the_menu(client, case):
    survey_id = create(
        client, case, kind="menu", questions=[{"type": "menu", "text": "菜单"}]
    ).json["id"]
    survey = _db.session.get(Survey, survey_id)
    item = MenuItem(tier=MenuTier.BASIC, name="测试项目-供水", position=1)
    _db.session.add(item)
    _db.session.flush()
    entry = SurveyMenuItem(
        survey_id=survey_id,
        menu_item_id=item.id,
        estimated_cost=Decimal("1000.00"),
        residents_part=Decimal("100.00"),
    )
    _db.session.add(entry)
    _db.session.flush()
    survey.questions[0].options.append(
        Option(position=1, label=item.name, survey_menu_item_id=entry.id)
    )
    _db.session.flush()
    response = client.patch(
        f"/api/v1/surveys/{survey_id}",
        json={"questions": [{"type": "text", "text": "意见"}, {"type": "menu", "text": "新菜单"}]},
        headers=case.staff,
    )
    assert response.status_code == 200, response.json
    menu = response.json["questions"][1]
    assert [(o["label"], o["survey_menu_item_id"]) for o in menu["options"]] == [
        ("测试项目-供水", entry.id)
    ]


def test_opening_freezes_the_electorate_and_ends_the_draft(client, case):
    survey_id = create(client, case, kind="general", basis="owner").json["id"]
    opened = client.post(f"/api/v1/surveys/{survey_id}/open", json={}, headers=case.staff)
    assert opened.status_code == 200, opened.json
    body = opened.json
    assert (body["status"], body["accepting_responses"]) == ("open", True)
    assert (body["t_cnt"], body["t_area"], body["unknown_owners"]) == (45, "3622.29", 0)
    again = client.post(f"/api/v1/surveys/{survey_id}/open", json={}, headers=case.staff)
    assert (again.status_code, again.json["code"]) == (409, "survey_not_draft")
    edit = client.patch(f"/api/v1/surveys/{survey_id}", json={"title": "改"}, headers=case.staff)
    assert (edit.status_code, edit.json["code"]) == (409, "survey_not_draft")


def test_a_resident_survey_opens_without_an_electorate(client, case):
    survey_id = create(client, case).json["id"]
    opened = client.post(f"/api/v1/surveys/{survey_id}/open", json={}, headers=case.staff)
    assert opened.status_code == 200, opened.json
    assert (opened.json["t_cnt"], opened.json["unknown_owners"]) == (None, 0)


def test_a_survey_without_questions_does_not_open(client, case):
    survey_id = create(client, case, questions=[]).json["id"]
    opened = client.post(f"/api/v1/surveys/{survey_id}/open", json={}, headers=case.staff)
    assert (opened.status_code, opened.json["code"]) == (422, "no_questions")


def test_cancelling(client, case, make_survey, consent_question):
    draft = create(client, case).json["id"]
    response = client.post(f"/api/v1/surveys/{draft}/cancel", headers=case.staff)
    assert (response.status_code, response.json["status"]) == (200, "cancelled")
    again = client.post(f"/api/v1/surveys/{draft}/cancel", headers=case.staff)
    assert (again.status_code, again.json["code"]) == (409, "survey_not_cancellable")

    answered = make_survey(case.compound, SurveyKind.CONSENT, [consent_question], open=True)
    _db.session.add(
        Response(survey_id=answered.id, respondent_key="person:0", submitted_at=utcnow())
    )
    _db.session.flush()
    refused = client.post(f"/api/v1/surveys/{answered.id}/cancel", headers=case.staff)
    assert (refused.status_code, refused.json["code"]) == (409, "survey_has_responses")
    unanswered = make_survey(case.compound, SurveyKind.CONSENT, [consent_question], open=True)
    done = client.post(f"/api/v1/surveys/{unanswered.id}/cancel", headers=case.staff)
    assert (done.status_code, done.json["status"]) == (200, "cancelled")


# Lists, views, closing on read -----------------------------------------------------------------


def test_the_list_filters_by_kind_and_status_as_shown(client, case, make_survey, consent_question):
    make_survey(case.compound, SurveyKind.CONSENT, [consent_question], open=True)
    due = make_survey(case.compound, SurveyKind.CONSENT, [consent_question], open=True)
    due.closes_at = utcnow() - timedelta(seconds=1)
    create(client, case)
    _db.session.flush()

    def ids(query=""):
        response = client.get(f"{case.url}{query}", headers=case.staff)
        assert response.status_code == 200
        return [s["id"] for s in response.json]

    assert len(ids()) == 3
    assert len(ids("?kind=consent")) == 2
    assert ids("?status=closed") == [due.id]
    assert len(ids("?status=open")) == 1
    assert len(ids("?status=draft&kind=general")) == 1
    page = client.get(f"{case.url}?page_size=1", headers=case.staff)
    assert '"total": 3' in page.headers["X-Pagination"]
    assert (client.get(f"{case.url}?status=gone", headers=case.staff).status_code) == 422


def test_a_survey_past_its_closing_time_is_closed_when_read(client, case, make_survey, monkeypatch):
    monkeypatch.setitem(services.RESULT_BUILDERS, SurveyKind.GENERAL, lambda s: {"answers": 0})
    survey = make_survey(case.compound, SurveyKind.GENERAL, [(QuestionType.TEXT, "意见", [])])
    services.open_survey(survey, confirm_unknown_owners=True)
    survey.closes_at = utcnow() - timedelta(seconds=1)
    _db.session.flush()
    response = client.get(f"/api/v1/surveys/{survey.id}", headers=case.staff)
    assert (response.status_code, response.json["status"]) == (200, "closed")
    _db.session.refresh(survey)
    assert survey.status is SurveyStatus.CLOSED
    assert survey.closed_at == survey.closes_at
    assert survey.result == {"answers": 0}
    assert services.close_if_due(survey) is False  # once only


def test_without_a_result_builder_the_result_is_empty(make_survey, case, consent_question):
    survey = make_survey(case.compound, SurveyKind.GENERAL, [consent_question])
    assert services.final_result(survey) == {}


def test_what_residents_and_staff_see(
    client, case, make_survey, consent_question, owner_account, sign_in, monkeypatch
):
    monkeypatch.setitem(
        services.DETAIL_BUILDERS,
        SurveyKind.CONSENT,
        lambda survey, principal: {"staff": principal.is_staff},
    )
    survey = make_survey(case.compound, SurveyKind.CONSENT, [consent_question], open=True)
    resident = sign_in(owner_account(case.compound, "1栋1单元101"))
    mine = client.get(f"/api/v1/surveys/{survey.id}", headers=resident)
    assert mine.status_code == 200
    assert mine.json["questions"][0]["options"][0]["label"] == "同意"
    assert mine.json["details"] == {"staff": False}
    assert "t_cnt" not in mine.json and "responses" not in mine.json
    staff = client.get(f"/api/v1/surveys/{survey.id}", headers=case.staff)
    assert (staff.json["t_cnt"], staff.json["responses"]) == (45, 0)
    assert staff.json["details"] == {"staff": True}

    draft = make_survey(case.compound, SurveyKind.CONSENT, [consent_question])
    assert client.get(f"/api/v1/surveys/{draft.id}", headers=resident).status_code == 404
    assert client.get("/api/v1/survey-templates", headers=resident).status_code == 403
    assert client.post(case.url, json={}, headers=resident).status_code == 404


def test_a_neighbouring_compound_sees_nothing(
    client, case, make_compound, make_staff, sign_in, make_survey, consent_question
):
    survey = make_survey(case.compound, SurveyKind.CONSENT, [consent_question])
    neighbour = make_compound("邻居小区", community=case.compound.community)
    other = sign_in(make_staff(Role.COMPOUND, neighbour.id))
    for method, url in (
        ("GET", f"/api/v1/surveys/{survey.id}"),
        ("PATCH", f"/api/v1/surveys/{survey.id}"),
        ("POST", f"/api/v1/surveys/{survey.id}/open"),
        ("POST", f"/api/v1/surveys/{survey.id}/cancel"),
        ("GET", case.url),
        ("POST", case.url),
        ("POST", f"{case.url}/from-template"),
    ):
        response = client.open(url, method=method, json={}, headers=other)
        assert (response.status_code, response.json["code"]) == (404, "not_found"), url
    assert _db.session.get(Survey, survey.id).status is SurveyStatus.DRAFT
    community = sign_in(make_staff(Role.COMMUNITY, case.compound.community_id))
    assert client.get(f"/api/v1/surveys/{survey.id}", headers=community).status_code == 200


def test_the_basis_defaults_by_kind(client, case):
    kinds = {
        "consent": ([CONSENT_Q], "owner"),
        "menu": ([], "owner"),
        "satisfaction": ([], "resident"),
        "general": ([], "resident"),
    }
    for kind, (questions, basis) in kinds.items():
        response = create(client, case, kind=kind, questions=questions)
        assert response.json["basis"] == basis, kind
