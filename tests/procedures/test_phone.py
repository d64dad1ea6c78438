"""Phone numbers as owners and rosters write them, and how they are shown in group chats."""

from __future__ import annotations

import pytest

from procedures.phone import mask_phone, normalise_caller_phone, normalise_phone

MOBILE = "+8613800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        " 13800138000 ",
        "138 0013 8000",
        "138-0013-8000",
        "138.0013.8000",
        "(138)00138000",
        "138/0013/8000",
        "013800138000",
        "8613800138000",
        "+8613800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "(+86) 138 0013 8000",
        "0086 138 0013 8000",
        "008613800138000",
        "１３８００１３８０００",
        "＋８６　１３８　００１３　８０００",
        "+86 (0)138 0013 8000",
        "\u3000138\u30000013\u30008000\u3000",
    ],
)
def test_every_way_of_writing_a_chinese_mobile_gives_the_same_number(raw: str) -> None:
    assert normalise_phone(raw) == MOBILE


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_all_mobile_ranges_are_accepted(prefix: str) -> None:
    assert normalise_phone(prefix + "912345678") == "+86" + prefix + "912345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8613800138000", MOBILE),
        ("+8613800138000", MOBILE),
        ("85291234567", "+85291234567"),
        ("447911123456", "+447911123456"),
        ("14155552671", "+14155552671"),
    ],
)
def test_telegram_contacts_carry_the_country_code_without_a_plus(raw: str, expected: str) -> None:
    assert normalise_phone(raw, international=True) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+852 9123 4567", "+85291234567"),
        ("00852 9123 4567", "+85291234567"),
        ("+853 6612 3456", "+85366123456"),
        ("+886 912 345 678", "+886912345678"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44 7911 123456", "+447911123456"),
    ],
)
def test_numbers_from_outside_the_mainland_are_kept(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "无",
        "abc",
        "138001380OO",
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits without a trunk 0
        "12800138000",  # 12x is not a mobile range
        "23800138000",
        "021-12345678",  # Shanghai landline
        "02112345678",
        "85291234567",  # bare digits are mainland numbers unless said otherwise
        "+86 21 12345678",  # landline behind +86
        "+86 1380013800",
        "+86",
        "+",
        "+1234567",  # 7 digits: shorter than any E.164 number
        "+1234567890123456",  # 16 digits: longer than E.164 allows
        "+0123456789",
        "++8613800138000",
        "138 0013 8000 转 123",
        "13800138000, 13900139000",
    ],
)
def test_unusable_text_is_rejected(raw: str) -> None:
    assert normalise_phone(raw) is None


def test_international_flag_still_rejects_a_landline_behind_86() -> None:
    assert normalise_phone("862112345678", international=True) is None


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+8613800138000", "+86 138****8000"),
        ("+85291234567", "+852 ****4567"),
        ("+886912345678", "+886 *****5678"),
        ("+14155552671", "+1 ******2671"),
        ("+447911123456", "+44 ******3456"),
        ("+79161234567", "+7 ******4567"),
    ],
)
def test_masked_phone_keeps_the_country_code_and_hides_the_middle(e164: str, shown: str) -> None:
    assert mask_phone(e164) == shown


def test_masking_does_not_leak_text_that_is_not_e164() -> None:
    assert mask_phone("13800138000") == "*******8000"
    assert mask_phone("") == "****"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("021-6234 5678", "+862162345678"),  # Shanghai: 2-digit area code, 8 digits
        ("(010) 6512-3456", "+861065123456"),  # Beijing
        ("0755 2345 6789", "+8675523456789"),  # Shenzhen: 3-digit area code
        ("0571-8765432", "+865718765432"),  # 7-digit subscriber number
        ("+86 21 62345678", "+862162345678"),
        ("0086-21-62345678", "+862162345678"),
        ("０２１－６２３４５６７８", "+862162345678"),  # full-width, as some keyboards type
        ("400-123-4567", "+864001234567"),  # service numbers
        ("138 0013 8000", "+8613800138000"),  # mobiles as before
        ("+852 2345 6789", "+85223456789"),
    ],
)
def test_v4_a_caller_may_ring_from_a_landline(raw: str, expected: str) -> None:
    assert normalise_caller_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "62345678",  # no area code
        "021-123",
        "010-6512345",  # a digit short
        "021 0234 5678",  # subscriber numbers never start with 0 or 1
        "0755 1234 5678",
        "021٦٢٣٤٥٦٧٨",  # Arabic-Indic digits are not a phone number
        "12345",
        "电话",
        "0123456",
    ],
)
def test_v4_a_landline_needs_its_area_code_and_a_whole_number(raw: str) -> None:
    assert normalise_caller_phone(raw) is None


def test_owners_still_register_with_mobiles_only() -> None:
    assert normalise_phone("021-6234 5678") is None
