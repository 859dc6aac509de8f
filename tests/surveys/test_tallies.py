"""The running tallies (surveys/tallies.py): kept by the answer path in the answer's own
transaction, they must always equal a recount of the answers in place — a replaced answer is
counted out wherever it was counted in — and the results read them."""

from __future__ import annotations

import importlib.util
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from participation.auth.models import Account, Role
from participation.extensions import db as _db
from participation.roster.models import Dwelling
from participation.surveys import tallies
from participation.surveys.models import (
    QuestionType,
    RespondentBasis,
    SurveyBuildingElectorate,
    SurveyKind,
    SurveyTally,
)
from participation.surveys.tallies import RESPONDENTS, cell_changes

CONTRIBUTION = (
    QuestionType.MULTIPLE,
    "出资方式",
    [("直接出资", "direct"), ("维修资金", "maintenance_fund"), ("出工出力", "labour")],
)
MANAGEMENT = (
    QuestionType.SINGLE,
    "长效管理",
    [("专业物业", "professional"), ("自治管理", "self_managed")],
)
SCALE = [
    ("满意", "satisfied"),
    ("基本满意", "basic"),
    ("不满意", "dissatisfied"),
    ("不了解", "unknown"),
]
# 徐丽华 owns 1栋2单元501 and 2栋1单元202: one person, counted in both buildings.
XU = "1栋2单元501"
LABELS = (XU, "1栋1单元101", "1栋1单元102", "2栋1单元101", "2栋1单元102", "1栋2单元502")


# The pure rule --------------------------------------------------------------------------

A, B = (7, Decimal("60.00")), (8, Decimal("40.00"))  # a person's places: two buildings


def test_a_first_response_counts_its_options_its_questions_and_itself():
    added = [(1, 11), (2, 21), (2, 22), (3, None)]
    assert cell_changes([], added, [2], True, [A], [A]) == {
        (7, RESPONDENTS, RESPONDENTS): (1, Decimal("60.00")),
        (7, 1, 11): (1, Decimal("60.00")),
        (7, 2, RESPONDENTS): (1, Decimal("60.00")),
        (7, 2, 21): (1, Decimal("60.00")),
        (7, 2, 22): (1, Decimal("60.00")),
    }


def test_a_replacement_counts_out_what_it_removes_and_only_the_difference():
    removed = [(1, 11), (2, 21), (2, 22)]
    added = [(1, 12), (2, 22), (2, 23)]
    assert cell_changes(removed, added, [2], False, [A, B], [A, B]) == {
        (building, question, option): (n, n * area)
        for building, area in (A, B)
        for question, option, n in ((1, 11, -1), (1, 12, 1), (2, 21, -1), (2, 23, 1))
    }
    assert cell_changes(removed, removed, [2], False, [A, B], [A, B]) == {}


def test_a_question_left_unanswered_counts_its_respondent_out():
    assert cell_changes([(2, 21), (2, 22)], [], [2], False, [A], [A]) == {
        (7, 2, RESPONDENTS): (-1, Decimal("-60.00")),
        (7, 2, 21): (-1, Decimal("-60.00")),
        (7, 2, 22): (-1, Decimal("-60.00")),
    }


def test_answers_moved_to_another_building_are_counted_out_of_the_first():
    """A resident answering again for their dwelling in another building."""
    no_area_a, no_area_b = (7, Decimal(0)), (8, Decimal(0))
    assert cell_changes([(1, 11)], [(1, 11)], [], False, [no_area_a], [no_area_b]) == {
        (7, RESPONDENTS, RESPONDENTS): (-1, Decimal(0)),
        (7, 1, 11): (-1, Decimal(0)),
        (8, RESPONDENTS, RESPONDENTS): (1, Decimal(0)),
        (8, 1, 11): (1, Decimal(0)),
    }


# Through the API ------------------------------------------------------------------------


@pytest.fixture
def residents(sample_compound, owner_account, sign_in):
    """Headers of the owners of ``LABELS``, signed in, by label."""
    return {label: sign_in(owner_account(sample_compound, label)) for label in LABELS}


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


def post(client, survey, headers, answers, **fields):
    response = client.post(
        f"/api/v1/surveys/{survey.id}/responses",
        json={"answers": answers, **fields},
        headers=headers,
    )
    assert response.status_code in (200, 201), response.json
    return response.json


def chosen(survey, *picks) -> list[dict]:
    """Answers by option values, one tuple of values per question (in order)."""
    return [
        {
            "question_id": q.id,
            "option_ids": [o.id for o in q.options if o.value in values],
        }
        for q, values in zip(survey.questions, picks, strict=True)
        if values
    ]


