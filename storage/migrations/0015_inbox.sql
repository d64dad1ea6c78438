-- The inbox: every update getUpdates returns is stored here before the bot can confirm it
-- to Telegram (the next poll's offset does), and marked when its handling ends. One still
-- unmarked when the bot starts was cut off by a crash and is handled again (bot/inbox.py).
-- A handled row keeps only its id (so a re-delivery is recognised), not the update's
-- text, and is pruned after a few days.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,          -- Telegram's, in the order it sent them
    data        TEXT,                         -- the Update as Bot API JSON; NULL once handled
    received_at TEXT NOT NULL,
    replays     INTEGER NOT NULL DEFAULT 0,   -- how often a start-up handed it out again
    handled_at  TEXT,                         -- NULL until its handling ended
    outcome     TEXT CHECK (outcome IN ('handled', 'abandoned'))
);
-- Start-up's replay: the unhandled ones, oldest first.
CREATE INDEX inbox_unhandled ON inbox(update_id) WHERE handled_at IS NULL;
-- The prune: handled ones by age.
CREATE INDEX inbox_handled ON inbox(handled_at) WHERE handled_at IS NOT NULL;
