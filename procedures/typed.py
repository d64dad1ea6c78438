"""What people type, made plain before anything matches or keeps it.

Phones and input methods slip in characters nobody sees: zero-width spaces and joiners
pasted from chat apps, a byte-order mark, bidirectional controls (some of which reverse how
the rest of a line is shown: a description could display as something other than what is
stored). They are removed. Digits typed in another form (full-width ``１２３`` from a
Chinese input method, or any script's decimal digits) become ASCII digits, so ``３栋 ５０２``
finds 3栋 502 and a case number typed full-width is found; the rest of the text is kept as
typed (full-width Chinese punctuation stays).

A zero-width joiner between two symbols is part of an emoji (🧑‍🔧) and stays.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

__all__ = ["INVISIBLE", "clean", "cleaned"]

#: Zero-width characters and bidirectional controls.
INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\u180e"  # zero-width space, non-joiner, joiner, word joiner…
    "\u200e\u200f\u061c"  # left-to-right, right-to-left and Arabic letter marks
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, overrides and their pop
    "\u2066\u2067\u2068\u2069"  # isolates and their pop
)
_JOINER = "\u200d"
_EMOJI_PARTS = frozenset("\ufe0f\u20e3")  # emoji presentation selector, keycap


def _symbol(char: str) -> bool:
    return char in _EMOJI_PARTS or unicodedata.category(char)[0] == "S"


def cleaned(text: str) -> Iterator[tuple[str, str]]:
    """Each character of ``text`` with what it becomes: itself, an ASCII digit, or ""."""
    for index, char in enumerate(text):
        inside_emoji = (
            char == _JOINER
            and 0 < index < len(text) - 1
            and _symbol(text[index - 1])
            and _symbol(text[index + 1])
        )
        if char in INVISIBLE and not inside_emoji:
            yield char, ""
        elif not char.isascii() and unicodedata.category(char) == "Nd":
            yield char, str(unicodedata.decimal(char))
        else:
            yield char, char


def clean(text: str) -> str:
    """``text`` without invisible characters, its digits ASCII."""
    return "".join(new for _, new in cleaned(text))
