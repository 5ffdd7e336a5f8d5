"""Money as people read it: one format for pages, notices, emails and exports."""

from __future__ import annotations

from decimal import Decimal

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def format_money(value: Decimal | int | float | None, currency: str) -> str:
    """£12,800.00 (an unknown currency code is written before the amount)."""
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return f"{symbol}{Decimal(value or 0):,.2f}"


def spreadsheet_format(currency: str) -> str:
    """The number format that shows amounts as ``format_money`` writes them (Excel, LibreOffice)."""
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return f'"{symbol}"#,##0.00'
