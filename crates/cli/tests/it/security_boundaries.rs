//! Every route, with every kind of credential, against one table.
//!
//! The table below says what each route needs; the test derives the answer
//! each credential must get (401, 403, or "let in", meaning any status but
//! those two and never a 5xx) and checks it route by route. The API rows
//! must match the OpenAPI document exactly and the page rows the UI's
//! router, so a new route cannot be added without deciding who may call it.
//! Requests are sent with empty or dummy inputs: a credential that may call
//! a route gets a 4xx about its input, one that may not gets 401 or 403
//! before its input is read.

use std::collections::BTreeSet;

use reqwest::{Client, Method};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, spawn_app, storage_stories};
use liveops_core::Role;

/// What an API route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    /// Anyone signed in, with any token: who am I, which projects.
    Caller,
    /// A session or an instance token: beyond one project.
    Instance,
    /// An instance administrator's session or admin-scoped instance token.
    InstanceAdmin,
    /// The project's data: read it.
    Read,
    /// The project's data: change it.
    Write,
    /// The project's audit log.
    Audit,
    /// The project's settings.
    Admin,
}
use Api::*;

/// What each operation of the API needs, by method and path.
const API: &[(&str, &str, Api)] = &[
    ("GET", "/api/v1/projects/{project}/analytics/events", Read),
    ("GET", "/api/v1/projects/{project}/analytics/trends", Read),
    ("POST", "/api/v1/projects/{project}/analytics/trends", Read),
    ("GET", "/api/v1/projects/{project}/analytics/web", Read),
    ("GET", "/api/v1/projects/{project}/analytics/revenue", Read),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/revenue/mrr",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/revenue/settings",
        Read,
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/analytics/revenue/settings",
        Admin,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/revenue/rates",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/analytics/revenue/rates",
        Admin,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/analytics/revenue/rates",
        Admin,
    ),
    ("GET", "/api/v1/projects/{project}/analytics/insights", Read),
    (
        "PUT",
        "/api/v1/projects/{project}/analytics/insights/{insight}/goal",
        Write,
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/analytics/insights/{insight}/alert",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/dashboards",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/analytics/dashboards",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/analytics/dashboards/import",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/dashboards/{dashboard}",
        Read,
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/analytics/dashboards/{dashboard}",
        Write,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/analytics/dashboards/{dashboard}",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/dashboards/{dashboard}/export",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/analytics/insights",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/insights/{insight}",
        Read,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/analytics/insights/{insight}",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/analytics/cohorts", Read),
    (
        "POST",
        "/api/v1/projects/{project}/analytics/cohorts",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/cohorts/{cohort}",
        Read,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/analytics/cohorts/{cohort}",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/cohorts/{cohort}/sizes",
        Read,
    ),
    ("GET", "/api/v1/projects/{project}/analytics/active", Read),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/stickiness",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/lifecycle",
        Read,
    ),
    ("POST", "/api/v1/projects/{project}/analytics/funnel", Read),
    (
        "POST",
        "/api/v1/projects/{project}/analytics/retention",
        Read,
    ),
    ("GET", "/api/v1/projects/{project}/analytics/features", Read),
    (
        "POST",
        "/api/v1/projects/{project}/analytics/features",
        Write,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/analytics/features/{name}",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/features/usage",
        Read,
    ),
    ("GET", "/api/v1/projects/{project}/analytics/persons", Read),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/persons/{distinct_id}",
        Read,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/analytics/persons/{distinct_id}",
        Admin,
    ),
    ("GET", "/api/v1/projects/{project}/analytics/settings", Read),
    (
        "PUT",
        "/api/v1/projects/{project}/analytics/settings",
        Admin,
    ),
    ("GET", "/api/v1/projects/{project}/analytics/export", Read),
    (
        "GET",
        "/api/v1/projects/{project}/analytics/key-funnels",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/analytics/key-funnels",
        Write,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/analytics/key-funnels/{name}",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/audit", Audit),
    ("POST", "/api/v1/projects/{project}/feedback", Write),
    ("GET", "/api/v1/projects/{project}/feedback", Read),
    ("GET", "/api/v1/projects/{project}/feedback/{number}", Read),
    (
        "POST",
        "/api/v1/projects/{project}/feedback/{number}/actions",
        Write,
    ),
    ("POST", "/api/v1/projects/{project}/feedback/import", Write),
    (
        "POST",
        "/api/v1/projects/{project}/support/tickets/{number}/feedback",
        Write,
    ),
    ("POST", "/api/v1/projects/{project}/feedback/backlog", Write),
    ("GET", "/api/v1/projects/{project}/feedback/backlog", Read),
    (
        "GET",
        "/api/v1/projects/{project}/feedback/backlog/{number}",
        Read,
    ),
    (
        "PATCH",
        "/api/v1/projects/{project}/feedback/backlog/{number}",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/feedback/backlog/{number}/merge",
        Write,
    ),
    ("POST", "/api/v1/projects/{project}/calendar-feeds", Read),
    ("GET", "/api/v1/projects/{project}/calendar-feeds", Read),
    (
        "DELETE",
        "/api/v1/projects/{project}/calendar-feeds/{id}",
        Read,
    ),
    ("GET", "/api/v1/projects/{project}/improvement/dora", Read),
    (
        "GET",
        "/api/v1/projects/{project}/improvement/dora/trends",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/improvement/dora/suggestions",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/improvement/reports/weekly",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/improvement/reports/weekly",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/improvement/reports",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/improvement/reports/recipients",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/improvement/reports/recipients",
        Write,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/improvement/reports/recipients",
        Write,
    ),
    ("GET", "/api/v1/me", Caller),
    ("GET", "/api/v1/projects/{project}/performance/routes", Read),
    ("GET", "/api/v1/projects/{project}/performance/series", Read),
    (
        "GET",
        "/api/v1/projects/{project}/performance/queries",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/performance/findings",
        Read,
    ),
    (
        "PATCH",
        "/api/v1/projects/{project}/performance/findings/{id}",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/performance/traces/{trace}",
        Read,
    ),
    ("GET", "/api/v1/projects/{project}/performance/report", Read),
    ("GET", "/api/v1/projects/{project}/performance/rules", Read),
    (
        "POST",
        "/api/v1/projects/{project}/performance/rules",
        Write,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/performance/rules/{id}",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/performance/slos", Read),
    ("POST", "/api/v1/projects/{project}/performance/slos", Write),
    (
        "DELETE",
        "/api/v1/projects/{project}/performance/slos/{id}",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/performance/metrics",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/performance/metrics/series",
        Read,
    ),
    ("GET", "/api/v1/projects", Caller),
    ("POST", "/api/v1/projects", InstanceAdmin),
    ("GET", "/api/v1/projects/{project}", Read),
    ("POST", "/api/v1/projects/{project}/ingest-key", Admin),
    ("GET", "/api/v1/projects/{project}/keys", Admin),
    ("POST", "/api/v1/projects/{project}/keys/{purpose}", Admin),
    ("PUT", "/api/v1/projects/{project}/keys/mail/signing", Admin),
    (
        "PUT",
        "/api/v1/projects/{project}/keys/slack/signing",
        Admin,
    ),
    ("GET", "/api/v1/projects/{project}/overview", Read),
    ("GET", "/api/v1/projects/{project}/configuration", Admin),
    ("POST", "/api/v1/projects/{project}/configuration", Admin),
    (
        "PUT",
        "/api/v1/projects/{project}/configuration/{kind}/{name}",
        Admin,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/configuration/{kind}/{name}",
        Admin,
    ),
    ("GET", "/api/v1/projects/{project}/releases/webhooks", Read),
    (
        "PUT",
        "/api/v1/projects/{project}/releases/webhooks/{provider}",
        Admin,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/releases/webhooks/{provider}",
        Admin,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/releases/pull-requests",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/improvement/dora/lead-time",
        Read,
    ),
    ("PUT", "/api/v1/projects/{project}/public-pages", Admin),
    ("GET", "/api/v1/projects/{project}/members", Read),
    ("PUT", "/api/v1/projects/{project}/members/{email}", Admin),
    (
        "DELETE",
        "/api/v1/projects/{project}/members/{email}",
        Admin,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/releases/deployments",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/releases/deployments",
        Read,
    ),
    ("POST", "/api/v1/projects/{project}/releases/trains", Write),
    ("GET", "/api/v1/projects/{project}/releases/trains", Read),
    (
        "GET",
        "/api/v1/projects/{project}/releases/trains/{train}/calendar.ics",
        Read,
    ),
    ("POST", "/api/v1/projects/{project}/releases", Write),
    ("GET", "/api/v1/projects/{project}/releases", Read),
    ("GET", "/api/v1/projects/{project}/releases/{version}", Read),
    (
        "POST",
        "/api/v1/projects/{project}/releases/{version}/items",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/releases/{version}/state",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/releases/hotfixes",
        Write,
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/releases/{version}/openapi",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/releases/{version}/notes",
        Read,
    ),
    ("POST", "/api/v1/projects/{project}/docs/adrs", Write),
    ("GET", "/api/v1/projects/{project}/docs/adrs", Read),
    (
        "GET",
        "/api/v1/projects/{project}/reviews/postmortems",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/incidents/{number}/postmortem",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/postmortem",
        Write,
    ),
    (
        "PATCH",
        "/api/v1/projects/{project}/support/incidents/{number}/postmortem",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/postmortem/refresh",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/postmortem/state",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/postmortem/sign-off",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/postmortem/timeline",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/postmortem/actions",
        Write,
    ),
    ("POST", "/api/v1/projects/{project}/reviews", Write),
    ("GET", "/api/v1/projects/{project}/reviews", Read),
    ("GET", "/api/v1/projects/{project}/reviews/{number}", Read),
    (
        "PATCH",
        "/api/v1/projects/{project}/reviews/{number}",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/reviews/{number}/findings",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/scaling/capacity", Read),
    (
        "GET",
        "/api/v1/projects/{project}/scaling/capacity/{service}",
        Read,
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/scaling/capacity/{service}/{metric}",
        Write,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/scaling/capacity/{service}/{metric}",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/scaling/retention", Read),
    (
        "PUT",
        "/api/v1/projects/{project}/scaling/retention/{kind}",
        Admin,
    ),
    ("POST", "/api/v1/projects/{project}/security/scans", Write),
    ("GET", "/api/v1/projects/{project}/security/findings", Read),
    (
        "POST",
        "/api/v1/projects/{project}/security/findings/{number}/actions",
        Write,
    ),
    ("POST", "/api/v1/projects/{project}/security/sarif", Write),
    ("POST", "/api/v1/projects/{project}/security/pentest", Write),
    ("GET", "/api/v1/projects/{project}/security/slas", Read),
    ("PUT", "/api/v1/projects/{project}/security/slas", Admin),
    (
        "GET",
        "/api/v1/projects/{project}/security/credentials",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/security/credentials",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/security/certificates",
        Write,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/security/credentials/{name}",
        Write,
    ),
    ("GET", "/api/v1/security/osv", Instance),
    ("GET", "/api/v1/projects/{project}/support/components", Read),
    (
        "POST",
        "/api/v1/projects/{project}/support/components",
        Admin,
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/support/components/{component}/status",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/support/schedules", Read),
    (
        "POST",
        "/api/v1/projects/{project}/support/schedules",
        Admin,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/schedules/{schedule}",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/schedules/{schedule}/overrides",
        Write,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/support/schedules/{schedule}/overrides/{id}",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/support/oncall", Read),
    ("GET", "/api/v1/projects/{project}/scaling/tiers", Read),
    (
        "PUT",
        "/api/v1/projects/{project}/scaling/tiers/{tier}",
        Admin,
    ),
    ("GET", "/api/v1/projects/{project}/support/policies", Read),
    ("POST", "/api/v1/projects/{project}/support/policies", Admin),
    (
        "GET",
        "/api/v1/projects/{project}/support/integrations",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/integrations",
        Admin,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/integrations/{integration}/address",
        Admin,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/integrations/{integration}/address",
        Admin,
    ),
    ("GET", "/api/v1/projects/{project}/support/errors/dsn", Read),
    (
        "POST",
        "/api/v1/projects/{project}/support/errors/dsn",
        Admin,
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/support/errors/alerts",
        Admin,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/errors/issues",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/errors/grouping-rules",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/errors/grouping-rules",
        Admin,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/support/errors/grouping-rules/{id}",
        Admin,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/errors/issues/{number}",
        Read,
    ),
    (
        "PATCH",
        "/api/v1/projects/{project}/support/errors/issues/{number}",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/errors/issues/{number}/events/{event}",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/errors/issues/{number}/merge",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/errors/issues/{number}/links",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/errors/issues/{number}/backlog",
        Write,
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/support/errors/releases/{release}/files",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/errors/releases/{release}/files",
        Read,
    ),
    (
        "DELETE",
        "/api/v1/projects/{project}/support/errors/releases/{release}/files",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/errors/issues/{number}/unmerge",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/hooks", Admin),
    ("POST", "/api/v1/projects/{project}/hooks", Admin),
    ("GET", "/api/v1/me/notification-rules", Instance),
    ("POST", "/api/v1/me/notification-rules", Instance),
    ("DELETE", "/api/v1/me/notification-rules/{id}", Instance),
    ("GET", "/api/v1/projects/{project}/support/incidents", Read),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/incidents/{number}",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/acknowledge",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/resolve",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/escalate",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/updates",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/links",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/incidents/{number}/hotfix",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/support/tickets", Read),
    ("POST", "/api/v1/projects/{project}/support/tickets", Write),
    (
        "GET",
        "/api/v1/projects/{project}/support/tickets/{number}",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/tickets/{number}/actions",
        Write,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/releases/{release}/fixes",
        Read,
    ),
    ("GET", "/api/v1/projects/{project}/support/stats", Read),
    (
        "GET",
        "/api/v1/projects/{project}/support/schedules/{schedule}/calendar.ics",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/oncall/calendar.ics",
        Read,
    ),
    (
        "GET",
        "/api/v1/projects/{project}/support/maintenances",
        Read,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/maintenances/{id}/status",
        Write,
    ),
    (
        "POST",
        "/api/v1/projects/{project}/support/maintenances",
        Write,
    ),
    ("GET", "/api/v1/projects/{project}/tokens", Read),
    ("POST", "/api/v1/projects/{project}/tokens", Read),
    ("GET", "/api/v1/tokens", Instance),
    ("POST", "/api/v1/tokens", Instance),
    ("DELETE", "/api/v1/tokens/{id}", Instance),
    ("DELETE", "/api/v1/projects/{project}/tokens/{id}", Read),
    ("GET", "/api/v1/users", InstanceAdmin),
    ("POST", "/api/v1/users", InstanceAdmin),
];

