"""菜单式改造: the catalogue, a compound's menu, what an item costs a household, the result
(应改尽改, adoption threshold, budget cap) and the draft renovation list (改造内容清单)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Compound
from participation.surveys import menu, tallies
from participation.surveys.cli import surveys_cli
from participation.surveys.exports import XLSX_TYPE
from participation.surveys.models import (
    Answer,
    MenuItem,
    MenuTier,
    RespondentBasis,
    Response,
    Survey,
    SurveyKind,
    SurveyMenuItem,
    SurveyPersonDwelling,
    SurveyStatus,
)
from participation.surveys.services import open_survey

MENU_URL = "/api/v1/surveys/{}/menu"


# Helpers ----------------------------------------------------------------------------------


def item_id(name: str, district_id: int | None = None) -> int:
    menu.ensure_catalogue()
    return _db.session.scalar(sa.select(MenuItem.id).filter_by(name=name, district_id=district_id))


def entry(name: str, cost: str, part: str, **extra) -> dict:
    return {"menu_item_id": item_id(name), "estimated_cost": cost, "residents_part": part, **extra}


def menu_body(entries: list[dict], **fields) -> dict:
    return {"items": entries, "min_items": 0, "max_items": len(entries), **fields}


@pytest.fixture
def committee(make_staff, sign_in):
    """``committee(compound)`` → headers of that compound's committee."""
    return lambda compound: sign_in(make_staff(Role.COMPOUND, compound.id))


@pytest.fixture
def menu_survey(client, make_survey, committee):
    """``menu_survey(compound, body, open=True, **survey_fields)`` → a menu survey whose menu
    was set through the API (then opened: the owner electorate frozen)."""

    def make(compound, body: dict, open: bool = True, **fields) -> Survey:
        survey = make_survey(compound, SurveyKind.MENU, **fields)
        response = client.put(MENU_URL.format(survey.id), json=body, headers=committee(compound))
        assert response.status_code == 200, response.json
        _db.session.expire_all()
        if open:
            open_survey(survey, confirm_unknown_owners=True)
            _db.session.flush()
        return survey

    return make


def answer(survey: Survey, respondent: str, names: list[str]) -> None:
    """A response choosing the menu items ``names``, written directly with the models.
    Owner basis: ``respondent`` is a dwelling label of the person; resident basis: any key."""
    question = menu.menu_question(survey)
    options = {option.label: option.id for option in question.options}
    if survey.basis is RespondentBasis.OWNER:
        person_id = _db.session.scalar(
            sa.select(SurveyPersonDwelling.person_id).filter_by(
                survey_id=survey.id, label=respondent
            )
        )
        key = f"person:{person_id}"
    else:
        person_id, key = None, f"account:{respondent}"
    response = Response(
        survey_id=survey.id, respondent_key=key, person_id=person_id, submitted_at=utcnow()
    )
    response.answers = [Answer(question_id=question.id, option_id=options[n]) for n in names]
    _db.session.add(response)
    _db.session.flush()
    tallies.rebuild(survey)


def _compound_of(survey: Survey) -> Compound:
    return _db.session.get(Compound, survey.compound_id)


def by_name(result: dict) -> dict[str, dict]:
    return {item["name"]: item for item in result["items"]}


# The catalogue ----------------------------------------------------------------------------


def test_catalogue_is_the_policy_list_seeded_once(db):
    assert menu.seed_catalogue() == 38
    assert menu.seed_catalogue() == 0  # idempotent
    items = db.session.scalars(
        sa.select(MenuItem).where(MenuItem.district_id.is_(None)).order_by(MenuItem.position)
    ).all()
    assert [i.position for i in items] == list(range(1, 39))
    tiers = [i.tier for i in items]
    assert (
        tiers == [MenuTier.BASIC] * 14 + [MenuTier.IMPROVEMENT] * 14 + [MenuTier.ENHANCEMENT] * 10
    )
    names = [i.name for i in items]
    assert names[:3] == ["供水", "排水", "供电"]
    assert names[12:14] == ["架空线规整(入地)", "屋面/外墙/楼梯等公共部位维修"]
    assert names[27] == "加装电梯" and names[-1] == "邮政快递末端综合服务站"


