-- Q-5: the customer-centre supervisor's written conclusion of a week's summary, archived
-- with it: who wrote it, in which role, when, and the text. One per report (a second is
-- refused), and a record: never changed, never deleted (the audit trail has the event).
-- The reports table also keeps the daily department reports now (kind 'daily:<department>',
-- period_start the local working day).
CREATE TABLE report_conclusions (
    id         INTEGER PRIMARY KEY,
    report_id  INTEGER NOT NULL UNIQUE REFERENCES reports(id),
    by_id      INTEGER NOT NULL REFERENCES people(id),
    role       TEXT NOT NULL,
    text       TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE TRIGGER report_conclusions_no_update BEFORE UPDATE ON report_conclusions
BEGIN SELECT RAISE(ABORT, 'a written conclusion is a record: it is never changed'); END;
CREATE TRIGGER report_conclusions_no_delete BEFORE DELETE ON report_conclusions
BEGIN SELECT RAISE(ABORT, 'a written conclusion is a record: it is never deleted'); END;
