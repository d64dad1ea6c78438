-- A case filed from a person's draft carries the draft's key: pressing "file" again (a
-- double tap, a press after a crash between filing and the edit of the message) finds the
-- case already filed instead of filing it twice.
ALTER TABLE cases ADD COLUMN draft_key TEXT;
CREATE UNIQUE INDEX cases_draft_key ON cases(draft_key) WHERE draft_key IS NOT NULL;
