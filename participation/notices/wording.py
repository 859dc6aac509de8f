"""The 公示 document in words: what a printed result notice says, in plain Chinese, from the
notice's JSON (``publication.notice``). Pure functions: no database, no request.

Nothing internal reaches the page: no ``agree``, no ``basis:count``, no rule codes. Numbers
are the notice's own exact figures (areas with two decimals, percentages as computed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from participation.common.schemas import SHANGHAI
from participation.roster.models import ProxyRule
from participation.votes.services import PRECEDENCE_WORDS

RULE_WORDS = {
    "civil_code_major": (
        "本事项属于《中华人民共和国民法典》第二百七十八条第一款第六项至第八项规定的事项，"
        "应当由专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主参与表决，"
        "并经参与表决专有部分面积四分之三以上的业主且参与表决人数四分之三以上的业主同意。"
    ),
    "civil_code_ordinary": (
        "依照《中华人民共和国民法典》第二百七十八条第二款，"
        "应当由专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主参与表决，"
        "并经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意。"
    ),
}
CONSENT_WORDS = {
    "count": "同意改造的业主人数应达到业主总人数的三分之二以上。",
    "area": "同意改造的业主专有部分面积应达到专有部分总面积的三分之二以上。",
    "both": (
        "同意改造的业主人数应达到业主总人数的三分之二以上，"
        "且其专有部分面积应达到专有部分总面积的三分之二以上。"
    ),
}
COUNTING_NOTE = (
    "计票说明：一户（一个专有部分）按一人计算；同一买受人拥有多户的按一人计算，面积合并；"
    "建设单位未出售和虽已出售但尚未交付的部分按一人计算。"
)
CHOICE_NAMES = {"agree": "同意", "disagree": "不同意", "abstain": "弃权"}
HEADINGS = {"vote": "表决结果公示", "consent": "改造意愿征集结果公示"}


@dataclass(frozen=True)
class Row:
    label: str
    persons: str
    area: str
    share: str  # of the whole electorate, by persons


def when(moment: datetime | str | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def percent(ratio: dict | None) -> str:
    if not ratio or ratio.get("percent") is None:
        return "—"
    return f"{ratio['percent']}%"


def _share(count: int, total: int) -> str:
    return f"{count * 100 / total:.2f}%" if total else "—"


def scope_text(notice: dict) -> str:
    places = [*notice["buildings"], *notice["entrances"]]
    return f"{notice['compound']} " + ("、".join(places) if places else "全体业主")


def rule_text(notice: dict) -> str:
    if notice["rule"] == "renovation_consent":
        return CONSENT_WORDS[notice["basis"]]
    return RULE_WORDS[notice["rule"]] + PRECEDENCE_WORDS[ProxyRule(notice["proxy_rule"])]


def heading(notice: dict) -> str:
    return HEADINGS["vote" if notice["kind"] == "vote" else "consent"]


def rows(notice: dict) -> list[Row]:
    """Everyone, who took part and how, and who did not: persons, area, share of persons."""
    result = notice["result"]
    t_cnt, t_area = result["t_cnt"], result["t_area"]
    options = result.get("options") or [
        {"choice": a["value"], "count": a["count"], "area": a["area"]} for a in result["answers"]
    ]
    table = [Row("业主总数", str(t_cnt), t_area, "100%" if t_cnt else "—")]
    for option in options:
        table.append(
            Row(
                CHOICE_NAMES[option["choice"]],
                str(option["count"]),
                option["area"],
                _share(option["count"], t_cnt),
            )
        )
    absent_cnt = t_cnt - result["p_cnt"]
    absent_area = _minus(t_area, result["p_area"])
    label = "未表决" if notice["kind"] == "vote" else "未表态"
    table.append(Row(label, str(absent_cnt), absent_area, _share(absent_cnt, t_cnt)))
    return table


def _minus(a: str, b: str) -> str:
    return str(Decimal(a) - Decimal(b))


def rates(notice: dict) -> list[tuple[str, str]]:
    """The rates the rule looks at, by persons and by area."""
    result = notice["result"]
    participation = result["participation"]
    out = [
        ("参与率（人数）", percent(participation["count"])),
        ("参与率（面积）", percent(participation["area"])),
    ]
    if notice["kind"] == "vote":
        out += [
            ("同意票占参与表决人数", percent(result["agreement"]["count"])),
            ("同意票占参与表决面积", percent(result["agreement"]["area"])),
        ]
    else:
        out += [
            ("同意率（人数，占业主总数）", percent(result["consent"]["count"])),
            ("同意率（面积，占总面积）", percent(result["consent"]["area"])),
        ]
    return out


def verdict(notice: dict) -> tuple[bool | None, str, str]:
    """(passed — None while pending —, the verdict, what was missing in words). A vote's
    verdict is its decision: an elevator vote that takes common parts passes only if the
    linked compound-wide vote passed too."""
    result = notice["result"]
    if notice["kind"] != "vote":
        if result["passed"]:
            return True, "同意改造的业主达到三分之二以上，同意改造", ""
        return False, "同意改造的业主未达到三分之二", result["missing"]["text"]
    common_parts = (notice.get("decision") or {}).get("common_parts")
    if result["passed"] and common_parts is not None:
        title = f"“{common_parts['title']}”" if common_parts["title"] else ""
        if common_parts["passed"] is False:
            return (
                False,
                "表决未通过",
                f"本范围业主表决达到规定比例，但所关联的全小区共有部分表决{title}未通过；"
                "加装电梯占用小区共有部分，须两项表决均通过",
            )
        if common_parts["passed"] is None:
            return (
                None,
                "表决结果待定",
                f"本范围业主表决达到规定比例；所关联的全小区共有部分表决{title}尚无结果，"
                "两项表决均通过后方为通过",
            )
    if result["passed"]:
        return True, "表决通过", ""
    missing = []
    if not result["quorum_met"]:
        gap = result["missing"]["participation"]
        missing.append(f"参与表决的业主未达到三分之二（还差 {_gap(gap)} 参与）")
    if not result["approved"]:
        gap = result["missing"]["agreement"]
        missing.append(f"同意的业主未达到规定比例（还差 {_gap(gap)} 同意）")
    return False, "表决未通过", "；".join(missing)


OUTCOME_WORDS = {True: "通过", False: "未通过", None: "尚无结果"}


def decision_rows(notice: dict) -> list[tuple[str, str]]:
    """An elevator vote that takes common parts: both results side by side — this vote's
    own and the linked compound-wide vote's; empty otherwise."""
    decision = notice.get("decision") or {}
    common_parts = decision.get("common_parts")
    if common_parts is None:
        return []
    linked = "全小区共有部分表决"
    if common_parts["title"]:
        linked += f"：{common_parts['title']}"
    return [
        (f"本表决（{scope_text(notice)}）", OUTCOME_WORDS[decision["own_passed"]]),
        (linked, OUTCOME_WORDS[common_parts["passed"]]),
        ("最终结果", OUTCOME_WORDS[decision["passed"]]),
    ]


