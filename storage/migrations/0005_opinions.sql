-- C-11, C-13: a complaint's handling opinion, who wrote and who approved it, when replied.
ALTER TABLE cases ADD COLUMN opinion TEXT;
ALTER TABLE cases ADD COLUMN opinion_by INTEGER REFERENCES people(id);
ALTER TABLE cases ADD COLUMN approved_by INTEGER REFERENCES people(id);
ALTER TABLE cases ADD COLUMN replied_at TEXT;
