"""Time units: the one table every module converts with (no hidden 30-day month).

``D`` is a day, ``W`` 7 days, ``M`` the mean Gregorian month (365.2425 / 12 = 30.436875 days)
and ``Y`` the mean Gregorian year (365.2425 days).
"""

from __future__ import annotations

from models._validation import ValidationError

#: Length of each time unit in days.
TIME_UNITS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.2425 / 12, "Y": 365.2425}


def unit_days(unit: str) -> float:
    """Length of ``unit`` in days, or a clear error for an unknown code."""
    if unit not in TIME_UNITS:
        raise ValidationError(
            f"time_unit must be one of {list(TIME_UNITS)} (day, week, month, year); got {unit!r}."
        )
    return TIME_UNITS[unit]


def unit_ratio(from_unit: str, to_unit: str) -> float:
    """How many ``to_unit`` make one ``from_unit``.

    Examples
    --------
    >>> round(unit_ratio("Y", "W"), 4)
    52.1775
    """
    return unit_days(from_unit) / unit_days(to_unit)
