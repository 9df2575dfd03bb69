-- Error alerts beyond an incident: the on-call people of a tier told
-- through their own notification rules, a severity per event level
-- (`fatal=sev2,error=sev3`), and a spike as a share of a route's requests.
ALTER TABLE error_settings ADD COLUMN notify_tier TEXT;
ALTER TABLE error_settings ADD COLUMN severities TEXT NOT NULL DEFAULT 'fatal=sev2';
ALTER TABLE error_settings ADD COLUMN spike_percent DOUBLE PRECISION;
