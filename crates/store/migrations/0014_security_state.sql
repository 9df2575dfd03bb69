-- Security boundaries, portable part.

-- Failed sign-ins, one row each, by subject (`email:<address>` or
-- `ip:<address>`); they count within a sliding window and expire on their own.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_subject_at ON login_failures (subject, at);

-- Keys for a purpose beside the public browser key (projects.ingest_key_*):
-- `server` (OTLP) and `mail` (the inbound e-mail webhook).
CREATE TABLE project_keys (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, purpose)
);

-- Public pages are off until a project turns them on. A Mailgun webhook
-- signing key (sealed) makes inbound mail check Mailgun's signature.
ALTER TABLE projects ADD COLUMN status_page_public BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN changelog_public BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN mail_signing_key TEXT;

-- Backlog items reach the public changelog only when marked public.
ALTER TABLE backlog_items ADD COLUMN public BIGINT NOT NULL DEFAULT 0;

-- Status-page subscribers confirm before they hear anything. Subscribers
-- from before confirmations existed count as confirmed.
ALTER TABLE support_subscribers ADD COLUMN confirmed_at BIGINT;
ALTER TABLE support_subscribers ADD COLUMN confirm_nonce TEXT;
ALTER TABLE support_subscribers ADD COLUMN confirm_sent_at BIGINT;
ALTER TABLE support_subscribers ADD COLUMN pending_components TEXT;
ALTER TABLE support_subscribers ADD COLUMN secret TEXT;
ALTER TABLE support_subscribers ADD COLUMN unsubscribe_token TEXT;
ALTER TABLE support_subscribers ADD COLUMN unsubscribe_url TEXT;
UPDATE support_subscribers SET confirmed_at = created_at;
CREATE INDEX support_subscribers_sent ON support_subscribers (project_id, confirm_sent_at);

-- A webhook delivery may be signed with a key of its own (sealed).
ALTER TABLE support_outbox ADD COLUMN signing_key TEXT;

-- Calendar feeds: a secret URL per feed, scoped to what it shows.
CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target TEXT,
    secret_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX calendar_feeds_project ON calendar_feeds (project_id);
