-- The shared machinery attaches to any subject (kind, id), not only to a case: a
-- renovation, a handover or a pass will have clocks, notices and approvals of its own.
-- Deadlines: rebuilt with subject_kind/subject_id (case_id stays, set for case subjects
-- only, so a case's timers keep their foreign key). SQLite cannot relax NOT NULL in place.
CREATE TABLE deadlines_new (
    id           INTEGER PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,
    case_id      INTEGER REFERENCES cases(id),
    rule         TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    warn_at      TEXT,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('waiting', 'pending', 'warned', 'fired', 'met', 'cancelled')),
    warned_at    TEXT,
    fired_at     TEXT,
    late         INTEGER NOT NULL DEFAULT 0,
    data         TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    CHECK ((subject_kind = 'case') = (case_id IS NOT NULL)),
    CHECK (case_id IS NULL OR case_id = subject_id)
);
INSERT INTO deadlines_new(id, subject_kind, subject_id, case_id, rule, due_at, warn_at, state,
                          warned_at, fired_at, late, data, created_at)
    SELECT id, 'case', case_id, case_id, rule, due_at, warn_at, state, warned_at, fired_at,
           late, data, created_at FROM deadlines;
DROP TABLE deadlines;
ALTER TABLE deadlines_new RENAME TO deadlines;
CREATE INDEX deadlines_subject ON deadlines(subject_kind, subject_id);
CREATE INDEX deadlines_due ON deadlines(due_at) WHERE state IN ('pending', 'warned');
CREATE INDEX deadlines_warn ON deadlines(warn_at) WHERE state = 'pending' AND warn_at IS NOT NULL;
CREATE INDEX deadlines_waiting ON deadlines(subject_kind, subject_id) WHERE state = 'waiting';
-- Outbox rows name the subject they are about (case_id stays for case subjects).
ALTER TABLE outbox ADD COLUMN subject_kind TEXT;
ALTER TABLE outbox ADD COLUMN subject_id INTEGER;
UPDATE outbox SET subject_kind = 'case', subject_id = case_id WHERE case_id IS NOT NULL;
-- Approvals: who signed which step of which subject, in which role, approving or refusing
-- which version, with what comment (C-13's reply, C-12's extension; R-4's two heads later).
CREATE TABLE approvals (
    id           INTEGER PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,
    step         TEXT NOT NULL,                 -- the rule id: C-13, C-12…
    by_id        INTEGER NOT NULL REFERENCES people(id),
    role         TEXT NOT NULL,                 -- the role the person signed in
    decision     TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    comment      TEXT,
    version      TEXT,                          -- a fingerprint of what was approved
    at           TEXT NOT NULL
);
CREATE INDEX approvals_subject ON approvals(subject_kind, subject_id);
CREATE TRIGGER approvals_no_update BEFORE UPDATE ON approvals
BEGIN SELECT RAISE(ABORT, 'an approval is a record: it is never changed'); END;
CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals
BEGIN SELECT RAISE(ABORT, 'an approval is a record: it is never deleted'); END;
