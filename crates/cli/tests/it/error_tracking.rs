//! Error tracking with the real Sentry SDK: a small Python app raises two
//! different bugs, the same bug with different values, a message with ids
//! in it and two exceptions under one custom fingerprint; liveops groups
//! them into issues the API, the CLI and the pages show. Then a regression:
//! an issue resolved in 1.2.0 is seen in 1.3.0, comes back, pages the
//! person on call and shows in 1.3.0's launch review. Bad envelopes are
//! refused with a reason and store nothing.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, run_sdk_script, shop_with_ingest_key, spawn_app,
    storage_stories,
};

/// The app: raises its bugs through sentry_sdk with the DSN given, and
/// reports any error the SDK logs.
const APP: &str = r#"
import json, logging, sys, uuid
import sentry_sdk

errors = []
class Catch(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            errors.append(record.getMessage())
logging.getLogger("sentry_sdk.errors").addHandler(Catch())
logging.getLogger("sentry_sdk.errors").setLevel(logging.WARNING)

sentry_sdk.init(dsn=sys.argv[1], release="shop@1.2.0", environment="production",
                default_integrations=False, auto_session_tracking=False,
                traces_sample_rate=0, include_local_variables=True)

def divide(total, parts):
    return total / parts

def lookup(table, key):
    return table[key]

def charge(order):
    raise ValueError(f"order {order} failed to charge")

def report(exc_fn, user):
    sentry_sdk.set_user({"id": user, "email": user + "@example.com"})
    try:
        exc_fn()
    except Exception as e:
        sentry_sdk.capture_exception(e)

# Two different bugs: two issues.
report(lambda: divide(10, 0), "ann")
report(lambda: lookup({}, "missing"), "bob")
# One call site, different values: one issue.
for order, user in [(1234, "ann"), (98, "cat")]:
    report(lambda: charge(order), user)
# A message with ids: one issue.
for _ in range(2):
    sentry_sdk.capture_message(f"payment {uuid.uuid4()} timed out after {len(errors) + 30}s")
# Two different exceptions under one fingerprint: one issue.
for fn in (lambda: divide(1, 0), lambda: lookup({}, "x")):
    with sentry_sdk.new_scope() as scope:
        scope.fingerprint = ["checkout-flaky"]
        try:
            fn()
        except Exception as e:
            sentry_sdk.capture_exception(e)
sentry_sdk.flush(timeout=10)
print(json.dumps({"errors": errors}))
"#;

/// The same app in Node.js with `@sentry/node`; a transport wrapper notes
/// any answer that is not a success.
const NODE_APP: &str = r#"
const Sentry = require("@sentry/node");
const crypto = require("crypto");
const errors = [];
Sentry.init({
  dsn: process.argv[1], release: "shop@1.2.0", environment: "production",
  defaultIntegrations: false, tracesSampleRate: 0,
  transport: (options) => {
    const inner = Sentry.makeNodeTransport(options);
    return {
      send: async (envelope) => {
        const r = await inner.send(envelope);
        if (!r || !r.statusCode || r.statusCode >= 300) errors.push("answered " + (r && r.statusCode));
        return r;
      },
      flush: (t) => inner.flush(t),
    };
  },
});
function divide(a, b) { if (b === 0) throw new RangeError("division by zero"); return a / b; }
function lookup(table, key) { return table[key].value; }
function charge(order) { throw new Error(`order ${order} failed to charge`); }
function report(fn, user) {
  Sentry.setUser({ id: user, email: user + "@example.com" });
  try { fn(); } catch (e) { Sentry.captureException(e); }
}
report(() => divide(10, 0), "ann");
report(() => lookup({}, "missing"), "bob");
for (const [order, user] of [[1234, "ann"], [98, "cat"]]) report(() => charge(order), user);
for (let i = 0; i < 2; i++) Sentry.captureMessage(`payment ${crypto.randomUUID()} timed out after ${30 + i}s`);
for (const fn of [() => divide(1, 0), () => lookup({}, "x")]) {
  Sentry.withScope((scope) => {
    scope.setFingerprint(["checkout-flaky"]);
    try { fn(); } catch (e) { Sentry.captureException(e); }
  });
}
Sentry.flush(10000).then((done) => {
  if (!done) errors.push("flush timed out");
  console.log(JSON.stringify({ errors }));
});
"#;

/// Runs `script` in Node with the test clients' modules and `dsn`.
async fn run_node(script: &'static str, dsn: &str) {
    let dir = std::env::var("LIVEOPS_TEST_NODE_DIR").expect(
        "LIVEOPS_TEST_NODE_DIR is not set: run the tests with scripts/test.sh, which installs the JavaScript clients",
    );
    let dsn = dsn.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(["-e", script, &dsn])
            .env("NODE_PATH", std::path::Path::new(&dir).join("node_modules"))
            .output()
            .expect("run node")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["errors"], json!([]), "the SDK saw errors");
}

async fn the_node_sdk_groups_bugs_into_issues(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let dsn = dsn(&app, &admin).await;
    run_node(NODE_APP, &dsn).await;
    let list = issues(&app, &admin, "").await;
    assert_eq!(list.len(), 5, "{list:#?}");
    let total: i64 = list.iter().map(|i| i["events"].as_i64().unwrap_or(0)).sum();
    assert_eq!(total, 8, "{list:#?}");
    titled_with(&list, "RangeError", 1);
    titled_with(&list, "TypeError", 1);
    let charge = titled(&list, "failed to charge");
    assert_eq!(charge["events"], 2, "one call site, one issue");
    assert_eq!(charge["users"], 2);
    assert_eq!(titled(&list, "payment")["events"], 2);
    let n = charge["number"].as_i64().expect("number");
    let (_, d) = app
        .get(
            &format!("/api/v1/projects/shop/support/errors/issues/{n}"),
            &admin,
        )
        .await;
    let frames = d["events"][0]["exceptions"][0]["frames"]
        .as_array()
        .expect("frames");
    assert!(
        frames.iter().any(|f| f["function"] == "charge"),
        "{frames:?}"
    );
    app.stop().await;
}