/// What a page route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    /// Anyone, signed in or not.
    Open,
    /// A signed-in session; without one, a redirect to the sign-in page.
    Session,
    /// A signed-in session and the form's CSRF token.
    Form,
}

/// Every page route (the UI router), with what it needs.
const PAGES: &[(&str, &str, Page)] = &[
    ("GET", "/", Page::Session),
    ("GET", "/login", Page::Open),
    ("POST", "/login", Page::Open),
    ("POST", "/logout", Page::Form),
    ("GET", "/assets/app.css", Page::Open),
    ("GET", "/p/{project}", Page::Session),
    ("GET", "/p/{project}/settings", Page::Session),
    ("POST", "/p/{project}/settings/tokens", Page::Form),
    (
        "POST",
        "/p/{project}/settings/tokens/{id}/revoke",
        Page::Form,
    ),
    ("POST", "/p/{project}/settings/keys/{purpose}", Page::Form),
    ("POST", "/p/{project}/settings/public-pages", Page::Form),
    ("GET", "/p/{project}/settings/connections", Page::Session),
    ("GET", "/p/{project}/settings/configure", Page::Session),
    ("GET", "/p/{project}/settings/configure.yaml", Page::Session),
    (
        "GET",
        "/p/{project}/settings/configure/{kind}",
        Page::Session,
    ),
    ("POST", "/p/{project}/settings/configure/{kind}", Page::Form),
    (
        "POST",
        "/p/{project}/settings/configure/{kind}/delete",
        Page::Form,
    ),
    ("POST", "/p/{project}/settings/configure/file", Page::Form),
    (
        "POST",
        "/p/{project}/settings/configure/{kind}/address",
        Page::Form,
    ),
    (
        "POST",
        "/p/{project}/settings/configure/{kind}/overrides",
        Page::Form,
    ),
    (
        "POST",
        "/p/{project}/settings/configure/{kind}/overrides/delete",
        Page::Form,
    ),
    ("POST", "/p/{project}/settings/members", Page::Form),
    ("GET", "/me/notifications", Page::Session),
    ("POST", "/me/notifications", Page::Form),
    ("POST", "/me/notifications/{id}/delete", Page::Form),
    ("POST", "/projects", Page::Form),
    (
        "POST",
        "/p/{project}/settings/connections/slack",
        Page::Form,
    ),
    (
        "POST",
        "/p/{project}/settings/connections/{provider}",
        Page::Form,
    ),
    ("GET", "/p/{project}/start", Page::Session),
    ("POST", "/p/{project}/start/key", Page::Form),
    ("POST", "/p/{project}/settings/retention/{kind}", Page::Form),
    ("GET", "/p/{project}/support", Page::Session),
    ("POST", "/p/{project}/support/incidents", Page::Form),
    (
        "GET",
        "/p/{project}/support/incidents/{number}",
        Page::Session,
    ),
    (
        "POST",
        "/p/{project}/support/incidents/{number}/{action}",
        Page::Form,
    ),
    ("GET", "/p/{project}/support/errors", Page::Session),
    ("POST", "/p/{project}/support/errors/settings", Page::Form),
    ("GET", "/p/{project}/support/errors/{number}", Page::Session),
    (
        "POST",
        "/p/{project}/support/errors/{number}/{action}",
        Page::Form,
    ),
    ("GET", "/p/{project}/support/tickets", Page::Session),
    ("POST", "/p/{project}/support/tickets", Page::Form),
    (
        "GET",
        "/p/{project}/support/tickets/{number}",
        Page::Session,
    ),
    (
        "POST",
        "/p/{project}/support/tickets/{number}/{action}",
        Page::Form,
    ),
    ("POST", "/p/{project}/support/maintenances", Page::Form),
    (
        "POST",
        "/p/{project}/support/maintenances/{id}/{stage}",
        Page::Form,
    ),
    ("GET", "/p/{project}/analytics", Page::Session),
    ("GET", "/p/{project}/analytics/web", Page::Session),
    ("GET", "/p/{project}/analytics/revenue", Page::Session),
    ("GET", "/p/{project}/analytics/insights", Page::Session),
    (
        "POST",
        "/p/{project}/analytics/insights/{insight}/goal",
        Page::Form,
    ),
    (
        "POST",
        "/p/{project}/analytics/insights/{insight}/alert",
        Page::Form,
    ),
    ("GET", "/p/{project}/analytics/dashboards", Page::Session),
    ("POST", "/p/{project}/analytics/dashboards", Page::Form),
    (
        "POST",
        "/p/{project}/analytics/dashboards/import",
        Page::Form,
    ),
    (
        "GET",
        "/p/{project}/analytics/dashboards/{dashboard}",
        Page::Session,
    ),
    (
        "POST",
        "/p/{project}/analytics/dashboards/{dashboard}/frame",
        Page::Form,
    ),
    (
        "GET",
        "/p/{project}/analytics/dashboards/{dashboard}/export",
        Page::Session,
    ),
    (
        "POST",
        "/p/{project}/analytics/dashboards/{dashboard}/delete",
        Page::Form,
    ),
    ("POST", "/p/{project}/analytics/insights", Page::Form),
    (
        "GET",
        "/p/{project}/analytics/insights/{insight}",
        Page::Session,
    ),
    (
        "POST",
        "/p/{project}/analytics/insights/{insight}/delete",
        Page::Form,
    ),
    ("GET", "/p/{project}/analytics/cohorts", Page::Session),
    ("POST", "/p/{project}/analytics/cohorts", Page::Form),
    (
        "GET",
        "/p/{project}/analytics/cohorts/{cohort}",
        Page::Session,
    ),
    (
        "POST",
        "/p/{project}/analytics/cohorts/{cohort}/delete",
        Page::Form,
    ),
    (
        "POST",
        "/p/{project}/analytics/revenue/settings",
        Page::Form,
    ),
    ("POST", "/p/{project}/analytics/revenue/rates", Page::Form),
    ("POST", "/p/{project}/analytics/features", Page::Form),
    ("GET", "/p/{project}/analytics/persons", Page::Session),
    (
        "GET",
        "/p/{project}/analytics/persons/{distinct_id}",
        Page::Session,
    ),
    (
        "POST",
        "/p/{project}/analytics/persons/{distinct_id}/delete",
        Page::Form,
    ),
    ("GET", "/p/{project}/performance", Page::Session),
    (
        "GET",
        "/p/{project}/performance/traces/{trace}",
        Page::Session,
    ),
    ("POST", "/p/{project}/performance/findings/{id}", Page::Form),
    ("GET", "/p/{project}/feedback", Page::Session),
    ("POST", "/p/{project}/feedback", Page::Form),
    ("POST", "/p/{project}/feedback/backlog", Page::Form),
    (
        "GET",
        "/p/{project}/feedback/backlog/{number}",
        Page::Session,
    ),
    ("POST", "/p/{project}/feedback/backlog/{number}", Page::Form),
    (
        "POST",
        "/p/{project}/feedback/backlog/{number}/merge",
        Page::Form,
    ),
    ("GET", "/p/{project}/feedback/{number}", Page::Session),
    ("POST", "/p/{project}/feedback/{number}/action", Page::Form),
    ("GET", "/p/{project}/releases", Page::Session),
    ("POST", "/p/{project}/releases", Page::Form),
    ("POST", "/p/{project}/releases/trains", Page::Form),
    ("GET", "/p/{project}/releases/{version}", Page::Session),
    ("POST", "/p/{project}/releases/{version}/state", Page::Form),
    ("GET", "/p/{project}/docs", Page::Session),
    ("GET", "/p/{project}/security", Page::Session),
    (
        "POST",
        "/p/{project}/security/findings/{number}",
        Page::Form,
    ),
    ("POST", "/p/{project}/security/credentials", Page::Form),
    ("GET", "/p/{project}/improvement", Page::Session),
    ("GET", "/p/{project}/scaling", Page::Session),
    ("GET", "/p/{project}/reviews", Page::Session),
    ("POST", "/p/{project}/reviews", Page::Form),
    (
        "GET",
        "/p/{project}/reviews/postmortems/{number}",
        Page::Session,
    ),
    (
        "POST",
        "/p/{project}/reviews/postmortems/{number}/{action}",
        Page::Form,
    ),
    ("GET", "/p/{project}/reviews/{number}", Page::Session),
    ("POST", "/p/{project}/reviews/{number}/{action}", Page::Form),
    ("GET", "/p/{project}/{area}", Page::Session),
];

