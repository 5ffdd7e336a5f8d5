"""Plan years as a school's finance office names them: financial years."""

from __future__ import annotations

from datetime import date


def financial_year_start(text: str) -> tuple[int, int]:
    """(month, day) from "MM-DD"; ValueError if it is not a day of the year."""
    month, _, day = text.strip().partition("-")
    value = (int(month), int(day))
    date(2024, *value)  # a leap year: 02-29 is a day some year
    return value


def labels(start: str, raised: date, years: int) -> list[str]:
    """The financial years of a plan's years, the first being the one ``raised`` falls in:
    "2026–27" (or "2026" when the year starts on 1 January)."""
    month, day = financial_year_start(start)
    first = raised.year if (raised.month, raised.day) >= (month, day) else raised.year - 1
    if (month, day) == (1, 1):
        return [str(first + i) for i in range(years)]
    return [f"{first + i}–{str(first + i + 1)[-2:]}" for i in range(years)]
