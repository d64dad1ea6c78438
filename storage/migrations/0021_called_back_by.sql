-- B-2, B-4: who called the resident back (the assistant who phoned; for an answer in chat,
-- the assistant in whose name the bot asked). NULL before the callback, or when no
-- customer assistant was responsible.
ALTER TABLE cases ADD COLUMN called_back_by INTEGER REFERENCES people(id);