pub(crate) async fn dsn(app: &TestApp, admin: &str) -> String {
    let (status, d) = app
        .get("/api/v1/projects/shop/support/errors/dsn", admin)
        .await;
    assert_eq!(status, 200, "{d}");
    let dsn = d["dsn"].as_str().expect("dsn").to_owned();
    assert!(dsn.starts_with("http://") && dsn.contains('@'), "{dsn}");
    assert!(
        dsn.rsplit('/')
            .next()
            .is_some_and(|n| n.parse::<u64>().is_ok()),
        "the SDKs need a numeric project: {dsn}"
    );
    dsn
}

pub(crate) async fn issues(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let (status, v) = app
        .get(
            &format!("/api/v1/projects/shop/support/errors/issues?{query}"),
            admin,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v.as_array().expect("issues").clone()
}

/// The issue titled with `part` that has `events` events (the flaky
/// issue's title is one of the bugs' too).
fn titled_with<'a>(list: &'a [Value], part: &str, events: i64) -> &'a Value {
    list.iter()
        .find(|i| i["title"].as_str().is_some_and(|t| t.contains(part)) && i["events"] == events)
        .unwrap_or_else(|| panic!("no issue titled {part} with {events} events: {list:?}"))
}

fn titled<'a>(list: &'a [Value], part: &str) -> &'a Value {
    list.iter()
        .find(|i| i["title"].as_str().is_some_and(|t| t.contains(part)))
        .unwrap_or_else(|| panic!("no issue titled {part}: {list:?}"))
}