/// What an unauthenticated-by-login route takes instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// Open to everyone (health, the public pages when turned on).
    Open,
    /// The public browser key (analytics, feedback).
    Browser,
    /// The server key (OTLP).
    Server,
    /// The inbound mail secret.
    Mail,
    /// An alert integration's secret.
    Integration,
    /// A project's DSN public key (the Sentry intake).
    Dsn,
    /// Found nowhere (public pages that are off, unknown feeds): 404 for all.
    Missing,
    /// A signature over the body with a secret the sender shares (Git
    /// hosts, CI, Slack): no login credential opens it.
    Signed,
}

/// How a route takes its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Bearer,
    /// Segment: basic auth's user name.
    Basic,
    /// The feedback form: an `x-liveops-key` header (or a form field).
    Header,
}

/// Every route outside the API and the pages.
const OTHERS: &[(&str, &str, Key)] = &[
    ("GET", "/healthz", Key::Open),
    ("GET", "/readyz", Key::Open),
    // Open here: the test server listens on loopback and has no metrics_token.
    ("GET", "/metrics", Key::Open),
    ("GET", "/api/v1/openapi.json", Key::Open),
    ("GET", "/status/shop", Key::Missing),
    ("GET", "/status/shop.json", Key::Missing),
    ("POST", "/status/shop/subscribe", Key::Missing),
    ("GET", "/feeds/lo_feed_unknown.ics", Key::Missing),
    ("GET", "/changelog/shop", Key::Missing),
    ("GET", "/changelog/shop/feed.atom", Key::Missing),
    ("GET", "/feedback/widget.js", Key::Open),
    ("GET", "/feedback/shop/form", Key::Open),
    ("POST", "/feedback/shop", Key::Browser),
    ("POST", "/batch/", Key::Browser),
    ("POST", "/e/", Key::Browser),
    ("POST", "/i/v0/e/", Key::Browser),
    ("POST", "/capture/", Key::Browser),
    ("POST", "/track/", Key::Browser),
    ("POST", "/engage/", Key::Browser),
    ("POST", "/v1/track", Key::Browser),
    ("POST", "/v1/batch", Key::Browser),
    ("POST", "/v1/traces", Key::Server),
    ("POST", "/v1/metrics", Key::Server),
    ("POST", "/api/1/envelope/", Key::Dsn),
    ("POST", "/api/1/store/", Key::Dsn),
    ("POST", "/ingest/email", Key::Mail),
    ("POST", "/ingest/alerts", Key::Integration),
    ("POST", "/ingest/github/shop", Key::Signed),
    ("POST", "/ingest/gitlab/shop", Key::Signed),
    ("POST", "/ingest/deployments/shop", Key::Signed),
    ("POST", "/ingest/slack/shop", Key::Signed),
];

