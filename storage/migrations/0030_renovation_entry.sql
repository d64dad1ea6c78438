-- Renovation (P2): the entry inspection (R-12) before the works, the works suspended and
-- resumed, the works period extended, and the signatures (or witnessed refusals) on a
-- rectification notice (R-15). The signatures by button are in approvals too (R-12, R-15,
-- 'extension'); these tables keep what the steps need to read back.

-- R-12 (進場裝修確認表): each common part walked through at entry, OK or damaged (a line and
-- a photo: original and watermarked copy, as evidence). One row per item; recorded again
-- before anyone confirmed, it is replaced (the audit trail keeps every recording).
CREATE TABLE renovation_entry_items (
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    item           TEXT NOT NULL,
    ok             INTEGER NOT NULL CHECK (ok IN (0, 1)),
    note           TEXT,
    photo_sha256   TEXT REFERENCES evidence(sha256),
    photo_display  TEXT REFERENCES evidence(sha256),
    by_id          INTEGER NOT NULL REFERENCES people(id),
    at             TEXT NOT NULL,
    PRIMARY KEY (renovation_id, item)
);

-- R-12: the two confirmations: customer service by button; the owner or the contractor's
-- head by button ('owner', 'contractor'), or the photo of the paper form they signed
-- ('paper', its original's hash).
CREATE TABLE renovation_entries (
    renovation_id  INTEGER PRIMARY KEY REFERENCES renovations(id),
    staff_by       INTEGER REFERENCES people(id),
    staff_at       TEXT,
    party          TEXT CHECK (party IN ('owner', 'contractor', 'paper')),
    party_by       INTEGER REFERENCES people(id),
    party_at       TEXT,
    paper_sha256   TEXT REFERENCES evidence(sha256),
    paper_display  TEXT REFERENCES evidence(sha256)
);

-- Works stopped: why, by whom, since when (cleared on resumption; the audit trail keeps
-- every suspension).
ALTER TABLE renovations ADD COLUMN suspended_reason TEXT;
ALTER TABLE renovations ADD COLUMN suspended_at TEXT;

-- The owner's requests to extend the works period; the customer-department head decides.
CREATE TABLE renovation_extensions (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    old_to         TEXT NOT NULL,
    new_to         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'requested'
                   CHECK (state IN ('requested', 'approved', 'refused')),
    requested_by   INTEGER NOT NULL REFERENCES people(id),
    requested_at   TEXT NOT NULL,
    decided_by     INTEGER REFERENCES people(id),
    decided_at     TEXT
);
CREATE INDEX renovation_extensions_of ON renovation_extensions(renovation_id);

-- R-15: each party's signature on a rectification notice: signed by button, or a refusal
-- recorded by customer service and confirmed by a second staff member, the witness.
CREATE TABLE renovation_notice_signatures (
    id           INTEGER PRIMARY KEY,
    notice_id    INTEGER NOT NULL REFERENCES renovation_notices(id),
    party        TEXT NOT NULL CHECK (party IN ('owner', 'contractor')),
    state        TEXT NOT NULL CHECK (state IN ('signed', 'refusing', 'refused')),
    recorded_by  INTEGER NOT NULL REFERENCES people(id),
    recorded_at  TEXT NOT NULL,
    witness_id   INTEGER REFERENCES people(id),
    witnessed_at TEXT,
    UNIQUE (notice_id, party)
);