def _gap(gap: dict) -> str:
    parts = []
    if gap["persons"]:
        parts.append(f"{gap['persons']} 人")
    if gap["area"] not in ("0", "0.00"):
        parts.append(f"{gap['area']} 平方米")
    return " / ".join(parts) or "0 人"


def objection_text(notice: dict) -> list[str]:
    """The objection period and how to object, or that it is over."""
    until = when(notice["objection_until"])
    received = notice["objections"]["received"]
    resolved = notice["objections"]["resolved"]
    tally = f"公示期内共收到异议 {received} 件，已答复 {resolved} 件。"
    if notice["final"]:
        return [f"公示期已于 {until} 届满，{tally}本结果已确认为最终结果。"]
    return [
        f"公示期：{when(notice['published_at'])} 至 {until}。",
        "本范围内的业主对公示结果有异议的，请在公示期内扫描二维码、用手机验证码登录后提出"
        "（可附照片），或向社区居民委员会、业主委员会书面提出，写明房号、联系电话和异议的"
        "事实与理由。",
        tally,
    ]


VERDICTS = {"upheld": "异议成立", "not_upheld": "异议不成立", None: "待答复"}
CORRECTIONS = {"void": "作废一张选票", "paper_ballot": "补录一张截止前签署的纸质票"}


def objection_items(notice: dict) -> list[dict]:
    """Each objection with its answer, numbered as on the notice: 异议 1, 异议 2, …"""
    return [
        {
            "heading": f"异议 {number}（{item['filer']}，{when(item['filed_at'])}）",
            "summary": item["summary"],
            "answer": VERDICTS[item["verdict"]] + (f"：{item['answer']}" if item["answer"] else ""),
        }
        for number, item in enumerate(notice["objections"]["items"], start=1)
    ]


def correction_lines(notice: dict) -> list[str]:
    """The corrections made after an upheld objection, oldest first."""
    numbers = {item["id"]: n for n, item in enumerate(notice["objections"]["items"], start=1)}
    return [
        f"{when(c['at'])} {CORRECTIONS[c['action']]}（依据异议 "
        f"{numbers.get(c['objection_id'], '')}）：{c['reason']}"
        for c in notice.get("corrections", [])
    ]