fn via(path: &str) -> Via {
    if path.starts_with("/v1/track") || path.starts_with("/v1/batch") {
        Via::Basic
    } else if path.starts_with("/feedback/") {
        Via::Header
    } else {
        Via::Bearer
    }
}

/// The ways a request may prove who sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    None,
    /// The public browser key, sent as a bearer token.
    IngestKey,
    /// A viewer's token, bound to the project, read scope.
    Viewer,
    /// A browser session that sends no CSRF token.
    SessionNoCsrf,
    /// An instance administrator's token bound to the project, all scopes:
    /// the token that once created an instance admin.
    ProjectAdmin,
    /// An instance administrator's instance token, all scopes.
    Instance,
}

const CREDS: [Cred; 6] = [
    Cred::None,
    Cred::IngestKey,
    Cred::Viewer,
    Cred::SessionNoCsrf,
    Cred::ProjectAdmin,
    Cred::Instance,
];

/// What a credential must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Status(u16),
    /// Anything but 401 and 403, and never a 5xx.
    LetIn,
}

fn api_want(rule: Api, cred: Cred, method: &str) -> Want {
    let safe = method == "GET";
    match cred {
        Cred::None | Cred::IngestKey => Want::Status(401),
        Cred::SessionNoCsrf if !safe => Want::Status(403),
        Cred::SessionNoCsrf | Cred::Instance => Want::LetIn,
        Cred::ProjectAdmin => match rule {
            Instance | InstanceAdmin => Want::Status(403),
            _ => Want::LetIn,
        },
        Cred::Viewer => match rule {
            Caller | Read => Want::LetIn,
            _ => Want::Status(403),
        },
    }
}