def test_seed_catalogue_command_is_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(surveys_cli, ["seed-catalogue"])
    second = runner.invoke(surveys_cli, ["seed-catalogue"])
    assert first.exit_code == 0 and "新增 38 项" in first.output
    assert second.exit_code == 0 and "新增 0 项" in second.output


def test_catalogue_is_listed_to_staff_and_seeded_on_first_use(
    client, make_compound, make_staff, make_account, sign_in
):
    staff = sign_in(make_staff(Role.COMPOUND, make_compound().id))
    response = client.get("/api/v1/menu-items?page_size=100", headers=staff)
    assert response.status_code == 200
    assert len(response.json) == 38
    assert response.json[0] | {"id": 0} == {
        "id": 0,
        "district_id": None,
        "tier": "basic",
        "tier_label": "基础类",
        "name": "供水",
        "description": "",
        "position": 1,
    }
    enhancement = client.get("/api/v1/menu-items?tier=enhancement", headers=staff).json
    assert [i["name"] for i in enhancement][:3] == ["社区综合服务设施", "卫生服务站", "幼儿园"]
    assert len(enhancement) == 10
    assert client.get("/api/v1/menu-items", headers=sign_in(make_account())).status_code == 403
    bad = client.get("/api/v1/menu-items?tier=luxury", headers=staff)
    assert bad.status_code == 422 and "tier" in bad.json["errors"]


def test_district_adds_its_own_items_within_its_scope(client, make_compound, make_staff, sign_in):
    compound = make_compound()
    district_id = compound.community.street.district_id
    other = make_compound()  # another district
    url = f"/api/v1/districts/{district_id}/menu-items"
    district_staff = sign_in(make_staff(Role.DISTRICT, district_id))
    body = {"tier": "improvement", "name": " 口袋公园 ", "description": "利用边角地"}

    created = client.post(url, json=body, headers=district_staff)
    assert created.status_code == 201
    assert created.json["district_id"] == district_id and created.json["name"] == "口袋公园"
    again = client.post(url, json=body, headers=district_staff)
    assert again.status_code == 409 and again.json["code"] == "menu_item_exists"
    policy = client.post(url, json={"tier": "basic", "name": "供水"}, headers=district_staff)
    assert policy.status_code == 409 and policy.json["code"] == "menu_item_exists"
    bad = client.post(url, json={"tier": "gold", "name": ""}, headers=district_staff)
    assert bad.status_code == 422 and {"tier", "name"} <= set(bad.json["errors"])

    # Another district's staff, and a compound committee inside the district, cannot add.
    other_district = sign_in(make_staff(Role.DISTRICT, other.community.street.district_id))
    for headers in (other_district, sign_in(make_staff(Role.COMPOUND, compound.id))):
        response = client.post(url, json={"tier": "basic", "name": "另一项"}, headers=headers)
        assert response.status_code == 404
    assert (
        _db.session.scalar(
            sa.select(sa.func.count()).select_from(MenuItem).filter_by(district_id=district_id)
        )
        == 1
    )

    # The compound's committee lists its district's items; another district's staff cannot.
    listed = client.get(
        f"/api/v1/menu-items?district_id={district_id}&tier=improvement&page_size=100",
        headers=sign_in(make_staff(Role.COMPOUND, compound.id)),
    )
    assert "口袋公园" in [i["name"] for i in listed.json] and len(listed.json) == 15
    hidden = client.get(f"/api/v1/menu-items?district_id={district_id}", headers=other_district)
    assert hidden.status_code == 404


# Setting a menu ---------------------------------------------------------------------------


