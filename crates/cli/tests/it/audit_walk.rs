//! Every change through the API leaves exactly one audit entry, and every
//! refused one leaves none. The walk below calls each mutating operation
//! of the OpenAPI document once so that it succeeds (building what the
//! next ones need), counting the audit log around it, then once more so
//! that it fails; the covered operations must be exactly the document's.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_with, storage_stories};

/// POSTs that only read: a query with a body. They must leave nothing.
const READS: &[(&str, &str)] = &[
    ("POST", "/api/v1/projects/{project}/analytics/funnel"),
    ("POST", "/api/v1/projects/{project}/analytics/trends"),
    ("POST", "/api/v1/projects/{project}/analytics/retention"),
];

/// What a call sends.
enum Body {
    None,
    Json(Value),
    Raw(&'static str, String),
}

struct Walk<'a> {
    app: &'a TestApp,
    token: String,
    /// Values the path templates take, by parameter name.
    vars: BTreeMap<&'static str, String>,
    covered: BTreeSet<(String, String)>,
    failures: Vec<String>,
}

impl Walk<'_> {
    async fn audit_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM audit_log")
            .fetch_one(self.app.state.db.pool())
            .await
            .expect("count audit rows")
    }

    fn path(&self, template: &str) -> String {
        let mut p = template.to_owned();
        for (k, v) in &self.vars {
            p = p.replace(&format!("{{{k}}}"), v);
        }
        p
    }

    async fn send(&self, method: &str, path: &str, body: &Body) -> (u16, Value) {
        let method: Method = method.parse().expect("method");
        let mut req = self
            .app
            .http
            .request(method, self.app.url(path))
            .bearer_auth(&self.token);
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(v),
            Body::Raw(ct, text) => req.header("content-type", *ct).body(text.clone()),
        };
        crate::helpers::status_json(req.send().await.expect("request")).await
    }

    /// Calls an operation that must succeed and leave one audit entry.
    async fn change(&mut self, method: &str, template: &str, body: Body) -> Value {
        // A query string is not part of the operation's template.
        let operation = template.split('?').next().unwrap_or(template);
        self.covered
            .insert((method.to_owned(), operation.to_owned()));
        let before = self.audit_rows().await;
        let path = self.path(template);
        let (status, v) = self.send(method, &path, &body).await;
        let after = self.audit_rows().await;
        if !(200..300).contains(&status) {
            self.failures.push(format!(
                "{method} {path}: wanted success, got {status}: {v}"
            ));
        } else if after - before != 1 {
            self.failures.push(format!(
                "{method} {template}: {} audit entries, wanted 1",
                after - before
            ));
        }
        v
    }

    /// Calls an operation so that it fails; it must leave nothing.
    async fn refused(&mut self, method: &str, path: &str, body: Body) {
        let before = self.audit_rows().await;
        let (status, v) = self.send(method, path, &body).await;
        let after = self.audit_rows().await;
        if !(400..500).contains(&status) {
            self.failures.push(format!(
                "{method} {path}: wanted a refusal, got {status}: {v}"
            ));
        }
        if after != before {
            self.failures.push(format!(
                "{method} {path}: refused, yet {} audit entries",
                after - before
            ));
        }
    }
}

