"""Every text exists in every locale with the same placeholders, and renders safely."""

from __future__ import annotations

import pytest

from bot.i18n import SOURCE_LOCALE, catalogs, files, placeholders, t
from bot.settings import LOCALES
from procedures.identity import REJECT_REASONS, Department, Role


def test_every_locale_ships() -> None:
    assert set(catalogs()) == set(LOCALES)


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != SOURCE_LOCALE])
def test_same_keys_and_placeholders_as_the_source(locale: str) -> None:
    source, other = catalogs()[SOURCE_LOCALE], catalogs()[locale]
    assert sorted(set(source) - set(other)) == [], f"{locale} lacks these keys"
    assert sorted(set(other) - set(source)) == [], f"{locale} has keys the source lacks"
    wrong = {k: (placeholders(v), placeholders(other[k])) for k, v in source.items()
             if placeholders(v) != placeholders(other[k])}  # fmt: skip
    assert wrong == {}, f"{locale}: placeholders differ"


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != SOURCE_LOCALE])
def test_same_files_with_the_same_keys_as_the_source(locale: str) -> None:
    """Each locale has the source's file parts (``requests``, ``common``…), and each part
    holds the same keys: a text added to one locale's requests file is not in another's
    common file."""
    source, other = files()[SOURCE_LOCALE], files()[locale]
    assert sorted(other) == sorted(source), f"{locale}: other file parts than {SOURCE_LOCALE}"
    elsewhere = {part: sorted(set(texts) ^ set(source[part]))
                 for part, texts in other.items() if set(texts) != set(source[part])}  # fmt: skip
    assert elsewhere == {}, f"{locale}: keys in another file than in {SOURCE_LOCALE}"


def test_every_role_department_and_reason_has_a_name() -> None:
    texts = catalogs()[SOURCE_LOCALE]
    for role in Role:
        assert f"role.{role.value}" in texts
    for department in Department:
        assert f"department.{department.value}" in texts
    for reason in REJECT_REASONS:
        assert f"verify.reason.{reason}" in texts
        assert f"verify.reason_for_owner.{reason}" in texts


def test_placeholders_are_html_escaped() -> None:
    assert "&lt;b&gt;" in t("en", "menu.title", name="<b>")
    assert "<b>" not in t("en", "menu.title", name="<b>")


def test_the_check_would_catch_a_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above is real: drop a key from a copy and it differs."""
    broken = dict(catalogs()["en"])
    broken.pop("reg.ask_contact")
    assert set(catalogs()[SOURCE_LOCALE]) - set(broken) == {"reg.ask_contact"}


def test_fit_cuts_html_by_what_telegram_counts() -> None:
    """Texts over Telegram's limits are cut by visible characters (UTF-16 units, entities
    as one), never inside a tag or an entity, their tags closed, an ellipsis at the cut."""
    from bot.i18n import fit, visible_length

    assert fit("<b>短</b>", 5) == "<b>短</b>"  # within the limit: unchanged
    assert fit("a&amp;b", 3) == "a&amp;b"  # "&amp;" is one character
    assert fit("<b>0123456789</b>", 5) == "<b>0123…</b>"
    assert fit('<a href="https://x">链接文字很长</a>尾', 4) == '<a href="https://x">链接文…</a>'
    assert fit("<b><i>abcdef</i></b>", 4) == "<b><i>abc…</i></b>"
    assert visible_length("👍") == 2 and fit("👍👍👍", 5) == "👍👍…"
