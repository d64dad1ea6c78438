"""Texts by key and locale, loaded from ``templates/locales/<locale>.<part>.toml``.

Texts are HTML (Telegram's HTML parse mode); placeholders are ``{name}`` and their values
are escaped here, so a resident called ``<b>`` cannot change how a message looks.
"""

from __future__ import annotations

import html
import string
import tomllib
from functools import cache
from html.parser import HTMLParser
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


#: Telegram's limits, counted in visible characters (UTF-16 code units, after the HTML is
#: parsed): a message's text and a media caption.
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
#: What ends a text that had to be cut.
ELLIPSIS = "…"


def visible_length(text: str) -> int:
    """How long Telegram counts ``text`` (plain, already unescaped): UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def fit(markup: str, limit: int) -> str:
    """HTML text cut to at most ``limit`` visible characters, as Telegram counts them: never
    inside a tag or an entity (``&amp;`` is one character), the tags left open closed again,
    and an ellipsis where it was cut. Text within the limit comes back unchanged."""
    if visible_length(markup) <= limit:  # tags and entities included: it fits (most do)
        return markup
    measure = _Fitter(None)
    measure.feed(markup)
    measure.close()
    if measure.seen <= limit:
        return markup
    cutter = _Fitter(limit - visible_length(ELLIPSIS))
    cutter.feed(markup)
    cutter.close()
    closing = "".join(f"</{tag}>" for tag in reversed(cutter.open))
    return "".join(cutter.out) + ELLIPSIS + closing


class _Fitter(HTMLParser):
    """Counts the visible characters of HTML; with a ``budget``, copies it until the budget
    is spent, keeping track of the tags left open."""

    def __init__(self, budget: int | None) -> None:
        super().__init__(convert_charrefs=True)
        self.budget = budget
        self.seen = 0
        self.out: list[str] = []
        self.open: list[str] = []
        self.full = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.full:
            self.out.append(self.get_starttag_text() or f"<{tag}>")
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.full:
            self.out.append(f"</{tag}>")
            if tag in self.open:
                del self.open[len(self.open) - 1 - self.open[::-1].index(tag)]

    def handle_data(self, data: str) -> None:
        if self.budget is None:
            self.seen += visible_length(data)
            return
        kept: list[str] = []
        for char in data:
            width = visible_length(char)
            if self.full or self.seen + width > self.budget:
                self.full = True
                break
            self.seen += width
            kept.append(char)
        self.out.append(html.escape("".join(kept), quote=False))
