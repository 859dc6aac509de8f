"""The charts of survey results, as PNG: consent (意愿征集), menu (菜单式) and satisfaction.

Each function takes the result dict as the API returns it and stores it (``consent_result``,
``menu_result``, ``satisfaction_result``) — no database, no request — so a published result can
be drawn from its stored dict. ``title`` is the survey's title when there is one. Labels are
Chinese, never internal keys; every colour is also said in text. Drawing: ``common.charts``.
"""

from __future__ import annotations

from fractions import Fraction

from participation.common.charts import (
    BLUE,
    GREY,
    ORANGE,
    VERMILLION,
    Bar,
    Line,
    Panel,
    Reference,
    Style,
    area,
    chart,
    exact,
    money,
    no_data,
    percent,
    when,
)
from participation.surveys.models import MenuTier

AGREE = Style("同意", BLUE)
DISAGREE = Style("不同意", VERMILLION, hatch=True)
NOT_YET = Style("未表态", GREY)
TWO_THIRDS = Reference(Fraction(2, 3), "三分之二")
BUILDINGS_NOTE = (
    "三分之二门槛按全部范围计算；分楼栋供入户动员参考，一位业主在几栋楼都有房屋时在每栋各计一次。"
)
CONSENT_RULES = {
    "count": "门槛：同意改造的业主人数达到全体业主人数的三分之二以上（按人数计）",
    "area": "门槛：同意改造的业主专有部分面积达到总面积的三分之二以上（按面积计）",
    "both": "门槛：同意改造的业主人数和专有部分面积均达到全体的三分之二以上",
}

INCLUDED = Style("纳入", BLUE)
OVER_BUDGET = Style("达到门槛，超出预算", ORANGE, hatch=True)
NOT_ADOPTED = Style("未采纳", GREY)
MENU_STATUS = {  # status → (style, the mark written after the bar)
    "basic": (INCLUDED, "✓ 纳入"),
    "included": (INCLUDED, "✓ 纳入"),
    "over_budget": (OVER_BUDGET, "△ 超出预算"),
    "not_adopted": (NOT_ADOPTED, "未采纳"),
}
TIER_HEADINGS = {
    MenuTier.BASIC: "基础类（应改尽改，全部纳入）",
    MenuTier.IMPROVEMENT: "完善类",
    MenuTier.ENHANCEMENT: "提升类",
}

PASSED = Style("达标", BLUE)
FAILED = Style("未达标", VERMILLION, hatch=True)
SATISFACTION_BY = {"dimension": "分维度", "building": "分楼栋", "item": "分改造项目"}


def _titled(name: str, title: str | None) -> tuple[str, list[Line]]:
    """The chart's title and first line: the survey's title over the chart's name."""
    return (title, [Line(name, bold=True)]) if title else (name, [])


# 意愿征集 ----------------------------------------------------------------------------------


def _answers(result: dict) -> dict[str, dict]:
    return {answer["value"]: answer for answer in result.get("answers", [])}


def _consent_bar(label: str, agree, disagree, total, unit) -> Bar:
    """One stacked bar of 同意 / 不同意 / 未表态 as shares of the whole."""
    total = exact(total)
    agree, disagree = exact(agree), exact(disagree)
    rest = total - agree - disagree
    return Bar(
        label,
        [(AGREE, agree / total), (DISAGREE, disagree / total), (NOT_YET, rest / total)],
        text=f"同意 {percent(agree, total)}",
        caption=f"同意 {unit(agree)} · 不同意 {unit(disagree)} · 未表态 {unit(rest)}，"
        f"共 {unit(total)}",
    )


def _persons(value: Fraction) -> str:
    return f"{value} 人"


def consent_chart(result: dict, title: str | None = None) -> bytes:
    """同意 / 不同意 / 未表态 of the whole scope by headcount and by area, the 2/3 line marked;
    then per building by headcount when the result has two buildings or more."""
    name, lines = _titled("意愿征集结果", title)
    t_cnt = result["t_cnt"]
    lines.append(CONSENT_RULES.get(result.get("basis", "count"), CONSENT_RULES["count"]))
    notes = [f"统计时间：{when(result['computed_at'])}"] if result.get("computed_at") else []
    if not t_cnt:
        return no_data(name, "征集范围内没有业主", lines=lines, notes=notes)
    if not result["p_cnt"]:
        return no_data(name, f"尚无业主表态（共 {t_cnt} 人）", lines=lines, notes=notes)
    if result["passed"]:
        lines.append(Line("结果：已达到三分之二同意 ✓", bold=True))
    else:
        lines.append(Line(f"结果：尚未达到三分之二同意，{result['missing']['text']}", bold=True))

    answers = _answers(result)
    disagree = answers.get("disagree", {})
    bars = [
        _consent_bar("按人数", result["y_cnt"], disagree.get("count", 0), t_cnt, _persons),
    ]
    if exact(result["t_area"]):
        bars.append(
            _consent_bar(
                "按面积",
                exact(result["y_area"]),
                exact(disagree.get("area", "0")),
                exact(result["t_area"]),
                area,
            )
        )
    panels = [Panel(bars, heading="全部范围", percent=True, references=[TWO_THIRDS])]
    buildings = result.get("buildings") or []
    if len(buildings) >= 2:
        panels.append(
            Panel(
                [_place_bar(b) for b in buildings if b["t_cnt"]],
                heading="分楼栋（按人数）",
                percent=True,
            )
        )
        notes.insert(0, BUILDINGS_NOTE)
    return chart(name, panels, lines=lines, legend=[AGREE, DISAGREE, NOT_YET], notes=notes)


