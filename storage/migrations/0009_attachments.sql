-- Files the bot makes and sends (a report's chart and spreadsheet): stored by content in
-- the transaction that queues them, so a crash loses neither the file nor its message.
-- Telegram's file_id is kept after the first upload and reused for the next recipients.
CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY,
    filename   TEXT NOT NULL,
    data       BLOB NOT NULL,
    file_id    TEXT,                               -- Telegram's id once uploaded
    created_at TEXT NOT NULL
);
ALTER TABLE outbox ADD COLUMN blob TEXT REFERENCES blobs(sha256);  -- a stored file to send
ALTER TABLE outbox ADD COLUMN blob_as TEXT CHECK (blob_as IN ('photo', 'document'));
