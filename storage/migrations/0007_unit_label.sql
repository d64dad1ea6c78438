-- The unit as it was named when the case was filed (cards show it without a look-up).
ALTER TABLE cases ADD COLUMN unit_label TEXT;
