"""Detect volatile facts in assistant outputs (the seed's number-one wasted project).

Prices, dates, percentages, version numbers and words such as "currently" or "as of"
change after training; a fine-tune freezes them. Such outputs belong in retrieval.
"""

from __future__ import annotations

import re

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

PATTERNS: dict[str, re.Pattern[str]] = {
    "price": re.compile(
        r"[$€£¥]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:usd|eur|gbp|dollars?|euros?|cents?)\b", re.I
    ),
    "percentage": re.compile(r"\b\d+(?:\.\d+)?\s?(?:%|percent\b)", re.I),
    "date": re.compile(
        rf"\b(?:19|20)\d\d-\d\d-\d\d\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
        rf"|\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\b"
        rf"|\b(?:in|since|until|by|as of)\s+(?:{_MONTH}\s+)?(?:19|20)\d\d\b",
        re.I,
    ),
    "version": re.compile(r"\bv\d+(?:\.\d+)+\b|\b\d+\.\d+\.\d+\b|\bversion\s+\d+(?:\.\d+)*\b", re.I),
    "time-relative": re.compile(
        r"\b(?:currently|as of|latest|at the moment|right now|nowadays|this (?:week|month|quarter|year))\b", re.I
    ),
}


def volatile_facts(text: str) -> list[tuple[str, str]]:
    """Return ``(kind, matched text)`` for each volatile fact found in ``text``, first match per kind."""
    found = []
    for kind, pattern in PATTERNS.items():
        match = pattern.search(text)
        if match:
            found.append((kind, match.group(0)))
    return found
