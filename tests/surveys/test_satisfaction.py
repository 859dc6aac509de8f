"""Satisfaction (效果共评): rates with 不了解 excluded, overall, per building and per item,
the pass threshold, comments for committees, and the .xlsx export."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from participation.auth.models import Role, Tenancy
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building
from participation.surveys import tallies
from participation.surveys.models import (
    Answer,
    MenuItem,
    MenuTier,
    QuestionType,
    RespondentBasis,
    Response,
    SurveyKind,
    SurveyPerson,
    SurveyStatus,
)
from participation.surveys.satisfaction import DEFAULT_DIMENSIONS, SCALE, satisfaction_result

SCALE_OPTIONS = [(label, value) for value, label in SCALE.items()]
A, B, C, D = DEFAULT_DIMENSIONS  # 改造内容, 施工过程, 工程质量, 长效管理
COMMENT = "您对本次改造还有什么意见和建议？"


@pytest.fixture
def compound(make_compound, make_dwelling):
    """Two buildings: 1栋 with 1单元101–103, 2栋 with 1单元101–102."""
    compound = make_compound("效果小区")
    for building, rooms in (("1", ("101", "102", "103")), ("2", ("101", "102"))):
        for room in rooms:
            make_dwelling(compound, building, "1", room, owners=[make_dwelling.owner(compound)])
    return compound


@pytest.fixture
def satisfaction_survey(make_survey):
    """A satisfaction survey: one question per dimension (``dimensions``: name or
    (name, menu item)), then a free-text question."""

    def make(compound, dimensions=DEFAULT_DIMENSIONS, **fields):
        dimensions = [d if isinstance(d, tuple) else (d, None) for d in dimensions]
        questions = [
            (QuestionType.SATISFACTION, f"您对{name}是否满意？", SCALE_OPTIONS)
            for name, _ in dimensions
        ]
        fields.setdefault("basis", RespondentBasis.RESIDENT)
        survey = make_survey(
            compound,
            SurveyKind.SATISFACTION,
            [*questions, (QuestionType.TEXT, COMMENT, [])],
            open=True,
            **fields,
        )
        for question, (name, item) in zip(survey.questions, dimensions, strict=False):
            question.dimension = name
            question.menu_item_id = item.id if item else None
        survey.questions[-1].required = False  # the comment
        _db.session.flush()
        return survey

    return make


@pytest.fixture
def respond(make_account):
    """``respond(survey, "1", {"改造内容": "satisfied", …}, comment="…")``: a response as the
    answer API stores it, from a new account renting a dwelling of that building."""

    def answer(survey, building, choices, comment=None, account=None, person_id=None):
        building_id = _db.session.scalar(
            sa.select(Building.id).filter_by(compound_id=survey.compound_id, number=building)
        )
        if account is None and person_id is None:
            account = make_account()
        key = f"person:{person_id}" if person_id else f"account:{account.id}"
        if survey.anonymous:
            key, account = f"anon:{key}", None
        response = Response(
            survey_id=survey.id,
            respondent_key=key,
            person_id=person_id,
            account_id=account.id if account else None,
            building_id=building_id,
            submitted_at=utcnow(),
        )
        by_dimension = {q.dimension: q for q in survey.questions if q.dimension}
        for dimension, value in choices.items():
            question = by_dimension[dimension]
            option = next(o for o in question.options if o.value == value)
            response.answers.append(Answer(question_id=question.id, option_id=option.id))
        if comment is not None:
            text_question = next(q for q in survey.questions if q.type is QuestionType.TEXT)
            response.answers.append(Answer(question_id=text_question.id, text=comment))
        _db.session.add(response)
        _db.session.flush()
        tallies.rebuild(survey)
        return response

    return answer


def rent(account, compound, label):
    from participation.roster.models import Dwelling

    dwelling = next(
        d
        for d in _db.session.scalars(sa.select(Dwelling).filter_by(compound_id=compound.id))
        if d.label == label
    )
    _db.session.add(Tenancy(account_id=account.id, dwelling_id=dwelling.id))
    _db.session.flush()


def figures(counts, numerator, denominator, percent, passed):
    satisfied, basic, dissatisfied, unknown = counts
    return {
        "counts": {
            "satisfied": satisfied,
            "basic": basic,
            "dissatisfied": dissatisfied,
            "unknown": unknown,
        },
        "rate": {"numerator": numerator, "denominator": denominator, "percent": percent},
        "passed": passed,
    }


def strip(view):
    return {k: view[k] for k in ("counts", "rate", "passed")}


@pytest.fixture
def example(compound, satisfaction_survey, respond):
    """The hand-computed example: five residents in two buildings (s = 满意 satisfied,
    b = 基本满意 basic, d = 不满意 dissatisfied, u = 不了解 unknown).

                改造内容  施工过程  工程质量  长效管理
        1栋 r1     s        b        d        u
        1栋 r2     s        s        b        d
        1栋 r3     b        u        s        s
        2栋 r4     d        s        u        u
        2栋 r5     s        d        b        b
    """
    survey = satisfaction_survey(compound)
    s, b, d, u = "satisfied", "basic", "dissatisfied", "unknown"
    for building, answers in (
        ("1", (s, b, d, u)),
        ("1", (s, s, b, d)),
        ("1", (b, u, s, s)),
        ("2", (d, s, u, u)),
        ("2", (s, d, b, b)),
    ):
        respond(survey, building, dict(zip(DEFAULT_DIMENSIONS, answers, strict=True)))
    return survey


def test_hand_computed_example(example):
    result = satisfaction_result(example)
    dims = {d["dimension"]: strip(d) for d in result["dimensions"]}
    # 改造内容: s 3 (r1 r2 r5), b 1 (r3), d 1 (r4) → (3+1)/(3+1+1) = 4/5 = 80.00% ≥ 80: passes
    assert dims[A] == figures((3, 1, 1, 0), 4, 5, "80.00", True)
    # 施工过程: s 2 (r2 r4), b 1 (r1), d 1 (r5), u 1 (r3) → 3/4 = 75.00%
    assert dims[B] == figures((2, 1, 1, 1), 3, 4, "75.00", False)
    # 工程质量: s 1 (r3), b 2 (r2 r5), d 1 (r1), u 1 (r4) → 3/4 = 75.00%
    assert dims[C] == figures((1, 2, 1, 1), 3, 4, "75.00", False)
    # 长效管理: s 1 (r3), b 1 (r5), d 1 (r2), u 2 (r1 r4) → 2/3 = 66.67%
    assert dims[D] == figures((1, 1, 1, 2), 2, 3, "66.67", False)
    # Overall: s 3+2+1+1 = 7, b 1+1+2+1 = 5, d 1+1+1+1 = 4, u 0+1+1+2 = 4 (20 answers)
    # → (7+5)/(7+5+4) = 12/16 = 75.00%; with 不了解 wrongly counted it would be 12/20 = 60%.
    assert result["overall"] == figures((7, 5, 4, 4), 12, 16, "75.00", False)
    assert result["responses"] == 5
    assert result["threshold"] == "80.00"
    assert [d["dimension"] for d in result["dimensions"]] == list(DEFAULT_DIMENSIONS)


def test_per_building_breakdown(example):
    result = satisfaction_result(example)
    assert [b["name"] for b in result["buildings"]] == ["1栋", "2栋"]
    one, two = result["buildings"]
    # 1栋: r1 s b d u, r2 s s b d, r3 b u s s → s 1+2+2 = 5, b 1+1+1 = 3, d 1+1+0 = 2,
    # u 1+0+1 = 2 → 8/10 = 80.00%: passes
    assert strip(one) == figures((5, 3, 2, 2), 8, 10, "80.00", True)
    # 2栋: r4 d s u u, r5 s d b b → s 2, b 2, d 2, u 2 → 4/6 = 66.67%
    assert strip(two) == figures((2, 2, 2, 2), 4, 6, "66.67", False)
    # The buildings add up to the overall counts.
    totals = [x + y for x, y in zip(one["counts"].values(), two["counts"].values(), strict=True)]
    assert totals == [7, 5, 4, 4]
    # Per building and dimension: 改造内容 in 1栋 s s b → 3/3; in 2栋 d s → 1/2.
    assert strip(one["dimensions"][0]) == figures((2, 1, 0, 0), 3, 3, "100.00", True)
    assert strip(two["dimensions"][0]) == figures((1, 0, 1, 0), 1, 2, "50.00", False)
    # 长效管理 in 2栋: u b → 不了解 left out: 1/1.
    assert strip(two["dimensions"][3]) == figures((0, 1, 0, 1), 1, 1, "100.00", True)


def test_threshold_is_compared_exactly(example):
    example.satisfaction_threshold = Decimal("75.00")  # exactly at 75.00% passes
    result = satisfaction_result(example)
    assert result["threshold"] == "75.00"
    assert [d["passed"] for d in result["dimensions"]] == [True, True, True, False]
    assert result["overall"]["passed"] is True
    # 长效管理 is 2/3 = 66.666…%, shown rounded as 66.67 but below a threshold of 66.67.
    example.satisfaction_threshold = Decimal("66.67")
    assert satisfaction_result(example)["dimensions"][3]["passed"] is False
    example.satisfaction_threshold = Decimal("66.66")
    assert satisfaction_result(example)["dimensions"][3]["passed"] is True


def test_no_rate_without_counted_answers(compound, satisfaction_survey, respond):
    survey = satisfaction_survey(compound)
    result = satisfaction_result(survey)  # nobody answered
    assert result["overall"] == figures((0, 0, 0, 0), 0, 0, None, None)
    assert result["buildings"] == [] and result["responses"] == 0
    respond(survey, "1", dict.fromkeys(DEFAULT_DIMENSIONS, "unknown"))
    result = satisfaction_result(survey)  # only 不了解: nothing to divide
    assert result["overall"] == figures((0, 0, 0, 4), 0, 0, None, None)
    assert all(d["rate"]["percent"] is None for d in result["dimensions"])


def test_per_renovation_item(compound, satisfaction_survey, respond):
    elevator = MenuItem(
        district_id=compound.community.street.district_id,
        tier=MenuTier.IMPROVEMENT,
        name="加装电梯",
    )
    greening = MenuItem(
        district_id=compound.community.street.district_id, tier=MenuTier.IMPROVEMENT, name="绿化"
    )
    _db.session.add_all([elevator, greening])
    _db.session.flush()
    survey = satisfaction_survey(
        compound, [("电梯施工", elevator), ("电梯质量", elevator), ("绿化质量", greening), A]
    )
    respond(survey, "1", {"电梯施工": "satisfied", "电梯质量": "dissatisfied", "绿化质量": "basic"})
    respond(survey, "2", {"电梯施工": "basic", "电梯质量": "unknown", "绿化质量": "dissatisfied"})
    items = {i["name"]: i for i in satisfaction_result(survey)["items"]}
    # 加装电梯 adds its two questions: s 1, b 1, d 1, u 1 → 2/3
    assert strip(items["加装电梯"]) == figures((1, 1, 1, 1), 2, 3, "66.67", False)
    assert items["加装电梯"]["tier"] == "improvement"
    # 绿化: b 1, d 1 → 1/2
    assert strip(items["绿化"]) == figures((0, 1, 1, 0), 1, 2, "50.00", False)
    assert set(items) == {"加装电梯", "绿化"}  # 改造内容 is about no item


def test_satisfaction_endpoint(client, example, make_staff, sign_in):
    staff = sign_in(make_staff(Role.COMPOUND, example.compound_id))
    response = client.get(f"/api/v1/surveys/{example.id}/satisfaction", headers=staff)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["overall"]["rate"] == {"numerator": 12, "denominator": 16, "percent": "75.00"}
    assert body["buildings"][0]["rate"]["percent"] == "80.00"
    assert body["threshold"] == "80.00"


def test_a_survey_without_satisfaction_questions_has_no_rate(
    client, compound, make_survey, make_staff, sign_in, consent_question
):
    survey = make_survey(compound, SurveyKind.CONSENT, [consent_question], open=True)
    staff = sign_in(make_staff(Role.COMPOUND, compound.id))
    response = client.get(f"/api/v1/surveys/{survey.id}/satisfaction", headers=staff)
    assert response.status_code == 200
    assert response.json["dimensions"] == [] and response.json["overall"]["passed"] is None


def test_staff_only_and_scoped(
    client, example, compound, make_compound, make_staff, make_account, sign_in
):
    url = f"/api/v1/surveys/{example.id}/satisfaction"
    resident = make_account()
    rent(resident, compound, "1栋1单元101")
    response = client.get(url, headers=sign_in(resident))
    assert response.status_code == 403 and response.json["code"] == "staff_only"
    neighbour = make_compound("邻近小区", community=compound.community)
    for path in ("satisfaction", "comments", "satisfaction.xlsx", "charts/satisfaction.png"):
        response = client.get(
            f"/api/v1/surveys/{example.id}/{path}",
            headers=sign_in(make_staff(Role.COMPOUND, neighbour.id)),
        )
        assert response.status_code == 404 and response.json["code"] == "not_found", path


# Comments ---------------------------------------------------------------------------------


def test_named_comments_show_rooms_not_people(
    client, compound, satisfaction_survey, respond, make_account, make_staff, sign_in
):
    survey = satisfaction_survey(compound)
    tenant = make_account("13912345678")
    rent(tenant, compound, "2栋1单元102")
    respond(survey, "2", {A: "satisfied"}, comment="电梯噪音太大", account=tenant)
    respond(survey, "1", {A: "satisfied"}, comment="   ")  # blank: not a comment
    respond(survey, "1", {A: "basic"})  # no comment
    staff = sign_in(make_staff(Role.COMPOUND, compound.id))
    response = client.get(f"/api/v1/surveys/{survey.id}/comments", headers=staff)
    assert response.status_code == 200
    assert response.json == [
        {
            "question_id": survey.questions[-1].id,
            "question": COMMENT,
            "text": "电梯噪音太大",
            "submitted_at": response.json[0]["submitted_at"],
            "building": "2栋",
            "rooms": "2栋1单元102",
        }
    ]
    assert "13912345678" not in response.text and "5678" not in response.text
    assert json.loads(response.headers["X-Pagination"])["total"] == 1


def test_named_owner_comment_shows_the_persons_rooms(
    client, compound, satisfaction_survey, respond, make_staff, sign_in
):
    survey = satisfaction_survey(compound, basis=RespondentBasis.OWNER)
    person = _db.session.scalar(
        sa.select(SurveyPerson).filter_by(survey_id=survey.id).order_by(SurveyPerson.id)
    )
    respond(survey, "1", {A: "satisfied"}, comment="很好", person_id=person.id)
    staff = sign_in(make_staff(Role.COMPOUND, compound.id))
    body = client.get(f"/api/v1/surveys/{survey.id}/comments", headers=staff).json
    assert body[0]["rooms"] == person.labels == "1栋1单元101"


def test_anonymous_comments_say_nothing_about_who(
    client, compound, satisfaction_survey, respond, make_staff, sign_in
):
    survey = satisfaction_survey(compound, anonymous=True)
    respond(survey, "2", {A: "dissatisfied"}, comment="B 绿化太少")
    respond(survey, "1", {A: "satisfied"}, comment="A 路面平整了")
    staff = sign_in(make_staff(Role.COMPOUND, compound.id))
    response = client.get(f"/api/v1/surveys/{survey.id}/comments", headers=staff)
    assert response.status_code == 200
    assert [set(c) for c in response.json] == [{"question_id", "question", "text"}] * 2
    # Ordered by question and text, not by who answered first.
    assert [c["text"] for c in response.json] == ["A 路面平整了", "B 绿化太少"]


# Export -----------------------------------------------------------------------------------


def test_xlsx_export(client, example, make_staff, sign_in):
    staff = sign_in(make_staff(Role.COMPOUND, example.compound_id))
    response = client.get(f"/api/v1/surveys/{example.id}/satisfaction.xlsx", headers=staff)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition and "%E6%BB%A1%E6%84%8F%E5%BA%A6" in disposition
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["分维度", "分楼栋", "分改造项目"]
    dims = [[c.value for c in row] for row in book["分维度"].iter_rows()]
    assert dims[0][:2] == ["维度", "题目"] and book["分维度"]["A1"].font.bold
    assert dims[1][0] == A and dims[1][2:] == [3, 1, 1, 0, "4/5", 80, "达标"]
    assert dims[-1][0] == "总体" and dims[-1][2:] == [7, 5, 4, 4, "12/16", 75, "未达标"]
    buildings = [[c.value for c in row] for row in book["分楼栋"].iter_rows(min_row=2)]
    assert buildings[0][:2] == ["1栋", "总体"] and buildings[0][6:8] == ["8/10", 80]
    assert buildings[5][:2] == ["2栋", "总体"] and buildings[5][6:8] == ["4/6", 66.67]
    assert buildings[9][:2] == ["2栋", D] and buildings[9][2:] == [0, 1, 0, 1, "1/1", 100, "达标"]


def test_public_chart_only_after_closing(client, example, make_survey, compound):
    url = f"/api/v1/public/surveys/{example.id}/charts/satisfaction.png"
    assert client.get(url).status_code == 404  # still open
    example.status = SurveyStatus.CLOSED
    _db.session.flush()
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert client.get(url + "?by=building").status_code == 200
    bad = client.get(url + "?by=person")
    assert bad.status_code == 422 and "by" in bad.json["errors"]
    # Past its closing time is closed, even before anyone closed it.
    late = make_survey(
        compound,
        SurveyKind.SATISFACTION,
        [(QuestionType.SATISFACTION, "总体评价", SCALE_OPTIONS)],
        basis=RespondentBasis.RESIDENT,
        opens_at=utcnow() - timedelta(days=2),
        closes_in=timedelta(days=-1),
        status=SurveyStatus.OPEN,
    )
    assert (
        client.get(f"/api/v1/public/surveys/{late.id}/charts/satisfaction.png").status_code == 200
    )
    assert client.get("/api/v1/public/surveys/999999/charts/satisfaction.png").status_code == 404


def test_end_to_end_through_the_answer_api(
    client, compound, satisfaction_survey, make_account, make_staff, sign_in
):
    """Residents answer through POST /responses; answering again replaces the answers."""
    survey = satisfaction_survey(compound)
    questions = {q.dimension or "comment": q for q in survey.questions}

    def answer(account, values, comment=None):
        answers = [
            {
                "question_id": questions[d].id,
                "option_ids": [next(o.id for o in questions[d].options if o.value == v)],
            }
            for d, v in zip(DEFAULT_DIMENSIONS, values, strict=True)
        ]
        if comment:
            answers.append({"question_id": questions["comment"].id, "text": comment})
        response = client.post(
            f"/api/v1/surveys/{survey.id}/responses",
            json={"answers": answers},
            headers=sign_in(account),
        )
        assert response.status_code == 201, response.json

    first, second = make_account(), make_account()
    rent(first, compound, "1栋1单元101")
    rent(second, compound, "2栋1单元101")
    answer(first, ("dissatisfied",) * 4)
    answer(first, ("satisfied", "basic", "unknown", "satisfied"), "楼道灯很亮")  # replaces
    answer(second, ("dissatisfied", "basic", "unknown", "unknown"))

    staff = sign_in(make_staff(Role.COMPOUND, compound.id))
    body = client.get(f"/api/v1/surveys/{survey.id}/satisfaction", headers=staff).json
    # Only the replacing answers count: first s b u s, second d b u u
    # → s 2, b 2, d 1, u 3 → (2+2)/(2+2+1) = 4/5 = 80.00%
    assert strip(body["overall"]) == figures((2, 2, 1, 3), 4, 5, "80.00", True)
    assert body["responses"] == 2
    # 1栋 (first): s 2, b 1, u 1 → 3/3; 2栋 (second): b 1, d 1, u 2 → 1/2
    assert [(b["name"], b["rate"]["percent"]) for b in body["buildings"]] == [
        ("1栋", "100.00"),
        ("2栋", "50.00"),
    ]
    comments = client.get(f"/api/v1/surveys/{survey.id}/comments", headers=staff).json
    assert [(c["text"], c["rooms"]) for c in comments] == [("楼道灯很亮", "1栋1单元101")]
