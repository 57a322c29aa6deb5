"""How a phone number is shown: the one grouping the check page and the exports share."""

from __future__ import annotations

import phonenumbers


def grouped(value: str) -> str:
    """A Kazakhstan number grouped as the contact page's hint writes it, +7 701 234 56 78,
    which a voice reads in the same groups; any other number in the international format."""
    number = phonenumbers.parse(value, "KZ")
    national = str(number.national_number)
    if number.country_code == 7 and len(national) == 10:
        return f"+7 {national[:3]} {national[3:6]} {national[6:8]} {national[8:]}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
