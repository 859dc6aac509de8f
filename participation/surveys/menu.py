"""菜单式改造: the catalogue of renovation items, a compound's menu on a menu survey, what each
item would cost a household, and the result — support, 应改尽改, the adoption threshold and the
budget cap — exported as the draft renovation list (改造内容清单). Functions flush, never commit.

The result, in order:
1. each item's support: respondents who chose it, by headcount and (owner basis) by area;
2. basic items (基础类) are always included (应改尽改); their support gives their priority;
3. improvement and enhancement items are adopted when their support by headcount reaches the
   survey's threshold (default: more than half of the respondents);
4. the included list is filled greedily within the budget cap: basic items first by support,
   then adopted items by support (ties: area support, then catalogue position); an adopted item
   is taken if it still fits what is left of the cap, else it is "over budget". Basic items
   are taken even past the cap, which the result then says is exceeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, delete, func, select

from participation.auth.models import Role
from participation.auth.scoping import compound_ids_in_scope, place_covered
from participation.auth.tokens import Principal
from participation.common.errors import conflict, invalid, not_found
from participation.common.money import allocate
from participation.common.sql import upsert
from participation.common.types import utcnow
from participation.counting import amount, ratio
from participation.extensions import db
from participation.roster.electorate import electorate_for
from participation.roster.models import Community, Compound, District, Dwelling, Owner, Street
from participation.roster.services import district_id_of
from participation.surveys import tallies
from participation.surveys.exports import workbook
from participation.surveys.models import (
    MenuItem,
    MenuTier,
    Option,
    Question,
    QuestionType,
    Survey,
    SurveyKind,
    SurveyMenuItem,
    SurveyPerson,
    SurveyPersonOwner,
    SurveyStatus,
)
from participation.surveys.services import detail_builder, result_builder, scope_of

TIER_LABELS = {
    MenuTier.BASIC: "基础类",
    MenuTier.IMPROVEMENT: "完善类",
    MenuTier.ENHANCEMENT: "提升类",
}

# The policy lists, in the order of the policy text; positions run on across the tiers.
CATALOGUE = {
    MenuTier.BASIC: (
        "供水",
        "排水",
        "供电",
        "弱电",
        "道路",
        "供气",
        "供热",
        "消防",
        "安防",
        "生活垃圾分类",
        "移动通信",
        "光纤入户",
        "架空线规整(入地)",
        "屋面/外墙/楼梯等公共部位维修",
    ),
    MenuTier.IMPROVEMENT: (
        "拆除违法建设",
        "绿化",
        "照明",
        "无障碍设施",
        "适老设施",
        "停车泊位及停车库(场)",
        "电动自行车及汽车充电设施",
        "智能快件箱",
        "智能信包箱",
        "文化休闲设施",
        "体育健身设施",
        "物业用房",
        "建筑节能改造",
        "加装电梯",
    ),
    MenuTier.ENHANCEMENT: (
        "社区综合服务设施",
        "卫生服务站",
        "幼儿园",
        "养老",
        "托育",
        "助餐",
        "家政保洁",
        "便民市场",
        "便利店",
        "邮政快递末端综合服务站",
    ),
}
MENU_QUESTION_TEXT = "请选择您希望本小区改造的项目"
ZERO = Decimal("0.00")


# The catalogue ----------------------------------------------------------------------------


def catalogue_rows() -> list[dict]:
    names = [(tier, name) for tier, names in CATALOGUE.items() for name in names]
    return [
        {"district_id": None, "tier": tier, "name": name, "description": "", "position": position}
        for position, (tier, name) in enumerate(names, start=1)
    ]


def seed_catalogue() -> int:
    """Insert the policy items that are missing (idempotent, safe when run concurrently: the
    partial unique index on the policy names decides). Returns how many were inserted."""
    stmt = (
        upsert(MenuItem)
        .values(catalogue_rows())
        .on_conflict_do_nothing(index_elements=["name"], index_where=MenuItem.district_id.is_(None))
        .returning(MenuItem.id)
    )
    return len(db.session.scalars(stmt).all())


def ensure_catalogue() -> None:
    """Seed the policy list the first time it is needed."""
    if (
        db.session.scalar(select(MenuItem.id).where(MenuItem.district_id.is_(None)).limit(1))
        is None
    ):
        seed_catalogue()


def tier_order(column):
    return case({tier: index for index, tier in enumerate(MenuTier)}, value=column)


def catalogue_query(principal: Principal, tier: MenuTier | None, district_id: int | None):
    """The policy items, plus a district's own items when ``district_id`` is given: a district
    the caller covers or where the caller has a compound (else 404)."""
    ensure_catalogue()
    stmt = select(MenuItem)
    if district_id is None:
        stmt = stmt.where(MenuItem.district_id.is_(None))
    else:
        if not _district_visible(principal, district_id):
            raise not_found()
        stmt = stmt.where((MenuItem.district_id.is_(None)) | (MenuItem.district_id == district_id))
    if tier is not None:
        stmt = stmt.where(MenuItem.tier == tier)
    return stmt.order_by(tier_order(MenuItem.tier), MenuItem.position, MenuItem.id)


def _district_visible(principal: Principal, district_id: int) -> bool:
    if place_covered(principal, Role.DISTRICT, district_id):
        return True
    return (
        db.session.scalar(
            select(Compound.id)
            .join(Community, Compound.community_id == Community.id)
            .join(Street, Community.street_id == Street.id)
            .where(
                Street.district_id == district_id,
                Compound.id.in_(compound_ids_in_scope(principal)),
            )
            .limit(1)
        )
        is not None
    )


def add_district_item(district: District, data: dict) -> MenuItem:
    """A district's own item. 409 ``menu_item_exists`` when the policy list or the district
    already has that name (the unique key decides under concurrency)."""
    ensure_catalogue()
    name = data["name"]
    if db.session.scalar(
        select(MenuItem.id).where(MenuItem.district_id.is_(None), MenuItem.name == name)
    ):
        raise conflict("menu_item_exists", f"政策清单中已有“{name}”")
    position = data.get("position")
    if position is None:
        position = (db.session.scalar(select(func.max(MenuItem.position))) or 0) + 1
    item_id = db.session.scalar(
        upsert(MenuItem)
        .values(
            district_id=district.id,
            tier=data["tier"],
            name=name,
            description=data.get("description", ""),
            position=position,
        )
        .on_conflict_do_nothing(index_elements=["district_id", "name"])
        .returning(MenuItem.id)
    )
    if item_id is None:
        raise conflict("menu_item_exists", f"本区已有名为“{name}”的改造项目")
    return db.session.get(MenuItem, item_id)


# A survey's menu --------------------------------------------------------------------------


def menu_question(survey: Survey) -> Question | None:
    return next((q for q in survey.questions if q.type is QuestionType.MENU), None)


def menu_entries(survey: Survey) -> list[SurveyMenuItem]:
    """The menu's items in catalogue order (tier, position)."""
    return list(
        db.session.scalars(
            select(SurveyMenuItem)
            .join(MenuItem, MenuItem.id == SurveyMenuItem.menu_item_id)
            .where(SurveyMenuItem.survey_id == survey.id)
            .order_by(tier_order(MenuItem.tier), MenuItem.position, MenuItem.id)
        )
    )