fn page_want(rule: Page, cred: Cred) -> Want {
    match (rule, cred) {
        (Page::Open, _) => Want::LetIn,
        // Pages know sessions only: a token is as good as nothing.
        (_, Cred::None | Cred::IngestKey | Cred::Viewer | Cred::ProjectAdmin | Cred::Instance) => {
            Want::Status(303)
        }
        (Page::Session, Cred::SessionNoCsrf) => Want::LetIn,
        (Page::Form, Cred::SessionNoCsrf) => Want::Status(403),
    }
}

/// The concrete path for a template: the project `shop`, and values that
/// name nothing, so that let-in requests change nothing that matters.
fn concrete(template: &str) -> String {
    template
        .replace("{project}", "shop")
        .replace("{email}", "nobody@example.com")
        .replace("{purpose}", "mail")
        .replace("{area}", "support")
        .replace("{action}", "acknowledge")
        .replace("{stage}", "start")
        .replace("{distinct_id}", "nobody")
        .replace("{trace}", "00000000000000000000000000000000")
        .replace("{version}", "9.9.9")
        .replace("{release}", "9.9.9")
        .replace("{id}", "00000000000000000000000000000000")
        .replace("{number}", "999")
        .replace("{event}", "00000000000000000000000000000000")
        .replace("{schedule}", "nope")
        .replace("{train}", "nope")
        .replace("{service}", "nope")
        .replace("{metric}", "nope")
        .replace("{name}", "nope")
        .replace("{kind}", "nope")
        .replace("{key}", "nope")
        .replace("{provider}", "nope")
}

