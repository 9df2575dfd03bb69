-- Security: the offline OSV database (instance-wide), findings per project
-- and service with their lifecycle, patch SLAs, and the credential
-- inventory whose expiry and staleness are audited.

CREATE TABLE osv_advisories (
    id TEXT PRIMARY KEY,
    modified TEXT NOT NULL,
    withdrawn BIGINT NOT NULL,
    summary TEXT NOT NULL,
    severity TEXT NOT NULL,
    score DOUBLE PRECISION,
    aliases TEXT NOT NULL,
    record TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);

CREATE TABLE osv_packages (
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    advisory_id TEXT NOT NULL REFERENCES osv_advisories (id) ON DELETE CASCADE,
    PRIMARY KEY (ecosystem, name, advisory_id)
);

CREATE TABLE security_findings (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    service TEXT NOT NULL,
    -- vulnerability, scanner, pentest or credential.
    kind TEXT NOT NULL,
    -- What identifies the finding across scans, such as
    -- `osv:GHSA-…:npm:lodash`.
    finding_key TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    package TEXT,
    version TEXT,
    fixed_version TEXT,
    advisory TEXT,
    aliases TEXT,
    source TEXT NOT NULL,
    location TEXT,
    state TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    fixed_at BIGINT,
    accepted_reason TEXT,
    accepted_until BIGINT,
    accepted_by TEXT,
    item_id TEXT,
    -- When the patch SLA's breach was announced.
    sla_warned_at BIGINT,
    UNIQUE (project_id, number),
    UNIQUE (project_id, service, finding_key)
);
CREATE INDEX security_findings_open ON security_findings (project_id, state);

CREATE TABLE security_slas (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    severity TEXT NOT NULL,
    days BIGINT NOT NULL,
    PRIMARY KEY (project_id, severity)
);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- api_key, oauth_client_secret, signing_key or tls_certificate.
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    system TEXT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    fingerprint TEXT,
    -- The last warning given (30, 14, 7, 1 or 0 days before expiry).
    warned_days BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
