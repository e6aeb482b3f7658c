"""Phone numbers the way an agent types them: any spacing, dashes, with or without +86."""

from __future__ import annotations

import re

import phonenumbers

_DIGITS = re.compile(r"\D+")


def normalize_phone(raw: str | None) -> str | None:
    """The canonical digits of a Chinese phone number, or None when it is not a valid number.

    Mobiles become their 11 digits (13812345678); landlines become area code + number with the
    trunk 0 (02112345678), so that a number stored one way is found when typed another way.
    """
    if not raw or not str(raw).strip():
        return None
    text = str(raw).strip()
    if text.startswith("0086"):
        text = "+86" + text[4:]
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if number.country_code != 86:
        return "+" + str(number.country_code) + str(number.national_number)
    national = str(number.national_number)
    if (
        phonenumbers.number_type(number)
        in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        and len(national) == 11
        and national.startswith("1")
    ):
        return national
    return "0" + national


def phone_digits(raw: str | None) -> str:
    """Only the digits, with a leading 86 country code dropped: for fragment search."""
    digits = _DIGITS.sub("", raw or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def format_phone(normalized: str | None) -> str:
    """138 1234 5678 / 021-12345678 for display."""
    if not normalized:
        return ""
    if len(normalized) == 11 and normalized.startswith("1"):
        return f"{normalized[:3]} {normalized[3:7]} {normalized[7:]}"
    try:
        number = phonenumbers.parse(normalized, "CN")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return normalized
