-- The case engine: cases (requests, complaints, callbacks, visits…), their events and
-- photos, durable deadlines, and the outbox of notifications.

CREATE TABLE cases (
    id            INTEGER PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,          -- e.g. TS-20261127-0003
    estate_id     INTEGER NOT NULL REFERENCES estates(id),
    kind          TEXT NOT NULL,                 -- request | complaint | callback | visit
    category      TEXT,
    unit_id       INTEGER REFERENCES units(id),
    resident_id   INTEGER REFERENCES people(id), -- NULL when staff record a call or visit
    caller_name   TEXT,
    caller_phone  TEXT,
    channel       TEXT NOT NULL DEFAULT 'chat',  -- chat | phone | visit
    description   TEXT NOT NULL DEFAULT '',
    urgent        INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    severity      TEXT,                          -- complaints: invalid | minor | important | major
    department    TEXT,
    assignee_id   INTEGER REFERENCES people(id),
    promised_at   TEXT,
    event_key     TEXT,                          -- C-5: complaints about one event
    parent_id     INTEGER REFERENCES cases(id),  -- a callback's case, a reopened case's origin
    accepted_at   TEXT NOT NULL,
    resolved_at   TEXT,
    closed_at     TEXT,
    created_by    INTEGER REFERENCES people(id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX cases_estate_status ON cases(estate_id, status);
CREATE INDEX cases_resident ON cases(resident_id);
CREATE INDEX cases_event ON cases(estate_id, event_key) WHERE event_key IS NOT NULL;

-- Numbers per estate, kind prefix and day: TS-20261127-0001, -0002…
CREATE TABLE case_counters (
    estate_id  INTEGER NOT NULL,
    prefix     TEXT NOT NULL,
    day        TEXT NOT NULL,
    last       INTEGER NOT NULL,
    PRIMARY KEY (estate_id, prefix, day)
);

CREATE TABLE case_photos (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases(id),
    file_id   TEXT NOT NULL,
    sha256    TEXT,
    added_by  INTEGER REFERENCES people(id),
    added_at  TEXT NOT NULL
);
CREATE INDEX case_photos_case ON case_photos(case_id);

-- Durable timers: one row per (case, rule); the sweeper fires each exactly once.
CREATE TABLE deadlines (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    rule       TEXT NOT NULL,
    due_at     TEXT NOT NULL,
    warn_at    TEXT,
    state      TEXT NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'warned', 'fired', 'met', 'cancelled')),
    warned_at  TEXT,
    fired_at   TEXT,
    late       INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX deadlines_case ON deadlines(case_id);
CREATE INDEX deadlines_due ON deadlines(due_at) WHERE state IN ('pending', 'warned');
CREATE INDEX deadlines_warn ON deadlines(warn_at) WHERE state = 'pending' AND warn_at IS NOT NULL;

-- Notifications, queued in the transaction of the change that causes them.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    chat_id          INTEGER NOT NULL,
    text             TEXT NOT NULL,
    markup           TEXT,                      -- inline keyboard JSON, or NULL
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sent', 'blocked', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    case_id          INTEGER REFERENCES cases(id),
    person_id        INTEGER REFERENCES people(id), -- the recipient, when it is a person
    message_id       INTEGER,                   -- Telegram's id once sent
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_pending ON outbox(chat_id, id) WHERE state = 'pending';
