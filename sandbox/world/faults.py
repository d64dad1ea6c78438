"""Injected faults: Bot API calls that answer 429, 500, 403, 400 (or any status) or wait
first, as Telegram might (:meth:`Faults.inject`), and how a request takes its fault.
"""

from __future__ import annotations

import contextvars
import copy
from collections import deque
from collections.abc import Mapping
from typing import Any

from .core import WorldCore
from .model import (
    BLOCKED_BY_USER,
    FaultKind,
    JSONDict,
)
from .records import _Fault

# Which fault, if any, the current task already took with World.take_delay (see there).
_CLAIMED_FAULT: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar(
    "sandbox_world_claimed_fault", default=None
)


class Faults(WorldCore):
    """Faults injected into the Bot API methods."""

    def inject(
        self,
        method: str,
        kind: FaultKind | int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        description: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (or wait) as Telegram might.

        ``kind``: "429" (Too Many Requests: retry after N, ``parameters.retry_after``; N is
        ``retry_after``, default 1), "500" (Internal Server Error), "403" (default "Forbidden:
        bot was blocked by the user"), "400" (``description``), "delay" (``delay`` seconds before
        answering normally; see :meth:`take_delay`), or any other HTTP status as an int (with
        ``description``; ``retry_after`` adds the parameter).

        ``chat_id``: only calls to that chat take the fault (Telegram's flood waits are per
        chat too); calls to other chats pass it by, and it waits for a call to that chat.
        A call takes the first pending fault of its method that applies to it.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if kind == "429":
            seconds = 1 if retry_after is None else retry_after
            fault = _Fault(
                "429", 429, description or f"Too Many Requests: retry after {seconds}", seconds
            )
        elif kind == "500":
            fault = _Fault("500", 500, description or "Internal Server Error")
        elif kind == "403":
            fault = _Fault("403", 403, description or BLOCKED_BY_USER)
        elif kind == "400":
            fault = _Fault("400", 400, description or "Bad Request: injected error")
        elif kind == "delay":
            fault = _Fault("delay", delay=float(delay))
        elif isinstance(kind, int):
            if description is None:
                raise ValueError("a fault with a custom status needs a description")
            fault = _Fault(str(kind), kind, description, retry_after)
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
        fault.chat_id = chat_id
        # One queue per method and chat ("" for any chat), each fault numbered: a call takes
        # the older head of its method's two queues, without walking other chats' faults.
        key = (method.strip().lower(), "" if chat_id is None else str(chat_id))
        queue = self._faults.setdefault(key, deque())
        for _ in range(times):
            one = copy.copy(fault)
            one.order = next(self._fault_order)
            queue.append(one)

    def faults(self) -> list[JSONDict]:
        """The pending faults, in the order they were injected (each method's in the order
        they will hit)."""
        pending = [(fault, key[0]) for key, queue in self._faults.items() for fault in queue]
        pending.sort(key=lambda entry: entry[0].order)
        return [fault.record(method) for fault, method in pending]

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    def take_delay(self, method: str, params: Mapping[str, Any] | None = None) -> float:
        """Take the next fault of ``method`` (for a call with these ``params``: see
        :meth:`inject`'s ``chat_id``) if it is a "delay" and return its seconds (else 0).

        The HTTP server awaits ``asyncio.sleep(world.take_delay(method, params))`` before
        :meth:`call`; the following :meth:`call` from the same task then takes no fault, so each
        request consumes exactly one injected fault even when requests overlap.
        """
        name = method.strip().lower()
        queue = self._next_fault(name, params or {})
        if queue is None or queue[0].kind != "delay":
            return 0.0
        fault = queue.popleft()
        _CLAIMED_FAULT.set((id(self), name))
        return fault.delay

    def _next_fault(self, name: str, params: Mapping[str, Any]) -> deque[_Fault] | None:
        """The queue whose first fault is the one this call of ``name`` takes, if any: the
        older of the method's next fault for any chat and its next for this call's chat."""
        chat = params.get("chat_id")
        queues = [self._faults.get((name, ""))]
        if chat is not None:
            queues.append(self._faults.get((name, str(chat))))
        pending = [queue for queue in queues if queue]
        return min(pending, key=lambda queue: queue[0].order) if pending else None

    def _apply_fault(self, name: str, params: Mapping[str, Any]) -> None:
        claimed = _CLAIMED_FAULT.get()
        if claimed is not None:
            _CLAIMED_FAULT.set(None)
            if claimed == (id(self), name):
                return  # this request already took its fault (a delay) in take_delay
        queue = self._next_fault(name, params)
        if queue is None:
            return
        fault = queue.popleft()
        if fault.kind != "delay":  # a delay nobody awaited is simply used up
            raise fault.error()
