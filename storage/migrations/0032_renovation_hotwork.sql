-- Renovation (P2): hot-work permits (R-17, 動火審批) and temporary passes (臨時出入證, S-1),
-- both checked at the gate with /pass like the worker passes.

-- R-17: a hot-work permit applied for on an active renovation; engineering approves (it then
-- gets its code, DH…) or refuses with a reason. The window is kept as the estate's local
-- time with its offset (2026-12-02T09:00:00+08:00). The operator's name is personal: the
-- audit trail keeps it apart.
CREATE TABLE renovation_hotwork (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    code           TEXT UNIQUE,
    place          TEXT NOT NULL,
    starts         TEXT NOT NULL,
    ends           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('welding', 'cutting', 'grinding', 'other')),
    operator       TEXT NOT NULL,
    certificate    TEXT NOT NULL,
    extinguisher   INTEGER NOT NULL,
    state          TEXT NOT NULL DEFAULT 'asked' CHECK (state IN ('asked', 'approved', 'refused')),
    reason         TEXT,
    applied_by     INTEGER NOT NULL REFERENCES people(id),
    applied_at     TEXT NOT NULL,
    decided_by     INTEGER REFERENCES people(id),
    decided_at     TEXT
);
CREATE INDEX renovation_hotwork_of ON renovation_hotwork(renovation_id);

-- S-1: a one-off visitor's pass to the works (LS…), admitted once within its validity
-- (local times with their offset, like the hot-work window).
CREATE TABLE renovation_temp_passes (
    id             INTEGER PRIMARY KEY,
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    code           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_to       TEXT NOT NULL,
    created_by     INTEGER NOT NULL REFERENCES people(id),
    created_at     TEXT NOT NULL,
    used_by        INTEGER REFERENCES people(id),
    used_at        TEXT
);
CREATE INDEX renovation_temp_passes_of ON renovation_temp_passes(renovation_id);

-- Every check at the gate is one log, whatever was shown: a worker's pass, a hot-work
-- permit or a temporary pass.
ALTER TABLE renovation_pass_checks ADD COLUMN kind TEXT NOT NULL DEFAULT 'worker'
    CHECK (kind IN ('worker', 'hotwork', 'temp'));

-- R-19: a request or complaint an owner files about a unit whose works are on is linked to
-- that renovation (its number kept with the link, as cards show it).
ALTER TABLE cases ADD COLUMN renovation_id INTEGER REFERENCES renovations(id);
ALTER TABLE cases ADD COLUMN renovation_number TEXT;
CREATE INDEX cases_renovation ON cases(renovation_id) WHERE renovation_id IS NOT NULL;

-- R-6: the authority's receipt of a filing (fire protection, structural change, gas
-- change) the owner attached: the photo kept as evidence. A filing with a receipt is no
-- longer open; a receipt sent again is one more row.
CREATE TABLE renovation_filings (
    id              INTEGER PRIMARY KEY,
    renovation_id   INTEGER NOT NULL REFERENCES renovations(id),
    filing          TEXT NOT NULL CHECK (filing IN ('fire', 'structural', 'gas')),
    sha256          TEXT NOT NULL REFERENCES evidence(sha256),
    display_sha256  TEXT REFERENCES evidence(sha256),
    by_id           INTEGER NOT NULL REFERENCES people(id),
    at              TEXT NOT NULL
);
CREATE INDEX renovation_filings_of ON renovation_filings(renovation_id);