def set_menu(survey: Survey, data: dict) -> None:
    """Replace the menu of a draft menu survey and the options of its menu question (one per
    item, so the answer engine checks choices as options). 409 unless a draft menu survey;
    422 ``menu_item_invalid`` for an item that is neither on the policy list nor the
    compound's district's own. Nothing is written unless all of it is valid."""
    if survey.kind is not SurveyKind.MENU:
        raise conflict("not_a_menu_survey", "只有菜单式问卷可以设置改造项目菜单")
    status = db.session.execute(
        select(Survey.status).where(Survey.id == survey.id).with_for_update()
    ).scalar_one()
    if status is not SurveyStatus.DRAFT:
        raise conflict("survey_not_draft", "只有草稿状态的问卷可以修改菜单")
    ensure_catalogue()
    entries = data["items"]
    wanted = [entry["menu_item_id"] for entry in entries]
    district_id = district_id_of(survey.compound_id)
    found = {
        item.id: item
        for item in db.session.scalars(
            select(MenuItem).where(
                MenuItem.id.in_(wanted),
                MenuItem.district_id.is_(None) | (MenuItem.district_id == district_id),
            )
        )
    }
    bad = {
        str(index): {"menu_item_id": ["改造项目不存在，或不属于本小区所在区的清单"]}
        for index, item_id in enumerate(wanted)
        if item_id not in found
    }
    if bad:
        raise invalid("menu_item_invalid", "菜单中有无效的改造项目", {"items": bad})

    question = menu_question(survey)
    if question is None:
        position = max((q.position for q in survey.questions), default=0) + 1
        question = Question(position=position, type=QuestionType.MENU, text=MENU_QUESTION_TEXT)
        survey.questions.append(question)
    question.options.clear()
    db.session.flush()
    db.session.execute(delete(SurveyMenuItem).where(SurveyMenuItem.survey_id == survey.id))
    rows = [
        SurveyMenuItem(
            survey_id=survey.id,
            menu_item_id=entry["menu_item_id"],
            estimated_cost=entry["estimated_cost"],
            residents_part=entry["residents_part"],
            per_household=entry.get("per_household"),
        )
        for entry in entries
    ]
    db.session.add_all(rows)
    db.session.flush()
    rows.sort(key=lambda row: _catalogue_key(found[row.menu_item_id]))
    question.options = [
        Option(position=index, label=found[row.menu_item_id].name, survey_menu_item_id=row.id)
        for index, row in enumerate(rows, start=1)
    ]
    question.min_choices, question.max_choices = data["min_items"], data["max_items"]
    survey.menu_min_items, survey.menu_max_items = data["min_items"], data["max_items"]
    survey.budget_cap = data.get("budget_cap")
    adoption = data.get("adoption") or {"numerator": 1, "denominator": 2, "strict": True}
    survey.adoption_numerator = adoption["numerator"]
    survey.adoption_denominator = adoption["denominator"]
    survey.adoption_strict = adoption["strict"]
    db.session.flush()


