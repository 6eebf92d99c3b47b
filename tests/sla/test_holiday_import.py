"""Tests for sla.holiday_import (needs the installed ``holidays`` package, not Django)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from sla.business_time import BusinessCalendar, business_seconds_between
from sla.holiday_import import public_holidays


def test_danish_holidays_come_back_by_date_with_names() -> None:
    danish = public_holidays("DK", None, [2025])
    assert danish[date(2025, 12, 25)] == "Christmas Day"
    assert date(2025, 6, 9) in danish  # Whit Monday
    assert list(danish) == sorted(danish)
    assert all(day.year == 2025 for day in danish)


def test_country_and_subdivision_codes_are_case_insensitive_and_names_work() -> None:
    expected = public_holidays("US", "CA", [2025])
    assert public_holidays("us", "ca", [2025]) == expected
    assert public_holidays(" US ", "California", [2025]) == expected
    assert date(2025, 3, 31) in expected  # Cesar Chavez Day: California only
    assert date(2025, 3, 31) not in public_holidays("US", None, [2025])


def test_subdivision_with_a_mixed_case_name_is_found() -> None:
    augsburg = public_holidays("DE", "augsburg", [2025])
    assert date(2025, 8, 8) in augsburg  # Augsburger Hohes Friedensfest


def test_observed_substitute_days_are_included() -> None:
    # Independence Day 2021 fell on a Sunday; offices closed on Monday 5 July.
    assert public_holidays("US", None, [2021])[date(2021, 7, 5)] == "Independence Day (observed)"


def test_several_years_from_a_one_shot_iterator() -> None:
    both_years = public_holidays("DK", None, iter([2025, 2026]))
    assert {day.year for day in both_years} == {2025, 2026}


def test_no_years_means_no_holidays() -> None:
    assert public_holidays("DK", None, []) == {}


def test_unknown_country_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown country 'XX'"):
        public_holidays("XX", None, [2025])


@pytest.mark.parametrize(("country", "subdivision"), [("US", "ZZ"), ("DK", "84"), ("DE", "")])
def test_unknown_subdivision_is_a_value_error(country: str, subdivision: str) -> None:
    with pytest.raises(ValueError, match="unknown subdivision"):
        public_holidays(country, subdivision, [2025])


@pytest.mark.parametrize("year", [0, 10_000, True, 2025.0, "2025"])
def test_years_must_be_integers_in_range(year: Any) -> None:
    with pytest.raises(ValueError, match="years must be integers"):
        public_holidays("DK", None, [year])


@pytest.mark.parametrize("country", [None, 45])
def test_country_must_be_a_string(country: Any) -> None:
    with pytest.raises(ValueError, match="country must be"):
        public_holidays(country, None, [2025])


def test_result_plugs_into_a_business_calendar() -> None:
    calendar = BusinessCalendar(
        "Europe/Copenhagen",
        {weekday: [(time(9), time(17))] for weekday in range(5)},
        holidays=public_holidays("DK", None, [2025]),
    )
    # Mon 22 Dec to Mon 29 Dec: Wednesday 24 December is a working day in Denmark, 25 and 26 are not.
    start = datetime(2025, 12, 22, 0, 0, tzinfo=UTC)
    assert business_seconds_between(calendar, start, datetime(2025, 12, 29, 0, 0, tzinfo=UTC)) == 3 * 8 * 3600