async fn the_python_sdk_groups_bugs_into_issues(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let dsn = dsn(&app, &admin).await;
    run_sdk_script(APP, &dsn, "").await;

    let list = issues(&app, &admin, "").await;
    assert_eq!(list.len(), 5, "{list:#?}");
    let total: i64 = list.iter().map(|i| i["events"].as_i64().unwrap_or(0)).sum();
    assert_eq!(total, 8, "{list:#?}");
    let zero = titled_with(&list, "ZeroDivisionError", 1);
    let key = titled_with(&list, "KeyError", 1);
    assert_ne!(zero["number"], key["number"], "two bugs, two issues");
    let charge = titled(&list, "ValueError");
    assert_eq!(charge["events"], 2, "one call site, one issue");
    assert_eq!(charge["users"], 2, "ann and cat");
    assert_eq!(charge["last_release"], "shop@1.2.0");
    let payment = titled(&list, "payment");
    assert_eq!(payment["events"], 2, "the ids are not what names it");
    let flaky: Vec<&Value> = list
        .iter()
        .filter(|i| i["events"] == 2 && i != &charge && i != &payment)
        .collect();
    assert_eq!(flaky.len(), 1, "the custom fingerprint groups: {list:#?}");
    // The week's report counts the new issues and lists the top ones.
    let week = charge["first_seen"].as_str().expect("first seen");
    let (status, r) = app
        .get(
            &format!(
                "/api/v1/projects/shop/improvement/reports/weekly?week={}",
                week.replace('+', "%2B")
            ),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["errors"]["new_issues"], 5, "{}", r["errors"]);
    assert_eq!(r["errors"]["regressed"], 0);
    let top = r["errors"]["top_new"].as_array().expect("top new");
    assert_eq!(top.len(), 5);
    assert_eq!(top[0]["events"], 2, "most events first: {top:?}");
    assert_eq!(top[4]["events"], 1);

    // The issue page: stack trace with the app's frames, tags, releases,
    // users, the chart.
    let n = charge["number"].as_i64().expect("number");
    let (status, d) = app
        .get(
            &format!("/api/v1/projects/shop/support/errors/issues/{n}"),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    let event = &d["events"][0];
    let frames = event["exceptions"][0]["frames"].as_array().expect("frames");
    assert!(
        frames.iter().any(|f| f["function"] == "charge"),
        "{frames:?}"
    );
    assert!(
        frames
            .iter()
            .any(|f| f["function"] == "charge" && f["vars"]["order"].is_string()),
        "local variables come along: {frames:?}"
    );
    assert_eq!(d["releases"][0]["release"], "shop@1.2.0");
    assert_eq!(d["releases"][0]["environment"], "production");
    assert!(
        d["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|t| t["key"] == "release" && t["value"] == "shop@1.2.0" && t["events"] == 2),
        "{}",
        d["tags"]
    );
    let days: i64 = d["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|p| p["events"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(days, 2);

    // The CLI lists, shows and changes issues.
    let out = app.cli(
        &admin,
        &["errors", "list", "--project", "shop", "--sort", "users"],
    );
    assert!(
        out.lines().nth(1).is_some_and(|l| l.contains("ValueError")),
        "{out}"
    );
    let out = app.cli(
        &admin,
        &["errors", "show", "--project", "shop", &n.to_string()],
    );
    assert!(
        out.contains("charge") && out.contains("shop@1.2.0"),
        "{out}"
    );
    let out = app.cli(&admin, &["errors", "dsn", "--project", "shop"]);
    assert_eq!(out.trim(), dsn);
    let z = zero["number"].as_i64().expect("number").to_string();
    app.cli(
        &admin,
        &["errors", "ignore", "--project", "shop", &z, "--events", "5"],
    );
    assert_eq!(issues(&app, &admin, "status=ignored").await.len(), 1);
    let k = key["number"].as_i64().expect("number").to_string();
    app.cli(&admin, &["errors", "merge", "--project", "shop", &z, &k]);
    let list = issues(&app, &admin, "").await;
    assert_eq!(list.len(), 4, "merged: {list:#?}");
    let (_, merged) = app
        .get(
            &format!("/api/v1/projects/shop/support/errors/issues/{z}"),
            &admin,
        )
        .await;
    assert_eq!(merged["issue"]["events"], 2);
    assert_eq!(merged["issue"]["users"], 2, "ann and bob");
    let fp = merged["fingerprints"][1]["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    let out = app.cli(&admin, &["errors", "unmerge", "--project", "shop", &z, &fp]);
    assert!(out.contains("unresolved"), "{out}");
    assert_eq!(issues(&app, &admin, "").await.len(), 5);

    // Filters: by tag, release and state.
    assert_eq!(issues(&app, &admin, "release=shop%401.2.0").await.len(), 5);
    assert_eq!(issues(&app, &admin, "release=shop%409.9.9").await.len(), 0);
    assert_eq!(
        issues(&app, &admin, "tag=environment:production")
            .await
            .len(),
        5
    );
    assert_problem(
        &app.get(
            "/api/v1/projects/shop/support/errors/issues?sort=best",
            &admin,
        )
        .await,
        422,
    );
    assert_problem(
        &app.get("/api/v1/projects/shop/support/errors/issues/999", &admin)
            .await,
        404,
    );

    // The pages.
    let (_, html) = crate::ui::root_page(&app.base, "/p/shop/support/errors").await;
    assert!(html.contains("ValueError") && html.contains(&dsn), "{html}");
    let (_, html) = crate::ui::root_page(&app.base, &format!("/p/shop/support/errors/{n}")).await;
    assert!(html.contains("charge") && html.contains("in app"), "{html}");
    app.stop().await;
}

/// An envelope as an SDK frames it: a header line, then an item header and
/// the event.
pub(crate) fn envelope(dsn: &str, event: &Value) -> Vec<u8> {
    let payload = event.to_string();
    format!(
        "{}\n{}\n{payload}\n",
        json!({"event_id": event["event_id"], "dsn": dsn}),
        json!({"type": "event", "length": payload.len()}),
    )
    .into_bytes()
}

pub(crate) fn bug(release: &str, id: &str) -> Value {
    json!({
        "event_id": id,
        "level": "error",
        "platform": "python",
        "release": release,
        "environment": "production",
        "user": {"id": "ann"},
        "exception": {"values": [{
            "type": "RuntimeError", "value": "cart is gone",
            "stacktrace": {"frames": [
                {"module": "shop.cart", "function": "checkout", "lineno": 10, "in_app": true}
            ]}
        }]}
    })
}

pub(crate) async fn send(app: &TestApp, number: &str, dsn: &str, body: Vec<u8>) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(&format!("/api/{number}/envelope/")))
        .header("content-type", "application/x-sentry-envelope")
        .header(
            "x-sentry-auth",
            format!("Sentry sentry_version=7, sentry_key={}", key_of(dsn)),
        )
        .body(body)
        .send()
        .await
        .expect("envelope");
    crate::helpers::status_json(r).await
}

fn key_of(dsn: &str) -> String {
    dsn.trim_start_matches("http://")
        .split('@')
        .next()
        .unwrap_or("")
        .to_owned()
}

async fn a_fixed_bug_that_returns_in_a_later_release_regresses(backend: Backend) {
    // The story runs the jobs itself (escalation, spikes): the background
    // round must not run them first.
    let app = crate::helpers::spawn_app_with(backend, |c| c.job_tick_ms = 3_600_000).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let ok = |got: (u16, Value), want: u16| assert_eq!(got.0, want, "{}", got.1);
    // ann is on call; the errors integration pages through her schedule.
    let ann = app
        .user("ann@example.com", "correct horse battery", false)
        .await;
    let project = app.state.db.project_by_slug("shop").await.expect("shop");
    app.member(&project, &ann, liveops_core::Role::Responder)
        .await;
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/schedules",
            &admin,
            Some(json!({"name": "Primary", "time_zone": "UTC", "layers": [
                {"members": ["ann@example.com"], "start": "2020-01-06T00:00", "shift": "1w"}
            ]})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/policies",
            &admin,
            Some(json!({"name": "Errors", "levels": [{"notify": ["schedule:Primary"], "delay_secs": 600}]})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/integrations",
            &admin,
            Some(json!({"name": "errors", "kind": "generic", "policy": "Errors", "default_severity": "sev2"})),
        )
        .await,
        201,
    );
    let dsn = dsn(&app, &admin).await;
    let number = dsn.rsplit('/').next().expect("number").to_owned();
    // An integration that does not exist is refused.
    assert_problem(
        &app.send(
            Method::PUT,
            "/api/v1/projects/shop/support/errors/alerts",
            &admin,
            Some(json!({"integration": "nope", "on_regression": true})),
        )
        .await,
        422,
    );
    ok(
        app.send(
            Method::PUT,
            "/api/v1/projects/shop/support/errors/alerts",
            &admin,
            Some(json!({"integration": "errors", "on_regression": true})),
        )
        .await,
        200,
    );
    // 1.3.0 ships: a deployment and a release the review reads.
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/releases/deployments",
            &admin,
            Some(json!({"service": "shop", "version": "1.2.0", "environment": "production",
                        "deployed_at": jiff::Timestamp::from_millisecond(app.now_ms() - 3_600_000).expect("t").to_string()})),
        )
        .await,
        201,
    );

    let (status, v) = send(
        &app,
        &number,
        &dsn,
        envelope(&dsn, &bug("1.2.0", "a".repeat(32).as_str())),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["id"], "a".repeat(32));
    // The same event sent again counts once.
    send(
        &app,
        &number,
        &dsn,
        envelope(&dsn, &bug("1.2.0", "a".repeat(32).as_str())),
    )
    .await;
    let list = issues(&app, &admin, "").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["events"], 1, "a resend counts once");
    let (_, d) = app
        .get("/api/v1/projects/shop/support/errors/issues/1", &admin)
        .await;
    assert_eq!(d["introduced"]["version"], "1.2.0", "{d}");

    let out = app.cli(
        &admin,
        &[
            "errors",
            "resolve",
            "--project",
            "shop",
            "1",
            "--in-release",
            "1.2.0",
        ],
    );
    assert!(out.contains("resolved"), "{out}");
    // 1.2.0's release notes list the issue as fixed.
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/releases",
            &admin,
            Some(json!({"kind": "minor", "version": "1.2.0"})),
        )
        .await;
    assert!(status == 201 || status == 409, "{status}: {v}");
    let (status, notes) = app
        .get("/api/v1/projects/shop/releases/1.2.0/notes", &admin)
        .await;
    assert_eq!(status, 200, "{notes}");
    assert_eq!(notes["fixed_issues"], json!([1]), "{notes}");
    assert!(
        notes["markdown"]
            .as_str()
            .is_some_and(|m| m.contains("Error issue #1: RuntimeError: cart is gone")),
        "{notes}"
    );
    // 1.2.0 stragglers are expected: still resolved.
    app.clock.advance(Duration::from_secs(60));
    send(
        &app,
        &number,
        &dsn,
        envelope(&dsn, &bug("1.2.0", &"b".repeat(32))),
    )
    .await;
    assert_eq!(issues(&app, &admin, "").await[0]["status"], "resolved");

    app.clock.advance(Duration::from_secs(3600));
    let (status, _) = send(
        &app,
        &number,
        &dsn,
        envelope(&dsn, &bug("1.3.0", &"c".repeat(32))),
    )
    .await;
    assert_eq!(status, 200);
    let list = issues(&app, &admin, "").await;
    assert_eq!(list[0]["status"], "unresolved");
    assert!(list[0]["regressed_at"].is_string(), "{list:?}");
    let (_, d) = app
        .get("/api/v1/projects/shop/support/errors/issues/1", &admin)
        .await;
    let kinds: Vec<&str> = d["activity"]
        .as_array()
        .expect("activity")
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["created", "resolved", "regressed"]);
    assert_eq!(d["activity"][2]["release"], "1.3.0");
    // The page was read before the two later events: its users, tags,
    // chart and newest event count them too.
    assert_eq!(
        d["events"][0]["event_id"],
        "c".repeat(32),
        "{}",
        d["events"]
    );
    assert_eq!(d["issue"]["users"], 1, "ann each time");
    let tag = |value: &str| {
        d["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .find(|t| t["key"] == "release" && t["value"] == value)
            .map(|t| t["events"].clone())
    };
    assert_eq!(tag("1.2.0"), Some(json!(2)), "{}", d["tags"]);
    assert_eq!(tag("1.3.0"), Some(json!(1)), "{}", d["tags"]);
    let charted: i64 = d["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|p| p["events"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(charted, 3, "{}", d["series"]);

    // An incident opened through the errors integration and its policy
    // pages ann, who is on call.
    let (_, open) = app
        .get("/api/v1/projects/shop/incidents?state=open", &admin)
        .await;
    let open = open.as_array().expect("incidents").clone();
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(
        open[0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Regressed: #1")),
        "{open:?}"
    );
    assert_eq!(open[0]["severity"], "sev2");
    liveops_server::jobs::support::tick(&app.state).await;
    let number_of = open[0]["number"].as_i64().expect("number");
    let (_, detail) = app
        .get(
            &format!("/api/v1/projects/shop/incidents/{number_of}"),
            &admin,
        )
        .await;
    assert!(
        detail["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .any(|d| d["target"] == "ann@example.com"),
        "{detail}"
    );

    // The issue links to the incident (both pages list it) and becomes a
    // backlog bug.
    let (status, d) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/support/errors/issues/1/links",
            &admin,
            Some(json!({"kind": "incident", "number": number_of})),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["incidents"], json!([number_of]));
    assert!(
        detail_links(&app, &admin, number_of)
            .await
            .contains(&"issue 1".to_owned()),
        "the incident lists the issue"
    );
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/support/errors/issues/1/links",
            &admin,
            Some(json!({"kind": "ticket", "number": 404})),
        )
        .await,
        422,
    );
    // A customer's ticket points at the issue it hit; the ticket lists it.
    let (status, t) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/support/tickets",
            &admin,
            Some(json!({"subject": "Checkout broke", "requester": "cus@example.org", "body": "It failed"})),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let ticket = t["number"].as_i64().expect("ticket number");
    let (status, d) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/support/errors/issues/1/links",
            &admin,
            Some(json!({"kind": "ticket", "number": ticket})),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["tickets"], json!([ticket]));
    let (_, td) = app
        .get(
            &format!("/api/v1/projects/shop/support/tickets/{ticket}"),
            &admin,
        )
        .await;
    assert_eq!(td["issues"], json!(["1"]), "{td}");
    let (status, made) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/support/errors/issues/1/backlog",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let (_, d) = app
        .get("/api/v1/projects/shop/support/errors/issues/1", &admin)
        .await;
    assert_eq!(d["backlog"], json!([made["item"]]));
    // The customer it reached (ann, by her distinct id) votes for the bug.
    let (_, item) = app
        .get(
            &format!("/api/v1/projects/shop/backlog/{}", made["item"]),
            &admin,
        )
        .await;
    assert_eq!(
        (
            item["item"]["votes"].as_i64(),
            item["item"]["voters"].as_i64()
        ),
        (Some(1), Some(1)),
        "{item}"
    );
    assert_eq!(item["feedback"][0]["source"], "errors");

    // A spike: two more events within ten minutes open one more incident,
    // once.
    ok(
        app.send(
            Method::PUT,
            "/api/v1/projects/shop/support/errors/alerts",
            &admin,
            Some(json!({"integration": "errors", "spike_events": 3, "spike_minutes": 10})),
        )
        .await,
        200,
    );
    for id in ["d", "e"] {
        send(
            &app,
            &number,
            &dsn,
            envelope(&dsn, &bug("1.3.0", &id.repeat(32))),
        )
        .await;
    }
    let spikes = liveops_server::support::errors::alerts::spikes(&app.state)
        .await
        .expect("spikes");
    assert_eq!(spikes, 1);
    let again = liveops_server::support::errors::alerts::spikes(&app.state)
        .await
        .expect("spikes");
    assert_eq!(again, 0, "one alert per window");
    let (_, open) = app
        .get("/api/v1/projects/shop/incidents?state=open", &admin)
        .await;
    assert!(
        open.as_array()
            .expect("incidents")
            .iter()
            .any(|i| i["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Spiking: #1"))),
        "{open}"
    );

    // 1.3.0's launch review counts the regression.
    let (status, review) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/reviews",
            &admin,
            Some(json!({"from": jiff::Timestamp::from_millisecond(app.now_ms() - 600_000).expect("t").to_string(),
                        "title": "1.3.0"})),
        )
        .await;
    assert_eq!(status, 201, "{review}");
    assert_eq!(review["facts"]["regressed_issues"], 1, "{review}");
    assert!(
        review["failed"]
            .as_str()
            .is_some_and(|f| f.contains("1 resolved error issue(s) regressed")),
        "{review}"
    );
    app.stop().await;
}

