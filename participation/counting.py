"""The legal counting rules as pure functions over exact totals (DESIGN.md, Counting rules).

Sources: 民法典 Art. 278 and Art. 1259 (以上 includes the bound; 过半数 is strictly more than
half); local renovation schemes (同意改造的业主数原则上应达到小区业主总数的2/3以上).

Everything is integer arithmetic: headcounts are ints and areas are ``Decimal`` m² with two
decimals, compared in hundredths (integers). Non-voters are never counted as agreeing.

Each outcome says, besides pass/fail, what is still missing, assuming the missing people come
from those who have not voted yet and agree:
- ``participation``: persons / m² still needed to reach the quorum (还需 N 人 / X m² 参与);
- ``agreement``: further agreeing ballots (persons / m²) needed for the whole rule to pass,
  quorum included.

Votes and surveys count alike: ``Group`` adds up persons and their area, ``amount`` and
``ratio`` put figures into the API's JSON (areas as strings with two decimals, ratios exact
with a rounded percentage).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class Rule(enum.StrEnum):
    RENOVATION_CONSENT = "renovation_consent"  # policy gate: 3·Y ≥ 2·T
    CIVIL_CODE_MAJOR = "civil_code_major"  # Art. 278 items 6–8: quorum 2/3, approval 3/4 of P
    CIVIL_CODE_ORDINARY = "civil_code_ordinary"  # other items: quorum 2/3, approval > 1/2 of P


class Basis(enum.StrEnum):
    """What ``renovation_consent`` counts: persons, area, or both must reach 2/3."""

    COUNT = "count"
    AREA = "area"
    BOTH = "both"


@dataclass(frozen=True)
class Totals:
    """T: the electorate; P: those who cast a ballot (agree, disagree or abstain); Y: agree."""

    t_cnt: int
    t_area: Decimal
    p_cnt: int
    p_area: Decimal
    y_cnt: int
    y_area: Decimal

    def __post_init__(self):
        for name in ("t_area", "p_area", "y_area"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or value != value.quantize(CENT):
                raise ValueError(f"{name} must be a Decimal with at most two decimals")
        if not (0 <= self.y_cnt <= self.p_cnt <= self.t_cnt):
            raise ValueError("need 0 ≤ Y_cnt ≤ P_cnt ≤ T_cnt")
        if not (0 <= self.y_area <= self.p_area <= self.t_area):
            raise ValueError("need 0 ≤ Y_area ≤ P_area ≤ T_area")


@dataclass(frozen=True)
class Shortfall:
    persons: int
    area: Decimal  # m², two decimals

    @property
    def none(self) -> bool:
        return self.persons == 0 and self.area == 0


@dataclass(frozen=True)
class Outcome:
    rule: Rule
    quorum_met: bool  # always True for renovation_consent, which has no quorum
    approved: bool
    participation: Shortfall  # still needed to reach the quorum
    agreement: Shortfall  # further agreeing ballots needed for ``passed``

    @property
    def passed(self) -> bool:
        return self.quorum_met and self.approved


def _cents(area: Decimal) -> int:
    return int(area / CENT)


def _area(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _needed_for_at_least(num: int, den: int, part: int, whole: int) -> int:
    """Smallest k ≥ 0 with den·(part + k) ≥ num·whole (the whole fixed)."""
    return max(0, _ceil_div(num * whole, den) - part)


def _needed_joining_at_least(num: int, den: int, yes: int, participants: int) -> int:
    """Smallest k ≥ 0 with den·(yes + k) ≥ num·(participants + k): k new agreeing ballots
    (each adds to both Y and P). Needs num < den."""
    return max(0, _ceil_div(num * participants - den * yes, den - num))


def _needed_joining_more_than_half(yes: int, participants: int) -> int:
    """Smallest k ≥ 0 with 2·(yes + k) > participants + k."""
    return max(0, participants - 2 * yes + 1)


def renovation_consent(totals: Totals, basis: Basis = Basis.COUNT) -> Outcome:
    """同意改造的业主数 ≥ 2/3 of all owners: 3·Y ≥ 2·T (by count, area or both)."""
    t = totals
    need_cnt = _needed_for_at_least(2, 3, t.y_cnt, t.t_cnt)
    need_area = _needed_for_at_least(2, 3, _cents(t.y_area), _cents(t.t_area))
    by_count = 3 * t.y_cnt >= 2 * t.t_cnt
    by_area = 3 * _cents(t.y_area) >= 2 * _cents(t.t_area)
    approved = {Basis.COUNT: by_count, Basis.AREA: by_area, Basis.BOTH: by_count and by_area}
    missing = Shortfall(
        need_cnt if basis is not Basis.AREA else 0,
        _area(need_area) if basis is not Basis.COUNT else _area(0),
    )
    return Outcome(
        Rule.RENOVATION_CONSENT,
        quorum_met=True,
        approved=approved[basis],
        participation=Shortfall(0, _area(0)),
        agreement=missing,
    )


def _civil_code(totals: Totals, rule: Rule) -> Outcome:
    t = totals
    t_c, p_c, y_c = _cents(t.t_area), _cents(t.p_area), _cents(t.y_area)
    quorum_met = 3 * t.p_cnt >= 2 * t.t_cnt and 3 * p_c >= 2 * t_c
    participation = Shortfall(
        _needed_for_at_least(2, 3, t.p_cnt, t.t_cnt),
        _area(_needed_for_at_least(2, 3, p_c, t_c)),
    )
    if rule is Rule.CIVIL_CODE_MAJOR:
        approved = 4 * t.y_cnt >= 3 * t.p_cnt and 4 * y_c >= 3 * p_c
        more_cnt = _needed_joining_at_least(3, 4, t.y_cnt, t.p_cnt)
        more_area = _needed_joining_at_least(3, 4, y_c, p_c)
    else:
        approved = 2 * t.y_cnt > t.p_cnt and 2 * y_c > p_c
        more_cnt = _needed_joining_more_than_half(t.y_cnt, t.p_cnt)
        more_area = _needed_joining_more_than_half(y_c, p_c)
    agreement = Shortfall(
        max(more_cnt, participation.persons),
        _area(max(more_area, _cents(participation.area))),
    )
    return Outcome(rule, quorum_met, approved, participation, agreement)


def civil_code_major(totals: Totals) -> Outcome:
    """Art. 278 items 6–8 (筹集维修资金, 改建重建, 改变共有部分用途; 加装电梯):
    3·P ≥ 2·T (area and count), then 4·Y ≥ 3·P (area and count)."""
    return _civil_code(totals, Rule.CIVIL_CODE_MAJOR)


def civil_code_ordinary(totals: Totals) -> Outcome:
    """Art. 278 items 1–5 and 9 (e.g. 使用维修资金): the same quorum, then 2·Y > P."""
    return _civil_code(totals, Rule.CIVIL_CODE_ORDINARY)


def evaluate(rule: Rule, totals: Totals, basis: Basis = Basis.COUNT) -> Outcome:
    if rule is Rule.RENOVATION_CONSENT:
        return renovation_consent(totals, basis)
    return _civil_code(totals, rule)


@dataclass(frozen=True)
class Ratio:
    """An exact ratio for the API: numerator/denominator, and a rounded percentage to show."""

    numerator: Decimal | int
    denominator: Decimal | int

    @property
    def exact(self) -> Fraction | None:
        if not self.denominator:
            return None
        return Fraction(self.numerator) / Fraction(self.denominator)

    @property
    def percent(self) -> Decimal | None:
        exact = self.exact
        if exact is None:
            return None
        value = Decimal(exact.numerator * 100) / Decimal(exact.denominator)
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Group:
    """Some persons: how many, and their area (m²)."""

    cnt: int = 0
    area: Decimal = ZERO

    @classmethod
    def of(cls, cnt: int, area: Decimal | None) -> Group:
        """From an aggregate row: ``count(*)`` and ``sum(area)`` (None over no rows)."""
        return cls(cnt, Decimal(area or 0).quantize(CENT))

    def __add__(self, other: Group) -> Group:
        return Group(self.cnt + other.cnt, self.area + other.area)


def amount(value: Decimal) -> str:
    """An area (m²) or a sum of money (yuan) for the API: a string with two decimals."""
    return str(value.quantize(CENT))


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> dict:
    """Exact numerator/denominator and the rounded percentage (None when nothing to divide)."""
    percent = Ratio(numerator, denominator).percent
    plain = amount if isinstance(numerator, Decimal) else int
    return {
        "numerator": plain(numerator),
        "denominator": plain(denominator),
        "percent": None if percent is None else str(percent),
    }
