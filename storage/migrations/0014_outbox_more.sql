-- The outbox records each attempt before it is made (storage/outbox.py, bot/outbox.py).
-- sending_at is set, in a short write of its own, just before a row's request leaves and
-- cleared when Telegram's answer is recorded: a row found with it set and no send of the
-- running process under way was in flight when a process died (Telegram may or may not
-- have it). Such a row is sent once more and crashed_sends counts it; found in flight at a
-- crash a second time it is not sent again (state failed), so a row is sent at most twice.
ALTER TABLE outbox ADD COLUMN sending_at TEXT;
ALTER TABLE outbox ADD COLUMN crashed_sends INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_in_flight ON outbox(id) WHERE sending_at IS NOT NULL;
