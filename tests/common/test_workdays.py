"""Working days in mainland China: statutory holidays, 调休 make-up working days, the project's
overrides, the Monday–Friday fallback, and deadlines at 23:59:59 Shanghai time as UTC."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from participation.common import workdays
from participation.common.workdays import add_days, end_of_working_day_after, is_workday


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def overrides(monkeypatch):
    table: dict[date, bool] = {}
    monkeypatch.setattr(workdays, "OVERRIDES", table)
    return table


def test_national_day_week_2026_is_off():
    for day in range(1, 8):
        assert not is_workday(date(2026, 10, day)), f"2026-10-0{day}"
    assert is_workday(date(2026, 10, 8))
    assert is_workday(date(2026, 9, 30))


def test_make_up_weekend_days_are_working_days():
    assert date(2026, 9, 20).weekday() == 6 and is_workday(date(2026, 9, 20))  # Sunday
    assert date(2026, 2, 14).weekday() == 5 and is_workday(date(2026, 2, 14))  # Saturday
    assert not is_workday(date(2026, 9, 19))  # an ordinary Saturday
    assert not is_workday(date(2026, 9, 27))  # an ordinary Sunday


def test_spring_festival_2026():
    assert not is_workday(date(2026, 2, 17))  # 春节, a Tuesday
    assert is_workday(date(2026, 2, 13))


def test_filed_before_national_day_is_due_after_the_holiday():
    due = end_of_working_day_after(shanghai("2026-09-30T10:00:00+08:00"))
    assert due == shanghai("2026-10-08T23:59:59+08:00")
    assert due.tzinfo is UTC
    assert due.isoformat() == "2026-10-08T15:59:59+00:00"


def test_filed_on_a_saturday_is_due_on_the_make_up_sunday():
    assert end_of_working_day_after(shanghai("2026-09-19T09:30:00+08:00")) == shanghai(
        "2026-09-20T23:59:59+08:00"
    )
    assert end_of_working_day_after(shanghai("2026-02-13T18:00:00+08:00")) == shanghai(
        "2026-02-14T23:59:59+08:00"
    )


def test_new_year_crosses_into_the_next_year():
    due = end_of_working_day_after(shanghai("2026-12-31T16:00:00+08:00"))
    assert due == shanghai("2027-01-04T23:59:59+08:00")


def test_the_local_date_counts_not_the_utc_one():
    # 2026-09-29 17:00 UTC is already Wednesday 2026-09-30 01:00 in Shanghai
    at = datetime(2026, 9, 29, 17, 0, tzinfo=UTC)
    assert end_of_working_day_after(at) == shanghai("2026-10-08T23:59:59+08:00")
    # 2026-09-29 15:00 UTC is still Tuesday 23:00 in Shanghai: due on Wednesday
    at = datetime(2026, 9, 29, 15, 0, tzinfo=UTC)
    assert end_of_working_day_after(at) == shanghai("2026-09-30T23:59:59+08:00")


def test_several_working_days():
    start = shanghai("2026-09-28T10:00:00+08:00")  # Monday
    # Tue 29, Wed 30, then Thu 8 Oct, Fri 9, Sat 10 (a make-up working day)
    assert end_of_working_day_after(start, 3) == shanghai("2026-10-08T23:59:59+08:00")
    assert end_of_working_day_after(start, 5) == shanghai("2026-10-10T23:59:59+08:00")


def test_bad_arguments():
    with pytest.raises(ValueError):
        end_of_working_day_after(datetime(2026, 9, 30, 10, 0))  # naive
    with pytest.raises(ValueError):
        end_of_working_day_after(shanghai("2026-09-30T10:00:00+08:00"), 0)
    with pytest.raises(ValueError):
        add_days(shanghai("2026-09-30T10:00:00+08:00"), -1)


def test_add_days_is_calendar_days_to_the_end_of_the_local_day():
    at = shanghai("2026-09-30T10:00:00+08:00")
    assert add_days(at, 7) == shanghai("2026-10-07T23:59:59+08:00")
    assert add_days(at, 0) == shanghai("2026-09-30T23:59:59+08:00")
    assert add_days(at, 7).tzinfo is UTC
    late = datetime(2026, 9, 30, 20, 0, tzinfo=UTC)  # 2026-10-01 04:00 in Shanghai
    assert add_days(late, 1) == shanghai("2026-10-02T23:59:59+08:00")


def test_overrides_win(overrides):
    overrides[date(2026, 10, 8)] = False  # say, a local exception
    overrides[date(2026, 10, 3)] = True
    assert not is_workday(date(2026, 10, 8))
    assert is_workday(date(2026, 10, 3))
    assert end_of_working_day_after(shanghai("2026-09-30T10:00:00+08:00")) == shanghai(
        "2026-10-03T23:59:59+08:00"
    )


def test_a_year_without_data_falls_back_to_monday_to_friday(caplog):
    workdays._has_holidays.cache_clear()
    year = 2101  # beyond the holidays package's calendar
    monday = date(year, 1, 3)
    while monday.weekday() != 0:
        monday += timedelta(days=1)
    with caplog.at_level(logging.WARNING, logger="participation.common.workdays"):
        week = [is_workday(monday + timedelta(days=n)) for n in range(7)]
        is_workday(monday)
    assert week == [True] * 5 + [False] * 2
    warnings = [r for r in caplog.records if str(year) in r.getMessage()]
    assert len(warnings) == 1  # once, not at every call


def test_a_year_without_make_up_days_warns_once_and_keeps_its_holidays(caplog):
    workdays._warn_no_make_up_days.cache_clear()
    year = 2099  # rule-based holidays in the package, no announced 调休
    assert not workdays.has_make_up_data(year)
    with caplog.at_level(logging.WARNING, logger="participation.common.workdays"):
        assert not is_workday(date(year, 10, 1))  # National Day, a Thursday
        assert not is_workday(date(year, 10, 3))  # Saturday
        assert is_workday(date(year, 10, 12))  # Monday
    assert len([r for r in caplog.records if "调休" in r.getMessage()]) == 1


def test_an_override_gives_a_year_its_make_up_days(overrides):
    overrides[date(2099, 10, 10)] = True
    assert workdays.has_make_up_data(2099)
    assert is_workday(date(2099, 10, 10))
