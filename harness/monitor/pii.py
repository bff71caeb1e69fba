"""Mask obvious personal data before anything is written: e-mail addresses, card and phone numbers.

Card numbers are 13 to 19 digits (spaces or dashes between groups) that pass the Luhn check;
phone numbers are 7 to 15 digits with an optional leading ``+`` and spaces, dots, dashes or
parentheses between them, and not an ISO date. Masks: ``[EMAIL]``, ``[CARD]``, ``[PHONE]``.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,}\d(?!\w)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def mask_pii(text: str) -> str:
    """The text with e-mail addresses, card numbers and phone numbers replaced by masks."""
    return _DIGITS.sub(_mask_number, EMAIL.sub("[EMAIL]", text))


def _mask_number(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = re.sub(r"\D", "", found)
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "[CARD]"
    if 7 <= len(digits) <= 15 and not _DATE.match(found.strip()):
        return "[PHONE]"
    return found
