-- Photos travel through the outbox like text (a photo is never lost to a Telegram error).
ALTER TABLE outbox ADD COLUMN photo TEXT;               -- a Telegram file_id to send as a photo
CREATE INDEX outbox_sent_message ON outbox(chat_id, message_id) WHERE message_id IS NOT NULL;
