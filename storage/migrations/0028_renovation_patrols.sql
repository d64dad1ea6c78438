-- Renovation (P2), step 3: the works begin, and the daily patrols (R-14, R-18) with the
-- violations they find (R-15): minor ones warned on the spot, serious ones on a rectification
-- notice with a penalty the project manager approves (R-16); each photo kept as evidence.

-- When customer service confirmed that the works began (the renovation is active).
ALTER TABLE renovations ADD COLUMN works_at TEXT;

-- R-14: one department's daily patrol duty on one renovation: the subject
-- ('renovation_patrol', id) its clock runs on, one working day at a time.
CREATE TABLE renovation_patrol_duties (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    department     TEXT NOT NULL
                   CHECK (department IN ('customer_service', 'engineering', 'security')),
    UNIQUE (renovation_id, department)
);

-- R-14, R-18: the patrols (现场巡视签到表, 巡视记录表): one per department per working day;
-- a violation (R-15) keeps its line and its photo (original and watermarked copy).
CREATE TABLE renovation_patrols (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    department     TEXT NOT NULL,
    day            TEXT NOT NULL,       -- the local working day it counts for
    result         TEXT NOT NULL CHECK (result IN ('ok', 'minor', 'serious')),
    note           TEXT,
    photo_sha256   TEXT REFERENCES evidence(sha256),
    photo_display  TEXT REFERENCES evidence(sha256),
    by_id          INTEGER NOT NULL REFERENCES people(id),
    at             TEXT NOT NULL,
    UNIQUE (renovation_id, department, day)
);
CREATE INDEX renovation_patrols_day ON renovation_patrols(day, department);

-- R-15, R-16: the rectification notices (违章整改表) of serious violations: the owner told
-- and understanding (by button or a recorded call) before the contractor's head; a penalty
-- proposed on it, approved (or not) by the project manager, then in the deposit ledger;
-- closed by the re-inspection.
CREATE TABLE renovation_notices (
    id                  INTEGER PRIMARY KEY,
    renovation_id       INTEGER NOT NULL REFERENCES renovations(id),
    department          TEXT NOT NULL,
    note                TEXT NOT NULL,
    due                 TEXT NOT NULL,   -- the local date it must be rectified by
    photo_sha256        TEXT REFERENCES evidence(sha256),
    photo_display       TEXT REFERENCES evidence(sha256),
    state               TEXT NOT NULL DEFAULT 'issued'
                        CHECK (state IN ('issued', 'owner_told', 'contractor_told', 'closed')),
    owner_told_how      TEXT CHECK (owner_told_how IN ('button', 'call')),
    owner_told_by       INTEGER REFERENCES people(id),
    owner_told_at       TEXT,
    contractor_told_by  INTEGER REFERENCES people(id),
    contractor_told_at  TEXT,
    penalty_fen         INTEGER NOT NULL DEFAULT 0 CHECK (penalty_fen >= 0),
    penalty             TEXT CHECK (penalty IN ('proposed', 'approved', 'refused')),
    penalty_by          INTEGER REFERENCES people(id),
    created_by          INTEGER NOT NULL REFERENCES people(id),
    created_at          TEXT NOT NULL,
    closed_by           INTEGER REFERENCES people(id),
    closed_at           TEXT
);
CREATE INDEX renovation_notices_of ON renovation_notices(renovation_id);
