"""Phone numbers: turn what people type (or what a roster holds) into E.164, and mask it.

An owner is matched by the phone number of their Telegram contact, so owners' numbers
(:func:`normalise_phone`) must be mobiles; a caller recorded by staff may ring from a
landline too (:func:`normalise_caller_phone`). Chinese mobiles are 11 digits starting
with 13–19; numbers from elsewhere (Hong Kong, Macau, Taiwan, abroad) are kept as long as
they look like a plausible E.164 number.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["mask_phone", "normalise_caller_phone", "normalise_phone"]

# Characters people put inside phone numbers for readability. NFKC has already turned
# full-width forms (＋, －, （, ）, ／, the ideographic space) into these ASCII ones.
_SEPARATORS = re.compile(r"[\s\-.()/\u2010-\u2015\u2212]+")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_DIGITS = re.compile(r"\d+", re.ASCII)
_E164 = re.compile(r"\+\d{8,15}", re.ASCII)

# E.164 country codes are prefix-free: 1 and 7 are one digit long, these are two digits
# long and every other code is three digits long.
_ONE_DIGIT_CODES = frozenset({"1", "7"})
_TWO_DIGIT_CODES = frozenset(
    {
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44",
        "45", "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58",
        "60", "61", "62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91",
        "92", "93", "94", "95", "98",
    }
)  # fmt: skip


def normalise_phone(raw: str, *, international: bool = False) -> str | None:
    """Return ``raw`` as an E.164 string such as ``"+8613800138000"``, or None if unusable.

    ``raw`` may contain spaces, dashes, dots, brackets and slashes, and full-width
    characters. A leading ``+`` or ``00`` marks an international number; so do bare
    digits when ``international`` is true (Telegram contacts carry ``"8613800138000"``
    without the plus). Otherwise bare digits must be a Chinese mobile, optionally with a
    trunk ``0`` or the ``86`` country code in front.

    Chinese numbers must be mobiles (``1[3-9]`` and 9 more digits); other countries'
    numbers are accepted when they are 8 to 15 digits long, country code included.
    """
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if text.startswith("+"):
        digits, is_international = text[1:], True
    elif text.startswith("00"):
        digits, is_international = text[2:], True
    else:
        digits, is_international = text, international
    if not _DIGITS.fullmatch(digits):
        return None
    if is_international:
        if digits.startswith("86"):
            return _chinese_mobile(digits[2:])
        if digits.startswith("0") or not 8 <= len(digits) <= 15:
            return None
        return "+" + digits
    if len(digits) == 13 and digits.startswith("86"):
        return _chinese_mobile(digits[2:])
    return _chinese_mobile(digits)


# A Chinese landline: area code (10, 2x, or three digits from 3–9) and a 7–8 digit
# subscriber number; or a 400/800 service number (10 digits).
# Subscriber numbers never start with 0 or 1 (those are trunk and special prefixes).
_CN_LANDLINE = re.compile(r"(?:(?:10|2\d)[2-9]\d{7}|[3-9]\d{2}[2-9]\d{6,7}|[48]00\d{7})", re.ASCII)


def normalise_caller_phone(raw: str) -> str | None:
    """Like :func:`normalise_phone`, and Chinese landlines too: a caller rings from the
    office or from home (``021-6234 5678``, ``0755 1234 5678``, ``+86 21 62345678``,
    ``400-123-4567``). Owners register with mobiles only; a caller recorded by staff (V-4)
    may have either. Returns E.164 (``"+862162345678"``) or None."""
    mobile = normalise_phone(raw)
    if mobile is not None:
        return mobile
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            national = text[len(prefix) :]
            break
    else:
        if text.startswith("+") or text.startswith("00"):
            return normalise_phone(raw)  # another country's number: as for owners
        national = text[1:] if text.startswith("0") else text
        if not text.startswith("0") and text[:3] not in ("400", "800"):
            return None  # a landline is dialled with its area code's trunk 0
    if national.startswith("0"):
        national = national[1:]
    return "+86" + national if _CN_LANDLINE.fullmatch(national) else None


def _chinese_mobile(national: str) -> str | None:
    """Return ``"+86"`` and the 11-digit mobile, allowing one trunk ``0`` in front."""
    if len(national) == 12 and national.startswith("0"):
        national = national[1:]
    return "+86" + national if _CN_MOBILE.fullmatch(national) else None


def mask_phone(e164: str) -> str:
    """Show a phone number without exposing it, e.g. ``"+86 138****8000"``.

    The country code stays visible. Chinese mobiles keep their first three and last four
    digits; other numbers keep only their last four. Text that is not E.164 is masked
    entirely but for its last four digits.
    """
    if not _E164.fullmatch(e164):
        digits = "".join(ch for ch in e164 if ch.isdigit())
        return "*" * max(len(digits) - 4, 4) + digits[-4:]
    digits = e164[1:]
    code_length = 3
    if digits[:1] in _ONE_DIGIT_CODES:
        code_length = 1
    elif digits[:2] in _TWO_DIGIT_CODES:
        code_length = 2
    code, national = digits[:code_length], digits[code_length:]
    if code == "86" and len(national) == 11:
        return f"+86 {national[:3]}****{national[-4:]}"
    return f"+{code} {'*' * max(len(national) - 4, 1)}{national[-4:]}"
