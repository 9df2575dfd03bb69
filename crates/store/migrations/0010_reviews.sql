-- Post-production reviews (postmortems and post-launch reviews), weekly
-- continuous-improvement reports and their recipients, and the capacities
-- the scaling forecasts are read against.

CREATE TABLE postmortems (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    incident_id TEXT NOT NULL UNIQUE REFERENCES support_incidents (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    summary TEXT NOT NULL,
    -- The figures drafted from data (durations, suspect deployments,
    -- impact), as the JSON document the server wrote.
    facts TEXT NOT NULL,
    impact TEXT NOT NULL,
    root_causes TEXT NOT NULL,
    trigger_text TEXT NOT NULL,
    detection TEXT NOT NULL,
    resolution TEXT NOT NULL,
    went_well TEXT NOT NULL,
    went_wrong TEXT NOT NULL,
    got_lucky TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX postmortems_by_project ON postmortems (project_id, created_at);

-- Timeline entries people starred or hid: an incident event's id, or
-- `deploy:<id>` for a suspect deployment.
CREATE TABLE postmortem_marks (
    postmortem_id TEXT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    entry_key TEXT NOT NULL,
    mark TEXT NOT NULL,
    PRIMARY KEY (postmortem_id, entry_key)
);

CREATE TABLE postmortem_sign_offs (
    postmortem_id TEXT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    signed_at BIGINT NOT NULL,
    PRIMARY KEY (postmortem_id, user_id)
);

-- Each action item is a backlog item; its status is the item's.
CREATE TABLE postmortem_actions (
    id TEXT PRIMARY KEY,
    postmortem_id TEXT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL UNIQUE REFERENCES backlog_items (id) ON DELETE CASCADE,
    owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    due_at BIGINT,
    reminded_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX postmortem_actions_due ON postmortem_actions (due_at);

CREATE TABLE launch_reviews (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    title TEXT NOT NULL,
    release_id TEXT REFERENCES releases (id) ON DELETE SET NULL,
    from_at BIGINT NOT NULL,
    to_at BIGINT NOT NULL,
    facts TEXT NOT NULL,
    went_well TEXT NOT NULL,
    failed TEXT NOT NULL,
    improve TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, number)
);

-- Backlog items raised from a review's findings.
CREATE TABLE launch_review_items (
    review_id TEXT NOT NULL REFERENCES launch_reviews (id) ON DELETE CASCADE,
    item_id TEXT NOT NULL UNIQUE REFERENCES backlog_items (id) ON DELETE CASCADE,
    PRIMARY KEY (review_id, item_id)
);

-- One report per project and week (the Monday it starts, UTC, in ms).
CREATE TABLE improvement_reports (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    week_start BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, week_start)
);

-- Where the weekly report goes: channel email or webhook.
CREATE TABLE improvement_recipients (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, channel, target)
);

-- What a service can take: a metric's capacity across its replicas, and
-- the utilisation the team scales for.
CREATE TABLE scaling_capacities (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    metric TEXT NOT NULL,
    capacity DOUBLE PRECISION NOT NULL,
    replicas BIGINT NOT NULL,
    target_utilisation DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, service, metric)
);

-- The funnels a project watches: postmortems and launch reviews report
-- their conversion. Steps one per line; `a|b` means either event.
CREATE TABLE analytics_key_funnels (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    steps TEXT NOT NULL,
    window_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, name)
);
