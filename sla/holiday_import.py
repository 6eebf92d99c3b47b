"""Public-holiday lists for business calendars, from the ``holidays`` package (pure: no Django).

The result plugs straight into ``BusinessCalendar(..., holidays=public_holidays("DK", None, [2025]))``:
iterating the mapping yields its dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import holidays as holidays_package


def public_holidays(country: str, subdivision: str | None, years: Iterable[int]) -> dict[date, str]:
    """Public holidays of ``country`` (an ISO 3166 code, any case) in ``years``, as ``{date: name}`` by date.

    ``subdivision`` is a state/province/region code or one of its names known to the ``holidays`` package
    (matched case-insensitively: "ca", "CA" and "California" are the same), or ``None`` for national holidays
    only. Substitute ("observed") days are included because that is when offices close; several holidays on
    one date come back as one name joined with "; ". Raises ``ValueError`` for an unknown country or
    subdivision and for years that are not integers in 1..9999.
    """
    if not isinstance(country, str):
        raise ValueError(f"country must be an ISO 3166 code such as 'DK', got {country!r}")
    country_code = country.strip().upper()
    supported = holidays_package.list_supported_countries()
    if country_code not in supported:
        raise ValueError(f"unknown country {country!r}: the holidays package has no calendar for it")

    year_list = list(years)  # may be a one-shot iterator
    for year in year_list:
        if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
            raise ValueError(f"years must be integers in 1..9999, got {year!r}")

    resolved_subdivision = None
    if subdivision is not None:
        resolved_subdivision = _resolve_subdivision(country_code, subdivision)

    calendar = holidays_package.country_holidays(country_code, subdiv=resolved_subdivision, years=year_list)
    return dict(sorted(calendar.items()))


def _resolve_subdivision(country_code: str, subdivision: str) -> str:
    """The package's own spelling of ``subdivision`` (a code or an alias such as "California")."""
    if not isinstance(subdivision, str):
        raise ValueError(f"subdivision must be a string or None, got {subdivision!r}")
    # Codes and aliases are case-sensitive in the package ("BY" works, "by" does not), so match them
    # case-insensitively here; an empty-years instance is cheap and exposes both lists.
    entity = holidays_package.country_holidays(country_code, years=[])
    known_names = [*entity.subdivisions, *entity.subdivisions_aliases]
    by_folded_name = {name.casefold(): name for name in known_names}
    resolved = by_folded_name.get(subdivision.strip().casefold())
    if resolved is None:
        codes = ", ".join(entity.subdivisions) or "none"
        raise ValueError(
            f"unknown subdivision {subdivision!r} for country {country_code}; known codes: {codes}"
        )
    return resolved