def test_menu_becomes_the_options_of_the_menu_question(
    client, sample_compound, make_survey, committee
):
    survey = make_survey(sample_compound, SurveyKind.MENU)
    district_id = sample_compound.community.street.district_id
    own = MenuItem(district_id=district_id, tier=MenuTier.ENHANCEMENT, name="共享厨房", position=99)
    _db.session.add(own)
    _db.session.flush()
    body = menu_body(
        [
            entry("加装电梯", "400000.00", "200000.00"),
            entry("供水", "300000", "30000.5", per_household="120.00"),
            {"menu_item_id": own.id, "estimated_cost": "1000.00", "residents_part": "0"},
        ],
        min_items=1,
        max_items=2,
        budget_cap="650000.00",
        adoption={"numerator": 2, "denominator": 3, "strict": False},
    )
    response = client.put(MENU_URL.format(survey.id), json=body, headers=committee(sample_compound))
    assert response.status_code == 200, response.json
    view = response.json
    assert [(t["tier"], t["label"], [i["name"] for i in t["items"]]) for t in view["tiers"]] == [
        ("basic", "基础类", ["供水"]),
        ("improvement", "完善类", ["加装电梯"]),
        ("enhancement", "提升类", ["共享厨房"]),
    ]
    water = view["tiers"][0]["items"][0]
    assert (water["estimated_cost"], water["residents_part"], water["per_household"]) == (
        "300000.00",
        "30000.50",
        "120.00",
    )
    assert water["my_cost"] is None and view["household"] is None  # staff
    assert (view["min_items"], view["max_items"], view["budget_cap"]) == (1, 2, "650000.00")
    assert view["adoption"] == {"numerator": 2, "denominator": 3, "strict": False}
    assert (view["estimated_cost"], view["residents_part"]) == ("701000.00", "230000.50")

    _db.session.expire_all()
    question = menu.menu_question(survey)
    assert (question.min_choices, question.max_choices) == (1, 2)
    entries = {e.id: e.menu_item.name for e in menu.menu_entries(survey)}
    assert [(o.position, o.label, entries[o.survey_menu_item_id]) for o in question.options] == [
        (1, "供水", "供水"),
        (2, "加装电梯", "加装电梯"),
        (3, "共享厨房", "共享厨房"),
    ]
    assert water["option_id"] == question.options[0].id

    # Setting it again replaces items and options.
    body = menu_body([entry("绿化", "100.00", "10.00")])
    assert (
        client.put(
            MENU_URL.format(survey.id), json=body, headers=committee(sample_compound)
        ).status_code
        == 200
    )
    _db.session.expire_all()
    assert [o.label for o in menu.menu_question(survey).options] == ["绿化"]
    assert (
        _db.session.scalar(
            sa.select(sa.func.count()).select_from(SurveyMenuItem).filter_by(survey_id=survey.id)
        )
        == 1
    )


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"items": [{"residents_part": "500.00"}]}, "validation_error", "items"),
        ({"items": [{"estimated_cost": "100.001"}]}, "validation_error", "items"),
        ({"items": [{"residents_part": "-1.00"}]}, "validation_error", "items"),
        ({"items": [{"per_household": "1e-3"}]}, "validation_error", "items"),
        ({"min_items": 2, "max_items": 1}, "validation_error", "max_items"),
        ({"max_items": 3}, "validation_error", "max_items"),
        ({"min_items": -1}, "validation_error", "max_items"),
        ({"budget_cap": "12.345"}, "validation_error", "budget_cap"),
        (
            {"adoption": {"numerator": 3, "denominator": 2, "strict": True}},
            "validation_error",
            "adoption",
        ),
        ({"items": [{"menu_item_id": 0}]}, "menu_item_invalid", "items"),
        ({"items": [{}, {"name": "供水"}]}, "validation_error", "items"),  # the same item twice
        ({"items": []}, "validation_error", "items"),
    ],
)
def test_bad_menu_is_rejected_and_changes_nothing(
    client, sample_compound, make_survey, committee, change, code, field
):
    survey = make_survey(sample_compound, SurveyKind.MENU)
    headers = committee(sample_compound)
    good = menu_body([entry("供水", "300.00", "100.00"), entry("绿化", "200.00", "0.00")])
    assert client.put(MENU_URL.format(survey.id), json=good, headers=headers).status_code == 200
    body = {**good, **{k: v for k, v in change.items() if k != "items"}}
    if "items" in change:
        items = [dict(good["items"][0])] if change["items"] else []
        for index, patch in enumerate(change["items"]):
            if "name" in patch:
                items.append(entry(patch["name"], "1.00", "0.00"))
            else:
                items[index].update(patch)
        body["items"] = items
        body["max_items"] = min(body["max_items"], len(items))

    response = client.put(MENU_URL.format(survey.id), json=body, headers=headers)
    assert response.status_code == 422, response.json
    assert response.json["code"] == code and field in response.json["errors"]
    assert all("\u4e00" <= ch <= "\u9fff" for ch in response.json["message"][:2])
    shown = client.get(MENU_URL.format(survey.id), headers=headers).json
    assert [i["name"] for t in shown["tiers"] for i in t["items"]] == ["供水", "绿化"]


