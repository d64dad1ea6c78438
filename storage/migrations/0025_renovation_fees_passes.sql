-- Renovation (P2), step 2: the agreement (R-8, R-9), the fees and the deposit ledger (R-10,
-- R-16, R-21) and the works permit and worker passes (R-11, S-1).

-- R-8: the contractor's head joins by the owner's one-time link (a person with no estate
-- role, scoped to this renovation); the steps' times.
ALTER TABLE renovations ADD COLUMN contractor_id INTEGER REFERENCES people(id);
ALTER TABLE renovations ADD COLUMN agreement_at TEXT;
ALTER TABLE renovations ADD COLUMN fees_at TEXT;
ALTER TABLE renovations ADD COLUMN permitted_at TEXT;

-- The owner's delegation links (R-8): the code shown once, kept hashed, used once.
CREATE TABLE renovation_invites (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    code_hash      TEXT NOT NULL UNIQUE,
    created_by     INTEGER NOT NULL REFERENCES people(id),
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_by        INTEGER REFERENCES people(id),
    used_at        TEXT
);

-- R-10: what the cashier charged, line by line (integer fen), and the receipt.
CREATE TABLE renovation_fees (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    item           TEXT NOT NULL,       -- deposit, management, debris, passes
    amount_fen     INTEGER NOT NULL CHECK (amount_fen >= 0),
    basis          TEXT NOT NULL DEFAULT '{}',  -- JSON: the area, the workers, the rate
    receipt        TEXT NOT NULL,
    by_id          INTEGER NOT NULL REFERENCES people(id),
    at             TEXT NOT NULL
);
CREATE INDEX renovation_fees_of ON renovation_fees(renovation_id);

-- The deposit ledger (R-10, R-16, R-21): append-only, integer fen. The balance (collected
-- less penalties, utilities, damage and the refund) never goes negative: what a deduction
-- asks beyond it is recorded as arrears the owner owes.
CREATE TABLE renovation_deposit (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    kind           TEXT NOT NULL
                   CHECK (kind IN ('collected', 'penalty', 'utilities', 'damage', 'refund',
                                   'arrears')),
    amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
    for_kind       TEXT,                -- arrears: the deduction it is the excess of
    reference      TEXT,                -- a receipt, a notice's number
    by_id          INTEGER REFERENCES people(id),
    at             TEXT NOT NULL
);
CREATE INDEX renovation_deposit_of ON renovation_deposit(renovation_id, id);
CREATE TRIGGER renovation_deposit_no_update BEFORE UPDATE ON renovation_deposit
BEGIN SELECT RAISE(ABORT, 'the deposit ledger is append-only: it is never changed'); END;
CREATE TRIGGER renovation_deposit_no_delete BEFORE DELETE ON renovation_deposit
BEGIN SELECT RAISE(ABORT, 'the deposit ledger is append-only: it is never deleted'); END;
CREATE TRIGGER renovation_deposit_never_negative BEFORE INSERT ON renovation_deposit
WHEN NEW.kind IN ('penalty', 'utilities', 'damage', 'refund') AND NEW.amount_fen > (
    SELECT COALESCE(SUM(CASE WHEN kind = 'collected' THEN amount_fen
                             WHEN kind = 'arrears' THEN 0 ELSE -amount_fen END), 0)
    FROM renovation_deposit WHERE renovation_id = NEW.renovation_id)
BEGIN SELECT RAISE(ABORT, 'the deposit balance never goes negative'); END;

-- R-11, S-1: worker passes (裝修工人出入證辦理表). The ID number is kept here only (shown
-- masked on cards, never in the audit trail: events name the pass); the photo is evidence.
CREATE TABLE renovation_passes (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    code           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    phone          TEXT NOT NULL,
    photo_sha256   TEXT REFERENCES evidence(sha256),
    photo_display  TEXT REFERENCES evidence(sha256),
    valid_from     TEXT NOT NULL,       -- local dates
    valid_to       TEXT NOT NULL,
    created_by     INTEGER NOT NULL REFERENCES people(id),
    created_at     TEXT NOT NULL,
    revoked_by     INTEGER REFERENCES people(id),
    revoked_at     TEXT
);
CREATE INDEX renovation_passes_of ON renovation_passes(renovation_id);

-- Every check at the gate (S-1): admitted or refused and why; an unknown code too.
CREATE TABLE renovation_pass_checks (
    id        INTEGER PRIMARY KEY,
    pass_id   INTEGER REFERENCES renovation_passes(id),
    code      TEXT NOT NULL,
    admitted  INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    by_id     INTEGER NOT NULL REFERENCES people(id),
    at        TEXT NOT NULL
);
CREATE TRIGGER renovation_pass_checks_no_update BEFORE UPDATE ON renovation_pass_checks
BEGIN SELECT RAISE(ABORT, 'a pass check is a record: it is never changed'); END;
CREATE TRIGGER renovation_pass_checks_no_delete BEFORE DELETE ON renovation_pass_checks
BEGIN SELECT RAISE(ABORT, 'a pass check is a record: it is never deleted'); END;
