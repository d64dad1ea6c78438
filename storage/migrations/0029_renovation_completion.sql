-- Renovation (P2), steps "completion" and "refund": the completion inspection (R-20), the
-- deposit held three months and refunded (R-21), and the workers' ID data deleted after the
-- estate's retention period once the deposit is refunded (issue 11, item 7).

-- R-20, R-21: one row per renovation that asked for its completion inspection: the slot
-- agreed (a local date), the round (a failed inspection asks again: round + 1), whether
-- customer service told engineering and security this round; the passing inspection's
-- date and the earliest refund date (three months on); the refund's file: who claims it
-- (the owner, or the contractor's head with the owner's consent), customer service's check
-- of common parts and neighbours (its checklist as JSON) and the refundable amount; the
-- cashier's memo (押金退還備忘表: the voucher number).
CREATE TABLE renovation_completions (
    renovation_id   INTEGER PRIMARY KEY REFERENCES renovations(id),
    round           INTEGER NOT NULL DEFAULT 1,
    slot            TEXT NOT NULL,
    requested_by    INTEGER NOT NULL REFERENCES people(id),
    requested_at    TEXT NOT NULL,
    notified_round  INTEGER NOT NULL DEFAULT 0,
    inspected_on    TEXT,
    refund_from     TEXT,
    claimant        TEXT CHECK (claimant IN ('owner', 'contractor')),
    consented_at    TEXT,
    checklist       TEXT,
    checked_by      INTEGER REFERENCES people(id),
    checked_at      TEXT,
    refundable_fen  INTEGER CHECK (refundable_fen >= 0),
    voucher         TEXT,
    refunded_at     TEXT
);

-- R-20: each department's inspection of each round: passed, or the problems (their lines,
-- as JSON) with the photo kept as evidence (original by SHA-256, the display copy).
CREATE TABLE renovation_inspections (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    round          INTEGER NOT NULL,
    department     TEXT NOT NULL CHECK (department IN ('engineering', 'security')),
    passed         INTEGER NOT NULL,
    problems       TEXT NOT NULL DEFAULT '[]',
    photo_sha256   TEXT REFERENCES evidence(sha256),
    photo_display  TEXT REFERENCES evidence(sha256),
    by_id          INTEGER NOT NULL REFERENCES people(id),
    at             TEXT NOT NULL,
    UNIQUE (renovation_id, round, department)
);
CREATE TRIGGER renovation_inspections_no_update BEFORE UPDATE ON renovation_inspections
BEGIN SELECT RAISE(ABORT, 'an inspection is a record: it is never changed'); END;
CREATE TRIGGER renovation_inspections_no_delete BEFORE DELETE ON renovation_inspections
BEGIN SELECT RAISE(ABORT, 'an inspection is a record: it is never deleted'); END;

-- Issue 11, item 7: when a pass's ID number and photo were deleted (the retention period
-- after the refund ran out); the row stays, its number emptied.
ALTER TABLE renovation_passes ADD COLUMN purged_at TEXT;

-- Issue 11, item 7: a stored file deleted on purpose (a worker's photo after the retention
-- period): its row stays as a tombstone (the audit events that name the hash still verify),
-- its bytes are gone, and check-audit no longer looks for them.
ALTER TABLE evidence ADD COLUMN erased_at TEXT;