struct Creds {
    ingest_key: String,
    server_key: String,
    mail_secret: String,
    viewer: String,
    project_admin: String,
    instance: String,
    /// Signed in, cookies kept.
    session: Client,
    plain: Client,
}

async fn setup(app: &TestApp) -> Creds {
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let viewer = app
        .user("viewer@example.com", "correct horse battery", false)
        .await;
    let (shop, ingest_key) = app.project("Shop", &root).await;
    app.member(&shop, &viewer, Role::Viewer).await;
    let session = crate::ui::browser();
    crate::ui::sign_in(
        &session,
        &app.base,
        "root@example.com",
        "correct horse battery",
    )
    .await;
    Creds {
        ingest_key,
        server_key: app.key(&shop, "server").await,
        mail_secret: app.key(&shop, "mail").await,
        viewer: app.token(&viewer, &shop, "read").await,
        project_admin: app.token(&root, &shop, "read,write,admin").await,
        instance: app.instance_token(&root, "read,write,admin").await,
        session,
        plain: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    }
}

async fn send(app: &TestApp, c: &Creds, cred: Cred, method: &str, path: &str, json: bool) -> u16 {
    let method: Method = method.parse().expect("method");
    let client = if cred == Cred::SessionNoCsrf {
        &c.session
    } else {
        &c.plain
    };
    let mut req = client.request(method.clone(), app.url(path));
    req = match cred {
        Cred::IngestKey => req.bearer_auth(&c.ingest_key),
        Cred::Viewer => req.bearer_auth(&c.viewer),
        Cred::ProjectAdmin => req.bearer_auth(&c.project_admin),
        Cred::Instance => req.bearer_auth(&c.instance),
        Cred::None | Cred::SessionNoCsrf => req,
    };
    if method != Method::GET {
        req = if json {
            req.header("content-type", "application/json").body("{}")
        } else {
            req.header("content-type", "application/x-www-form-urlencoded")
                .body("_csrf=forged")
        };
    }
    req.send().await.expect("request").status().as_u16()
}

