"""The consent gate (意愿征集) on the sample roster: 3·Y ≥ 2·T by count, area or both; what is
still missing; owners who have not answered; 公示 with objections; the public notice."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.counting import Basis, Totals, renovation_consent
from participation.extensions import db as _db
from participation.notices.models import Objection
from participation.surveys import tallies
from participation.surveys.consent import missing_text
from participation.surveys.models import (
    Answer,
    QuestionType,
    Response,
    SurveyKind,
    SurveyPerson,
    SurveyPersonDwelling,
    SurveyStatus,
)
from participation.surveys.services import CONTRIBUTION_WAYS, MANAGEMENT_WAYS

SAMPLE_ROSTER = Path(__file__).parent.parent / "data" / "roster-sample.csv"
CONTRIBUTION = (QuestionType.MULTIPLE, "您愿意通过哪些方式参与改造出资？", CONTRIBUTION_WAYS)
MANAGEMENT = (QuestionType.SINGLE, "改造完成后的长效管理方式", MANAGEMENT_WAYS)


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


@pytest.fixture
def consent_survey(sample_compound, make_survey, consent_question):
    def make(basis: Basis = Basis.COUNT, **fields):
        return make_survey(
            sample_compound,
            SurveyKind.CONSENT,
            [consent_question, CONTRIBUTION, MANAGEMENT],
            open=True,
            consent_basis=basis,
            **fields,
        )

    return make


def persons(survey) -> list[SurveyPerson]:
    return list(
        _db.session.scalars(
            sa.select(SurveyPerson).filter_by(survey_id=survey.id).order_by(SurveyPerson.id)
        )
    )


def person_at(survey, label: str) -> SurveyPerson:
    person_id = _db.session.scalar(
        sa.select(SurveyPersonDwelling.person_id).filter_by(survey_id=survey.id, label=label)
    )
    return _db.session.get(SurveyPerson, person_id)


def respond(survey, person: SurveyPerson, value: str = "agree", **others: list[str]) -> None:
    """A person's response: the consent answer ``value``, and ``others`` by question
    position (``q2=["direct", "fund"]``), as option values."""
    options = {(q.position, o.value): (q.id, o.id) for q in survey.questions for o in q.options}
    chosen = [(1, value)] + [(int(k[1:]), v) for k, values in others.items() for v in values]
    response = Response(
        survey_id=survey.id,
        respondent_key=f"person:{person.id}",
        person_id=person.id,
        submitted_at=utcnow(),
    )
    response.answers = [Answer(question_id=q, option_id=o) for q, o in (options[c] for c in chosen)]
    _db.session.add(response)
    _db.session.flush()
    tallies.rebuild(survey)


def consent(client, survey, headers):
    response = client.get(f"/api/v1/surveys/{survey.id}/consent", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def refused(response, status: int, code: str) -> None:
    assert (response.status_code, response.json["code"]) == (status, code), response.json
    assert response.json["message"]


def post(client, url: str, headers: dict | None = None, **body):
    return client.post(f"/api/v1{url}", headers=headers, json=body)


# The gate -----------------------------------------------------------------------------------


def test_passes_at_exactly_30_of_45_persons_and_fails_at_29(client, consent_survey, committee):
    survey = consent_survey()
    everyone = persons(survey)
    assert len(everyone) == 45
    for person in everyone[:29]:
        respond(survey, person)

    tally = consent(client, survey, committee)
    assert (tally["t_cnt"], tally["t_area"], tally["p_cnt"], tally["y_cnt"]) == (
        45,
        "3622.29",
        29,
        29,
    )
    assert tally["basis"] == "count" and tally["passed"] is False
    assert tally["missing"]["persons"] == 1
    assert tally["missing"]["text"] == "还需 1 人同意"
    assert tally["consent"]["count"] == {"numerator": 29, "denominator": 45, "percent": "64.44"}

    respond(survey, everyone[29])
    tally = consent(client, survey, committee)
    assert (tally["y_cnt"], tally["passed"]) == (30, True)
    assert tally["missing"] == {"persons": 0, "area": "0.00", "text": "已达到三分之二同意"}
    assert tally["consent"]["count"] == {"numerator": 30, "denominator": 45, "percent": "66.67"}
    assert tally["participation"]["count"]["percent"] == "66.67"


def test_area_basis_counts_square_metres(client, consent_survey, committee):
    """The 30 smallest persons (2,091.62 m² of 3,622.29) pass by count but not by area:
    2/3 of 3,622.29 m² is 2,414.86 m², so 323.24 m² are still missing."""
    surveys = {basis: consent_survey(basis) for basis in Basis}
    for survey in surveys.values():
        for person in sorted(persons(survey), key=lambda p: (p.area, p.id))[:30]:
            respond(survey, person)

    by_count, by_area, both = (consent(client, surveys[b], committee) for b in Basis)
    assert (by_count["y_cnt"], by_count["y_area"]) == (30, "2091.62")
    assert by_count["passed"] is True
    assert by_area["passed"] is False and both["passed"] is False
    assert by_area["missing"] == {"persons": 0, "area": "323.24", "text": "还需 323.24 m² 同意"}
    assert both["missing"] == {"persons": 0, "area": "323.24", "text": "还需 323.24 m² 同意"}
    assert by_area["consent"]["area"] == {
        "numerator": "2091.62",
        "denominator": "3622.29",
        "percent": "57.74",
    }
    # What is reported missing is exactly enough: 323.24 m² more agreeing passes by area at
    # the bound (3·2414.86 ≥ 2·3622.29), 0.01 m² less does not.
    reported = Decimal(by_area["missing"]["area"])
    for more, passes in ((reported, True), (reported - Decimal("0.01"), False)):
        y_area = Decimal(by_area["y_area"]) + more
        t_area, p_area = Decimal(by_area["t_area"]), Decimal(by_area["p_area"]) + more
        cnt = by_area["y_cnt"] + 1  # any number of persons: the basis is area
        t = Totals(by_area["t_cnt"], t_area, cnt, p_area, cnt, y_area)
        assert renovation_consent(t, Basis.AREA).passed is passes


def test_what_is_missing_reads_in_chinese():
    t = (45, Decimal("3622.29"), 29, Decimal("2000.00"), 29, Decimal("2000.00"))
    both = renovation_consent(Totals(*t), Basis.BOTH)
    assert missing_text(both) == "还需 1 人 / 414.86 m² 同意"


def test_disagree_participates_but_does_not_agree(client, consent_survey, committee):
    survey = consent_survey()
    everyone = persons(survey)
    for person in everyone[:10]:
        respond(survey, person, "agree")
    for person in everyone[10:15]:
        respond(survey, person, "disagree")

    tally = consent(client, survey, committee)
    assert (tally["p_cnt"], tally["y_cnt"]) == (15, 10)
    answers = {a["value"]: a["count"] for a in tally["answers"]}
    assert answers == {"agree": 10, "disagree": 5}
    assert tally["participation"]["count"] == {
        "numerator": 15,
        "denominator": 45,
        "percent": "33.33",
    }
    assert tally["missing"]["persons"] == 20  # disagreeing persons are not agreeing ones


def test_breakdown_per_building_and_template_answers(client, consent_survey, committee):
    survey = consent_survey()
    # 徐丽华 has 1栋2单元501 and 2栋1单元202: one person, counted in both buildings.
    xu = person_at(survey, "1栋2单元501")
    assert xu.id == person_at(survey, "2栋1单元202").id
    respond(survey, xu, "agree", q2=["direct", "maintenance_fund"], q3=["professional"])
    respond(
        survey, person_at(survey, "2栋1单元101"), "disagree", q2=["labour"], q3=["self_managed"]
    )
    respond(survey, person_at(survey, "1栋1单元101"), "agree", q3=["professional"])

    tally = consent(client, survey, committee)
    one, two = tally["buildings"]
    assert (one["name"], one["t_cnt"], one["t_area"]) == ("1栋", 24, "1808.15")
    assert (two["name"], two["t_cnt"], two["t_area"]) == ("2栋", 22, "1814.14")
    assert (one["p_cnt"], one["y_cnt"], one["y_area"]) == (2, 2, "136.90")  # 68.45 + 68.45
    assert (two["p_cnt"], two["y_cnt"], two["p_area"]) == (2, 1, "151.16")  # 91.36 + 59.80
    assert (tally["p_cnt"], tally["y_cnt"], tally["y_area"]) == (3, 2, "228.26")

    (contributions,) = tally["contributions"]
    assert contributions["respondents"] == 2
    assert [(o["value"], o["count"]) for o in contributions["options"]] == [
        ("direct", 1),
        ("maintenance_fund", 1),
        ("public_income", 0),
        ("labour", 1),
    ]
    assert contributions["options"][0]["share"]["percent"] == "50.00"
    (management,) = tally["management"]
    assert [(o["label"], o["count"], o["area"]) for o in management["options"]] == [
        ("专业物业", 2, "228.26"),
        ("自治管理", 1, "59.80"),
    ]


def test_only_consent_surveys_opened_have_a_gate(
    client, sample_compound, make_survey, consent_question, committee, owner_account, sign_in
):
    general = make_survey(sample_compound, SurveyKind.GENERAL, [consent_question], open=True)
    draft = make_survey(sample_compound, SurveyKind.CONSENT, [consent_question])
    for survey, code in ((general, "not_consent_survey"), (draft, "survey_not_opened")):
        for path in ("consent", "non-respondents"):
            response = client.get(f"/api/v1/surveys/{survey.id}/{path}", headers=committee)
            refused(response, 409, code)
    opened = make_survey(sample_compound, SurveyKind.CONSENT, [consent_question], open=True)
    resident = sign_in(owner_account(sample_compound, "2栋1单元101"))
    refused(client.get(f"/api/v1/surveys/{opened.id}/consent", headers=resident), 403, "staff_only")


# Non-respondents ----------------------------------------------------------------------------


def test_non_respondents_with_contacts_for_the_own_committee_only(
    client, sample_compound, consent_survey, committee, make_staff, sign_in
):
    survey = consent_survey()
    respond(survey, person_at(survey, "1栋1单元101"), "agree")
    respond(survey, person_at(survey, "1栋1单元102"), "disagree")
    url = f"/api/v1/surveys/{survey.id}/non-respondents"

    listed = client.get(url, headers=committee, query_string={"page_size": 100})
    assert listed.status_code == 200, listed.json
    assert json.loads(listed.headers["X-Pagination"])["total"] == 43
    rooms = [room for person in listed.json for room in person["rooms"]]
    assert "1栋1单元101" not in rooms and "1栋1单元102" not in rooms
    first = listed.json[0]
    assert first["rooms"] == ["1栋1单元201"]
    assert first["owners"] == [{"name": "张敏", "phone": "13937865797"}]
    assert first["area"] == "68.45"

    building = _db.session.get(SurveyPersonDwelling, _first_dwelling(survey, "2栋1单元101"))
    in_two = client.get(url, headers=committee, query_string={"building_id": building.building_id})
    assert json.loads(in_two.headers["X-Pagination"])["total"] == 22
    assert any(p["rooms"] == ["1栋2单元501", "2栋1单元202"] for p in in_two.json)

    community = sign_in(make_staff(Role.COMMUNITY, sample_compound.community_id))
    masked = client.get(url, headers=community).json[0]
    assert masked["owners"] == [{"name": "张*", "phone": "139****5797"}]


def _first_dwelling(survey, label: str) -> int:
    return _db.session.scalar(
        sa.select(SurveyPersonDwelling.id).filter_by(survey_id=survey.id, label=label)
    )


# 公示 ---------------------------------------------------------------------------------------


def close(survey) -> None:
    """Past its closing time: the next request naming the survey closes it."""
    survey.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()


def end_objection_period(survey) -> None:
    survey.objection_until = utcnow() - timedelta(microseconds=1)
    _db.session.flush()


def test_publish_objections_and_finalize(client, consent_survey, committee):
    survey = consent_survey()
    s = f"/surveys/{survey.id}"
    refused(post(client, f"{s}/publish", committee), 409, "survey_not_closed")
    refused(post(client, f"{s}/objections", committee, summary="异议"), 409, "survey_not_published")

    close(survey)
    published = post(client, f"{s}/publish", committee)
    assert published.status_code == 200, published.json
    assert published.json["status"] == "published"
    _db.session.refresh(survey)
    assert survey.objection_until - survey.published_at == timedelta(days=7)
    refused(post(client, f"{s}/publish", committee), 409, "survey_not_closed")
    refused(post(client, f"{s}/finalize", committee), 409, "objection_period_running")

    first = post(client, f"{s}/objections", committee, summary="  2栋2单元102 称未收到问卷  ")
    assert first.status_code == 201, first.json
    assert (first.json["summary"], first.json["resolved_at"]) == ("2栋2单元102 称未收到问卷", None)
    resolve = f"/survey-objections/{first.json['id']}/resolve"
    resolved = post(
        client, resolve, committee, verdict="not_upheld", resolution="已核实：问卷已入户送达"
    )
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["resolution"] == "已核实：问卷已入户送达" and resolved.json["resolved_at"]
    refused(
        post(client, resolve, committee, verdict="not_upheld", resolution="再次处理"),
        409,
        "objection_resolved",
    )

    second = post(client, f"{s}/objections", committee, summary="对面积有异议")
    listed = client.get(f"/api/v1{s}/objections", headers=committee)
    assert [o["summary"] for o in listed.json] == ["2栋2单元102 称未收到问卷", "对面积有异议"]

    end_objection_period(survey)
    refused(
        post(client, f"{s}/objections", committee, summary="逾期"), 409, "objection_period_over"
    )
    refused(post(client, f"{s}/finalize", committee), 409, "objections_unresolved")
    post(
        client,
        f"/survey-objections/{second.json['id']}/resolve",
        committee,
        verdict="not_upheld",
        resolution="以登记簿为准",
    )
    final = post(client, f"{s}/finalize", committee)
    assert final.status_code == 200, final.json
    assert final.json["status"] == "final" and final.json["finalized_at"]
    refused(post(client, f"{s}/finalize", committee), 409, "survey_not_published")
    count = sa.select(sa.func.count()).where(Objection.survey_id == survey.id)
    assert _db.session.scalar(count) == 2


def test_bad_objections_are_refused_and_nothing_is_written(client, consent_survey, committee):
    survey = consent_survey()
    close(survey)
    post(client, f"/surveys/{survey.id}/publish", committee)
    url = f"/api/v1/surveys/{survey.id}/objections"
    for body in ({}, {"summary": "   "}, {"summary": "长" * 2001}, {"summary": "x", "extra": 1}):
        response = client.post(url, headers=committee, json=body)
        assert response.status_code == 422, body
    blank = client.post(url, headers=committee, json={"summary": " "})
    assert blank.json["errors"]["summary"] == ["请填写异议内容"]
    count = sa.select(sa.func.count()).where(Objection.survey_id == survey.id)
    assert _db.session.scalar(count) == 0


def test_only_the_compound_committee_acts(
    client, sample_compound, consent_survey, committee, make_staff, owner_account, sign_in
):
    survey = consent_survey()
    close(survey)
    community = sign_in(make_staff(Role.COMMUNITY, sample_compound.community_id))
    resident = sign_in(owner_account(sample_compound, "2栋1单元101"))
    for caller in (community, resident):
        refused(post(client, f"/surveys/{survey.id}/publish", caller), 403, "committee_only")
    post(client, f"/surveys/{survey.id}/publish", committee)
    objection = post(client, f"/surveys/{survey.id}/objections", committee, summary="异议").json
    resolve = f"/survey-objections/{objection['id']}/resolve"
    refused(
        post(client, resolve, community, verdict="not_upheld", resolution="x"),
        403,
        "committee_only",
    )
    refused(post(client, resolve, resident, verdict="not_upheld", resolution="x"), 404, "not_found")
    refused(
        client.get(f"/api/v1/surveys/{survey.id}/objections", headers=resident), 403, "staff_only"
    )
    assert client.get(f"/api/v1/surveys/{survey.id}/objections", headers=community).json


def roster_personal_data() -> set[str]:
    """Every owner name and phone of the sample roster."""
    found = set()
    with open(SAMPLE_ROSTER, encoding="utf-8") as source:
        for row in csv.DictReader(source):
            for column in ("业主姓名", "手机号"):
                found.update(part for part in row[column].split("、") if part)
    return found


def test_public_notice_shows_aggregates_and_no_personal_data(client, consent_survey, committee):
    survey = consent_survey(title="阳光小区改造意愿征集")
    for person in persons(survey)[:30]:
        respond(survey, person)
    respond(survey, persons(survey)[30], "disagree")
    url = f"/api/v1/public/surveys/{survey.id}/notice"
    assert client.get(url).status_code == 404  # open
    close(survey)
    assert client.get(url).status_code == 404  # closed, not published
    post(client, f"/surveys/{survey.id}/publish", committee)
    post(client, f"/surveys/{survey.id}/objections", committee, summary="徐丽华 19018159083 有异议")

    response = client.get(url)  # no sign-in
    assert response.status_code == 200, response.json
    notice = response.json
    assert (notice["title"], notice["compound"], notice["buildings"]) == (
        "阳光小区改造意愿征集",
        "样例小区",
        [],
    )
    result = notice["result"]
    assert (result["t_cnt"], result["t_area"], result["p_cnt"], result["y_cnt"]) == (
        45,
        "3622.29",
        31,
        30,
    )
    assert result["passed"] is True and result["consent"]["count"]["percent"] == "66.67"
    assert (notice["objections"]["received"], notice["objections"]["resolved"]) == (1, 0)
    assert notice["final"] is False and notice["objection_until"]

    text = json.dumps(notice, ensure_ascii=False)
    personal = roster_personal_data()
    assert len(personal) > 80
    assert sorted(item for item in personal if item in text) == []
    assert "单元" not in text and "buildings" not in result
    (item,) = notice["objections"]["items"]
    assert item["summary"] == "徐** 190******83 有异议"  # the objection as written, masked


def test_public_notice_of_other_surveys_is_404(
    client, sample_compound, make_survey, consent_question
):
    general = make_survey(sample_compound, SurveyKind.GENERAL, [consent_question], open=True)
    close(general)
    general.status = SurveyStatus.PUBLISHED
    _db.session.flush()
    for survey_id in (general.id, 999999):
        response = client.get(f"/api/v1/public/surveys/{survey_id}/notice")
        refused(response, 404, "not_found")


def test_a_neighbouring_compound_gets_404(
    client, consent_survey, committee, make_compound, make_staff, sign_in
):
    survey = consent_survey()
    close(survey)
    post(client, f"/surveys/{survey.id}/publish", committee)
    objection = post(client, f"/surveys/{survey.id}/objections", committee, summary="异议").json
    neighbour = sign_in(make_staff(Role.COMPOUND, make_compound().id))
    s = f"/api/v1/surveys/{survey.id}"
    for method, url in (
        ("GET", f"{s}/consent"),
        ("GET", f"{s}/non-respondents"),
        ("GET", f"{s}/objections"),
        ("POST", f"{s}/objections"),
        ("POST", f"{s}/publish"),
        ("POST", f"{s}/finalize"),
        ("POST", f"/api/v1/survey-objections/{objection['id']}/resolve"),
    ):
        response = client.open(url, method=method, headers=neighbour, json={"summary": "x"})
        refused(response, 404, "not_found")


def test_the_30th_agreement_through_the_answer_api_passes_the_gate(
    client, sample_compound, consent_survey, committee, owner_account, sign_in
):
    survey = consent_survey()
    everyone = persons(survey)
    for person in everyone[:29]:
        respond(survey, person)
    thirtieth = everyone[29]
    label = _db.session.scalar(
        sa.select(SurveyPersonDwelling.label).filter_by(person_id=thirtieth.id)
    )
    resident = sign_in(owner_account(sample_compound, label))
    consent_q, contribution_q, management_q = survey.questions

    def answer(value: str):
        body = {
            "person_id": thirtieth.id,
            "answers": [
                {"question_id": q.id, "option_ids": [o.id for o in q.options if o.value == v]}
                for q, v in (
                    (consent_q, value),
                    (contribution_q, "labour"),
                    (management_q, "self_managed"),
                )
            ],
        }
        response = client.post(
            f"/api/v1/surveys/{survey.id}/responses", headers=resident, json=body
        )
        assert response.status_code in (200, 201), response.json

    answer("disagree")
    tally = consent(client, survey, committee)
    assert (tally["p_cnt"], tally["y_cnt"], tally["passed"]) == (30, 29, False)
    answer("agree")  # answering again replaces the answer
    tally = consent(client, survey, committee)
    assert (tally["p_cnt"], tally["y_cnt"], tally["passed"]) == (30, 30, True)
    assert tally["y_area"] == str(sum((p.area for p in everyone[:30]), Decimal("0.00")))


def test_the_result_is_stored_when_the_survey_closes(client, consent_survey, committee):
    survey = consent_survey()
    everyone = persons(survey)
    for person in everyone[:30]:
        respond(survey, person)
    close(survey)
    closed = consent(client, survey, committee)  # closed on read
    assert (closed["status"], closed["y_cnt"], closed["passed"]) == ("closed", 30, True)
    _db.session.refresh(survey)
    assert survey.status is SurveyStatus.CLOSED and survey.result["y_cnt"] == 30
    respond(survey, everyone[30])  # a row written behind the engine's back changes nothing
    assert consent(client, survey, committee)["y_cnt"] == 30


def test_an_anonymous_consent_survey_has_no_gate(client, consent_survey, committee):
    survey = consent_survey(anonymous=True)
    response = client.get(f"/api/v1/surveys/{survey.id}/consent", headers=committee)
    refused(response, 409, "not_consent_survey")


def test_an_owner_objects_to_a_consent_result_and_reads_the_answer(
    client, consent_survey, committee, owner_account, sample_compound, sign_in
):
    """Owners object to a consent survey's 公示 as to a vote's: in scope, in the period."""
    survey = consent_survey()
    close(survey)
    assert post(client, f"/surveys/{survey.id}/publish", committee).status_code == 200
    owner = sign_in(owner_account(sample_compound, "2栋1单元101"))
    filed = client.post(
        f"/api/v1/surveys/{survey.id}/my-objections",
        data={"summary": "我家未收到征集表"},
        headers=owner,
        content_type="multipart/form-data",
    )
    assert filed.status_code == 201, filed.json
    assert (filed.json["survey_id"], filed.json["filer"]) == (survey.id, "2栋1单元业主")
    answered = post(
        client,
        f"/survey-objections/{filed.json['id']}/resolve",
        committee,
        verdict="not_upheld",
        resolution="征集表已于开始当天入户送达并签收",
    )
    assert answered.status_code == 200, answered.json
    (item,) = client.get(f"/api/v1/public/surveys/{survey.id}/notice").json["objections"]["items"]
    assert (item["filer"], item["verdict"]) == ("2栋1单元业主", "not_upheld")
    mine = client.get(f"/api/v1/surveys/{survey.id}/my-objections", headers=owner).json
    assert [o["resolution"] for o in mine] == ["征集表已于开始当天入户送达并签收"]