def test_menu_items_of_another_district_are_invalid(
    client, sample_compound, make_compound, make_survey, committee
):
    elsewhere = make_compound().community.street.district_id
    theirs = MenuItem(district_id=elsewhere, tier=MenuTier.BASIC, name="别区项目")
    _db.session.add(theirs)
    _db.session.flush()
    survey = make_survey(sample_compound, SurveyKind.MENU)
    body = menu_body([{"menu_item_id": theirs.id, "estimated_cost": "1", "residents_part": "0"}])
    response = client.put(MENU_URL.format(survey.id), json=body, headers=committee(sample_compound))
    assert response.status_code == 422
    assert response.json["code"] == "menu_item_invalid"
    assert response.json["errors"] == {
        "items": {"0": {"menu_item_id": ["改造项目不存在，或不属于本小区所在区的清单"]}}
    }


def test_only_a_draft_menu_survey_takes_a_menu(
    client, sample_compound, make_survey, menu_survey, committee, owner_account, sign_in
):
    headers = committee(sample_compound)
    body = menu_body([entry("供水", "300.00", "100.00")])
    opened = menu_survey(sample_compound, body)
    response = client.put(MENU_URL.format(opened.id), json=body, headers=headers)
    assert response.status_code == 409 and response.json["code"] == "survey_not_draft"
    consent = make_survey(sample_compound, SurveyKind.CONSENT)
    response = client.put(MENU_URL.format(consent.id), json=body, headers=headers)
    assert response.status_code == 409 and response.json["code"] == "not_a_menu_survey"
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    assert client.put(MENU_URL.format(opened.id), json=body, headers=resident).status_code == 403
    draft = make_survey(sample_compound, SurveyKind.MENU)
    assert client.get(MENU_URL.format(draft.id), headers=resident).status_code == 404


def test_neighbours_cannot_see_a_menu(
    client, sample_compound, make_compound, menu_survey, committee
):
    survey = menu_survey(sample_compound, menu_body([entry("供水", "300.00", "100.00")]))
    neighbour = committee(make_compound(community=sample_compound.community))
    for url in ("", "/result", "/result.xlsx"):
        assert client.get(MENU_URL.format(survey.id) + url, headers=neighbour).status_code == 404


# What an item costs a household -----------------------------------------------------------