fn check(failures: &mut Vec<String>, what: &str, cred: Cred, want: Want, got: u16) {
    let ok = match want {
        Want::Status(s) => got == s,
        Want::LetIn => got != 401 && got != 403 && got < 500,
    };
    if !ok || got >= 500 {
        failures.push(format!("{what} with {cred:?}: wanted {want:?}, got {got}"));
    }
}

/// The operations the OpenAPI document lists, as (METHOD, path).
async fn documented(app: &TestApp, c: &Creds) -> BTreeSet<(String, String)> {
    let doc: Value = c
        .plain
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The page routes the UI router declares, read from its source.
fn page_routes() -> BTreeSet<(String, String)> {
    let src = include_str!("../../../server/src/ui/mod.rs");
    let start = src.find("fn routes()").expect("ui routes");
    let body = &src[start..];
    let body = &body[..body.find("\n}\n").expect("end of routes")];
    let mut out = BTreeSet::new();
    let mut rest = body;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + 7..];
        let path = rest.split('"').nth(1).expect("path").to_owned();
        let end = rest.find(".route(").unwrap_or(rest.len());
        let handlers = &rest[..end];
        if handlers.contains("get(") {
            out.insert(("GET".to_owned(), path.clone()));
        }
        if handlers.contains("post(") {
            out.insert(("POST".to_owned(), path));
        }
    }
    out
}

