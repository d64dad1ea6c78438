-- B-1..B-4, C-14: what the callback found.
ALTER TABLE cases ADD COLUMN satisfaction INTEGER;       -- 1..5, NULL when not asked or not given
ALTER TABLE cases ADD COLUMN called_back_at TEXT;        -- when the callback was recorded
ALTER TABLE cases ADD COLUMN callback_channel TEXT;      -- chat | phone
ALTER TABLE cases ADD COLUMN invalid_reason TEXT;        -- C-4
