-- Production support: tiers, schedules, escalation policies, alert
-- integrations, incidents and their timelines, notifications, tickets and the
-- status page.

CREATE TABLE support_schedules (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Layers, lowest position first; members are user ids joined by commas, in
-- rotation order; start_local is the first hand-off as wall-clock time.
CREATE TABLE support_schedule_layers (
    id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES support_schedules (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    members TEXT NOT NULL,
    start_local TEXT NOT NULL,
    shift TEXT NOT NULL,
    restrict_days TEXT,
    restrict_from TEXT,
    restrict_to TEXT
);

CREATE TABLE support_schedule_overrides (
    id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES support_schedules (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE support_tiers (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    tier TEXT NOT NULL,
    schedule_id TEXT REFERENCES support_schedules (id) ON DELETE SET NULL,
    PRIMARY KEY (project_id, tier)
);

CREATE TABLE support_tier_members (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    tier TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, tier, user_id)
);

-- levels: JSON [{"targets":[{"user"|"schedule"|"tier": id}], "delay_secs": n}]
CREATE TABLE support_policies (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    levels TEXT NOT NULL,
    repeat_count BIGINT NOT NULL DEFAULT 0,
    ack_timeout_secs BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE support_components (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Every status change of a component, for uptime.
CREATE TABLE support_component_log (
    id TEXT PRIMARY KEY,
    component_id TEXT NOT NULL REFERENCES support_components (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    status TEXT NOT NULL
);

CREATE INDEX support_component_log_at ON support_component_log (component_id, at);

-- kind: alertmanager | grafana | generic. The secret is stored hashed.
CREATE TABLE support_integrations (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    policy_id TEXT REFERENCES support_policies (id) ON DELETE SET NULL,
    component_id TEXT REFERENCES support_components (id) ON DELETE SET NULL,
    default_severity TEXT NOT NULL,
    auto_resolve BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE support_incidents (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    dedup_key TEXT,
    integration_id TEXT REFERENCES support_integrations (id) ON DELETE SET NULL,
    policy_id TEXT REFERENCES support_policies (id) ON DELETE SET NULL,
    assignee_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    commander_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    resolved_at BIGINT,
    esc_step BIGINT NOT NULL DEFAULT 0,
    esc_next_at BIGINT,
    ack_deadline BIGINT,
    UNIQUE (project_id, number)
);

-- At most one open incident per deduplication key.
CREATE UNIQUE INDEX support_incidents_open_key ON support_incidents (project_id, dedup_key)
    WHERE state <> 'resolved' AND dedup_key IS NOT NULL;
CREATE INDEX support_incidents_due ON support_incidents (esc_next_at);

CREATE TABLE support_incident_services (
    incident_id TEXT NOT NULL REFERENCES support_incidents (id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    PRIMARY KEY (incident_id, service)
);

CREATE TABLE support_incident_components (
    incident_id TEXT NOT NULL REFERENCES support_incidents (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES support_components (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    PRIMARY KEY (incident_id, component_id)
);

-- Links to tickets, releases and deployments; kind names the other end.
CREATE TABLE support_incident_links (
    incident_id TEXT NOT NULL REFERENCES support_incidents (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, kind, target_id)
);

CREATE INDEX support_incident_links_target ON support_incident_links (kind, target_id);

-- The timeline: every change, note, alert and notification.
CREATE TABLE support_incident_events (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES support_incidents (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT,
    public BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX support_incident_events_incident ON support_incident_events (incident_id, at);

CREATE TABLE support_alerts (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES support_integrations (id) ON DELETE CASCADE,
    incident_id TEXT NOT NULL REFERENCES support_incidents (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    labels TEXT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    resolved_at BIGINT,
    UNIQUE (incident_id, fingerprint)
);

-- Where people want to hear about incidents: kind email | webhook | slack.
CREATE TABLE support_contact_methods (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Per user: notify through a contact method after a delay, for incidents of
-- at least min_severity (sev1 is the most severe).
CREATE TABLE support_notification_rules (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES support_contact_methods (id) ON DELETE CASCADE,
    min_severity TEXT NOT NULL,
    delay_secs BIGINT NOT NULL
);

-- The project's own outgoing hooks: kind webhook | slack.
CREATE TABLE support_hooks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Deliveries, written in the transaction that decides them and sent by a job.
CREATE TABLE support_outbox (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    incident_id TEXT REFERENCES support_incidents (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);

CREATE INDEX support_outbox_due ON support_outbox (state, due_at);
CREATE INDEX support_outbox_incident ON support_outbox (incident_id);

CREATE TABLE support_tickets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    subject TEXT NOT NULL,
    requester TEXT NOT NULL,
    tier TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    assignee_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    incident_id TEXT REFERENCES support_incidents (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    first_response_due BIGINT NOT NULL,
    resolution_due BIGINT NOT NULL,
    first_response_at BIGINT,
    resolved_at BIGINT,
    UNIQUE (project_id, number)
);

CREATE TABLE support_ticket_comments (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    author TEXT NOT NULL,
    public BIGINT NOT NULL,
    body TEXT NOT NULL
);

-- Releases that fixed incidents or tickets, and hotfix requests raised from
-- incidents, for release planning to pick up.
CREATE TABLE support_hotfix_requests (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    incident_id TEXT NOT NULL REFERENCES support_incidents (id) ON DELETE CASCADE,
    requested_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    release_id TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE support_maintenances (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    components TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE support_subscribers (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    components TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, kind, address)
);
