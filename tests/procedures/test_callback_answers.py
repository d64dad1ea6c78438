"""B-3 typed instead of tapped: which whole messages are plainly an answer to the callback."""

from __future__ import annotations

import pytest

from procedures.callback_answers import Answer, understood


@pytest.mark.parametrize(
    "typed",
    ["解决了", "已解决", "✅ 已解决", "解决了，谢谢！", "修好了，谢谢", "是的", "确认", "✅ 确认",
     "已解決", "確認", "Yes", "solved.", " Done "],
)  # fmt: skip
def test_b3_solved_typed(typed: str) -> None:
    assert understood(typed) == Answer(solved=True)


@pytest.mark.parametrize(
    "typed",
    ["没解决", "没有解决", "❌ 没有解决", "未解决", "有异议", "❌ 有异议", "还没修好", "沒有解決",
     "有異議", "No", "not solved", "Not yet!"],
)  # fmt: skip
def test_b3_not_solved_typed(typed: str) -> None:
    assert understood(typed) == Answer(solved=False)


@pytest.mark.parametrize(
    ("typed", "score"),
    [("4", 4), ("４", 4), ("4星", 4), ("4 颗星", 4), ("四星", 4), ("四颗星", 4), ("两颗星", 2),
     ("5分", 5), ("⭐⭐⭐⭐", 4), ("⭐️⭐️⭐️", 3), ("★★★☆☆", 3), ("4 stars", 4), ("4/5", 4),
     ("满意", 4), ("非常满意！", 5), ("一般", 3), ("不满意", 2), ("非常不满意", 1),
     ("滿意", 4), ("Very satisfied", 5), ("dissatisfied", 2)],
)  # fmt: skip
def test_b3_a_score_typed(typed: str, score: int) -> None:
    assert understood(typed) == Answer(solved=None, score=score)


@pytest.mark.parametrize(
    "typed",
    ["好的", "ok", "谢谢", "还没解决，水还在漏", "师傅来过了", "0", "6", "45", "⭐⭐⭐⭐⭐⭐",
     "1栋 101", "", "   ", "我不满意你们的态度，请经理给我打电话"],
)  # fmt: skip
def test_b3_anything_else_is_not_read_as_an_answer(typed: str) -> None:
    assert understood(typed) is None
