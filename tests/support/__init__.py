"""Shared helpers for the test suite (offline Telegram Bot API fake and script-style helpers)."""
