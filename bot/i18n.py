"""Texts by key and locale, loaded from ``templates/locales/<locale>.<part>.toml``.

Texts are HTML (Telegram's HTML parse mode); placeholders are ``{name}`` and their values
are escaped here, so a resident called ``<b>`` cannot change how a message looks.
"""

from __future__ import annotations

import html
import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

SOURCE_LOCALE = "zh-Hans"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = str(value)
    return flat


@cache
def files() -> dict[str, dict[str, dict[str, str]]]:
    """Every locale's files, each flattened: locale → part → texts.

    A locale's texts are in ``<locale>.<part>.toml``, one part per procedure or shared
    concern (``requests``, ``complaints``…, ``common`` for what several procedures share),
    the same parts in every locale; a plain ``<locale>.toml`` would be the part ``""``.
    """
    found: dict[str, dict[str, dict[str, str]]] = {}
    entries = sorted(resources.files("templates.locales").iterdir(), key=lambda e: e.name)
    for entry in entries:
        if not entry.name.endswith(".toml"):
            continue
        locale, _, part = entry.name.removesuffix(".toml").partition(".")
        texts = _flatten(tomllib.loads(entry.read_text(encoding="utf-8")))
        found.setdefault(locale, {})[part] = texts
    return found


@cache
def catalogs() -> dict[str, dict[str, str]]:
    """Every locale's texts, flattened to ``section.key``: its files merged (where a text is
    makes no difference); a key defined twice is an error."""
    found: dict[str, dict[str, str]] = {}
    for locale, parts in files().items():
        catalog = found.setdefault(locale, {})
        for part, texts in parts.items():
            twice = set(catalog) & set(texts)
            if twice:
                name = ".".join(filter(None, (locale, part))) + ".toml"
                raise ValueError(f"{name}: keys defined twice: {', '.join(sorted(twice))}")
            catalog.update(texts)
    return found


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a text expects."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def t(locale: str, key: str, **params: object) -> str:
    """The text for ``key`` in ``locale`` (falling back to the source locale), filled in."""
    texts = catalogs()
    template = texts.get(locale, {}).get(key) or texts[SOURCE_LOCALE].get(key)
    if template is None:
        raise KeyError(f"no text for {key!r}")
    safe = {name: html.escape(str(value), quote=False) for name, value in params.items()}
    return template.format(**safe)


def t_raw(locale: str, key: str, **params: object) -> str:
    """Like :func:`t` but for values that are already HTML (lists built from texts)."""
    texts = catalogs()
    template = texts.get(locale, {}).get(key) or texts[SOURCE_LOCALE][key]
    return template.format(**{name: str(value) for name, value in params.items()})


def has(key: str) -> bool:
    """Whether the source locale has a text for ``key``."""
    return key in catalogs()[SOURCE_LOCALE]