# The demo compound's menu: (name, estimated cost, residents' part, fixed amount per household).
DEMO_ITEMS = (
    ("供水", "1200000.00", "0.00", None),
    ("屋面/外墙/楼梯等公共部位维修", "2400000.00", "240000.00", None),
    ("适老设施", "180000.00", "36000.00", None),
    ("停车泊位及停车库(场)", "600000.00", "120000.00", None),
    ("电动自行车及汽车充电设施", "150000.00", "0.00", None),
    ("绿化", "300000.00", "60000.00", None),
    ("助餐", "200000.00", "48000.00", "200.00"),
)


def demo_menu() -> dict:
    """The menu ``set_menu`` takes for the demo compound: basic items, improvement and
    enhancement items with the residents' part, 1 to 4 picks, a budget cap."""
    ensure_catalogue()
    ids = dict(
        db.session.execute(
            select(MenuItem.name, MenuItem.id).where(MenuItem.district_id.is_(None))
        ).all()
    )
    return {
        "items": [
            {
                "menu_item_id": ids[name],
                "estimated_cost": Decimal(cost),
                "residents_part": Decimal(part),
                "per_household": None if fixed is None else Decimal(fixed),
            }
            for name, cost, part, fixed in DEMO_ITEMS
        ],
        "min_items": 1,
        "max_items": 4,
        "budget_cap": Decimal("4500000.00"),
    }


def _catalogue_key(item: MenuItem) -> tuple:
    return (list(MenuTier).index(item.tier), item.position, item.id)