/// The links an incident's page lists, as `kind target`.
async fn detail_links(app: &TestApp, admin: &str, number: i64) -> Vec<String> {
    let (_, detail) = app
        .get(&format!("/api/v1/projects/shop/incidents/{number}"), admin)
        .await;
    detail["links"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|x| {
                    format!(
                        "{} {}",
                        x["kind"].as_str().unwrap_or(""),
                        x["target"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn bad_envelopes_are_refused_with_a_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let dsn = dsn(&app, &admin).await;
    let number = dsn.rsplit('/').next().expect("number").to_owned();
    // Not an envelope at all.
    let got = send(&app, &number, &dsn, b"this is not json\n".to_vec()).await;
    assert_problem(&got, 400);
    // An item whose length runs past the end.
    let got = send(
        &app,
        &number,
        &dsn,
        b"{}\n{\"type\":\"event\",\"length\":500}\n{}\n".to_vec(),
    )
    .await;
    assert_problem(&got, 400);
    assert!(
        got.1["detail"]
            .as_str()
            .is_some_and(|d| d.contains("length")),
        "{}",
        got.1
    );
    // An event that is not an object, alone: 400, nothing stored.
    let got = send(
        &app,
        &number,
        &dsn,
        b"{}\n{\"type\":\"event\"}\n[1,2]\n".to_vec(),
    )
    .await;
    assert_problem(&got, 400);
    assert!(issues(&app, &admin, "").await.is_empty());
    // Beside a good one: the good one is kept.
    let good = bug("1.0.0", &"d".repeat(32)).to_string();
    let body = format!("{{}}\n{{\"type\":\"event\"}}\n[1,2]\n{{\"type\":\"event\"}}\n{good}\n");
    let got = send(&app, &number, &dsn, body.into_bytes()).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(issues(&app, &admin, "").await.len(), 1);
    // A wrong key, an unknown project number.
    let r = app
        .http
        .post(app.url(&format!("/api/{number}/envelope/")))
        .header("x-sentry-auth", "Sentry sentry_key=nope")
        .body(envelope(&dsn, &bug("1.0.0", &"e".repeat(32))))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let got = send(
        &app,
        "999999",
        &dsn,
        envelope(&dsn, &bug("1.0.0", &"e".repeat(32))),
    )
    .await;
    assert_problem(&got, 401);
    // Too large: 413.
    let mut big = bug("1.0.0", &"f".repeat(32));
    big["extra"] = json!({"blob": "x".repeat(1_100_000)});
    let got = send(&app, &number, &dsn, envelope(&dsn, &big)).await;
    assert_problem(&got, 413);
    // gzip and the older store endpoint, with sentry_key in the query.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(
        &mut gz,
        bug("1.0.0", &"1".repeat(32)).to_string().as_bytes(),
    )
    .expect("gzip");
    let r = app
        .http
        .post(app.url(&format!("/api/{number}/store/?sentry_key={}", key_of(&dsn))))
        .header("content-encoding", "gzip")
        .body(gz.finish().expect("gzip"))
        .send()
        .await
        .expect("store");
    assert_eq!(r.status(), 200);
    assert_eq!(issues(&app, &admin, "").await[0]["events"], 2);
    // Other items are taken and dropped.
    let body = format!(
        "{{}}\n{}\n{}\n{}\nabc\n",
        json!({"type": "client_report"}),
        json!({"discarded_events": []}),
        json!({"type": "attachment", "length": 3})
    );
    assert_eq!(send(&app, &number, &dsn, body.into_bytes()).await.0, 200);
    app.stop().await;
}

/// Exceptions that arrive with other telemetry are grouped too, and a
/// transaction becomes spans; a grouping rule overrides the default.
async fn exceptions_from_every_intake_are_grouped(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, ingest_key) = shop_with_ingest_key(&app).await;
    let server_key = crate::helpers::server_key(&app, &admin).await;
    let dsn = dsn(&app, &admin).await;
    let number = dsn.rsplit('/').next().expect("number").to_owned();

    // An OpenTelemetry span that recorded an exception.
    let now_ns = jiff::Timestamp::now().as_nanosecond();
    let export = json!({"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "api"}},
            {"key": "service.version", "value": {"stringValue": "2.0.0"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
            "name": "GET /orders", "kind": 2,
            "startTimeUnixNano": now_ns.to_string(), "endTimeUnixNano": (now_ns + 5_000_000).to_string(),
            "status": {"code": 2},
            "attributes": [{"key": "http.route", "value": {"stringValue": "/orders"}},
                           {"key": "http.request.method", "value": {"stringValue": "GET"}}],
            "events": [{"name": "exception", "timeUnixNano": now_ns.to_string(), "attributes": [
                {"key": "exception.type", "value": {"stringValue": "KeyError"}},
                {"key": "exception.message", "value": {"stringValue": "'sku'"}},
                {"key": "exception.stacktrace", "value": {"stringValue":
                    "Traceback (most recent call last):\n  File \"/srv/api/orders.py\", line 12, in list_orders\nKeyError: 'sku'"}}]}]
        }]}]
    }]});
    let r = app
        .http
        .post(app.url("/v1/traces"))
        .bearer_auth(&server_key)
        .header("content-type", "application/json")
        .body(export.to_string())
        .send()
        .await
        .expect("otlp");
    assert_eq!(r.status(), 200);

    // A PostHog $exception from the browser.
    let r = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": ingest_key, "batch": [{
            "event": "$exception", "distinct_id": "visitor-1",
            "uuid": "0190f3a4-1111-7000-8000-000000000001",
            "properties": {"$exception_list": [{"type": "TypeError", "value": "cart is null",
                "stacktrace": {"frames": [{"filename": "https://shop.example/app.js", "function": "renderCart", "lineno": 40, "in_app": true}]}}],
                "$browser": "Firefox"}
        }]}))
        .send()
        .await
        .expect("posthog");
    assert_eq!(r.status(), 200);

    let list = issues(&app, &admin, "").await;
    assert_eq!(list.len(), 2, "{list:#?}");
    let key = titled(&list, "KeyError");
    assert_eq!(key["last_release"], "2.0.0");
    assert_eq!(key["culprit"], "orders.py in list_orders");
    let ty = titled(&list, "TypeError");
    assert_eq!(ty["users"], 1);
    assert_eq!(issues(&app, &admin, "tag=browser:Firefox").await.len(), 1);

    // A Sentry transaction: the request and its query become spans.
    let t = json!({
        "type": "transaction", "transaction": "/checkout", "transaction_info": {"source": "route"},
        "start_timestamp": now_ns as f64 / 1e9, "timestamp": now_ns as f64 / 1e9 + 0.3,
        "release": "shop@1.0.0", "request": {"method": "POST", "url": "http://shop.example/checkout"},
        "contexts": {"trace": {"trace_id": "1af7651916cd43dd8448eb211c80319c", "span_id": "c7ad6b7169203331", "op": "http.server", "status": "ok"}},
        "spans": [{"span_id": "10f067aa0ba902b7", "parent_span_id": "c7ad6b7169203331", "op": "db",
                   "description": "SELECT 1", "start_timestamp": now_ns as f64 / 1e9, "timestamp": now_ns as f64 / 1e9 + 0.1,
                   "data": {"db.system": "postgresql"}}]
    });
    let payload = t.to_string();
    let body = format!(
        "{{}}\n{}\n{payload}\n",
        json!({"type": "transaction", "length": payload.len()})
    );
    let (status, v) = send(&app, &number, &dsn, body.into_bytes()).await;
    assert_eq!(status, 200, "{v}");
    let (_, routes) = app
        .get("/api/v1/projects/shop/performance/routes?last=1h", &admin)
        .await;
    assert!(
        routes
            .as_array()
            .expect("routes")
            .iter()
            .any(|r| r["route"] == "POST /checkout" && r["service"] == "shop"),
        "{routes}"
    );

    // A grouping rule: every RuntimeError is one issue, whatever its stack.
    let (status, rule) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/support/errors/grouping-rules",
            &admin,
            Some(json!({"matcher": "type", "pattern": "Runtime*", "fingerprint": ["runtime"]})),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/support/errors/grouping-rules",
            &admin,
            Some(json!({"matcher": "colour", "pattern": "x", "fingerprint": ["y"]})),
        )
        .await,
        422,
    );
    for (i, function) in ["a", "b"].iter().enumerate() {
        let mut e = bug("1.0.0", &format!("{i}").repeat(32));
        e["exception"]["values"][0]["stacktrace"]["frames"][0]["function"] = json!(function);
        assert_eq!(send(&app, &number, &dsn, envelope(&dsn, &e)).await.0, 200);
    }
    let list = issues(&app, &admin, "").await;
    assert_eq!(list.len(), 3, "{list:#?}");
    assert_eq!(titled(&list, "RuntimeError")["events"], 2);
    app.stop().await;
}

