"""The counting rules at their boundaries, the worked example of DESIGN.md, and an exhaustive
comparison with a straightforward Fraction-based reading of the law on small electorates."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest

from participation.counting import (
    Basis,
    Ratio,
    Rule,
    Totals,
    civil_code_major,
    civil_code_ordinary,
    evaluate,
    renovation_consent,
)

D = Decimal


def totals(t, p, y, ta=None, pa=None, ya=None):
    """Headcounts, and areas defaulting to 100 m² a person."""
    return Totals(
        t,
        D(ta if ta is not None else t * 100).quantize(D("0.01")),
        p,
        D(pa if pa is not None else p * 100).quantize(D("0.01")),
        y,
        D(ya if ya is not None else y * 100).quantize(D("0.01")),
    )


# Worked example (DESIGN.md) ----------------------------------------------------------------


def test_worked_example_passes_exactly():
    outcome = civil_code_major(totals(30, 20, 15, "2400.00", "1600.00", "1200.00"))
    assert outcome.quorum_met and outcome.approved and outcome.passed
    assert outcome.participation.none and outcome.agreement.none


def test_worked_example_one_fewer_agreeing_person_fails():
    outcome = civil_code_major(totals(30, 20, 14, "2400.00", "1600.00", "1120.00"))
    assert outcome.quorum_met and not outcome.approved
    # 4·(14 + k) ≥ 3·(20 + k) → k ≥ 4
    assert outcome.agreement.persons == 4


def test_worked_example_one_fewer_participant_misses_the_quorum():
    outcome = civil_code_major(totals(30, 19, 15, "2400.00", "1520.00", "1200.00"))
    assert not outcome.quorum_met and not outcome.passed
    assert outcome.participation.persons == 1
    assert outcome.participation.area == D("80.00")


# renovation_consent: 3·Y ≥ 2·T ------------------------------------------------------------


def test_consent_exactly_two_thirds_passes():
    assert renovation_consent(totals(45, 30, 30)).passed  # the sample roster: 30 of 45


def test_consent_one_short_fails_and_says_one_is_missing():
    outcome = renovation_consent(totals(45, 45, 29))
    assert not outcome.passed
    assert outcome.agreement.persons == 1


def test_consent_non_voters_never_count_as_agreeing():
    outcome = renovation_consent(totals(45, 29, 29))
    assert not outcome.passed
    assert outcome.agreement.persons == 1


def test_consent_by_area_and_both():
    # 30 of 45 persons agree, but they hold less than 2/3 of the area.
    t = totals(45, 30, 30, "4500.00", "2999.99", "2999.99")
    assert renovation_consent(t, Basis.COUNT).passed
    assert not renovation_consent(t, Basis.AREA).passed
    assert not renovation_consent(t, Basis.BOTH).passed
    assert renovation_consent(t, Basis.AREA).agreement.area == D("0.01")
    assert renovation_consent(t, Basis.AREA).agreement.persons == 0
    exact = totals(45, 30, 30, "4500.00", "3000.00", "3000.00")
    assert renovation_consent(exact, Basis.BOTH).passed


def test_consent_area_passing_while_count_fails():
    t = totals(45, 29, 29, "4500.00", "3100.00", "3100.00")
    assert renovation_consent(t, Basis.AREA).passed
    assert not renovation_consent(t, Basis.COUNT).passed
    assert not renovation_consent(t, Basis.BOTH).passed


# civil_code_major: quorum 2/3 of T, approval 3/4 of P -------------------------------------


def test_major_exactly_three_quarters_passes_and_one_short_fails():
    assert civil_code_major(totals(12, 8, 6)).passed
    assert not civil_code_major(totals(12, 8, 5)).passed


def test_major_quorum_exactly_two_thirds_and_one_short():
    assert civil_code_major(totals(12, 8, 8)).quorum_met
    outcome = civil_code_major(totals(12, 7, 7))
    assert not outcome.quorum_met
    assert outcome.participation.persons == 1
    assert outcome.agreement.persons == 1


def test_major_count_passes_area_fails():
    # 6 of 8 persons agree (3/4) but they hold only 599.99 of 800.00 m².
    outcome = civil_code_major(totals(12, 8, 6, "1200.00", "800.00", "599.99"))
    assert outcome.quorum_met and not outcome.approved
    assert outcome.agreement.area == D("0.04")  # 4·(599.99+k) ≥ 3·(800+k) → k ≥ 0.04
    assert outcome.agreement.persons == 0


def test_major_area_passes_count_fails():
    outcome = civil_code_major(totals(12, 8, 5, "1200.00", "800.00", "700.00"))
    assert not outcome.approved
    assert outcome.agreement.persons == 4  # 4·(5+k) ≥ 3·(8+k)


def test_major_quorum_by_area_fails_alone():
    outcome = civil_code_major(totals(12, 8, 8, "1200.00", "799.99", "799.99"))
    assert not outcome.quorum_met
    assert outcome.participation == outcome.participation.__class__(0, D("0.01"))


# civil_code_ordinary: quorum 2/3, approval strictly more than half of P -------------------


def test_ordinary_exactly_half_fails():
    outcome = civil_code_ordinary(totals(12, 8, 4))
    assert outcome.quorum_met and not outcome.approved
    assert outcome.agreement.persons == 1


def test_ordinary_one_more_than_half_passes():
    assert civil_code_ordinary(totals(12, 8, 5)).passed


def test_ordinary_half_by_area_fails():
    outcome = civil_code_ordinary(totals(12, 8, 5, "1200.00", "800.00", "400.00"))
    assert not outcome.approved
    assert outcome.agreement.area == D("0.01")


# Exhaustive comparison with a plain reading of the rules -----------------------------------


def reference(rule, t, p, y):
    if rule is Rule.RENOVATION_CONSENT:
        return Fraction(y, t or 1) >= Fraction(2, 3) if t else True
    quorum = (Fraction(p, t) >= Fraction(2, 3)) if t else True
    if rule is Rule.CIVIL_CODE_MAJOR:
        approval = Fraction(y, p) >= Fraction(3, 4) if p else True
    else:
        approval = Fraction(y, p) > Fraction(1, 2) if p else False
    return quorum and approval


def joined(rule, t, p, y, k):
    """The totals after k more owners who had not voted cast an agreeing ballot (None if
    there are not that many non-voters)."""
    if rule is Rule.RENOVATION_CONSENT:
        return totals(t, max(p, y + k), y + k) if y + k <= t else None
    return totals(t, p + k, y + k) if p + k <= t else None


@pytest.mark.parametrize("rule", list(Rule))
def test_exhaustive_small_electorates(rule):
    for t in range(0, 25):
        for p, y in itertools.product(range(t + 1), repeat=2):
            if y > p:
                continue
            outcome = evaluate(rule, totals(t, p, y))
            assert outcome.passed == reference(rule, t, p, y), (rule, t, p, y)
            assert outcome.passed == (outcome.agreement.persons == 0), (rule, t, p, y)
            # What is reported missing is exactly enough, and one fewer is not.
            k = outcome.agreement.persons
            enough = joined(rule, t, p, y, k)
            if k and enough is not None:
                assert evaluate(rule, enough).passed, (rule, t, p, y, k)
                assert not evaluate(rule, joined(rule, t, p, y, k - 1)).passed, (rule, t, p, y, k)


def reference_with_areas(rule, basis, counts, cents):
    """The law read plainly, headcount and area each as their own fractions."""
    (t, p, y), (ta, pa, ya) = counts, cents

    def at_least(part, whole, bound):  # an empty whole: nothing to reach
        return Fraction(part, whole) >= bound if whole else True

    if rule is Rule.RENOVATION_CONSENT:
        by_count, by_area = at_least(y, t, Fraction(2, 3)), at_least(ya, ta, Fraction(2, 3))
        return {Basis.COUNT: by_count, Basis.AREA: by_area, Basis.BOTH: by_count and by_area}[basis]
    quorum = at_least(p, t, Fraction(2, 3)) and at_least(pa, ta, Fraction(2, 3))
    if rule is Rule.CIVIL_CODE_MAJOR:
        approval = at_least(y, p, Fraction(3, 4)) and at_least(ya, pa, Fraction(3, 4))
    else:  # strictly more than half; nobody voting is not a majority
        half = Fraction(1, 2)
        approval = bool(p and pa) and Fraction(y, p) > half and Fraction(ya, pa) > half
    return quorum and approval


def joined_with_areas(rule, counts, cents, k, a):
    """The totals after k more owners holding ``a`` hundredths of a m² cast an agreeing
    ballot (None if there are not that many non-voters or that much area)."""
    (t, p, y), (ta, pa, ya) = counts, cents
    if rule is Rule.RENOVATION_CONSENT:
        if y + k > t or ya + a > ta:
            return None
        counts, cents = (t, max(p, y + k), y + k), (ta, max(pa, ya + a), ya + a)
    else:
        if p + k > t or pa + a > ta:
            return None
        counts, cents = (t, p + k, y + k), (ta, pa + a, ya + a)
    (t, p, y), (ta, pa, ya) = counts, (D(c) / 100 for c in cents)
    return Totals(t, ta, p, pa, y, ya)


@pytest.mark.parametrize(
    ("rule", "basis"),
    [(Rule.RENOVATION_CONSENT, basis) for basis in Basis]
    + [(Rule.CIVIL_CODE_MAJOR, Basis.COUNT), (Rule.CIVIL_CODE_ORDINARY, Basis.COUNT)],
)
def test_exhaustive_with_areas_independent_of_headcount(rule, basis):
    """Every headcount triple up to 7 persons against every area triple up to 0.09 m²: the
    two disagree in most cases (more people with less area, and the reverse)."""
    headcounts = [(t, p, y) for t in range(8) for p in range(t + 1) for y in range(p + 1)]
    areas = [(ta, pa, ya) for ta in range(10) for pa in range(ta + 1) for ya in range(pa + 1)]
    for counts, cents in itertools.product(headcounts, areas):
        given = joined_with_areas(rule, counts, cents, 0, 0)
        outcome = evaluate(rule, given, basis)
        case = (rule, basis, counts, cents)
        assert outcome.passed == reference_with_areas(rule, basis, counts, cents), case
        assert outcome.passed == outcome.agreement.none, case
        if rule is Rule.RENOVATION_CONSENT:  # no quorum: no participation ever missing
            assert outcome.quorum_met and outcome.participation.none, case
        # What is reported missing is exactly enough, and one person or 0.01 m² fewer is not.
        k, a = outcome.agreement.persons, int(outcome.agreement.area * 100)
        if outcome.passed or joined_with_areas(rule, counts, cents, k, a) is None:
            continue
        assert evaluate(rule, joined_with_areas(rule, counts, cents, k, a), basis).passed, case
        if k:
            fewer = joined_with_areas(rule, counts, cents, k - 1, a)
            assert not evaluate(rule, fewer, basis).passed, case
        if a:
            less = joined_with_areas(rule, counts, cents, k, a - 1)
            assert not evaluate(rule, less, basis).passed, case


def test_totals_reject_impossible_or_inexact_input():
    with pytest.raises(ValueError):
        totals(10, 11, 5)
    with pytest.raises(ValueError):
        totals(10, 5, 6)
    with pytest.raises(ValueError):
        Totals(10, D("1.001"), 0, D("0"), 0, D("0"))
    with pytest.raises(ValueError):
        Totals(10, 100.0, 0, D("0"), 0, D("0"))  # floats are refused


def test_ratio_is_exact_and_rounded_for_display():
    ratio = Ratio(30, 45)
    assert ratio.exact == Fraction(2, 3)
    assert ratio.percent == D("66.67")
    assert Ratio(D("1200.00"), D("1600.00")).percent == D("75.00")
    assert Ratio(0, 0).percent is None
