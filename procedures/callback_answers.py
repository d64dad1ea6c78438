"""B-3 typed instead of tapped: what a resident writes where the callback asks "did we get it
done?" (✅ 已解决 / ❌ 没有解决, or a complaint reply's ✅ 确认 / ❌ 有异议) or "how satisfied,
1–5 stars?", read as the answer when it plainly is one.

Only a whole message that is an answer counts, never a word inside a longer text: "解决了"
is solved, "还没解决，水还在漏" is not read (the resident gets the hint naming the buttons,
and a human reads the rest). Understood, in the three locales:

* solved: 解决了, 已解决, 好了, 修好了, 确认, 是的, yes, solved… (the buttons' own words too);
* not solved: 没解决, 没有解决, 未解决, 有异议, 没有, 不是, no, not solved…;
* a score: a digit 1–5 (full-width too), with 星 / 颗星 / 分 / stars, a Chinese numeral
  (四星, 两颗星), stars typed ⭐⭐⭐⭐ or ★★★★, and the usual five-point words:
  非常满意 5, 满意 4, 一般 3, 不满意 2, 非常不满意 1.

Pure: no Telegram, no database; handlers.callbacks decides what an answer does at the
question asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from procedures.typed import clean

__all__ = ["Answer", "understood"]


@dataclass(frozen=True)
class Answer:
    """What the resident said: ``solved`` (True, False, or None when they gave only a
    score) and the ``score`` 1–5 when they gave one."""

    solved: bool | None
    score: int | None = None


_SOLVED = frozenset(
    {
        # zh-Hans
        "解决了", "已解决", "解决", "解决啦", "已经解决", "已经解决了", "都解决了", "问题解决了",
        "好了", "好啦", "修好了", "已修好", "弄好了", "搞定了", "搞定", "处理好了", "已处理",
        "完成了", "是", "是的", "对", "对的", "确认", "确定", "没问题", "没有问题", "同意",
        "认可", "接受",
        # zh-Hant
        "解決了", "已解決", "解決", "已經解決", "已經解決了", "問題解決了", "處理好了", "已處理",
        "對", "確認", "確定", "沒問題", "沒有問題",
        # en
        "yes", "y", "solved", "resolved", "done", "fixed", "confirm",
        "confirmed", "agree", "itssolved", "itsdone",
    }
)  # fmt: skip
_UNSOLVED = frozenset(
    {
        # zh-Hans
        "没解决", "没有解决", "未解决", "还没解决", "还没有解决", "没解决好", "不解决", "没有",
        "没", "不是", "否", "没修好", "还没修好", "没好", "还没好", "有异议", "异议", "不同意",
        "不认可", "不接受", "问题没解决", "问题没有解决",
        # zh-Hant
        "沒解決", "沒有解決", "未解決", "還沒解決", "還沒有解決", "沒有", "沒", "沒修好",
        "還沒修好", "沒好", "還沒好", "有異議", "異議", "不認可", "問題沒解決",
        # en
        "no", "n", "notsolved", "unsolved", "notresolved", "unresolved", "notfixed",
        "notdone", "dispute", "idispute", "disagree", "notyet",
    }
)  # fmt: skip
#: The usual five-point satisfaction words (zh-Hans, zh-Hant, en).
_WORDS = {
    "非常满意": 5, "很满意": 5, "十分满意": 5, "满意": 4, "比较满意": 4, "还满意": 4,
    "一般": 3, "还行": 3, "还可以": 3, "不满意": 2, "不太满意": 2, "非常不满意": 1,
    "很不满意": 1,
    "非常滿意": 5, "很滿意": 5, "十分滿意": 5, "滿意": 4, "比較滿意": 4, "還滿意": 4,
    "還行": 3, "還可以": 3, "不滿意": 2, "不太滿意": 2, "非常不滿意": 1, "很不滿意": 1,
    "verysatisfied": 5, "satisfied": 4, "neutral": 3, "average": 3, "unsatisfied": 2,
    "dissatisfied": 2, "notsatisfied": 2, "veryunsatisfied": 1, "verydissatisfied": 1,
}  # fmt: skip
_NUMERALS = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5}
#: A score: a number (digit or Chinese numeral) with an optional unit, or "n/5".
_SCORE = re.compile(
    r"(?P<n>[1-5一二两兩三四五])(?:个|個)?(?:星|颗星|顆星|分|stars?|points?|/5|分满意|分滿意)?"
)
#: Stars typed as stars (the emoji, with or without its presentation selector, or ★), maybe
#: followed by the empty ones of the five (★★★☆☆ is three).
_STARS = re.compile(r"(?P<full>[⭐★]{1,5})☆*")
#: Around the answer: spaces, punctuation, the buttons' own marks, a polite word.
_FRAME = re.compile(
    r"^[\s.,!?~。，！？、…～:：;；'\"“”‘’()（）✅❌👍👎🙏]+|[\s.,!?~。，！？、…～:：;；'\"“”‘’()（）✅❌👍👎🙏]+$"
)
_POLITE = re.compile(r"(谢谢你?们?|謝謝你?們?|thanks|thankyou|thx)$")


def _plain(text: str) -> str:
    """``text`` lower-cased, its digits ASCII, without invisible characters, emoji
    selectors, spaces, a leading or trailing mark and a trailing thanks."""
    plain = clean(text).replace("\ufe0f", "").lower()
    plain = re.sub(r"\s+", "", plain).replace("'", "").replace("’", "")
    for _ in range(2):  # "解决了，谢谢！" → "解决了"
        plain = _FRAME.sub("", plain)
        plain = _POLITE.sub("", plain)
    return plain


def understood(text: str) -> Answer | None:
    """What ``text`` answers to the callback, or None when it is not plainly an answer."""
    plain = _plain(text)
    if not plain or len(plain) > 20:
        return None
    if plain in _SOLVED:
        return Answer(solved=True)
    if plain in _UNSOLVED:
        return Answer(solved=False)
    if plain in _WORDS:
        return Answer(solved=None, score=_WORDS[plain])
    stars = _STARS.fullmatch(plain)
    if stars is not None and len(plain) <= 5:
        return Answer(solved=None, score=len(stars["full"]))
    found = _SCORE.fullmatch(plain)
    if found is not None:
        n = found["n"]
        return Answer(solved=None, score=int(n) if n.isdigit() else _NUMERALS[n])
    return None