/// A backlog item's votes and voters.
async fn votes_on(app: &TestApp, admin: &str, item: i64) -> (Option<i64>, Option<i64>) {
    let (_, v) = app
        .get(&format!("/api/v1/projects/shop/backlog/{item}"), admin)
        .await;
    (v["item"]["votes"].as_i64(), v["item"]["voters"].as_i64())
}

/// The CLI's remaining issue commands: grouping rules (added, used,
/// listed, deleted), reopen, link, backlog and alerts.
async fn the_cli_groups_reopens_links_and_alerts(backend: Backend) {
    // The story refreshes the votes itself: the background round must not
    // do it first.
    let app = crate::helpers::spawn_app_with(backend, |c| c.job_tick_ms = 3_600_000).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let dsn = dsn(&app, &admin).await;
    let number = dsn.rsplit('/').next().expect("number").to_owned();

    // A rule groups two kinds of timeout under one fingerprint.
    let out = app.cli(
        &admin,
        &[
            "errors",
            "rule",
            "add",
            "--project",
            "shop",
            "type",
            "Timeout*",
            "timeouts",
        ],
    );
    assert!(
        out.contains("Timeout*") && out.contains("timeouts"),
        "{out}"
    );
    for (i, ty) in ["TimeoutError", "TimeoutWarning"].iter().enumerate() {
        let mut e = bug("2.0.0", &format!("{i}").repeat(32));
        e["exception"]["values"][0]["type"] = json!(ty);
        e["exception"]["values"][0]["stacktrace"]["frames"][0]["function"] = json!(format!("f{i}"));
        let (status, v) = send(&app, &number, &dsn, envelope(&dsn, &e)).await;
        assert_eq!(status, 200, "{v}");
    }
    let list = issues(&app, &admin, "").await;
    assert_eq!(list.len(), 1, "one issue by the rule: {list:#?}");
    assert_eq!(list[0]["events"], 2);
    let out = app.cli(&admin, &["errors", "rule", "list", "--project", "shop"]);
    let id = out
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("a rule's id")
        .to_owned();
    app.cli(
        &admin,
        &["errors", "rule", "delete", "--project", "shop", &id],
    );
    let (_, rules) = app
        .get(
            "/api/v1/projects/shop/support/errors/grouping-rules",
            &admin,
        )
        .await;
    assert_eq!(rules, json!([]));

    // Resolved, then reopened.
    app.cli(&admin, &["errors", "resolve", "--project", "shop", "1"]);
    assert_eq!(issues(&app, &admin, "status=resolved").await.len(), 1);
    let out = app.cli(&admin, &["errors", "reopen", "--project", "shop", "1"]);
    assert!(out.contains("unresolved"), "{out}");
    assert_eq!(issues(&app, &admin, "status=unresolved").await.len(), 1);

    // Linked to a customer's ticket, and made a backlog bug.
    let (status, t) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/support/tickets",
            &admin,
            Some(
                json!({"subject": "It times out", "requester": "cus@example.org", "body": "Slow"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let ticket = t["number"].as_i64().expect("ticket").to_string();
    app.cli(
        &admin,
        &[
            "errors",
            "link",
            "--project",
            "shop",
            "1",
            "ticket",
            &ticket,
        ],
    );
    let out = app.cli(&admin, &["errors", "backlog", "--project", "shop", "1"]);
    let item = out
        .split_whitespace()
        .last()
        .and_then(|n| n.parse::<i64>().ok())
        .expect("the item's number");
    let (_, d) = app
        .get("/api/v1/projects/shop/support/errors/issues/1", &admin)
        .await;
    assert_eq!(d["tickets"], json!([t["number"]]));
    assert_eq!(d["backlog"], json!([item]));
    // A customer the issue reaches later (bea, by e-mail) becomes a vote
    // when the support job next looks, once.
    let mut later = bug("2.0.0", &"9".repeat(32));
    later["fingerprint"] = json!(["timeouts"]);
    later["user"] = json!({"email": "bea@example.com"});
    later["exception"]["values"][0]["type"] = json!("TimeoutError");
    let (status, v) = send(&app, &number, &dsn, envelope(&dsn, &later)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(issues(&app, &admin, "").await.len(), 1, "the same issue");
    assert_eq!(
        votes_on(&app, &admin, item).await,
        (Some(1), Some(1)),
        "ann only"
    );
    let added = liveops_server::support::errors::issues::refresh_votes(&app.state)
        .await
        .expect("refresh votes");
    assert_eq!(added, 1);
    assert_eq!(
        votes_on(&app, &admin, item).await,
        (Some(2), Some(2)),
        "ann and bea"
    );
    let again = liveops_server::support::errors::issues::refresh_votes(&app.state)
        .await
        .expect("refresh votes");
    assert_eq!(again, 0, "each customer votes once");

    // Alerts: spikes set from the CLI, with no integration yet.
    let out = app.cli(
        &admin,
        &[
            "errors",
            "alerts",
            "--project",
            "shop",
            "--spike-events",
            "5",
            "--spike-minutes",
            "10",
        ],
    );
    assert!(out.contains("5 events in 10 min"), "{out}");
    let (_, s) = app
        .get("/api/v1/projects/shop/support/errors/dsn", &admin)
        .await;
    assert_eq!(
        (
            &s["spike_events"],
            &s["spike_minutes"],
            &s["alert_integration"]
        ),
        (&json!(5), &json!(10), &Value::Null)
    );
    app.stop().await;
}

/// A postmortem draft lists the error issues that were new or spiking
/// while the incident lasted, in its facts and its impact section.
async fn a_postmortem_lists_the_issues_of_its_incident(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let dsn = dsn(&app, &admin).await;
    let number = dsn.rsplit('/').next().expect("number").to_owned();
    let mut n = 0;
    let mut event = |ty: &str| {
        n += 1;
        let mut e = bug("3.0.0", &format!("{n:032x}"));
        e["exception"]["values"][0]["type"] = json!(ty);
        envelope(&dsn, &e)
    };
    // Two old bugs, seen once each long before the incident.
    send(&app, &number, &dsn, event("StaleCacheError")).await;
    send(&app, &number, &dsn, event("QuietError")).await;
    app.clock.advance(Duration::from_secs(3600));
    let (status, inc) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Checkout is failing", "severity": "sev2"})),
        )
        .await;
    assert_eq!(status, 201, "{inc}");
    // During it: the old bug spikes, a new one appears.
    for _ in 0..6 {
        send(&app, &number, &dsn, event("StaleCacheError")).await;
    }
    send(&app, &number, &dsn, event("PaymentGatewayError")).await;
    // The other old bug, seen once more, neither new nor spiking: left out.
    send(&app, &number, &dsn, event("QuietError")).await;
    app.clock.advance(Duration::from_secs(120));
    let (status, pm) = app
        .send(
            Method::POST,
            &format!(
                "/api/v1/projects/shop/support/incidents/{}/postmortem",
                inc["number"]
            ),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 201, "{pm}");
    let errors = pm["facts"]["errors"].as_array().expect("errors").clone();
    let seen: Vec<(String, i64, bool)> = errors
        .iter()
        .map(|e| {
            (
                e["title"].as_str().unwrap_or("").to_owned(),
                e["events"].as_i64().unwrap_or(-1),
                e["new"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("StaleCacheError: cart is gone".to_owned(), 6, false),
            ("PaymentGatewayError: cart is gone".to_owned(), 1, true),
        ],
        "{errors:#?}"
    );
    let impact = pm["sections"]["impact"].as_str().expect("impact");
    assert!(
        impact.contains(
            "StaleCacheError: cart is gone: 6 events during the incident (0 in as long before)"
        ) && impact.contains(
            "PaymentGatewayError: cart is gone: 1 events during the incident, first seen then"
        ),
        "{impact}"
    );
    app.stop().await;
}

/// Error events acknowledged by a server killed with SIGKILL (in its spool,
/// filed or not) are all filed, once each, by the server started again on
/// the same data directory.
async fn acknowledged_error_events_survive_kill_9(backend: Backend) {
    use crate::cli::{Place, bootstrap};
    let place = Place::new(backend).await;
    let (slug, admin) = bootstrap(&place);
    let server = place.serve();
    let http = reqwest::Client::new();
    let api = |server: &crate::cli::Server, path: &str| {
        server.url(&format!("/api/v1/projects/{slug}/support/errors/{path}"))
    };
    let dsn: Value = http
        .get(api(&server, "dsn"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("dsn")
        .json()
        .await
        .expect("json");
    let (number, dsn) = (
        dsn["number"].to_string(),
        dsn["dsn"].as_str().expect("dsn").to_owned(),
    );
    let url = server.url(&format!("/api/{number}/envelope/"));
    let auth = format!("Sentry sentry_version=7, sentry_key={}", key_of(&dsn));
    // Four SDKs at once, so that syncs are shared, until the kill.
    let going = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let (http, url, auth, dsn) = (http.clone(), url.clone(), auth.clone(), dsn.clone());
        let going = going.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = 0u64;
            for n in 0..100_000u64 {
                let id = format!("{:032x}", (w + 1) * 1_000_000 + n);
                match http
                    .post(&url)
                    .header("content-type", "application/x-sentry-envelope")
                    .header("x-sentry-auth", &auth)
                    .body(envelope(&dsn, &bug("2.0.0", &id)))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        acked += 1;
                        going.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
            acked
        }));
    }
    let start = std::time::Instant::now();
    while going.load(std::sync::atomic::Ordering::Relaxed) < 300 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the SDKs did not get going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill9();
    let mut acked = 0;
    for w in writers {
        acked += w.await.expect("writer");
    }
    let server = place.serve();
    let list: Value = http
        .get(api(&server, "issues"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("issues")
        .json()
        .await
        .expect("json");
    let list = list.as_array().expect("issues");
    assert_eq!(list.len(), 1, "{list:?}");
    // Every acknowledged event is counted, once; an envelope cut off
    // mid-answer may be there too (at most one per SDK).
    let events = list[0]["events"].as_u64().unwrap_or(0);
    assert!(
        events >= acked && events <= acked + 4,
        "{events} filed, {acked} acknowledged"
    );
    let page: Value = http
        .get(api(&server, &format!("issues/{}", list[0]["number"])))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("issue")
        .json()
        .await
        .expect("json");
    assert_eq!(page["issue"]["events"], list[0]["events"], "{page}");
    // Telemetry holds each of them once too.
    assert_eq!(page["tags"][0]["events"], list[0]["events"], "{page}");
    server.stop();
}

storage_stories!(
    acknowledged_error_events_survive_kill_9,
    a_postmortem_lists_the_issues_of_its_incident,
    the_cli_groups_reopens_links_and_alerts,
    the_node_sdk_groups_bugs_into_issues,
    exceptions_from_every_intake_are_grouped,
    the_python_sdk_groups_bugs_into_issues,
    a_fixed_bug_that_returns_in_a_later_release_regresses,
    bad_envelopes_are_refused_with_a_reason,
);