@dataclass(frozen=True)
class Household:
    """The caller's persons in the survey's electorate, and every person's area (weights)."""

    weights: dict[int, Decimal]
    mine: list[int]
    labels: list[str]

    @property
    def area(self) -> Decimal:
        return sum((self.weights[key] for key in self.mine), ZERO)


def household_of(survey: Survey, account_id: int) -> Household | None:
    """The resident's household: their persons (all their dwellings in scope) among all
    persons of the scope — the frozen electorate once an owner-basis survey is open, else the
    roster now. None when the resident owns nothing in the scope (a tenant)."""
    if survey.t_cnt is not None:
        persons = db.session.execute(
            select(SurveyPerson.id, SurveyPerson.area, SurveyPerson.labels).where(
                SurveyPerson.survey_id == survey.id
            )
        ).all()
        weights = {p.id: p.area for p in persons}
        mine = set(
            db.session.scalars(
                select(SurveyPersonOwner.person_id)
                .join(Owner, Owner.id == SurveyPersonOwner.owner_id)
                .where(SurveyPersonOwner.survey_id == survey.id, Owner.account_id == account_id)
            )
        )
        labels = [p.labels for p in persons if p.id in mine]
    else:
        persons = electorate_for(scope_of(survey)).persons
        weights = {index: p.area for index, p in enumerate(persons)}
        owners = set(db.session.scalars(select(Owner.id).where(Owner.account_id == account_id)))
        mine = {index for index, p in enumerate(persons) if p.owner_ids & owners}
        dwelling_ids = [d for index in sorted(mine) for d in persons[index].dwelling_ids]
        labels = [
            d.label
            for d in db.session.scalars(select(Dwelling).where(Dwelling.id.in_(dwelling_ids)))
        ]
    if not mine:
        return None
    return Household(weights, sorted(mine), labels)


def household_cost(entry: SurveyMenuItem, household: Household) -> Decimal:
    """What the item costs the household: the fixed amount per household (person) where set,
    else the persons' area shares of the residents' part, to the fen, from a split of the
    residents' part over every person of the scope that sums exactly to it."""
    if entry.per_household is not None:
        return entry.per_household * len(household.mine)
    shares = allocate(entry.residents_part, household.weights)
    return sum((shares[key] for key in household.mine), ZERO)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else amount(value)


def menu_view(survey: Survey, account_id: int | None) -> dict:
    """The menu grouped by tier (plain JSON); for a resident also what each item would cost
    their household. A survey without a menu shows an empty one."""
    entries = menu_entries(survey)
    question = menu_question(survey)
    option_ids = (
        {o.survey_menu_item_id: o.id for o in question.options} if question is not None else {}
    )
    household = household_of(survey, account_id) if account_id is not None and entries else None
    tiers = []
    for tier in MenuTier:
        items = [
            {
                "id": entry.id,
                "menu_item_id": entry.menu_item_id,
                "option_id": option_ids.get(entry.id),
                "name": entry.menu_item.name,
                "description": entry.menu_item.description,
                "estimated_cost": amount(entry.estimated_cost),
                "residents_part": amount(entry.residents_part),
                "per_household": _money(entry.per_household),
                "my_cost": None if household is None else amount(household_cost(entry, household)),
            }
            for entry in entries
            if entry.menu_item.tier is tier
        ]
        if items:
            tiers.append({"tier": tier.value, "label": TIER_LABELS[tier], "items": items})
    return {
        "survey_id": survey.id,
        "question_id": question.id if question is not None else None,
        "min_items": survey.menu_min_items,
        "max_items": survey.menu_max_items,
        "budget_cap": _money(survey.budget_cap),
        "adoption": _adoption(survey),
        "estimated_cost": amount(sum((e.estimated_cost for e in entries), ZERO)),
        "residents_part": amount(sum((e.residents_part for e in entries), ZERO)),
        "tiers": tiers,
        "household": None
        if household is None
        else {
            "persons": len(household.mine),
            "area": amount(household.area),
            "labels": household.labels,
        },
    }


