-- Renovation (P2), step 3: the works begin, and the daily patrols (R-14, R-18) with the
-- minor violations they find (R-15), each with its photo kept as evidence.

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
-- a minor violation (R-15) keeps its line and its photo (original and watermarked copy).
CREATE TABLE renovation_patrols (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    department     TEXT NOT NULL,
    day            TEXT NOT NULL,       -- the local working day it counts for
    result         TEXT NOT NULL CHECK (result IN ('ok', 'minor')),
    note           TEXT,
    photo_sha256   TEXT REFERENCES evidence(sha256),
    photo_display  TEXT REFERENCES evidence(sha256),
    by_id          INTEGER NOT NULL REFERENCES people(id),
    at             TEXT NOT NULL,
    UNIQUE (renovation_id, department, day)
);
CREATE INDEX renovation_patrols_day ON renovation_patrols(day, department);
