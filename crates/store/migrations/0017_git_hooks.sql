-- What Git hosts and CI report through their webhooks: the secret each
-- sender signs with (sealed, since checking an HMAC needs the secret
-- itself), the deliveries already taken (hosts retry), the commits pushed,
-- and pull (merge) requests from opened to merged to deployed.
CREATE TABLE git_hook_secrets (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, provider)
);

CREATE TABLE git_deliveries (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    delivery TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, provider, delivery)
);

CREATE TABLE git_commits (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    repository TEXT NOT NULL,
    branch TEXT NOT NULL,
    sha TEXT NOT NULL,
    message TEXT NOT NULL,
    author TEXT NOT NULL,
    committed_at BIGINT NOT NULL,
    pushed_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, repository, branch, sha)
);
CREATE INDEX git_commits_by_sha ON git_commits (project_id, repository, sha);

CREATE TABLE pull_requests (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    repository TEXT NOT NULL,
    number BIGINT NOT NULL,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    source_branch TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    head_sha TEXT,
    merge_sha TEXT,
    state TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    merged_at BIGINT,
    closed_at BIGINT,
    deployed_at BIGINT,
    deployment_id TEXT REFERENCES deployments (id) ON DELETE SET NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, repository, number)
);
CREATE INDEX pull_requests_by_deployment ON pull_requests (project_id, deployed_at);