def _adoption(survey: Survey) -> dict:
    return {
        "numerator": survey.adoption_numerator,
        "denominator": survey.adoption_denominator,
        "strict": survey.adoption_strict,
    }


# The result -------------------------------------------------------------------------------


def _reaches(support: int, respondents: int, survey: Survey) -> bool:
    """support / respondents > (or ≥) numerator / denominator, in integers."""
    left = support * survey.adoption_denominator
    right = survey.adoption_numerator * respondents
    return respondents > 0 and (left > right if survey.adoption_strict else left >= right)


def _threshold_label(survey: Survey) -> str:
    n, d = survey.adoption_numerator, survey.adoption_denominator
    if (n, d) == (1, 2):
        return "过半数" if survey.adoption_strict else "半数以上（含半数）"
    return f"{'超过' if survey.adoption_strict else '达到'}参与人数的 {n}/{d}"


@detail_builder(SurveyKind.MENU)
def menu_details(survey: Survey, principal: Principal) -> dict:
    return menu_view(survey, principal.id if principal.is_resident else None)


@result_builder(SurveyKind.MENU)
def menu_result(survey: Survey) -> dict:
    """The menu's result (JSON-serialisable): live while the survey is open, final after.
    Support by area needs to know who answered: owner basis, named surveys only."""
    by_area = tallies.weighted(survey)
    tally = tallies.read(survey, by_building=False)
    total_cnt, total_area = tally.respondents.cnt, tally.respondents.area
    support = _support(survey, tally)

    items = []
    for entry in menu_entries(survey):
        count, area = support.get(entry.id, (0, ZERO))
        basic = entry.menu_item.tier is MenuTier.BASIC
        items.append(
            {
                "id": entry.id,
                "menu_item_id": entry.menu_item_id,
                "tier": entry.menu_item.tier.value,
                "tier_label": TIER_LABELS[entry.menu_item.tier],
                "name": entry.menu_item.name,
                "position": entry.menu_item.position,
                "estimated_cost": entry.estimated_cost,
                "residents_part": entry.residents_part,
                "support_count": count,
                "support_area": area if by_area else None,
                "basic": basic,
                "adopted": basic or _reaches(count, total_cnt, survey),
            }
        )
    items.sort(
        key=lambda i: (
            not i["basic"],
            not i["adopted"],
            -i["support_count"],
            -(i["support_area"] or 0),
            i["position"],
            i["id"],
        )
    )

    cap = survey.budget_cap
    used = ZERO
    for item in items:
        fits = cap is None or item["basic"] or used + item["estimated_cost"] <= cap
        item["included"] = item["adopted"] and fits
        item["status"] = (
            "basic"
            if item["basic"]
            else "included"
            if item["included"]
            else "over_budget"
            if item["adopted"]
            else "not_adopted"
        )
        if item["included"]:
            used += item["estimated_cost"]
    included = [i for i in items if i["included"]]
    for priority, item in enumerate(included, start=1):
        item["priority"] = priority

    return {
        "survey_id": survey.id,
        "final": _final(survey),
        "basis": survey.basis.value,
        "respondents": total_cnt,
        "respondents_area": amount(total_area) if by_area else None,
        "threshold": {**_adoption(survey), "label": _threshold_label(survey)},
        "budget_cap": None if cap is None else amount(cap),
        "budget_used": amount(used),
        "budget_left": None if cap is None else amount(cap - used),
        "cap_exceeded": cap is not None and used > cap,
        "included_cost": amount(used),
        "included_residents_part": amount(sum((i["residents_part"] for i in included), ZERO)),
        "items": [_item_view(item, total_cnt, total_area) for item in items],
        "included": [i["id"] for i in included],
        "over_budget": [i["id"] for i in items if i["status"] == "over_budget"],
    }


