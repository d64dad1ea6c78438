-- The outbox grows (storage/outbox.py, bot/outbox.py):
--
-- * Each attempt is recorded before it is made. sending_at is set, in a short write of its
--   own, just before a row's request leaves and cleared when Telegram's answer is recorded:
--   a row found with it set and no send of the running process under way was in flight
--   when a process died (Telegram may or may not have it). Such a row is sent once more and
--   crashed_sends counts it; found in flight at a crash a second time it is not sent again
--   (state failed), so a row is sent at most twice.
-- * Edits of a message sent earlier: kind 'edit' (its text or caption, and its inline
--   keyboard) or 'edit_markup' (the keyboard alone), naming the row it edits in edit_of. An
--   edit waits in its target's chat queue; a newer edit of the same target supersedes the
--   pending ones (state superseded: never sent).
-- * Albums of evidence photos: kind 'album', album a JSON array of the SHA-256s of display
--   copies kept by the evidence store (at most 10: a longer album is several rows), text
--   the caption of the first photo.
--
-- 'superseded' is a new state, and SQLite cannot change a CHECK constraint in place: the
-- table is rebuilt (SQLite's documented way: a new table, the rows copied, the old dropped,
-- the new renamed; nothing else references outbox). A column added to outbox by a migration
-- applied before this one would be lost by the copy, so the rebuild first insists on the
-- 18 columns it knows (a database that has them otherwise stops here, changed in nothing).
CREATE TEMP TABLE outbox_rebuild_guard (
    columns INTEGER CHECK (columns = 18)   -- outbox has a column 0014 does not copy
);
INSERT INTO outbox_rebuild_guard SELECT COUNT(*) FROM pragma_table_info('outbox');
DROP TABLE outbox_rebuild_guard;

CREATE TABLE outbox_new (
    id               INTEGER PRIMARY KEY,
    chat_id          INTEGER NOT NULL,
    text             TEXT NOT NULL,             -- an edit_markup row: ''
    markup           TEXT,                      -- inline keyboard JSON, or NULL
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sent', 'blocked', 'failed', 'superseded')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    case_id          INTEGER REFERENCES cases(id),
    person_id        INTEGER REFERENCES people(id), -- the recipient, when it is a person
    message_id       INTEGER,                   -- Telegram's id once sent (an edit: the target's)
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    photo            TEXT,                      -- a Telegram file_id to send as a photo
    blob             TEXT REFERENCES blobs(sha256),
    blob_as          TEXT CHECK (blob_as IN ('photo', 'document')),
    subject_kind     TEXT,
    subject_id       INTEGER,
    sending_at       TEXT,                      -- the attempt in flight began (see above)
    crashed_sends    INTEGER NOT NULL DEFAULT 0,
    kind             TEXT NOT NULL DEFAULT 'message'
                     CHECK (kind IN ('message', 'edit', 'edit_markup', 'album')),
    edit_of          INTEGER REFERENCES outbox(id),
    album            TEXT,                      -- JSON: display copies' SHA-256s, 1 to 10
    CHECK ((kind IN ('edit', 'edit_markup')) = (edit_of IS NOT NULL)),
    CHECK ((kind = 'album') = (album IS NOT NULL))
);
INSERT INTO outbox_new (id, chat_id, text, markup, state, attempts, next_attempt_at,
                        last_error, case_id, person_id, message_id, created_at, sent_at,
                        photo, blob, blob_as, subject_kind, subject_id)
SELECT id, chat_id, text, markup, state, attempts, next_attempt_at, last_error, case_id,
       person_id, message_id, created_at, sent_at, photo, blob, blob_as, subject_kind,
       subject_id
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox(chat_id, id) WHERE state = 'pending';
CREATE INDEX outbox_sent_message ON outbox(chat_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX outbox_in_flight ON outbox(id) WHERE sending_at IS NOT NULL;
CREATE INDEX outbox_edits ON outbox(edit_of, id) WHERE edit_of IS NOT NULL;
