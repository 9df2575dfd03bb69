-- Alert rules on request metrics, and SLOs with burn-rate alerts. Both
-- file alerts into an integration, so incidents open and resolve through
-- the same path as alerts from any monitoring tool.
CREATE TABLE performance_rules (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    metric TEXT NOT NULL,
    comparator TEXT NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    for_secs BIGINT NOT NULL,
    window_secs BIGINT NOT NULL,
    -- Empty for every service or route.
    service TEXT NOT NULL,
    route TEXT NOT NULL,
    severity TEXT NOT NULL,
    integration_id TEXT NOT NULL REFERENCES support_integrations (id) ON DELETE CASCADE,
    -- ok, pending or firing; pending_since when pending.
    state TEXT NOT NULL,
    pending_since BIGINT,
    value DOUBLE PRECISION,
    evaluated_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE performance_slos (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- availability (no 5xx) or latency (faster than latency_ms).
    kind TEXT NOT NULL,
    objective DOUBLE PRECISION NOT NULL,
    latency_ms DOUBLE PRECISION,
    period_days BIGINT NOT NULL,
    service TEXT NOT NULL,
    route TEXT NOT NULL,
    integration_id TEXT NOT NULL REFERENCES support_integrations (id) ON DELETE CASCADE,
    -- ok, ticket or page.
    state TEXT NOT NULL,
    evaluated_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
