-- C-11 in the manual's order: the handling opinion is the department's instructions; the
-- department feeds back; the assistant drafts the reply, which C-13 approves. C-12: when a
-- major complaint got its clear answer.
ALTER TABLE cases ADD COLUMN feedback TEXT;
ALTER TABLE cases ADD COLUMN reply_draft TEXT;
ALTER TABLE cases ADD COLUMN reply_by INTEGER REFERENCES people(id);
ALTER TABLE cases ADD COLUMN answered_at TEXT;
ALTER TABLE cases ADD COLUMN answer TEXT;
-- A complaint waiting for approval under the earlier order had its reply in `opinion`: it
-- is that complaint's draft now, so the approval buttons already sent still match it.
UPDATE cases SET reply_draft = opinion, reply_by = opinion_by
 WHERE status = 'review' AND opinion IS NOT NULL AND approved_by IS NULL;
