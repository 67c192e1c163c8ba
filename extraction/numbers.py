"""Cell text → number: full-width digits, thousands separators, signs, units, null markers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

# Printed ways of saying "not stated": the contract maps them to null, never to 0.
NULL_MARKERS = frozenset(
    {"", "—", "——", "–", "-", "--", "/", "／", "\\", "无", "不涉及", "空", "×", "*", "…", "－"}
)
_NUMBER = re.compile(
    r"^(?P<sign>[+\-−]?)\s*(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"\s*(?P<unit>万元|元|件|个|条|项|次|宗|笔)?"
    r"(?P<note>[(（][^)）]*[)）])?$"
)
_DOTTED_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_PAGE_MARK = re.compile(r"^[-—–－]+\s*\d+\s*[-—–－]+$|^第\s*\d+\s*页(?:\s*共\s*\d+\s*页)?$|^\d+\s*/\s*\d+$")


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u3000", " ").strip()


@lru_cache(maxsize=65536)
def _clean(text: str) -> str:
    return _normalize(text).replace(" ", "")


@lru_cache(maxsize=65536)
def is_value(text: str) -> bool:
    """A cell that holds a count, an amount or a null marker — not a label."""
    clean = _clean(text)
    return clean in NULL_MARKERS or _NUMBER.match(clean) is not None


def is_page_mark(text: str) -> bool:
    """A page number line; spaces inside are kept, so a row of values like "2 0 1 / 3" is not one."""
    return _PAGE_MARK.match(_normalize(text)) is not None


@dataclass(frozen=True)
class ParsedValue:
    value: int | float | None
    exact: bool  # False when the text needed interpretation beyond a plain number


def parse_value(text: str, decimal: bool = False, unit_yuan: bool = False) -> ParsedValue:
    """Parse a cell; ``decimal`` fields are in 万元, ``unit_yuan`` says the column header printed 元."""
    clean = _clean(text)
    if clean in NULL_MARKERS:
        return ParsedValue(None, True)
    match = _NUMBER.match(clean)
    if match is None:
        return ParsedValue(None, False)
    try:
        number = Decimal(match["num"].replace(",", ""))
    except InvalidOperation:
        return ParsedValue(None, False)
    if match["sign"] in ("-", "−"):
        number = -number
    exact = match["note"] is None
    if decimal:
        unit = match["unit"]
        if unit == "元" or (unit is None and unit_yuan):
            number = number / 10000
        value: int | float = float(number)
        if value == int(value):
            value = int(value)
        return ParsedValue(value, exact)
    if number != number.to_integral_value():
        if _DOTTED_THOUSANDS.match(match["num"]):  # a count: "1.633" is 1,633 with its comma misread
            return ParsedValue(int(match["num"].replace(".", "")) * (-1 if number < 0 else 1), False)
        return ParsedValue(float(number), False)
    return ParsedValue(int(number), exact)
