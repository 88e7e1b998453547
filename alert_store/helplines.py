"""Each country's children's helpline and emergency number, shown to the child (help and warning pages)
and to the parent (dashboard advice). The parent picks the country at set-up; "other" takes typed numbers.

Kept in the store package because both sides read it: the proxy's child pages and the parent dashboard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OTHER = "other"
DEFAULT_COUNTRY = "VN"
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{1,19}$")


@dataclass(frozen=True)
class Helplines:
    """Where a child (or parent) can call: ``child_line`` is free and for children; ``emergency`` is the
    police / emergency number to use when someone is in danger now."""

    country: str
    name: str
    child_line: str
    child_line_name: str
    emergency: str


COUNTRIES: dict[str, Helplines] = {
    h.country: h
    for h in (
        Helplines("VN", "Việt Nam", "111", "Tổng đài quốc gia bảo vệ trẻ em", "113"),
        Helplines("GB", "United Kingdom", "0800 1111", "Childline", "999"),
        Helplines("IE", "Ireland", "1800 66 66 66", "Childline", "112"),
        Helplines("US", "United States", "1-800-422-4453", "Childhelp National Child Abuse Hotline", "911"),
        Helplines("CA", "Canada", "1-800-668-6868", "Kids Help Phone", "911"),
        Helplines("AU", "Australia", "1800 55 1800", "Kids Helpline", "000"),
        Helplines("NZ", "New Zealand", "0800 543 754", "Kidsline", "111"),
        Helplines("SG", "Singapore", "1800 274 4788", "Tinkle Friend", "999"),
        Helplines("PH", "Philippines", "163", "Bantay Bata 163", "911"),
        Helplines("IN", "India", "1098", "Childline India", "112"),
        Helplines("DE", "Deutschland", "116 111", "Nummer gegen Kummer", "112"),
        Helplines("FR", "France", "119", "Allô Enfance en Danger", "112"),
    )
}


class HelplineError(ValueError):
    """A country code we do not know, or a typed number that is not a phone number."""


def valid_phone(number: str) -> str:
    """``number`` stripped, if it looks like a phone number (digits, spaces, dashes, a leading +)."""
    number = number.strip()
    if not _PHONE.match(number):
        raise HelplineError(f"not a phone number: {number[:40]!r}")
    return number


def helplines_for(country: str, child_line: str = "", emergency: str = "") -> Helplines:
    """The numbers for ``country``; for ``"other"``, the numbers the parent typed (both required)."""
    if country == OTHER:
        return Helplines(OTHER, "", valid_phone(child_line), "", valid_phone(emergency))
    try:
        return COUNTRIES[country]
    except KeyError:
        raise HelplineError(f"unknown country code: {country[:10]!r}") from None