def test_household_cost_is_the_area_share_to_the_fen(
    client, sample_compound, menu_survey, owner_account, sign_in
):
    # Building 1 only: 24 persons, 1808.15 m². 1栋1单元101 is one person of 68.45 m².
    # 绿化's residents' part 50000.00 split by area: 50000 × 68.45 / 1808.15 = 1892.8186… yuan.
    # To the fen: every person first gets the whole fen of the exact share; the floors are
    # 11 × 1892.81 (68.45 m²) + 1935.68 (70.00 m²) + 12 × 2270.27 (82.10 m²) = 49999.83, so 17
    # fen are left and go to the largest remainders: the eleven 68.45 m² persons (.86 fen)
    # and six of the twelve 82.10 m² persons (.62 fen). 1栋1单元101 pays 1892.82.
    # 供水 has a fixed amount per household: 300.00.
    body = menu_body(
        [
            entry("绿化", "80000.00", "50000.00"),
            entry("供水", "100000.00", "24000.00", per_household="300.00"),
        ]
    )
    survey = menu_survey(sample_compound, body, buildings=("1",))
    assert (survey.t_cnt, survey.t_area) == (24, Decimal("1808.15"))
    account = owner_account(sample_compound, "1栋1单元101")
    view = client.get(MENU_URL.format(survey.id), headers=sign_in(account)).json
    costs = {i["name"]: i["my_cost"] for t in view["tiers"] for i in t["items"]}
    assert costs == {"绿化": "1892.82", "供水": "300.00"}
    assert view["household"] == {"persons": 1, "area": "68.45", "labels": ["1栋1单元101"]}

    # Every household of the scope: the shares sum exactly to the residents' part.
    green = next(e for e in menu.menu_entries(survey) if e.menu_item.name == "绿化")
    labels = _db.session.scalars(
        sa.select(SurveyPersonDwelling.label).filter_by(survey_id=survey.id)
    ).all()
    shares = []
    for label in labels:
        household = menu.household_of(survey, owner_account(sample_compound, label).id)
        shares.append(menu.household_cost(green, household))
    assert len(shares) == 24
    assert sum(shares) == Decimal("50000.00")
    assert sorted(set(shares)) == [Decimal(s) for s in ("1892.82", "1935.68", "2270.27", "2270.28")]


def test_household_cost_on_a_resident_basis_survey_uses_the_roster(
    client, sample_compound, menu_survey, owner_account, make_account, sign_in
):
    # The whole compound: 45 persons, 3622.29 m². 2栋1单元202 belongs to 徐丽华, who also owns
    # 1栋2单元501: one person of 68.45 + 91.36 = 159.81 m².
    # 36222.90 × 159.81 / 3622.29 = 1598.10 exactly (3622.29 × 10 = 36222.90).
    body = menu_body([entry("照明", "50000.00", "36222.90")])
    survey = menu_survey(sample_compound, body, basis=RespondentBasis.RESIDENT)
    account = owner_account(sample_compound, "2栋1单元202")
    view = client.get(MENU_URL.format(survey.id), headers=sign_in(account)).json
    assert view["tiers"][0]["items"][0]["my_cost"] == "1598.10"
    assert view["household"]["area"] == "159.81"
    assert sorted(view["household"]["labels"]) == ["1栋2单元501", "2栋1单元202"]
    # An account with nothing in the compound does not see the survey at all.
    outsider = client.get(MENU_URL.format(survey.id), headers=sign_in(make_account()))
    assert outsider.status_code == 404  # not their compound


# The result -------------------------------------------------------------------------------

