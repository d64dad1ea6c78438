-- A deadline may wait for the event that starts its clock (an estate counts Q-4 from the
-- referral, C-12 from the classification): state 'waiting', not yet due, armed when the
-- event happens. SQLite cannot change a CHECK constraint, so the table is rebuilt.
CREATE TABLE deadlines_new (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    rule       TEXT NOT NULL,
    due_at     TEXT NOT NULL,
    warn_at    TEXT,
    state      TEXT NOT NULL DEFAULT 'pending'
               CHECK (state IN ('waiting', 'pending', 'warned', 'fired', 'met', 'cancelled')),
    warned_at  TEXT,
    fired_at   TEXT,
    late       INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
INSERT INTO deadlines_new(id, case_id, rule, due_at, warn_at, state, warned_at, fired_at,
                          late, data, created_at)
    SELECT id, case_id, rule, due_at, warn_at, state, warned_at, fired_at, late, data,
           created_at FROM deadlines;
DROP TABLE deadlines;
ALTER TABLE deadlines_new RENAME TO deadlines;
CREATE INDEX deadlines_case ON deadlines(case_id);
CREATE INDEX deadlines_due ON deadlines(due_at) WHERE state IN ('pending', 'warned');
CREATE INDEX deadlines_warn ON deadlines(warn_at) WHERE state = 'pending' AND warn_at IS NOT NULL;
CREATE INDEX deadlines_waiting ON deadlines(case_id) WHERE state = 'waiting';
