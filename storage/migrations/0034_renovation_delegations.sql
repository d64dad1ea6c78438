-- Renovation (P2), R-4 "or someone they authorised": a head (customer_head or
-- engineering_head) records a delegate of the estate's staff who signs applications in
-- their role from one local day to another (both included), with a reason; revoked early by
-- stamping revoked_at (rows are never deleted: an approval names the delegation it used).
CREATE TABLE renovation_delegations (
    id           INTEGER PRIMARY KEY,
    estate_id    INTEGER NOT NULL REFERENCES estates(id),
    role         TEXT NOT NULL CHECK (role IN ('customer_head', 'engineering_head')),
    head_id      INTEGER NOT NULL REFERENCES people(id),
    delegate_id  INTEGER NOT NULL REFERENCES people(id),
    valid_from   TEXT NOT NULL,
    valid_to     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    revoked_by   INTEGER REFERENCES people(id),
    CHECK (delegate_id <> head_id),
    CHECK (valid_from <= valid_to)
);
CREATE INDEX renovation_delegations_of ON renovation_delegations(estate_id, role);
CREATE INDEX renovation_delegations_to ON renovation_delegations(delegate_id);
