-- Deployments: what went live where and when, with the commits each one
-- carried (for lead time and change failure rate).
CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    version TEXT NOT NULL,
    environment TEXT NOT NULL,
    commit_sha TEXT,
    deployed_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX deployments_by_time ON deployments (project_id, deployed_at);

CREATE TABLE deployment_commits (
    deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    message TEXT NOT NULL,
    committed_at BIGINT NOT NULL,
    PRIMARY KEY (deployment_id, sha)
);
