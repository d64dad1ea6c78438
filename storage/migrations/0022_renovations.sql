-- Renovation (P2): a subject of its own kind ('renovation'), with its own tables (see the
-- README, "Records and subjects"). Clocks (R-4), outbox rows, audit events, approvals (the
-- two heads' R-4 signatures, the owner's R-7) and evidence (the documents' files) attach to
-- Subject('renovation', id) through the shared tables.

-- One row per application: the form (装修申请表, R-2) and where it is (procedures.renovation
-- Status). The contractor head's name and phone are personal: the audit trail keeps them
-- apart (storage.audit.PERSONAL_KEYS).
CREATE TABLE renovations (
    id            INTEGER PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,            -- ZX-20261127-0001
    estate_id     INTEGER NOT NULL REFERENCES estates(id),
    unit_id       INTEGER NOT NULL REFERENCES units(id),
    owner_id      INTEGER NOT NULL REFERENCES people(id),
    status        TEXT NOT NULL,
    period_from   TEXT NOT NULL,                   -- local dates, YYYY-MM-DD
    period_to     TEXT NOT NULL,
    contractor    TEXT NOT NULL,
    head_name     TEXT NOT NULL,
    head_phone    TEXT NOT NULL,
    scope         TEXT NOT NULL DEFAULT '[]',      -- JSON list of scope ticks
    committed_at  TEXT NOT NULL,                   -- the commitment letter, by button (R-2)
    submitted_at  TEXT,
    complete_at   TEXT,                            -- R-4's clock starts here
    decided_at    TEXT,
    terms_at      TEXT,                            -- R-7
    draft_key     TEXT UNIQUE,                     -- the chat draft it was made from (once)
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
-- One open renovation per unit: a second application is refused, here too.
CREATE UNIQUE INDEX renovations_one_open ON renovations(unit_id)
    WHERE status NOT IN ('rejected', 'closed');
CREATE INDEX renovations_estate ON renovations(estate_id, status);

-- Each required document of an application (R-3): its state, the round of files that
-- counts (a document refused and sent again starts a new round), and the check.
CREATE TABLE renovation_documents (
    renovation_id  INTEGER NOT NULL REFERENCES renovations(id),
    doc            TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'missing'
                   CHECK (state IN ('missing', 'pending', 'valid', 'invalid')),
    round          INTEGER NOT NULL DEFAULT 1,
    reason         TEXT,
    checked_by     INTEGER REFERENCES people(id),
    checked_at     TEXT,
    PRIMARY KEY (renovation_id, doc)
);

-- The files sent for a document: the original kept by SHA-256 in the evidence store (and
-- linked to the renovation, its audit event naming the hash), the display copy staff see.
CREATE TABLE renovation_files (
    id              INTEGER PRIMARY KEY,
    renovation_id   INTEGER NOT NULL REFERENCES renovations(id),
    doc             TEXT NOT NULL,
    round           INTEGER NOT NULL,
    sha256          TEXT NOT NULL REFERENCES evidence(sha256),
    display_sha256  TEXT REFERENCES evidence(sha256),
    file_id         TEXT,
    added_by        INTEGER REFERENCES people(id),
    added_at        TEXT NOT NULL
);
CREATE INDEX renovation_files_doc ON renovation_files(renovation_id, doc, round);