/// The mutating operations of the OpenAPI document, as (METHOD, template).
async fn mutating(app: &TestApp) -> BTreeSet<(String, String)> {
    let doc: Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in ["post", "put", "patch", "delete"] {
            if item.get(m).is_some() && !READS.contains(&(&m.to_uppercase()[..], &path[..])) {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn pem_certificate() -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["api.shop.example".to_owned()]).expect("params");
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    params.self_signed(&key).expect("certificate").pem()
}

async fn every_change_leaves_one_audit_entry(backend: Backend) {
    // The jobs run once at start and not again during the walk: a job
    // that drafted the postmortem first would make the walk's own draft a
    // conflict.
    let app = spawn_app_with(backend, |c| c.job_tick_ms = 3_600_000).await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let ann = app
        .user("ann@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    app.member(&shop, &ann, liveops_core::Role::Responder).await;
    let token = app.instance_token(&root, "read,write,admin").await;
    let mut w = Walk {
        app: &app,
        token,
        vars: BTreeMap::from([("project", "shop".to_owned())]),
        covered: BTreeSet::new(),
        failures: Vec::new(),
    };
    let p = "/api/v1/projects/{project}";
    let at = |s: &str| format!("{p}{s}");

    // Access: users, projects, keys, pages, members, tokens.
    w.change(
        "POST",
        "/api/v1/users",
        Body::Json(json!({"email": "bob@example.com"})),
    )
    .await;
    w.change(
        "POST",
        "/api/v1/projects",
        Body::Json(json!({"name": "Blog"})),
    )
    .await;
    w.change("POST", &at("/ingest-key"), Body::None).await;
    w.vars.insert("purpose", "server".into());
    w.change("POST", &at("/keys/{purpose}"), Body::None).await;
    w.change(
        "PUT",
        &at("/keys/mail/signing"),
        Body::Json(json!({"mailgun_signing_key": "key-mailgun-signing-0001"})),
    )
    .await;
    w.change(
        "PUT",
        &at("/keys/slack/signing"),
        Body::Json(json!({"signing_secret": "8f742231b10e8888abcd99yyyzzz85a5"})),
    )
    .await;
    w.change(
        "POST",
        &at("/configuration"),
        Body::Json(json!({"components": [{"name": "Search"}]})),
    )
    .await;
    w.vars.insert("kind", "components".into());
    w.vars.insert("name", "Search".into());
    w.change(
        "PUT",
        &at("/configuration/{kind}/{name}"),
        Body::Json(json!({"name": "Search", "description": "Finding things"})),
    )
    .await;
    w.change("DELETE", &at("/configuration/{kind}/{name}"), Body::None)
        .await;
    w.vars.insert("provider", "github".into());
    w.change("PUT", &at("/releases/webhooks/{provider}"), Body::None)
        .await;
    w.change("DELETE", &at("/releases/webhooks/{provider}"), Body::None)
        .await;
    w.change(
        "PUT",
        &at("/public-pages"),
        Body::Json(json!({"status_page": true, "changelog": true})),
    )
    .await;
    w.vars.insert("email", "bob@example.com".into());
    w.change(
        "PUT",
        &at("/members/{email}"),
        Body::Json(json!({"role": "viewer"})),
    )
    .await;
    w.change("DELETE", &at("/members/{email}"), Body::None)
        .await;
    let t = w
        .change(
            "POST",
            &at("/tokens"),
            Body::Json(json!({"name": "ci", "scopes": ["read"]})),
        )
        .await;
    w.vars
        .insert("id", t["token"]["id"].as_str().unwrap_or("").to_owned());
    w.change("DELETE", &at("/tokens/{id}"), Body::None).await;
    let t = w
        .change(
            "POST",
            "/api/v1/tokens",
            Body::Json(json!({"name": "laptop", "scopes": ["read"]})),
        )
        .await;
    w.vars
        .insert("id", t["token"]["id"].as_str().unwrap_or("").to_owned());
    w.change("DELETE", "/api/v1/tokens/{id}", Body::None).await;

    // Support: components, schedules, tiers, policies, intake, incidents,
    // tickets, maintenance, notification rules, hooks, calendar feeds.
    w.change(
        "POST",
        &at("/support/components"),
        Body::Json(json!({"name": "Checkout"})),
    )
    .await;
    w.vars.insert("component", "Checkout".into());
    w.change(
        "PUT",
        &at("/support/components/{component}/status"),
        Body::Json(json!({"status": "degraded_performance"})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/schedules"),
        Body::Json(json!({"name": "Primary", "time_zone": "UTC", "layers": [
            {"members": ["ann@example.com", "root@example.com"], "start": "2020-01-06T00:00", "shift": "1w"}]})),
    )
    .await;
    w.vars.insert("schedule", "Primary".into());
    let with = w
        .change(
            "POST",
            &at("/support/schedules/{schedule}/overrides"),
            Body::Json(json!({"user": "root@example.com", "start": "2099-01-01T00:00:00Z", "end": "2099-01-02T00:00:00Z"})),
        )
        .await;
    w.vars.insert(
        "id",
        with["overrides"][0]["id"].as_str().unwrap_or("").to_owned(),
    );
    w.change(
        "DELETE",
        &at("/support/schedules/{schedule}/overrides/{id}"),
        Body::None,
    )
    .await;
    w.vars.insert("tier", "l1".into());
    w.change(
        "PUT",
        &at("/scaling/tiers/{tier}"),
        Body::Json(json!({"schedule": "Primary", "members": ["ann@example.com"]})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/policies"),
        Body::Json(json!({"name": "Default", "repeat": 0, "levels": [
            {"notify": ["tier:l1"], "delay_secs": 300}]})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/integrations"),
        Body::Json(json!({"name": "prometheus", "kind": "alertmanager", "policy": "Default"})),
    )
    .await;
    w.vars.insert("integration", "prometheus".into());
    w.change(
        "POST",
        &at("/support/integrations/{integration}/address"),
        Body::None,
    )
    .await;
    // Error tracking: the DSN (made on first read), its alerts, and two
    // issues from the Sentry intake to resolve, merge and unmerge.
    w.send("GET", &w.path(&at("/support/errors/dsn")), &Body::None)
        .await;
    let dsn = w
        .change("POST", &at("/support/errors/dsn"), Body::None)
        .await;
    w.change(
        "PUT",
        &at("/support/errors/alerts"),
        Body::Json(json!({"integration": "prometheus", "on_regression": true})),
    )
    .await;
    let rule = w
        .change(
            "POST",
            &at("/support/errors/grouping-rules"),
            Body::Json(
                json!({"matcher": "type", "pattern": "Timeout*", "fingerprint": ["timeouts"]}),
            ),
        )
        .await;
    w.vars
        .insert("id", rule["id"].as_str().unwrap_or("").to_owned());
    w.change(
        "DELETE",
        &at("/support/errors/grouping-rules/{id}"),
        Body::None,
    )
    .await;
    // A release's source map: kept, then deleted.
    w.vars.insert("release", "web%401.0.0".into());
    let file = at("/support/errors/releases/{release}/files?name=~%2Fstatic%2Fa.js");
    w.change(
        "PUT",
        &file,
        Body::Raw("application/javascript", "function a(){}\n".into()),
    )
    .await;
    w.change("DELETE", &file, Body::None).await;
    for (ty, function) in [("KeyError", "lookup"), ("ValueError", "charge")] {
        let event = json!({"exception": [{"type": ty, "value": "x",
            "stacktrace": {"frames": [{"function": function, "module": "shop", "in_app": true}]}}]});
        assert_eq!(crate::helpers::store_event(&app, &dsn, &event).await, 200);
    }
    w.vars.insert("number", "1".into());
    w.change(
        "PATCH",
        &at("/support/errors/issues/{number}"),
        Body::Json(json!({"status": "resolved", "in_release": "1.0.0"})),
    )
    .await;
    let merged = w
        .change(
            "POST",
            &at("/support/errors/issues/{number}/merge"),
            Body::Json(json!({"issues": [2]})),
        )
        .await;
    assert_eq!(merged["events"], 2, "{merged}");
    let (_, issue) = w
        .send(
            "GET",
            &w.path(&at("/support/errors/issues/{number}")),
            &Body::None,
        )
        .await;
    let fp = issue["fingerprints"][1]["fingerprint"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    w.change(
        "POST",
        &at("/support/errors/issues/{number}/unmerge"),
        Body::Json(json!({"fingerprint": fp})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/errors/issues/{number}/backlog"),
        Body::None,
    )
    .await;
    w.change(
        "POST",
        &at("/hooks"),
        Body::Json(json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook"})),
    )
    .await;
    let r = w
        .change(
            "POST",
            "/api/v1/me/notification-rules",
            Body::Json(json!({"kind": "webhook", "address": "http://127.0.0.1:9/mine"})),
        )
        .await;
    w.vars
        .insert("id", r["id"].as_str().unwrap_or("").to_owned());
    w.change("DELETE", "/api/v1/me/notification-rules/{id}", Body::None)
        .await;
    w.change(
        "POST",
        "/api/v1/me/notification-rules",
        Body::Json(json!({"kind": "email", "address": "root@example.com"})),
    )
    .await;
    let f = w
        .change(
            "POST",
            &at("/calendar-feeds"),
            Body::Json(json!({"kind": "schedule", "target": "Primary"})),
        )
        .await;
    w.vars
        .insert("id", f["feed"]["id"].as_str().unwrap_or("").to_owned());
    w.change("DELETE", &at("/calendar-feeds/{id}"), Body::None)
        .await;
    w.change(
        "POST",
        &at("/support/incidents"),
        Body::Json(json!({"title": "Checkout down", "severity": "sev2", "policy": "Default", "components": ["Checkout"]})),
    )
    .await;
    w.vars.insert("number", "1".into());
    w.change(
        "POST",
        &at("/support/errors/issues/{number}/links"),
        Body::Json(json!({"kind": "incident", "number": 1})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/escalate"),
        Body::None,
    )
    .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/acknowledge"),
        Body::None,
    )
    .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/updates"),
        Body::Json(json!({"body": "Found it", "stage": "identified"})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/hotfix"),
        Body::Json(json!({"reason": "roll back the cache"})),
    )
    .await;
    let d = w
        .change(
            "POST",
            &at("/releases/deployments"),
            Body::Json(json!({"service": "web", "version": "1.0.0", "environment": "production"})),
        )
        .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/links"),
        Body::Json(json!({"kind": "deployment", "target": d["id"]})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/resolve"),
        Body::None,
    )
    .await;
    w.change(
        "POST",
        &at("/support/tickets"),
        Body::Json(json!({"subject": "Refund", "requester": "cus@example.org", "body": "Please"})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/tickets/{number}/actions"),
        Body::Json(json!({"action": "reply", "body": "On it"})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/tickets/{number}/feedback"),
        Body::Json(json!({"kind": "bug"})),
    )
    .await;
    let m = w
        .change(
            "POST",
            &at("/support/maintenances"),
            Body::Json(
                json!({"title": "Upgrade", "starts_at": "2099-01-01T02:00:00Z",
                              "ends_at": "2099-01-01T03:00:00Z", "components": ["Checkout"]}),
            ),
        )
        .await;
    w.vars
        .insert("id", m["id"].as_str().unwrap_or("").to_owned());
    w.change(
        "POST",
        &at("/support/maintenances/{id}/status"),
        Body::Json(json!({"status": "in_progress"})),
    )
    .await;

    // Reviews: the postmortem of incident 1, a launch review.
    w.change(
        "POST",
        &at("/support/incidents/{number}/postmortem"),
        Body::None,
    )
    .await;
    w.change(
        "PATCH",
        &at("/support/incidents/{number}/postmortem"),
        Body::Json(json!({"summary": "The cache fell over."})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/postmortem/refresh"),
        Body::None,
    )
    .await;
    let (_, pm) = w
        .send(
            "GET",
            &w.path(&at("/support/incidents/{number}/postmortem")),
            &Body::None,
        )
        .await;
    let entry = pm["timeline"][0]["entry"].as_str().unwrap_or("").to_owned();
    w.change(
        "POST",
        &at("/support/incidents/{number}/postmortem/timeline"),
        Body::Json(json!({"entry": entry, "mark": "star"})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/postmortem/actions"),
        Body::Json(json!({"kind": "prevent", "title": "Add a cache health check"})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/postmortem/state"),
        Body::Json(json!({"step": "submit"})),
    )
    .await;
    w.change(
        "POST",
        &at("/support/incidents/{number}/postmortem/sign-off"),
        Body::None,
    )
    .await;
    w.change(
        "POST",
        &at("/reviews"),
        Body::Json(json!({"from": "2026-11-01", "to": "2026-11-15", "title": "November"})),
    )
    .await;
    w.change(
        "PATCH",
        &at("/reviews/{number}"),
        Body::Json(json!({"went_well": "Shipped on time"})),
    )
    .await;
    w.change(
        "POST",
        &at("/reviews/{number}/findings"),
        Body::Json(json!({"title": "Signup is slow"})),
    )
    .await;

    // Feedback and the backlog.
    w.change(
        "POST",
        &at("/feedback"),
        Body::Json(json!({"body": "Dark mode please", "email": "ana@example.org"})),
    )
    .await;
    w.change(
        "POST",
        &at("/feedback/import?source=discourse"),
        Body::Raw(
            "text/csv",
            "Post ID,Title,Content\n101,CSV export,Please add CSV export\n".into(),
        ),
    )
    .await;
    w.covered
        .remove(&("POST".into(), at("/feedback/import?source=discourse")));
    w.covered.insert(("POST".into(), at("/feedback/import")));
    let item = w
        .change(
            "POST",
            &at("/feedback/backlog"),
            Body::Json(json!({"title": "Dark mode"})),
        )
        .await;
    let item_no = item["number"].as_i64().unwrap_or(0);
    w.change(
        "POST",
        &at("/feedback/{number}/actions"),
        Body::Json(json!({"action": "link", "item": item_no})),
    )
    .await;
    w.vars.insert("number", item_no.to_string());
    w.change(
        "PATCH",
        &at("/feedback/backlog/{number}"),
        Body::Json(json!({"status": "planned", "public": true})),
    )
    .await;
    let other = w
        .change(
            "POST",
            &at("/feedback/backlog"),
            Body::Json(json!({"title": "Night theme"})),
        )
        .await;
    w.vars
        .insert("number", other["number"].as_i64().unwrap_or(0).to_string());
    w.change(
        "POST",
        &at("/feedback/backlog/{number}/merge"),
        Body::Json(json!({"into": item_no})),
    )
    .await;

    // Releases and docs.
    w.change(
        "POST",
        &at("/releases/trains"),
        Body::Json(json!({"name": "weekly", "cadence": "weekly", "first_release": "2099-01-07"})),
    )
    .await;
    w.change(
        "POST",
        &at("/releases"),
        Body::Json(json!({"kind": "minor", "version": "1.1.0"})),
    )
    .await;
    w.vars.insert("version", "1.1.0".into());
    w.change(
        "POST",
        &at("/releases/{version}/items"),
        Body::Json(json!({"items": [item_no]})),
    )
    .await;
    w.change(
        "PUT",
        &at("/releases/{version}/openapi"),
        Body::Raw(
            "application/yaml",
            "openapi: 3.0.3\ninfo: {title: Shop, version: 1.1.0}\npaths: {}\n".into(),
        ),
    )
    .await;
    w.change(
        "POST",
        &at("/releases/{version}/state"),
        Body::Json(json!({"state": "frozen"})),
    )
    .await;
    w.change(
        "POST",
        &at("/releases/hotfixes"),
        Body::Json(json!({"incident": 1})),
    )
    .await;
    w.change(
        "POST",
        &at("/docs/adrs"),
        Body::Json(json!([{"path": "doc/adr/0001-use-liveops.md",
            "text": "# 1. Use liveops\n\nDate: 2026-11-01\n\n## Status\n\nAccepted\n\n## Decision\n\nWe use liveops.\n"}])),
    )
    .await;

    // Analytics.
    w.change(
        "POST",
        &at("/analytics/features"),
        Body::Json(json!({"name": "Export", "events": ["export"]})),
    )
    .await;
    w.vars.insert("name", "Export".into());
    w.change("DELETE", &at("/analytics/features/{name}"), Body::None)
        .await;
    w.change(
        "POST",
        &at("/analytics/key-funnels"),
        Body::Json(json!({"name": "Checkout", "steps": ["cart", "pay"]})),
    )
    .await;
    w.vars.insert("name", "Checkout".into());
    w.change("DELETE", &at("/analytics/key-funnels/{name}"), Body::None)
        .await;
    w.change(
        "PUT",
        &at("/analytics/settings"),
        Body::Json(json!({"retention_days": 400})),
    )
    .await;
    w.change(
        "PUT",
        &at("/analytics/revenue/settings"),
        Body::Json(json!({"base_currency": "USD", "revenue_property": "amount"})),
    )
    .await;
    w.change(
        "POST",
        &at("/analytics/revenue/rates"),
        Body::Json(json!({"rates": [{"currency": "EUR", "date": "2026-01-01", "rate": 1.1}]})),
    )
    .await;
    w.change("DELETE", &at("/analytics/revenue/rates"), Body::None)
        .await;
    w.change(
        "POST",
        &at("/analytics/cohorts"),
        Body::Json(json!({"name": "Buyers", "kind": "behavioural", "event": "order"})),
    )
    .await;
    w.vars.insert("cohort", "Buyers".into());
    w.change(
        "POST",
        &at("/analytics/insights"),
        Body::Json(
            json!({"name": "Orders", "kind": "trends", "query": {"series": [{"event": "order"}]}}),
        ),
    )
    .await;
    w.vars.insert("insight", "Orders".into());
    w.change(
        "PUT",
        &at("/analytics/insights/{insight}/goal"),
        Body::Json(json!({"goal": {"op": ">=", "target": 10}})),
    )
    .await;
    w.change(
        "PUT",
        &at("/analytics/insights/{insight}/alert"),
        Body::Json(json!({"alert": {"condition": "above", "value": 100, "tier": "l1"}})),
    )
    .await;
    w.change(
        "POST",
        &at("/analytics/dashboards"),
        Body::Json(json!({"name": "Board", "days": 7, "tiles": [{"insight": "Orders"}]})),
    )
    .await;
    w.vars.insert("dashboard", "Board".into());
    w.change(
        "PUT",
        &at("/analytics/dashboards/{dashboard}"),
        Body::Json(
            json!({"name": "Board", "days": 14, "tiles": [{"insight": "Orders", "width": 2}]}),
        ),
    )
    .await;
    w.change(
        "POST",
        &at("/analytics/dashboards/import"),
        Body::Json(json!({"name": "Board 2", "days": 7, "tiles": [{"width": 1, "insight":
            {"name": "Orders", "kind": "trends", "query": {"series": [{"event": "order"}]}, "goal": null}}]})),
    )
    .await;
    w.change(
        "DELETE",
        &at("/analytics/dashboards/{dashboard}"),
        Body::None,
    )
    .await;
    w.change("DELETE", &at("/analytics/insights/{insight}"), Body::None)
        .await;
    w.change("DELETE", &at("/analytics/cohorts/{cohort}"), Body::None)
        .await;
    // The walk replaced the browser key; a person to delete needs a fresh one.
    let browser_key = app.key(&shop, "browser").await;
    let resp = app
        .http
        .post(app.url("/batch/"))
        .json(
            &json!({"api_key": browser_key, "batch": [{"event": "visit", "distinct_id": "gone"}]}),
        )
        .send()
        .await
        .expect("batch");
    assert_eq!(resp.status(), 200);
    w.vars.insert("distinct_id", "gone".into());
    w.change(
        "DELETE",
        &at("/analytics/persons/{distinct_id}"),
        Body::None,
    )
    .await;

    // Performance and scaling.
    let r = w
        .change(
            "POST",
            &at("/performance/rules"),
            Body::Json(json!({"name": "slow", "metric": "p95_ms", "threshold": 500.0})),
        )
        .await;
    w.vars
        .insert("id", r["id"].as_str().unwrap_or("").to_owned());
    w.change("DELETE", &at("/performance/rules/{id}"), Body::None)
        .await;
    let s = w
        .change(
            "POST",
            &at("/performance/slos"),
            Body::Json(json!({"name": "available", "kind": "availability", "objective": 0.99})),
        )
        .await;
    w.vars
        .insert("id", s["id"].as_str().unwrap_or("").to_owned());
    w.change("DELETE", &at("/performance/slos/{id}"), Body::None)
        .await;
    app.state
        .db
        .record_findings(
            &shop.id,
            &[liveops_store::performance::Sighting {
                kind: "n_plus_one".into(),
                service: "web".into(),
                route: "GET /orders".into(),
                subject: "SELECT * FROM items WHERE order_id = ?".into(),
                detail: "12 calls".into(),
                example_trace: None,
                occurrences: 1,
                at: app.now_ms(),
            }],
        )
        .await
        .expect("finding");
    let found = app
        .state
        .db
        .findings(&shop.id, None)
        .await
        .expect("findings");
    w.vars.insert("id", found[0].id.clone());
    w.change(
        "PATCH",
        &at("/performance/findings/{id}"),
        Body::Json(json!({"status": "ignored"})),
    )
    .await;
    w.vars.insert("service", "web".into());
    w.vars.insert("metric", "requests".into());
    w.change(
        "PUT",
        &at("/scaling/capacity/{service}/{metric}"),
        Body::Json(json!({"capacity": 1000.0, "replicas": 2})),
    )
    .await;
    w.change(
        "DELETE",
        &at("/scaling/capacity/{service}/{metric}"),
        Body::None,
    )
    .await;
    w.vars.insert("kind", "spans".into());
    w.change(
        "PUT",
        &at("/scaling/retention/{kind}"),
        Body::Json(json!({"days": 14})),
    )
    .await;

    // Security.
    w.change(
        "POST",
        &at("/security/scans"),
        Body::Json(json!({"service": "web", "files": [{"name": "requirements.txt", "text": "requests==2.31.0\n"}]})),
    )
    .await;
    let sarif = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep", "rules": []}},
        "results": [{"ruleId": "xss", "level": "error", "message": {"text": "Unescaped"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app.py"}, "region": {"startLine": 7}}}]}]}]});
    w.change(
        "POST",
        &at("/security/sarif?service=web"),
        Body::Raw("application/json", sarif.to_string()),
    )
    .await;
    w.covered
        .remove(&("POST".into(), at("/security/sarif?service=web")));
    w.covered.insert(("POST".into(), at("/security/sarif")));
    w.change(
        "POST",
        &at("/security/pentest?service=web&name=acme"),
        Body::Raw("text/csv", "ID,Finding,Risk\nPT-1,Stored XSS,High\n".into()),
    )
    .await;
    w.covered
        .remove(&("POST".into(), at("/security/pentest?service=web&name=acme")));
    w.covered.insert(("POST".into(), at("/security/pentest")));
    w.vars.insert("number", "1".into());
    w.change(
        "POST",
        &at("/security/findings/{number}/actions"),
        Body::Json(json!({"action": "accept", "reason": "behind the WAF",
            "until": jiff::Timestamp::from_millisecond(app.now_ms() + 30 * 86_400_000)
                .expect("time").to_string()})),
    )
    .await;
    w.change(
        "PUT",
        &at("/security/slas"),
        Body::Json(json!([{"severity": "critical", "days": 3}])),
    )
    .await;
    w.change(
        "POST",
        &at("/security/credentials"),
        Body::Json(json!({"kind": "api_key", "name": "stripe", "owner": "ops@example.com", "system": "stripe"})),
    )
    .await;
    w.change(
        "POST",
        &at("/security/certificates?owner=ops@example.com"),
        Body::Raw("text/plain", pem_certificate()),
    )
    .await;
    w.covered.remove(&(
        "POST".into(),
        at("/security/certificates?owner=ops@example.com"),
    ));
    w.covered
        .insert(("POST".into(), at("/security/certificates")));
    w.vars.insert("name", "stripe".into());
    w.change("DELETE", &at("/security/credentials/{name}"), Body::None)
        .await;

    // Improvement: the weekly report and its recipients.
    w.change(
        "POST",
        &at("/improvement/reports/recipients"),
        Body::Json(json!({"channel": "email", "target": "team@example.com"})),
    )
    .await;
    w.change(
        "DELETE",
        &at("/improvement/reports/recipients?channel=email&target=team@example.com"),
        Body::None,
    )
    .await;
    w.covered.remove(&(
        "DELETE".into(),
        at("/improvement/reports/recipients?channel=email&target=team@example.com"),
    ));
    w.covered
        .insert(("DELETE".into(), at("/improvement/reports/recipients")));
    w.change(
        "POST",
        &at("/improvement/reports/weekly"),
        Body::Json(json!({"deliver": false})),
    )
    .await;

    // Every mutating operation was walked, and nothing else.
    let documented = mutating(&app).await;
    let missing: Vec<_> = documented.difference(&w.covered).collect();
    let extra: Vec<_> = w.covered.difference(&documented).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not walked: {missing:?}; not in the document: {extra:?}"
    );

    // Each refused: unknown things, or a body that is not what it takes.
    for (method, template) in &documented {
        // Rotating the browser key or the DSN takes nothing it could
        // refuse: an unknown project it can.
        let project = if template.ends_with("/ingest-key") || template.ends_with("/errors/dsn") {
            "nope"
        } else {
            "shop"
        };
        let path = template
            .replace("{project}", project)
            .replace("{number}", "99999")
            .replace("{id}", "00000000000000000000000000000000")
            .replace("{email}", "nobody@example.com")
            .replace("{purpose}", "nope")
            .replace("{name}", "nope")
            .replace("{distinct_id}", "nobody")
            .replace("{version}", "9.9.9")
            .replace("{schedule}", "nope")
            .replace("{tier}", "l9")
            .replace("{kind}", "schedules")
            .replace("{integration}", "nope")
            .replace("{component}", "nope")
            .replace("{service}", "web")
            .replace("{metric}", "requests");
        w.refused(method, &path, Body::Json(json!({"__nope": true})))
            .await;
    }
    assert!(
        w.failures.is_empty(),
        "{} problems:\n{}",
        w.failures.len(),
        w.failures.join("\n")
    );
    app.stop().await;
}

storage_stories!(every_change_leaves_one_audit_entry);