# The hand-computed example: 10 respondents of the sample compound, budget cap 800000.00,
# threshold: more than half of the respondents (strictly more than 5 of 10).
#
#   item (tier)            cost       supporters (dwelling of the person)         count  area
#   消防 (basic)           200000.00  r1–r7                                          7
#   供水 (basic)           300000.00  r1–r4                                          4
#   加装电梯 (improvement) 400000.00  r1–r8                                          8
#   养老 (enhancement)     150000.00  r2–r8                                          7
#   绿化 (improvement)     120000.00  r1 r2 r3 r4 r5 r7                              6  429.35
#   照明 (improvement)      50000.00  r2 r4 r6 r8 r9 r10                             6  488.82
#   停车泊位… (improvement) 80000.00  r1–r5                                          5
#
# r1 1栋1单元101 68.45, r2 1栋1单元102 82.10, r3 1栋1单元201 68.45, r4 1栋1单元202 82.10,
# r5 1栋1单元301 68.45, r6 1栋1单元302 82.10, r7 2栋1单元101 59.80, r8 2栋1单元102 91.36,
# r9 2栋1单元201 59.80, r10 2栋1单元302 91.36: respondents' area 753.97 m².
# 绿化 area 68.45·3 + 82.10·2 + 59.80 = 429.35; 照明 82.10·3 + 91.36·2 + 59.80 = 488.82.
#
# Adopted (count > 10/2): 加装电梯 8, 养老 7, 绿化 6, 照明 6; 停车 5 is exactly half: not adopted.
# Fitting (basic first by support, then adopted by support, ties by area):
#   消防 200000 → used 200000; 供水 300000 → used 500000, 300000 left (basic: always in)
#   加装电梯 400000 > 300000 → over budget
#   养老 150000 ≤ 300000 → in, 150000 left
#   照明 (6, 488.82 m² beats 绿化's 429.35) 50000 ≤ 150000 → in, 100000 left
#   绿化 120000 > 100000 → over budget
# Included: 消防, 供水, 养老, 照明 = 700000.00 (residents 70000.00); over budget: 加装电梯, 绿化.
EXAMPLE_ITEMS = [
    ("消防", "200000.00", "20000.00"),
    ("供水", "300000.00", "30000.00"),
    ("加装电梯", "400000.00", "200000.00"),
    ("养老", "150000.00", "15000.00"),
    ("绿化", "120000.00", "12000.00"),
    ("照明", "50000.00", "5000.00"),
    ("停车泊位及停车库(场)", "80000.00", "40000.00"),
]
PARKING = "停车泊位及停车库(场)"
EXAMPLE_ANSWERS = {
    "1栋1单元101": ["消防", "供水", "加装电梯", "绿化", PARKING],
    "1栋1单元102": ["消防", "供水", "加装电梯", "养老", "绿化", "照明", PARKING],
    "1栋1单元201": ["消防", "供水", "加装电梯", "养老", "绿化", PARKING],
    "1栋1单元202": ["消防", "供水", "加装电梯", "养老", "绿化", "照明", PARKING],
    "1栋1单元301": ["消防", "加装电梯", "养老", "绿化", PARKING],
    "1栋1单元302": ["消防", "加装电梯", "养老", "照明"],
    "2栋1单元101": ["消防", "加装电梯", "养老", "绿化"],
    "2栋1单元102": ["加装电梯", "养老", "照明"],
    "2栋1单元201": ["照明"],
    "2栋1单元302": ["照明"],
}


@pytest.fixture
def example(sample_compound, menu_survey):
    body = menu_body([entry(*item) for item in EXAMPLE_ITEMS], budget_cap="800000.00")
    body["max_items"] = 7
    survey = menu_survey(sample_compound, body)
    for label, names in EXAMPLE_ANSWERS.items():
        answer(survey, label, names)
    return survey