def _place_bar(place: dict) -> Bar:
    answers = _answers(place)
    t = place["t_cnt"]
    agree = answers.get("agree", {}).get("count", 0)
    disagree = answers.get("disagree", {}).get("count", 0)
    rest = t - agree - disagree
    return Bar(
        place["name"],
        [
            (AGREE, Fraction(agree, t)),
            (DISAGREE, Fraction(disagree, t)),
            (NOT_YET, Fraction(rest, t)),
        ],
        text=f"同意 {agree}/{t} 人",
    )


# 菜单式 ------------------------------------------------------------------------------------


def menu_chart(result: dict, title: str | None = None) -> bytes:
    """Support per item (of the respondents), grouped by tier in the result's order within
    each tier; adopted or not by colour and by a mark (✓ 纳入, △ 超出预算, 未采纳); the
    adoption threshold marked on the 完善类 and 提升类 panels."""
    name, lines = _titled("菜单式改造内容征集结果", title)
    respondents = result["respondents"]
    threshold = result["threshold"]
    final = "统计口径：最终结果" if result.get("final") else "统计口径：实时统计（问卷进行中）"
    notes = [final]
    if not result["items"]:
        return no_data(name, "问卷的菜单中没有改造项目", lines=lines, notes=notes)
    if not respondents:
        return no_data(name, "尚无人填写问卷", lines=lines, notes=notes)
    who = f"参与 {respondents} 人"
    if result.get("respondents_area"):
        who += f"（{area(result['respondents_area'])}）"
    lines.append(f"{who}；完善类、提升类的采纳门槛：{threshold['label']}")
    if result.get("budget_cap") is None:
        budget = f"未设预算上限；纳入项目估算投资 {money(result['budget_used'])}"
    else:
        budget = (
            f"预算上限 {money(result['budget_cap'])}，"
            f"纳入项目估算投资 {money(result['budget_used'])}"
        )
        if result.get("cap_exceeded"):
            budget += "（基础类应改尽改，已超出预算上限）"
    lines.append(budget)

    line = Reference(
        Fraction(threshold["numerator"], threshold["denominator"]),
        f"采纳门槛：{threshold['label']}",
    )
    panels, used = [], set()
    for tier in MenuTier:
        items = [item for item in result["items"] if item["tier"] == tier.value]
        if not items:
            continue
        bars = []
        for item in items:
            style, mark = MENU_STATUS[item["status"]]
            used.add(style)
            count = item["support_count"]
            bars.append(
                Bar(
                    item["name"],
                    [(style, Fraction(count, respondents))],
                    text=f"{count} 人（{percent(count, respondents)}）{mark}",
                )
            )
        references = [] if tier is MenuTier.BASIC else [line]
        panels.append(Panel(bars, heading=TIER_HEADINGS[tier], percent=True, references=references))
    legend = [style for style in (INCLUDED, OVER_BUDGET, NOT_ADOPTED) if style in used]
    notes.insert(0, "支持率 = 选择该项目的人数 ÷ 参与人数。")
    return chart(name, panels, lines=lines, legend=legend, notes=notes)


# 满意度 ------------------------------------------------------------------------------------


def _rate_bar(label: str, figures: dict) -> Bar:
    rate = figures["rate"]
    if rate["percent"] is None:
        return Bar(label, [], text="无有效评价")
    passed = figures["passed"]
    text = f"{rate['percent']}%（{rate['numerator']}/{rate['denominator']}）"
    return Bar(
        label,
        [(PASSED if passed else FAILED, Fraction(rate["numerator"], rate["denominator"]))],
        text=text if passed else f"{text} 未达标",
    )


def satisfaction_chart(result: dict, by: str = "dimension", title: str | None = None) -> bytes:
    """Satisfaction rates per dimension with the overall rate first, per building or per
    renovation item; the pass threshold marked, a rate below it hatched and said."""
    name, lines = _titled(f"满意率（{SATISFACTION_BY[by]}）", title)
    lines.append("满意率 =（满意 + 基本满意）÷（满意 + 基本满意 + 不满意），“不了解”不计入")
    if by == "building":
        bars = [_rate_bar(b["name"], b) for b in result["buildings"]]
        empty = "尚无居民评价"
    elif by == "item":
        bars = [_rate_bar(i["name"], i) for i in result["items"]]
        empty = "尚无针对改造项目的评价" if result["items"] else "问卷中没有针对改造项目的满意度题"
    else:
        bars = [_rate_bar("总体", result["overall"])]
        bars += [_rate_bar(d["dimension"], d) for d in result["dimensions"]]
        empty = "尚无居民评价" if result["dimensions"] else "问卷中没有满意度题"
    if not any(bar.segments for bar in bars):
        return no_data(name, empty, lines=lines)
    overall = result["overall"]
    if by == "dimension" and overall["rate"]["percent"] is not None:
        verdict = "达到" if overall["passed"] else "未达到"
        lines.append(
            Line(
                f"总体满意率 {overall['rate']['percent']}%，{verdict}达标线 {result['threshold']}%",
                bold=True,
            )
        )
    threshold = exact(result["threshold"]) / 100
    panel = Panel(
        bars,
        percent=True,
        references=[Reference(threshold, f"达标线 {result['threshold']}%")],
    )
    shown = {style for bar in bars for style, _ in bar.segments}
    legend = [style for style in (PASSED, FAILED) if style in shown]
    return chart(name, [panel], lines=lines, legend=legend)
