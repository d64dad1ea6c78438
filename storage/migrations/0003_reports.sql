-- Scheduled reports (Q-5, C-15, B-5): one row per estate, kind and period. The row is
-- written in the same transaction that queues the report's messages in the outbox, so a
-- report goes out exactly once: not twice after a restart, and not lost while the bot
-- was down (it is sent at the next check, marked late).

CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    estate_id     INTEGER NOT NULL REFERENCES estates(id),
    kind          TEXT NOT NULL,                 -- weekly (a daily report comes later)
    period_start  TEXT NOT NULL,                 -- the week's Monday, local date (2026-10-05)
    window_start  TEXT NOT NULL,                 -- UTC: what it counts starts here…
    due_at        TEXT NOT NULL,                 -- UTC: …and ends at the report moment
    sent_at       TEXT NOT NULL,                 -- UTC: made and queued in the outbox
    late          INTEGER NOT NULL DEFAULT 0,    -- 补发: the bot was down at due_at
    recipients    INTEGER NOT NULL DEFAULT 0,    -- chats it was queued for
    data          TEXT NOT NULL DEFAULT '{}',    -- the numbers sent, as JSON
    UNIQUE (estate_id, kind, period_start)
);
