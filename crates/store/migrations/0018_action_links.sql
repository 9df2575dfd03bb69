-- Signed links in pages (acknowledge, escalate, resolve) work once: each
-- use records the link's nonce. Slack's signing secret, sealed, checks the
-- buttons its interactivity endpoint receives.
CREATE TABLE incident_link_uses (
    nonce TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES support_incidents (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    used_by TEXT NOT NULL,
    used_at BIGINT NOT NULL
);

ALTER TABLE projects ADD COLUMN slack_signing_secret TEXT;