def test_budget_cap_example_gives_the_hand_computed_list(client, example, committee):
    headers = committee(_compound_of(example))
    response = client.get(MENU_URL.format(example.id) + "/result", headers=headers)
    assert response.status_code == 200, response.json
    result = response.json
    names = {item["id"]: item["name"] for item in result["items"]}
    assert [names[i] for i in result["included"]] == ["消防", "供水", "养老", "照明"]
    assert [names[i] for i in result["over_budget"]] == ["加装电梯", "绿化"]
    assert [(i["name"], i["status"], i["priority"]) for i in result["items"]] == [
        ("消防", "basic", 1),
        ("供水", "basic", 2),
        ("加装电梯", "over_budget", None),
        ("养老", "included", 3),
        ("照明", "included", 4),
        ("绿化", "over_budget", None),
        (PARKING, "not_adopted", None),
    ]
    assert result["final"] is False
    assert (result["respondents"], result["respondents_area"]) == (10, "753.97")
    assert result["threshold"] == {
        "numerator": 1,
        "denominator": 2,
        "strict": True,
        "label": "过半数",
    }
    assert (result["budget_cap"], result["budget_used"], result["budget_left"]) == (
        "800000.00",
        "700000.00",
        "100000.00",
    )
    assert result["cap_exceeded"] is False
    assert result["included_residents_part"] == "70000.00"
    items = by_name(result)
    assert items["消防"]["note"] == "应改尽改" and items["消防"]["basic"] is True
    light, green = items["照明"], items["绿化"]
    assert (light["support_count"], light["support_area"]) == (6, "488.82")
    assert light["support"] == {
        "count": {"numerator": 6, "denominator": 10, "percent": "60.00"},
        "area": {"numerator": "488.82", "denominator": "753.97", "percent": "64.83"},
    }
    assert (green["support_area"], green["support"]["area"]["percent"]) == ("429.35", "56.95")
    assert items[PARKING]["support"]["count"]["percent"] == "50.00"
    assert items[PARKING]["adopted"] is False


def test_threshold_boundary_exactly_half(example):
    # 停车 has 5 of 10: 2·5 > 10 fails (过半数); 2·5 ≥ 10 passes (半数以上).
    assert by_name(menu.menu_result(example))[PARKING]["adopted"] is False
    example.adoption_strict = False
    result = menu.menu_result(example)
    assert result["threshold"]["label"] == "半数以上（含半数）"
    assert by_name(result)[PARKING]["adopted"] is True
    # 2/3, at least: 7 of 10 passes (3·7 = 21 ≥ 20), 6 of 10 fails (18 < 20).
    example.adoption_numerator, example.adoption_denominator = 2, 3
    items = by_name(menu.menu_result(example))
    assert items["养老"]["adopted"] is True and items["照明"]["adopted"] is False
    # Without a cap every adopted item is included.
    example.budget_cap = None
    result = menu.menu_result(example)
    assert [by_name(result)[n]["status"] for n in ("加装电梯", "养老", "绿化")] == [
        "included",
        "included",
        "not_adopted",
    ]
    assert (result["budget_cap"], result["budget_left"]) == (None, None)


def test_basic_items_are_included_even_over_the_cap(example):
    # Cap 400000.00: 消防 200000 + 供水 300000 = 500000 already exceed it. Both are still in
    # (应改尽改); no adopted item fits what is left (−100000).
    example.budget_cap = Decimal("400000.00")
    result = menu.menu_result(example)
    names = {item["id"]: item["name"] for item in result["items"]}
    assert [names[i] for i in result["included"]] == ["消防", "供水"]
    assert [names[i] for i in result["over_budget"]] == ["加装电梯", "养老", "照明", "绿化"]
    assert result["cap_exceeded"] is True
    assert (result["budget_used"], result["budget_left"]) == ("500000.00", "-100000.00")


def test_result_is_final_after_closing_and_headcount_only_for_residents(
    sample_compound, menu_survey
):
    body = menu_body([entry("供水", "10.00", "0.00"), entry("绿化", "10.00", "0.00")])
    survey = menu_survey(sample_compound, body, basis=RespondentBasis.RESIDENT)
    for key, names in (("1", ["绿化"]), ("2", ["绿化", "供水"]), ("3", [])):
        answer(survey, key, names)
    result = menu.menu_result(survey)
    green = by_name(result)["绿化"]
    assert (result["respondents"], result["respondents_area"]) == (3, None)
    assert (green["support_count"], green["support_area"], green["support"]["area"]) == (
        2,
        None,
        None,
    )
    assert green["adopted"] is True  # 2 of 3
    assert result["final"] is False
    survey.status = SurveyStatus.CLOSED
    assert menu.menu_result(survey)["final"] is True


