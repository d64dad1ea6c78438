-- Identity: estates, units (the developer's roster), people, roles, departments,
-- invites, owner verifications, the hash-chained audit trail and PTB persistence.

CREATE TABLE estates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    timezone    TEXT,
    created_at  TEXT NOT NULL
);

-- One row per unit, carrying its owner as the roster (主清冊) states them.
CREATE TABLE units (
    id           INTEGER PRIMARY KEY,
    estate_id    INTEGER NOT NULL REFERENCES estates(id),
    building     TEXT NOT NULL DEFAULT '',
    number       TEXT NOT NULL,
    area_m2      TEXT,
    owner_name   TEXT NOT NULL,
    owner_phone  TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (estate_id, building, number)
);
CREATE INDEX units_owner_phone ON units(owner_phone);

CREATE TABLE people (
    id           INTEGER PRIMARY KEY,
    tg_user_id   INTEGER NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    username     TEXT,
    phone        TEXT,
    tg_language  TEXT,
    locale       TEXT,            -- set by /lang; NULL follows the Telegram language
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE unit_bindings (
    person_id  INTEGER NOT NULL REFERENCES people(id),
    unit_id    INTEGER NOT NULL REFERENCES units(id),
    relation   TEXT NOT NULL DEFAULT 'owner',
    source     TEXT NOT NULL CHECK (source IN ('roster', 'verified')),
    bound_at   TEXT NOT NULL,
    PRIMARY KEY (person_id, unit_id)
);
CREATE INDEX unit_bindings_unit ON unit_bindings(unit_id);

CREATE TABLE departments (
    id          INTEGER PRIMARY KEY,
    estate_id   INTEGER NOT NULL REFERENCES estates(id),
    code        TEXT NOT NULL,
    chat_id     INTEGER,
    chat_title  TEXT,
    bound_at    TEXT,
    bound_by    INTEGER REFERENCES people(id),
    UNIQUE (estate_id, code)
);
CREATE INDEX departments_chat ON departments(chat_id);

CREATE TABLE memberships (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES people(id),
    estate_id      INTEGER NOT NULL REFERENCES estates(id),
    role           TEXT NOT NULL,
    department_id  INTEGER REFERENCES departments(id),
    granted_by     INTEGER REFERENCES people(id),
    granted_at     TEXT NOT NULL,
    UNIQUE (person_id, estate_id, role)
);
CREATE INDEX memberships_estate_role ON memberships(estate_id, role);

CREATE TABLE invites (
    id             INTEGER PRIMARY KEY,
    code_hash      TEXT NOT NULL UNIQUE,   -- SHA-256 of the code: a copied database reveals no link
    estate_id      INTEGER NOT NULL REFERENCES estates(id),
    role           TEXT NOT NULL,
    department_id  INTEGER REFERENCES departments(id),
    created_by     INTEGER REFERENCES people(id),
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_by        INTEGER REFERENCES people(id),
    used_at        TEXT
);

CREATE TABLE verifications (
    id                INTEGER PRIMARY KEY,
    person_id         INTEGER NOT NULL REFERENCES people(id),
    estate_id         INTEGER NOT NULL REFERENCES estates(id),
    unit_id           INTEGER NOT NULL REFERENCES units(id),
    phone             TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'approved', 'rejected')),
    reason            TEXT,
    created_at        TEXT NOT NULL,
    decided_by        INTEGER REFERENCES people(id),
    decided_at        TEXT,
    group_chat_id     INTEGER,
    group_message_id  INTEGER
);
CREATE UNIQUE INDEX verifications_one_pending
    ON verifications(person_id, unit_id) WHERE status = 'pending';

-- Append-only: each row carries the hash of the one before it.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_id   INTEGER,
    actor      TEXT NOT NULL,
    estate_id  INTEGER,
    event      TEXT NOT NULL,
    subject    TEXT NOT NULL,
    data       TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit(subject);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

-- python-telegram-bot persistence: conversation states and user/chat data.
CREATE TABLE ptb_conversations (
    name   TEXT NOT NULL,
    key    TEXT NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE TABLE ptb_data (
    kind  TEXT NOT NULL CHECK (kind IN ('user', 'chat', 'bot')),
    id    INTEGER NOT NULL,
    data  TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
