-- Personal data out of the hash chain (PIPL): the text of an audit event's personal keys
-- (descriptions, notes, opinions, names, phones… see storage.audit.PERSONAL_KEYS) is kept
-- here, and the event's hashed data holds only {"ref", "digest"} for it, the digest being
-- the SHA-256 of a random per-value salt plus the value. Erasing a value clears value and
-- salt (so the digest cannot be brute-forced from a phone number) and stamps erased_at;
-- the chain never hashed the text and still verifies. Events written before this
-- migration keep their data as it was: history is not rewritten.
CREATE TABLE audit_personal (
    ref        TEXT PRIMARY KEY,                         -- random; named in the event's data
    audit_id   INTEGER NOT NULL REFERENCES audit(id),
    path       TEXT NOT NULL,                            -- where in the data: note, description…
    salt       TEXT,                                     -- NULL once erased
    value      TEXT,                                     -- the value as JSON; NULL once erased
    erased_at  TEXT,
    CHECK ((salt IS NULL) = (value IS NULL) AND (value IS NULL) = (erased_at IS NOT NULL))
);
CREATE INDEX audit_personal_event ON audit_personal(audit_id);
-- A value is erased (its row stays, so the event's ref still says "erased"), never deleted
-- or rewritten.
CREATE TRIGGER audit_personal_no_delete BEFORE DELETE ON audit_personal
BEGIN SELECT RAISE(ABORT, 'personal values are erased, not deleted'); END;
CREATE TRIGGER audit_personal_erase_only BEFORE UPDATE ON audit_personal
WHEN OLD.erased_at IS NOT NULL OR NEW.erased_at IS NULL OR NEW.value IS NOT NULL
    OR NEW.salt IS NOT NULL OR NEW.ref IS NOT OLD.ref OR NEW.audit_id IS NOT OLD.audit_id
    OR NEW.path IS NOT OLD.path
BEGIN SELECT RAISE(ABORT, 'a personal value can only be erased'); END;
