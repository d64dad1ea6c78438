-- Evidence (photos), kept by content (storage/evidence.py): the files live in
-- WUYE_DATA_DIR/evidence under their SHA-256; these tables hold their facts and what they
-- are evidence of. case_photos (0002) stays for the Telegram file ids of photos filed
-- before evidence was kept (no bytes, no hash); photos kept from now on are linked here.

-- One row per stored file: an original exactly as received, or a display copy made from
-- it (EXIF stripped, watermarked). The same bytes are one row and one file, however often
-- they arrive. A file's facts never change; Telegram's id of it, once it was uploaded,
-- is remembered once (reused for the next recipients).
CREATE TABLE evidence (
    sha256      TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    role        TEXT NOT NULL CHECK (role IN ('original', 'display')),
    original    TEXT REFERENCES evidence(sha256),   -- a display copy's original
    format      TEXT NOT NULL,                      -- JPEG | MPO | PNG | WEBP | HEIF
    size        INTEGER NOT NULL,                   -- bytes
    width       INTEGER NOT NULL,                   -- pixels, upright
    height      INTEGER NOT NULL,
    file_id     TEXT,                               -- Telegram's id once uploaded
    created_at  TEXT NOT NULL,
    CHECK ((role = 'display') = (original IS NOT NULL))
);
CREATE INDEX evidence_original ON evidence(original) WHERE original IS NOT NULL;
CREATE TRIGGER evidence_facts_fixed
BEFORE UPDATE OF sha256, role, original, format, size, width, height, created_at ON evidence
BEGIN SELECT RAISE(ABORT, 'a stored file''s facts never change'); END;
CREATE TRIGGER evidence_file_id_once BEFORE UPDATE OF file_id ON evidence
WHEN OLD.file_id IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a stored file''s Telegram id is set once'); END;

-- A photo attached to a subject (a case today; a renovation's violation or a handover's
-- defect later): which original, which display copy others see, who sent it, when. A
-- subject holds the same original once. case_id is set for case subjects (its foreign key),
-- as in deadlines (0011).
CREATE TABLE evidence_links (
    id              INTEGER PRIMARY KEY,
    subject_kind    TEXT NOT NULL,
    subject_id      INTEGER NOT NULL,
    case_id         INTEGER REFERENCES cases(id),
    sha256          TEXT NOT NULL REFERENCES evidence(sha256),
    display_sha256  TEXT REFERENCES evidence(sha256),   -- NULL until the copy is made
    file_id         TEXT,            -- Telegram's id of what the sender sent (this bot only)
    added_by        INTEGER REFERENCES people(id),
    added_at        TEXT NOT NULL,
    UNIQUE (subject_kind, subject_id, sha256),
    CHECK ((subject_kind = 'case') = (case_id IS NOT NULL)),
    CHECK (case_id IS NULL OR case_id = subject_id)
);
CREATE INDEX evidence_links_sha ON evidence_links(sha256);
CREATE TRIGGER evidence_links_fixed
BEFORE UPDATE OF id, subject_kind, subject_id, case_id, sha256, file_id, added_by, added_at
ON evidence_links
BEGIN SELECT RAISE(ABORT, 'an evidence link is a record: only its display copy is set later'); END;
CREATE TRIGGER evidence_links_display_once BEFORE UPDATE OF display_sha256 ON evidence_links
WHEN OLD.display_sha256 IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'an evidence link''s display copy is set once'); END;
