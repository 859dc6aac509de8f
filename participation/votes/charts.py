"""The chart of a vote's result (表决), as PNG.

``vote_chart`` takes the tally dict as the API returns it and stores it (``tally.tally``,
``vote.result``) — no database, no request — so a published result can be drawn from its
stored dict. Drawn with ``common.charts``; labels are Chinese, never internal keys.

Three panels:
1. the whole scope, by headcount and by area: 同意 / 不同意 / 弃权 / 未投票 as shares of the
   electorate, with the quorum line (参与 ≥ 三分之二) — or, for the consent rule, the line 同意
   must reach;
2. for the civil-code rules, 同意 as a share of those who voted, with the approval line
   (四分之三, or 过半数);
3. per building by headcount when the scope has two buildings or more (per entrance when it
   is one building of several entrances; with one of each, the whole scope says it all).
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
    no_data,
    percent,
    when,
)

AGREE = Style("同意", BLUE)
DISAGREE = Style("不同意", VERMILLION, hatch=True)
ABSTAIN = Style("弃权", ORANGE)
NOT_VOTED = Style("未投票", GREY)
CHOICES = (("agree", AGREE), ("disagree", DISAGREE), ("abstain", ABSTAIN))

QUORUM = Reference(Fraction(2, 3), "参与门槛：三分之二")
RULES = {
    "civil_code_major": (
        "规则（民法典第二百七十八条）：参与表决的专有部分面积和人数均占三分之二以上，"
        "且同意的面积和人数均占参与表决的四分之三以上",
        Reference(Fraction(3, 4), "同意门槛：四分之三"),
    ),
    "civil_code_ordinary": (
        "规则（民法典第二百七十八条）：参与表决的专有部分面积和人数均占三分之二以上，"
        "且同意的面积和人数均超过参与表决的半数",
        Reference(Fraction(1, 2), "同意门槛：过半数"),
    ),
    "renovation_consent": ("规则：同意的业主人数占全体业主的三分之二以上", None),
}
BUILDINGS_NOTE = "规则按全部范围计算；一位业主在几处都有房屋时在每处各计一次。"


def _options(figures: dict) -> dict[str, dict]:
    return {option["choice"]: option for option in figures.get("options", [])}


def _shortfall(shortfall: dict) -> str:
    """ "5 人 / 400.00 m²" — the parts that are missing."""
    parts = []
    if shortfall["persons"]:
        parts.append(f"{shortfall['persons']} 人")
    if exact(shortfall["area"]):
        parts.append(area(shortfall["area"]))
    return " / ".join(parts)


def _outcome(result: dict) -> str:
    """The outcome line; with a ``decision`` (``decision.py``), an elevator vote whose own
    rule passed says whether the linked common-parts vote did too."""
    common_parts = (result.get("decision") or {}).get("common_parts")
    if result["passed"] and common_parts is not None and common_parts["passed"] is not True:
        if common_parts["passed"] is False:
            return "结果：未通过（本范围达到规定比例，但全小区共有部分表决未通过）"
        return "结果：待定（本范围达到规定比例，全小区共有部分表决尚无结果）"
    if result["passed"]:
        return "结果：表决通过 ✓"
    missing = result["missing"]
    parts = []
    if not result["quorum_met"] and _shortfall(missing["participation"]):
        parts.append(f"还需 {_shortfall(missing['participation'])} 参与")
    if _shortfall(missing["agreement"]):
        parts.append(f"还需 {_shortfall(missing['agreement'])} 同意")
    return "结果：未通过" + (f"，{'；'.join(parts)}" if parts else "")


def _whole(result: dict, key: str, label: str, unit) -> Bar:
    """One stacked bar of the choices and 未投票, as shares of the electorate by ``key``."""
    options = _options(result)
    total = exact(result[f"t_{key}"])
    field = "count" if key == "cnt" else "area"  # the options' own names
    values = [(style, exact(options.get(choice, {}).get(field, 0))) for choice, style in CHOICES]
    rest = total - sum((value for _, value in values), Fraction(0))
    values.append((NOT_VOTED, rest))
    voted = exact(result[f"p_{key}"])
    return Bar(
        label,
        [(style, value / total) for style, value in values],
        text=f"参与 {percent(voted, total)}",
        caption=" · ".join(f"{style.label} {unit(value)}" for style, value in values)
        + f"，共 {unit(total)}",
    )


def _agreement(result: dict, key: str, label: str, unit) -> Bar:
    yes, voted = exact(result[f"y_{key}"]), exact(result[f"p_{key}"])
    return Bar(
        label,
        [(AGREE, yes / voted)],
        text=f"{percent(yes, voted)}（{unit(yes)} / {unit(voted)}）",
    )


def _place(place: dict) -> Bar:
    options = _options(place)
    t = place["t_cnt"]
    counts = [(style, options.get(choice, {}).get("count", 0)) for choice, style in CHOICES]
    counts.append((NOT_VOTED, t - sum(count for _, count in counts)))
    return Bar(
        place["name"],
        [(style, Fraction(count, t)) for style, count in counts],
        text=f"参与 {place['p_cnt']}/{t} 人",
    )


def _persons(value: Fraction) -> str:
    return f"{value} 人"


def vote_chart(result: dict, title: str | None = None) -> bytes:
    """The vote's result: the whole scope's shares with the rule's thresholds, and the
    breakdown per building (see the module's doc)."""
    name, lines = (title, [Line("表决结果", bold=True)]) if title else ("表决结果", [])
    rule, approval = RULES.get(result["rule"], RULES["civil_code_ordinary"])
    lines.append(rule)
    notes = [f"统计时间：{when(result['computed_at'])}"] if result.get("computed_at") else []
    t_cnt = result["t_cnt"]
    if not t_cnt:
        return no_data(name, "表决范围内没有业主", lines=lines, notes=notes)
    if not result["p_cnt"]:
        return no_data(name, f"尚无业主投票（共 {t_cnt} 人）", lines=lines, notes=notes)
    lines.append(Line(_outcome(result), bold=True))

    consent = result["rule"] == "renovation_consent"
    line = Reference(Fraction(2, 3), "同意门槛：三分之二") if consent else QUORUM
    whole = [_whole(result, "cnt", "按人数", _persons)]
    has_area = bool(exact(result["t_area"]))
    if has_area:
        whole.append(_whole(result, "area", "按面积", area))
    panels = [Panel(whole, heading="投票情况（占全体业主）", percent=True, references=[line])]
    if approval is not None:
        agreement = [_agreement(result, "cnt", "按人数", _persons)]
        if has_area and exact(result["p_area"]):
            agreement.append(_agreement(result, "area", "按面积", area))
        panels.append(
            Panel(agreement, heading="同意占参与表决", percent=True, references=[approval])
        )
    buildings = result.get("buildings") or []
    places, heading = buildings, "分楼栋（按人数）"
    if len(buildings) == 1 and len(buildings[0].get("entrances", [])) >= 2:
        places, heading = buildings[0]["entrances"], "分单元（按人数）"
    if len(places) >= 2:
        panels.append(
            Panel([_place(p) for p in places if p["t_cnt"]], heading=heading, percent=True)
        )
        notes.insert(0, BUILDINGS_NOTE)
    legend = [AGREE, DISAGREE, ABSTAIN, NOT_VOTED]
    return chart(name, panels, lines=lines, legend=legend, notes=notes)
