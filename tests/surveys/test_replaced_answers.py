"""A replaced answer counts once, with the latest answer, in every result and breakdown.

One owner answers a consent, a menu and a satisfaction survey through the answer API, then
answers each again differently; another owner's answers stay as they are. Every figure the
committee sees — the consent gate's totals, each building of its breakdown and the
distributions of contribution ways and management; each menu item's support; each
satisfaction question (dimension), building and renovation item — must differ from the
figures before the owner answered by exactly one respondent with the second answers: never
the first, never both. (The surveys' breakdowns are per building: none is per entrance.)
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building
from participation.surveys import menu
from participation.surveys.models import MenuItem, SurveyPersonDwelling

MENU_ITEMS = (
    ("供水", "1000000.00", "0.00"),
    ("绿化", "300000.00", "60000.00"),
    ("照明", "200000.00", "20000.00"),
    ("适老设施", "180000.00", "36000.00"),
    ("助餐", "200000.00", "48000.00"),
)
RATED = (  # (dimension, renovation item or None)
    ("改造内容", "绿化"),
    ("施工过程", None),
    ("工程质量", "照明"),
    ("长效管理", None),
)


def iso(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


def item_id(name: str) -> int:
    menu.ensure_catalogue()
    return _db.session.scalar(
        sa.select(MenuItem.id).where(MenuItem.name == name, MenuItem.district_id.is_(None))
    )


@pytest.fixture
def case(client, sample_compound, make_staff, sign_in, owner_account):
    staff = sign_in(make_staff(Role.COMPOUND, sample_compound.id))
    base = f"/api/v1/compounds/{sample_compound.id}/surveys"
    times = {"opens_at": iso(timedelta(minutes=-1)), "closes_at": iso(timedelta(days=7))}

    def opened(survey: dict) -> dict:
        url = f"/api/v1/surveys/{survey['id']}/open"
        response = client.post(url, json={"confirm_unknown_owners": True}, headers=staff)
        assert response.status_code == 200, response.json
        return response.json

    def from_template(name: str) -> dict:
        response = client.post(
            f"{base}/from-template", json={"template": name, **times}, headers=staff
        )
        assert response.status_code == 201, response.json
        return response.json

    consent_survey = opened(from_template("consent"))
    menu_draft = from_template("menu")
    body = {
        "items": [
            {"menu_item_id": item_id(name), "estimated_cost": cost, "residents_part": part}
            for name, cost, part in MENU_ITEMS
        ],
        "min_items": 1,
        "max_items": 3,
    }
    response = client.put(f"/api/v1/surveys/{menu_draft['id']}/menu", json=body, headers=staff)
    assert response.status_code == 200, response.json
    menu_survey = opened(menu_draft)
    menu_view = client.get(f"/api/v1/surveys/{menu_survey['id']}/menu", headers=staff).json
    menu_options = {
        item["name"]: item["option_id"] for tier in menu_view["tiers"] for item in tier["items"]
    }
    questions = [
        {
            "type": "satisfaction",
            "text": f"您对{dimension}是否满意？",
            "dimension": dimension,
            "menu_item_id": item_id(item) if item else None,
        }
        for dimension, item in RATED
    ]
    questions.append({"type": "text", "text": "意见或建议", "required": False})
    response = client.post(
        base,
        json={
            "kind": "satisfaction",
            "title": "满意度评价",
            "basis": "resident",
            "anonymous": True,
            "questions": questions,
            **times,
        },
        headers=staff,
    )
    assert response.status_code == 201, response.json
    satisfaction_survey = opened(response.json)

    class Case:
        compound = sample_compound
        owner = owner_account(sample_compound, "2栋1单元101")
        other = owner_account(sample_compound, "1栋1单元102")

        @staticmethod
        def answer(account, survey: dict, answers: list[dict]) -> dict:
            response = client.post(
                f"/api/v1/surveys/{survey['id']}/responses",
                json={"answers": answers},
                headers=sign_in(account),
            )
            assert response.status_code == 201, response.json
            return response.json

        @staticmethod
        def consent(account, agree: bool, ways: tuple[str, ...], management: str) -> dict:
            q = consent_survey["questions"]

            def option(question: dict, value: str) -> int:
                return next(o["id"] for o in question["options"] if o["value"] == value)

            answers = [
                {
                    "question_id": q[0]["id"],
                    "option_ids": [option(q[0], "agree" if agree else "disagree")],
                },
                {"question_id": q[2]["id"], "option_ids": [option(q[2], management)]},
            ]
            if ways:
                answers.append(
                    {"question_id": q[1]["id"], "option_ids": [option(q[1], w) for w in ways]}
                )
            return Case.answer(account, consent_survey, answers)

        @staticmethod
        def menu(account, names: tuple[str, ...]) -> dict:
            question_id = menu_view["question_id"]
            chosen = [menu_options[name] for name in names]
            return Case.answer(
                account, menu_survey, [{"question_id": question_id, "option_ids": chosen}]
            )

        @staticmethod
        def satisfaction(account, values: tuple[str, ...], comment: str | None = None) -> dict:
            q = satisfaction_survey["questions"]
            answers = [
                {
                    "question_id": question["id"],
                    "option_ids": [
                        next(o["id"] for o in question["options"] if o["value"] == value)
                    ],
                }
                for question, value in zip(q, values, strict=False)
            ]
            if comment:
                answers.append({"question_id": q[-1]["id"], "text": comment})
            return Case.answer(account, satisfaction_survey, answers)

        @staticmethod
        def results() -> dict:
            def get(url: str) -> dict:
                response = client.get(url, headers=staff)
                assert response.status_code == 200, response.json
                return response.json

            return {
                "consent": get(f"/api/v1/surveys/{consent_survey['id']}/consent"),
                "menu": get(f"/api/v1/surveys/{menu_survey['id']}/menu/result"),
                "satisfaction": get(f"/api/v1/surveys/{satisfaction_survey['id']}/satisfaction"),
            }

    Case.consent_id = consent_survey["id"]
    return Case


# Figures as numbers, keyed so that before and after can be compared ------------------------


def consent_figures(view: dict) -> dict:
    """(scope, figure) → number: the gate's totals, every building's, every distribution's."""
    figures = {}

    def add(scope, part: dict) -> None:
        for key in ("t_cnt", "p_cnt", "y_cnt"):
            figures[scope, key] = part[key]
        for key in ("t_area", "p_area", "y_area"):
            figures[scope, key] = Decimal(part[key])
        for a in part["answers"]:
            figures[scope, a["value"]] = a["count"]
            figures[scope, a["value"] + "_area"] = Decimal(a["area"])

    add("gate", view)
    for building in view["buildings"]:
        add(building["name"], building)
    for name in ("contributions", "management"):
        for dist in view[name]:
            figures[name, "respondents"] = dist["respondents"]
            for o in dist["options"]:
                figures[name, o["value"]] = o["count"]
                figures[name, o["value"] + "_area"] = Decimal(o["area"])
    return figures


