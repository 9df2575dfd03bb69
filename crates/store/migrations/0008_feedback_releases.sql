-- Customer feedback, the product backlog it feeds, release trains and the
-- releases that ship backlog items, and architecture decision records.

CREATE TABLE backlog_items (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    -- rice or ice, with its inputs; NULL until someone scores the item.
    score_method TEXT,
    reach DOUBLE PRECISION,
    impact DOUBLE PRECISION,
    confidence DOUBLE PRECISION,
    effort DOUBLE PRECISION,
    ease DOUBLE PRECISION,
    score DOUBLE PRECISION,
    release_id TEXT,
    merged_into TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, number)
);
CREATE INDEX backlog_items_by_release ON backlog_items (release_id);

CREATE TABLE feedback (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- form, api, ticket or import:<name>.
    source TEXT NOT NULL,
    -- The id in the system it was imported from, to import each once.
    external_id TEXT,
    url TEXT,
    reporter_email TEXT,
    reporter_name TEXT,
    distinct_id TEXT,
    ticket_id TEXT,
    item_id TEXT REFERENCES backlog_items (id) ON DELETE SET NULL,
    state TEXT NOT NULL,
    spam_signal TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, number),
    UNIQUE (project_id, source, external_id)
);
CREATE INDEX feedback_by_item ON feedback (item_id);

CREATE TABLE release_trains (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    cadence TEXT NOT NULL,
    first_release TEXT NOT NULL,
    freeze_days BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE releases (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    train_id TEXT REFERENCES release_trains (id) ON DELETE SET NULL,
    planned_for TEXT,
    -- Person-weeks of effort the release can hold.
    capacity DOUBLE PRECISION,
    -- The incident a hotfix release was opened for.
    incident_id TEXT,
    -- The OpenAPI document the release ships, for its API changes.
    openapi TEXT,
    frozen_at BIGINT,
    shipped_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, version)
);

CREATE TABLE adrs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_on TEXT,
    decision TEXT,
    path TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    UNIQUE (project_id, number)
);
