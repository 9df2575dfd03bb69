-- Revenue: each project's base currency and the property its amounts are
-- read from (no row: EUR and PostHog's `$revenue`), and the dated rates
-- that convert other currencies into the base. One unit of `currency` is
-- worth `rate` of the base from `day` (days since 1970-01-01, UTC) on.
CREATE TABLE revenue_settings (
    project_id TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    base_currency TEXT NOT NULL,
    revenue_property TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE currency_rates (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    day BIGINT NOT NULL,
    rate DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (project_id, currency, day)
);