def test_draft_renovation_list_exports_as_xlsx(client, example, committee):
    response = client.get(
        MENU_URL.format(example.id) + "/result.xlsx", headers=committee(_compound_of(example))
    )
    assert response.status_code == 200
    assert response.mimetype == XLSX_TYPE
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition and ".xlsx" in disposition
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["改造内容清单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "类别",
        "项目",
        "估算投资",
        "居民出资",
        "支持人数",
        "支持率",
        "支持面积",
        "是否纳入",
        "说明",
    )
    assert rows[1] == (
        "基础类",
        "消防",
        200000,
        20000,
        7,
        "70.00%",
        511.45,
        "是",
        "第 1 优先；应改尽改",
    )
    assert [(r[1], r[7]) for r in rows[1:8]] == [
        ("消防", "是"),
        ("供水", "是"),
        ("加装电梯", "否"),
        ("养老", "是"),
        ("照明", "是"),
        ("绿化", "否"),
        (PARKING, "否"),
    ]
    assert rows[3][8] == "达到采纳门槛，超出预算上限"
    assert rows[8][:4] == ("合计", "纳入 4 项", 700000, 70000)
    info = dict(book["说明"].iter_rows(min_row=2, values_only=True))
    assert info["参与人数"] == 10 and info["采纳门槛（完善类、提升类）"] == "过半数"


def test_anonymous_owner_survey_counts_support_by_headcount_only(sample_compound, menu_survey):
    survey = menu_survey(
        sample_compound, menu_body([entry("绿化", "10.00", "0.00")]), anonymous=True
    )
    answer(survey, "1栋1单元101", ["绿化"])
    _db.session.execute(  # as the engine stores an anonymous response
        sa.update(Response).where(Response.survey_id == survey.id).values(person_id=None)
    )
    result = menu.menu_result(survey)
    assert (result["respondents_area"], result["items"][0]["support_area"]) == (None, None)
    assert result["items"][0]["support"]["count"]["percent"] == "100.00"


def test_answers_through_the_engine_choose_menu_items(
    client, sample_compound, menu_survey, committee, owner_account, sign_in
):
    body = menu_body(
        [
            entry("供水", "300.00", "30.00"),
            entry("绿化", "200.00", "20.00"),
            entry("照明", "1", "0"),
        ],
        min_items=1,
        max_items=2,
    )
    survey = menu_survey(sample_compound, body)
    question = menu.menu_question(survey)
    option = {o.label: o.id for o in question.options}
    url = f"/api/v1/surveys/{survey.id}/responses"

    def submit(label: str, names: list[str], key: str):
        headers = {**sign_in(owner_account(sample_compound, label)), "Idempotency-Key": key}
        answers = [{"question_id": question.id, "option_ids": [option[n] for n in names]}]
        return client.post(url, json={"answers": answers}, headers=headers)

    assert submit("1栋1单元101", ["供水", "绿化"], "k1").status_code == 201
    assert submit("1栋1单元102", ["绿化"], "k2").status_code == 201
    assert submit("1栋1单元101", ["绿化"], "k3").status_code == 201  # replaces: no 供水
    too_many = submit("1栋1单元201", ["供水", "绿化", "照明"], "k4")
    assert too_many.status_code == 422 and too_many.json["code"] == "too_many_choices"

    result = client.get(MENU_URL.format(survey.id) + "/result", headers=committee(sample_compound))
    items = by_name(result.json)
    assert result.json["respondents"] == 2
    assert (items["绿化"]["support_count"], items["绿化"]["support_area"]) == (2, "150.55")
    assert items["绿化"]["status"] == "included"  # 2 of 2 > half
    assert (items["供水"]["support_count"], items["供水"]["status"]) == (0, "basic")
