-- Cards stay true: each card the outbox posted about a case (a staff card with the record,
-- an alert with it, a resident's receipt) is remembered with what it was drawn from, so
-- every later step redraws it (an outbox edit) instead of leaving a stale status or
-- buttons of a step that is over.
CREATE TABLE case_cards (
    outbox_id   INTEGER PRIMARY KEY REFERENCES outbox(id),
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    chat_id     INTEGER NOT NULL,
    locale      TEXT NOT NULL,
    head        TEXT NOT NULL,      -- the text above the card, as rendered then
    style       TEXT NOT NULL,      -- procedures.decisions.Style: card, review, with_card
    buttons     TEXT,               -- the keyboard's name (handlers.cards.KEYBOARDS), or NULL
    button_arg  INTEGER,
    shown       TEXT NOT NULL       -- SHA-256 of the text and keyboard last queued
);
CREATE INDEX case_cards_case ON case_cards(case_id);