def _support(survey: Survey, tally: tallies.Tally) -> dict[int, tuple[int, Decimal]]:
    """Menu entry id → (respondents who chose it, their area), from the survey's tallies. A
    response chooses an item at most once: a survey has at most one menu question, whose
    options are one per menu entry, and the answer engine refuses a repeated choice
    (``duplicate_choice``). Area: the person's (owner basis, named), else 0."""
    support = {}
    for question in survey.questions:
        if question.type is not QuestionType.MENU:
            continue
        for option in question.options:
            if option.survey_menu_item_id is not None:
                group = tally.get(question.id, option.id)
                support[option.survey_menu_item_id] = (group.cnt, group.area)
    return support


def _final(survey: Survey) -> bool:
    """Closed (or past its closing time): no answer can change the result any more."""
    if survey.status is SurveyStatus.OPEN:
        return survey.closes_at <= utcnow()
    return survey.status is not SurveyStatus.DRAFT


def _item_view(item: dict, total_cnt: int, total_area: Decimal) -> dict:
    area = item["support_area"]
    return {
        "id": item["id"],
        "menu_item_id": item["menu_item_id"],
        "tier": item["tier"],
        "tier_label": item["tier_label"],
        "name": item["name"],
        "estimated_cost": amount(item["estimated_cost"]),
        "residents_part": amount(item["residents_part"]),
        "support_count": item["support_count"],
        "support_area": None if area is None else amount(area),
        "support": {
            "count": ratio(item["support_count"], total_cnt),
            "area": None if area is None else ratio(area, total_area),
        },
        "basic": item["basic"],
        "adopted": item["adopted"],
        "included": item["included"],
        "status": item["status"],
        "priority": item.get("priority"),
        "note": _note(item),
    }


def _note(item: dict) -> str:
    if item["basic"]:
        return "应改尽改"
    return {
        "included": "达到采纳门槛，纳入",
        "over_budget": "达到采纳门槛，超出预算上限",
        "not_adopted": "未达到采纳门槛",
    }[item["status"]]


# The draft renovation list (改造内容清单) ----------------------------------------------------

LIST_HEADERS = [
    "类别",
    "项目",
    "估算投资",
    "居民出资",
    "支持人数",
    "支持率",
    "支持面积",
    "是否纳入",
    "说明",
]


def result_workbook(survey: Survey) -> bytes:
    """改造内容清单: every item of the menu in result order and a totals row of what is
    included; a second sheet 说明 with the survey and the rules applied."""
    result = menu_result(survey)
    rows = []
    for item in result["items"]:
        percent = item["support"]["count"]["percent"]
        note = item["note"]
        if item["basic"] and result["cap_exceeded"]:
            note += "（基础类合计已超出预算上限）"
        if item["priority"]:
            note = f"第 {item['priority']} 优先；{note}"
        rows.append(
            [
                item["tier_label"],
                item["name"],
                Decimal(item["estimated_cost"]),
                Decimal(item["residents_part"]),
                item["support_count"],
                None if percent is None else f"{percent}%",
                None if item["support_area"] is None else Decimal(item["support_area"]),
                "是" if item["included"] else "否",
                note,
            ]
        )
    rows.append(
        [
            "合计",
            f"纳入 {len(result['included'])} 项",
            Decimal(result["included_cost"]),
            Decimal(result["included_residents_part"]),
            None,
            None,
            None,
            None,
            "纳入项目的估算投资、居民出资合计",
        ]
    )
    info = [
        ("问卷", survey.title),
        ("小区", db.session.get(Compound, survey.compound_id).name),
        ("统计口径", "最终结果" if result["final"] else "实时统计（问卷进行中）"),
        ("参与人数", result["respondents"]),
        ("参与面积（m²）", result["respondents_area"] or "按住户计，不计面积"),
        ("采纳门槛（完善类、提升类）", result["threshold"]["label"]),
        ("预算上限（元）", result["budget_cap"] or "未设"),
        ("纳入项目估算投资（元）", result["budget_used"]),
        ("是否超出预算上限", "是（基础类应改尽改）" if result["cap_exceeded"] else "否"),
    ]
    return workbook([("改造内容清单", LIST_HEADERS, rows), ("说明", ["项目", "内容"], info)])
