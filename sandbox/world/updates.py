"""The bot's side of the update queue: the webhook (``setWebhook``, ``deleteWebhook``,
``getWebhookInfo``), ``getUpdates``' answer (offset, limit, allowed_updates) and the queue's
accessors for deliverers other than the bot (a webhook pusher, the offline test harness).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .core import WorldCore
from .helpers import (
    _bool_param,
    _int_param,
    _json_param,
)
from .model import (
    _SECRET_TOKEN_RE,
    WEBHOOK_CONFLICT,
    ApiError,
    JSONDict,
    Upload,
)


class Updates(WorldCore):
    """The webhook and the update queue, as the bot sees them."""

    @property
    def webhook(self) -> JSONDict | None:
        """The webhook set with ``setWebhook`` (url, secret_token, max_connections,
        allowed_updates), or None while the bot polls."""
        return copy.deepcopy(self._webhook)

    def webhook_info(self) -> JSONDict:
        """What ``getWebhookInfo`` answers."""
        info: JSONDict = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._allowed_updates is not None:
                info["allowed_updates"] = list(self._allowed_updates)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    def webhook_failed(self, message: str) -> None:
        """Record a failed webhook delivery (shown by ``getWebhookInfo``)."""
        self._webhook_error = (self.now(), message)

    def pending_updates(self) -> list[JSONDict]:
        """The updates queued for the bot, oldest first (copies; nothing is confirmed)."""
        return copy.deepcopy(self._updates)

    def confirm_updates(self, through_update_id: int) -> None:
        """Drop queued updates up to and including ``through_update_id`` (as delivered)."""
        kept = [u for u in self._updates if u["update_id"] > through_update_id]
        if len(kept) != len(self._updates):
            self._updates = kept
            self._touch()

    def take_update(self) -> JSONDict | None:
        """Remove and return the oldest queued update (None if none): for a deliverer that is
        not the bot's ``getUpdates``, e.g. a webhook pusher or the offline test harness."""
        if not self._updates:
            return None
        update = self._updates.pop(0)
        self._touch()
        return update

    async def wait_for_updates(self, seconds: float) -> bool:
        """Wait until an update is queued (True) or ``seconds`` pass (False)."""
        if self._updates:
            return True
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            self._waiters.discard(waiter)
        return bool(self._updates)

    # ========================================================================================
    # Internals: getUpdates and the webhook
    # ========================================================================================

    def _set_allowed_updates(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            value = _json_param({"v": value}, "v")
        if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
            raise ApiError(400, "Bad Request: can't parse allowed updates JSON array")
        self._allowed_updates = list(value) or None
        self._touch()

    def _poll(
        self, params: Mapping[str, Any], uploads: Mapping[str, Upload] | None = None
    ) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        if "allowed_updates" in params:
            self._set_allowed_updates(params.get("allowed_updates"))
        offset = _int_param(params, "offset") or 0
        limit = _int_param(params, "limit")
        limit = 100 if limit is None else min(max(limit, 1), 100)
        before = len(self._updates)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if len(self._updates) != before:
            self._touch()
        return copy.deepcopy(self._updates[:limit])

    def _set_webhook(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        url = str(params.get("url") or "").strip()
        if not url:
            return self._delete_webhook(params, uploads)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret not in (None, "") and not _SECRET_TOKEN_RE.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = _int_param(params, "max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise ApiError(
                400, "Bad Request: bad webhook: max_connections must be between 1 and 100"
            )
        if "allowed_updates" in params:
            self._set_allowed_updates(params.get("allowed_updates"))
        if _bool_param(params, "drop_pending_updates"):
            self._updates.clear()
        self._webhook = {
            "url": url,
            "secret_token": str(secret) if secret else None,
            "max_connections": max_connections,
            "allowed_updates": self._allowed_updates,
        }
        self._webhook_error = None
        self._touch()
        self._wake()
        return True

    def _delete_webhook(self, params: JSONDict, uploads: Mapping[str, Upload]) -> bool:
        if _bool_param(params, "drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        self._webhook_error = None
        self._touch()
        return True
