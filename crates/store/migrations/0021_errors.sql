-- Error tracking. Each project has one Sentry DSN: a number (Sentry's
-- project id, digits only, as the SDKs require) and a public key, both
-- public by design, like a browser key. Raw error events live in
-- telemetry; the issues they group into, and their states, live here.
CREATE TABLE error_settings (
    project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    number BIGINT NOT NULL UNIQUE,
    public_key TEXT NOT NULL UNIQUE,
    alert_integration TEXT,
    alert_new BIGINT NOT NULL DEFAULT 0,
    alert_regression BIGINT NOT NULL DEFAULT 1,
    -- a spike: this many events of one issue within spike_minutes
    spike_events BIGINT,
    spike_minutes BIGINT NOT NULL DEFAULT 60,
    created_at BIGINT NOT NULL
);

CREATE TABLE error_issues (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    title TEXT NOT NULL,
    culprit TEXT,
    level TEXT NOT NULL,
    -- unresolved | resolved | ignored
    status TEXT NOT NULL,
    -- set when an issue came back after it was resolved, cleared by the
    -- next resolve
    regressed_at BIGINT,
    -- now | next | release, with the release it holds for next and release
    resolution TEXT,
    resolved_release TEXT,
    resolved_at BIGINT,
    resolved_by TEXT,
    -- ignored until this many more events or users, or this instant
    ignore_events BIGINT,
    ignore_users BIGINT,
    ignore_until BIGINT,
    ignored_at BIGINT,
    ignored_count BIGINT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    times_seen BIGINT NOT NULL,
    first_release TEXT,
    last_release TEXT,
    -- when a spike of it was last alerted
    spike_alerted_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, number)
);
CREATE INDEX error_issues_last_seen ON error_issues (project_id, last_seen);

-- Which fingerprints make up each issue, with their own counts, so that a
-- merged fingerprint can be split off again.
CREATE TABLE error_fingerprints (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    issue_id TEXT NOT NULL REFERENCES error_issues(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    culprit TEXT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    times_seen BIGINT NOT NULL,
    PRIMARY KEY (project_id, fingerprint)
);
CREATE INDEX error_fingerprints_issue ON error_fingerprints (issue_id);

-- The releases and environments each fingerprint was seen in (an
-- issue's are its fingerprints', so a merge or unmerge moves them along).
CREATE TABLE error_fingerprint_releases (
    project_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    release TEXT NOT NULL,
    environment TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    times_seen BIGINT NOT NULL,
    PRIMARY KEY (project_id, fingerprint, release, environment),
    FOREIGN KEY (project_id, fingerprint) REFERENCES error_fingerprints(project_id, fingerprint)
        ON DELETE CASCADE
);

-- What happened to an issue: created, resolved, regressed, ignored,
-- unignored, reopened, merged, unmerged; with the release it concerns.
CREATE TABLE error_issue_activity (
    id TEXT PRIMARY KEY,
    issue_id TEXT NOT NULL REFERENCES error_issues(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    release TEXT,
    actor TEXT NOT NULL,
    detail TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX error_issue_activity_issue ON error_issue_activity (issue_id, at);
CREATE INDEX error_issue_activity_release ON error_issue_activity (project_id, kind, release);

-- A project's grouping rules, tried in order before an SDK's fingerprint
-- and the default: events whose exception type, message or module matches
-- the pattern (with * as any run) group under the fixed fingerprint (a
-- JSON array of parts).
CREATE TABLE error_grouping_rules (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    matcher TEXT NOT NULL,
    pattern TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX error_grouping_rules_project ON error_grouping_rules (project_id, position);

-- Backlog items made from an issue (incidents and tickets link to issues
-- through their own link tables, with kind `issue` and the issue's number).
CREATE TABLE error_issue_links (
    issue_id TEXT NOT NULL REFERENCES error_issues(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issue_id, kind, target_id)
);