def menu_figures(result: dict) -> dict:
    figures = {"respondents": result["respondents"]}
    figures["respondents_area"] = Decimal(result["respondents_area"])
    for item in result["items"]:
        figures[item["name"]] = item["support_count"]
        figures[item["name"] + "_area"] = Decimal(item["support_area"])
    return figures


def satisfaction_figures(result: dict) -> dict:
    """(where, value) → count, where: overall, each question, building, building × question,
    and renovation item."""
    figures = {("responses", ""): result["responses"]}

    def add(scope, part: dict) -> None:
        for value, count in part["counts"].items():
            figures[scope, value] = count

    add("overall", result["overall"])
    for d in result["dimensions"]:
        add(d["dimension"], d)
    for b in result["buildings"]:
        add(b["name"], b)
        for d in b["dimensions"]:
            add((b["name"], d["dimension"]), d)
    for item in result["items"]:
        add(("item", item["name"]), item)
    return figures


def difference(after: dict, before: dict) -> dict:
    """after − before, for every key of either (a missing key counts as zero); zeros left out."""
    zero = defaultdict(int)
    diff = {}
    for key in after.keys() | before.keys():
        change = after.get(key, zero[key]) - before.get(key, zero[key])
        if change:
            diff[key] = change
    return diff


def test_a_replaced_answer_counts_once_with_the_latest_answer(case):
    other = case.other
    case.consent(other, agree=True, ways=("direct",), management="professional")
    case.menu(other, ("供水", "绿化"))
    case.satisfaction(other, ("satisfied", "satisfied", "basic", "unknown"), "很好")
    before = case.results()

    owner = case.owner
    first = case.consent(owner, agree=False, ways=("direct", "labour"), management="professional")
    assert first["revision"] == 1
    case.menu(owner, ("供水", "绿化", "助餐"))
    case.satisfaction(owner, ("dissatisfied",) * 4, "还不行")
    second = case.consent(owner, agree=True, ways=("public_income",), management="self_managed")
    assert (second["revision"], second["replaced"]) == (2, True)
    assert case.menu(owner, ("照明", "适老设施"))["replaced"]
    replaced = case.satisfaction(owner, ("satisfied", "basic", "dissatisfied", "unknown"))
    assert replaced["replaced"]
    after = case.results()

    # The owner's person: its area, and its area in each building where it has dwellings.
    person_id = second["person_id"]
    places = _db.session.execute(
        sa.select(Building.name, sa.func.sum(SurveyPersonDwelling.area))
        .join(Building, Building.id == SurveyPersonDwelling.building_id)
        .where(
            SurveyPersonDwelling.survey_id == case.consent_id,
            SurveyPersonDwelling.person_id == person_id,
        )
        .group_by(Building.name)
    ).all()
    assert places  # 2栋
    area = sum((a for _, a in places), Decimal("0.00"))

    # Consent: one more participant, agreeing (the second answer), with the person's area —
    # in the whole scope and in each of the person's buildings; T unchanged.
    expected = {}
    for scope, scope_area in [("gate", area), *places]:
        expected.update(
            {
                (scope, "p_cnt"): 1,
                (scope, "y_cnt"): 1,
                (scope, "agree"): 1,
                (scope, "p_area"): scope_area,
                (scope, "y_area"): scope_area,
                (scope, "agree_area"): scope_area,
            }
        )
    expected.update(
        {
            ("contributions", "respondents"): 1,
            ("contributions", "public_income"): 1,
            ("contributions", "public_income_area"): area,
            ("management", "respondents"): 1,
            ("management", "self_managed"): 1,
            ("management", "self_managed_area"): area,
        }
    )
    assert difference(consent_figures(after["consent"]), consent_figures(before["consent"])) == (
        expected
    )
    assert after["consent"]["p_cnt"] == before["consent"]["p_cnt"] + 1

    # Menu: one more respondent, supporting only 照明 and 适老设施.
    assert difference(menu_figures(after["menu"]), menu_figures(before["menu"])) == {
        "respondents": 1,
        "respondents_area": area,
        "照明": 1,
        "照明_area": area,
        "适老设施": 1,
        "适老设施_area": area,
    }

    # Satisfaction: one more response; each question, the owner's building (2栋) and each
    # renovation item count the second answers once.
    latest = dict(
        zip([d for d, _ in RATED], ("satisfied", "basic", "dissatisfied", "unknown"), strict=True)
    )
    expected = {("responses", ""): 1}
    for dimension, value in latest.items():
        for key in ("overall", dimension, "2栋", ("2栋", dimension)):
            expected[key, value] = expected.get((key, value), 0) + 1
    for dimension, item in RATED:
        if item:
            expected[("item", item), latest[dimension]] = 1
    diff = difference(
        satisfaction_figures(after["satisfaction"]), satisfaction_figures(before["satisfaction"])
    )
    assert diff == expected
