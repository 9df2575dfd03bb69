-- Several liveops nodes share one state database. Each background job runs
-- on the node holding its lease; the holder renews it every round, and when
-- it stops (or dies) another node takes the job over once the lease expires.
CREATE TABLE job_leases (
    job TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Facts about the instance that every node must agree on. `sealing_key`
-- holds a fixed text sealed under the instance key: a node whose key seals
-- it differently would fail to open every sealed value, so it refuses to
-- start instead.
CREATE TABLE instance_facts (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