def test_a_replaced_consent_answer_is_not_counted_twice_anywhere(
    client, sample_compound, make_survey, consent_question, residents, committee
):
    survey = make_survey(
        sample_compound,
        SurveyKind.CONSENT,
        [consent_question, CONTRIBUTION, MANAGEMENT],
        open=True,
    )
    xu = residents[XU]
    post(client, survey, xu, chosen(survey, ["agree"], ["direct", "labour"], ["professional"]))
    post(client, survey, xu, chosen(survey, ["disagree"], ["labour"], ["self_managed"]))
    again = post(client, survey, xu, chosen(survey, ["disagree"], ["labour"], ["self_managed"]))
    assert again["revision"] == 3

    view = client.get(f"/api/v1/surveys/{survey.id}/consent", headers=committee).json
    xu_area = "159.81"  # 68.45 in 1栋 + 91.36 in 2栋
    assert (view["p_cnt"], view["y_cnt"], view["p_area"], view["y_area"]) == (1, 0, xu_area, "0.00")
    assert view["answers"] == [
        {"value": "agree", "count": 0, "area": "0.00"},
        {"value": "disagree", "count": 1, "area": xu_area},
    ]
    one, two = view["buildings"]
    # counted once in each of her buildings, with her area there
    assert (one["p_cnt"], one["y_cnt"], one["p_area"]) == (1, 0, "68.45")
    assert (two["p_cnt"], two["y_cnt"], two["p_area"]) == (1, 0, "91.36")
    assert (one["t_cnt"], two["t_cnt"]) == (24, 22)
    (contributions,) = view["contributions"]
    assert contributions["respondents"] == 1
    assert [(o["value"], o["count"]) for o in contributions["options"]] == [
        ("direct", 0),
        ("maintenance_fund", 0),
        ("labour", 1),
    ]
    (management,) = view["management"]
    assert [(o["value"], o["count"], o["area"]) for o in management["options"]] == [
        ("professional", 0, "0.00"),
        ("self_managed", 1, xu_area),
    ]
    assert tallies.mismatches(survey) == []


def test_a_replaced_satisfaction_answer_is_not_counted_twice_anywhere(
    client, sample_compound, make_survey, residents, committee
):
    survey = make_survey(
        sample_compound,
        SurveyKind.SATISFACTION,
        [(QuestionType.SATISFACTION, text, SCALE) for text in ("改造内容", "施工")],
        basis=RespondentBasis.RESIDENT,
        anonymous=True,
        open=True,
    )
    for question, dimension in zip(survey.questions, ("改造内容", "施工过程"), strict=True):
        question.dimension = dimension
    _db.session.flush()
    resident = residents["1栋1单元101"]
    post(client, survey, resident, chosen(survey, ["dissatisfied"], ["unknown"]))
    post(client, survey, resident, chosen(survey, ["satisfied"], ["basic"]))

    result = client.get(f"/api/v1/surveys/{survey.id}/satisfaction", headers=committee).json
    assert result["responses"] == 1
    once = {"satisfied": 1, "basic": 0, "dissatisfied": 0, "unknown": 0}
    second = {**once, "satisfied": 0, "basic": 1}
    assert [d["counts"] for d in result["dimensions"]] == [once, second]
    assert result["overall"]["counts"] == {**once, "basic": 1}
    (building,) = result["buildings"]
    assert (building["name"], building["counts"]) == ("1栋", {**once, "basic": 1})
    assert tallies.mismatches(survey) == []


def test_random_answers_and_replacements_keep_the_tallies_exact(
    client, sample_compound, make_survey, consent_question, residents
):
    """Owners answer a named owner-basis survey (counted with area, in each of their
    buildings) and an anonymous resident one (by the dwelling answered for), again and again,
    dropping and changing answers; after every submission the tallies equal a recount."""
    owners = make_survey(
        sample_compound,
        SurveyKind.GENERAL,
        [consent_question, CONTRIBUTION, MANAGEMENT],
        open=True,
    )
    for question in owners.questions:
        question.required = False
    anonymous = make_survey(
        sample_compound,
        SurveyKind.GENERAL,
        [CONTRIBUTION, MANAGEMENT],
        basis=RespondentBasis.RESIDENT,
        anonymous=True,
        open=True,
    )
    for question in anonymous.questions:
        question.required = False
    _db.session.flush()
    xu_dwellings = [
        d.id
        for d in _db.session.scalars(sa.select(Dwelling).filter_by(compound_id=sample_compound.id))
        if d.label in (XU, "2栋1单元202")
    ]
    rng = random.Random(16)
    latest: dict[tuple[int, str], list[dict]] = {}
    for _ in range(60):
        label = rng.choice(LABELS)
        survey = rng.choice((owners, anonymous))
        picks = []
        for question in survey.questions:
            values = [o.value for o in question.options]
            if question.type is QuestionType.MULTIPLE:
                picks.append(rng.sample(values, rng.randint(0, len(values))))
            else:
                picks.append(rng.sample(values, rng.randint(0, 1)))
        if not any(picks):  # at least one answer
            picks[-1] = [survey.questions[-1].options[0].value]
        fields = {}
        if survey is anonymous and label == XU:
            fields["dwelling_id"] = rng.choice(xu_dwellings)
        answers = chosen(survey, *picks)
        post(client, survey, residents[label], answers, **fields)
        latest[survey.id, label] = answers  # one response per person or account
        assert tallies.mismatches(owners) == []
        assert tallies.mismatches(anonymous) == []

    # And the figures are those of the latest answers, each respondent once.
    for survey in (owners, anonymous):
        tally = tallies.read(survey)
        given = [a for (sid, _), answers in latest.items() if sid == survey.id for a in answers]
        expected = Counter(option for a in given for option in a["option_ids"])
        for question in survey.questions:
            for option in question.options:
                assert tally.get(question.id, option.id).cnt == expected[option.id]
        respondents = sum(1 for sid, _ in latest if sid == survey.id)
        assert tally.respondents.cnt == respondents


