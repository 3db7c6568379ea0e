"""Money reads the way the active language writes it: symbol, grouping and decimal mark
from the locale (CLDR), minor units from the currency. Nothing in crm.money may assume
English separators, or an Indonesian page shows `Rp1,250,000.00`."""

from decimal import Decimal

import pytest
from django.utils import translation

from crm.money import format_compact, format_money, format_totals

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "amount", "currency", "cents", "expected"),
    [
        # Indonesian: "." groups thousands, "," marks decimals; Rupiah has no minor unit.
        ("id", "1250000.00", "IDR", True, "Rp1.250.000"),
        ("id", "1250000", "IDR", False, "Rp1.250.000"),
        ("id", "50000.00", "USD", True, "US$50.000,00"),
        ("id", "50000", "USD", False, "US$50.000"),
        ("id", "50000", "EUR", True, "€50.000,00"),
        ("id", "-1250", "USD", True, "-US$1.250,00"),
        # A fraction the currency does not use is shown, never rounded away.
        ("id", "10.50", "IDR", True, "Rp10,50"),
        # English: the same amounts with English marks; a code without a symbol leads.
        ("en", "50000.00", "USD", True, "$50,000.00"),
        ("en", "50000", "USD", False, "$50,000"),
        ("en", "1250000.00", "IDR", True, f"IDR{NBSP}1,250,000"),
        ("en", "1600000.00", "JPY", True, "¥1,600,000"),
        ("en", "1234.5", "KWD", True, f"KWD{NBSP}1,234.500"),
        # A locale that writes the symbol after the number keeps doing so.
        ("de", "50000", "EUR", False, f"50.000{NBSP}€"),
    ],
)
def test_format_money_follows_the_active_locale(language, amount, currency, cents, expected):
    with translation.override(language):
        assert format_money(Decimal(amount), currency, cents=cents) == expected


def test_missing_amount_reads_as_a_dash_in_every_language():
    for language in ("en", "id"):
        with translation.override(language):
            assert format_money(None, "IDR") == "—"
            assert format_compact(None, "IDR") == "—"


def test_compact_totals_use_the_locale_abbreviations():
    totals = [("USD", Decimal("1200000")), ("IDR", Decimal("300000000"))]
    with translation.override("id"):
        # "jt" is juta (million) and the decimal mark is a comma.
        assert format_totals(totals) == f"USD{NBSP}1,2{NBSP}jt · IDR{NBSP}300{NBSP}jt"
    with translation.override("en"):
        assert format_totals(totals) == f"USD{NBSP}1.2M · IDR{NBSP}300M"
