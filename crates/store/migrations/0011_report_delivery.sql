-- When a weekly report was sent to its recipients; NULL while it was only
-- kept, so the weekly job still sends it.
ALTER TABLE improvement_reports ADD COLUMN delivered_at BIGINT;