def test_the_migrations_recount_gives_the_same_tallies(
    client, sample_compound, make_survey, consent_question, residents
):
    """The migration that brought the tallies counted the surveys already there from their
    answers and electorates: its statements give what the answer path keeps."""
    survey = make_survey(
        sample_compound,
        SurveyKind.CONSENT,
        [consent_question, CONTRIBUTION, MANAGEMENT],
        open=True,
    )
    for n, label in enumerate(LABELS):
        ways = ["direct", "labour"][: 1 + n % 2]
        picks = (["agree" if n % 3 else "disagree"], ways, ["professional"])
        post(client, survey, residents[label], chosen(survey, *picks))
    kept = tallies.read(survey)
    electorate = tallies.electorate_by_building(survey.id)
    path = next(Path("migrations/versions").glob("c95b6ff2d84f_*.py"))
    spec = importlib.util.spec_from_file_location("tallies_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for model in (SurveyTally, SurveyBuildingElectorate):
        _db.session.execute(sa.delete(model))
    _db.session.execute(sa.text(migration.BUILDING_ELECTORATES))
    _db.session.execute(sa.text(migration.TALLIES))
    assert tallies.read(survey) == kept
    assert tallies.electorate_by_building(survey.id) == electorate


def test_check_tallies_reports_and_repairs_a_drifted_survey(
    app, client, sample_compound, make_survey, consent_question, residents
):
    survey = make_survey(sample_compound, SurveyKind.CONSENT, [consent_question], open=True)
    post(client, survey, residents[XU], chosen(survey, ["agree"]))
    _db.session.execute(sa.update(SurveyTally).values(count=SurveyTally.count + 1))
    runner = app.test_cli_runner()
    drifted = runner.invoke(args=["surveys", "check-tallies", str(survey.id)])
    assert drifted.exit_code == 1, drifted.output
    assert f"问卷 {survey.id}" in drifted.output and "不一致" in drifted.output
    repaired = runner.invoke(args=["surveys", "check-tallies", str(survey.id), "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert tallies.mismatches(survey) == []
    assert runner.invoke(args=["surveys", "check-tallies"]).exit_code == 0


def test_the_demo_answers_go_through_the_answer_path(make_compound, make_staff):
    """``flask demo seed``'s answers: some of every open survey answered, the demo resident's
    left to them, the tallies equal to a recount."""
    from participation.demo import DEMO_RESIDENT_PHONE, seed_answers, seed_campaigns
    from participation.roster.demo import roster_csv, roster_rows
    from participation.roster.importer import import_roster_file
    from participation.surveys.models import Survey

    compound = make_compound("幸福里小区")
    rows = roster_rows(2, 2, 6, 2, seed=1, first_phone=DEMO_RESIDENT_PHONE)
    assert import_roster_file(compound.id, "demo.csv", roster_csv(rows)).status.value == "done"
    seed_campaigns(compound, make_staff(Role.COMPOUND, compound.id))
    seed_answers(compound)
    surveys = _db.session.scalars(sa.select(Survey).filter_by(compound_id=compound.id)).all()
    assert {s.kind for s in surveys} == {
        SurveyKind.CONSENT,
        SurveyKind.MENU,
        SurveyKind.SATISFACTION,
    }
    for survey in surveys:
        assert tallies.read(survey).respondents.cnt > 0, survey.kind
        assert tallies.mismatches(survey) == []
    # the demo resident answers themselves: the answers made no account for their phone
    assert _db.session.scalar(sa.select(Account.id).filter_by(phone=DEMO_RESIDENT_PHONE)) is None