async fn every_route_answers_every_credential_as_the_table_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = setup(&app).await;

    // The tables cover exactly what the server serves.
    let table: BTreeSet<(String, String)> = API
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let doc = documented(&app, &c).await;
    assert_eq!(
        doc.difference(&table).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "API routes missing from the table"
    );
    assert_eq!(
        table.difference(&doc).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "table rows the API does not serve"
    );
    let pages: BTreeSet<(String, String)> = PAGES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        page_routes(),
        pages,
        "the page table and the UI router differ"
    );

    let mut failures = Vec::new();
    // First, while the keys are the ones made above (the admin rows below
    // replace some): each purpose's key opens its own door and no other.
    let keyed: [(&str, &String); 3] = [
        ("browser", &c.ingest_key),
        ("server", &c.server_key),
        ("mail", &c.mail_secret),
    ];
    for (method, path, door) in OTHERS {
        let door = match door {
            Key::Browser => "browser",
            Key::Server => "server",
            Key::Mail => "mail",
            _ => continue,
        };
        for (purpose, key) in keyed {
            let req = c
                .plain
                .request(method.parse().expect("method"), app.url(path))
                .header("content-type", "application/json")
                .body("{}");
            let req = match via(path) {
                Via::Bearer => req.bearer_auth(key),
                Via::Basic => req.basic_auth(key, Some("")),
                Via::Header => req.header("x-liveops-key", key.as_str()),
            };
            let got = req.send().await.expect("request").status().as_u16();
            let want = if purpose == door {
                Want::LetIn
            } else {
                Want::Status(401)
            };
            check(
                &mut failures,
                &format!("{method} {path} with the {purpose} key"),
                Cred::None,
                want,
                got,
            );
        }
    }
    for cred in CREDS {
        for (method, template, rule) in API {
            let got = send(&app, &c, cred, method, &concrete(template), true).await;
            check(
                &mut failures,
                &format!("{method} {template}"),
                cred,
                api_want(*rule, cred, method),
                got,
            );
        }
        for (method, template, rule) in PAGES {
            // Signing out would end the session the other rows use.
            if *template == "/logout" && cred == Cred::SessionNoCsrf {
                continue;
            }
            let got = send(&app, &c, cred, method, &concrete(template), false).await;
            check(
                &mut failures,
                &format!("{method} {template}"),
                cred,
                page_want(*rule, cred),
                got,
            );
        }
        for (method, path, key) in OTHERS {
            let got = send(&app, &c, cred, method, path, true).await;
            let want = match (key, cred) {
                (Key::Open, _) => Want::LetIn,
                (Key::Missing, _) => Want::Status(404),
                // The ingest key as a bearer token, where that is how it goes.
                (Key::Browser, Cred::IngestKey) if via(path) == Via::Bearer => Want::LetIn,
                // API tokens and sessions are not ingest credentials.
                _ => Want::Status(401),
            };
            check(&mut failures, &format!("{method} {path}"), cred, want, got);
        }
    }

    assert!(
        failures.is_empty(),
        "{} answers differ from the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

storage_stories!(every_route_answers_every_credential_as_the_table_says);
