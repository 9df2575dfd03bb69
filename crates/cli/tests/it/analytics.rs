//! Usage analytics end to end: the real PostHog and Segment SDKs from PyPI
//! sending to a running server, ingest refusals, the queries, persons and
//! their deletion, retention, Parquet export, a crash during ingest, and the
//! differential check against DuckDB and ClickHouse (chdb).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::Command;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Place, bootstrap};
use crate::helpers::{
    Backend, TestApp, assert_problem, shop_with_ingest_key, spawn_app, spawn_app_with,
    storage_stories, venv,
};

async fn post_raw(
    app: &TestApp,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (u16, Value, Option<String>) {
    let mut req = app.http.post(app.url(path)).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("post");
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body, retry)
}

fn event(name: &str, who: &str, uuid: &str, at: &str) -> Value {
    json!({"event": name, "distinct_id": who, "uuid": uuid, "timestamp": at, "properties": {"plan": "free"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posthog_and_segment_sdks_deliver_every_event() {
    let app = spawn_app(Backend::Sqlite).await;
    let (admin, key) = shop_with_ingest_key(&app).await;
    let script = r#"
import json, sys
from posthog import Posthog
import segment.analytics as segment

host, key = sys.argv[1], sys.argv[2]
errors = []
ph = Posthog(key, host=host, flush_at=50, gzip=True, on_error=lambda e, batch: errors.append(repr(e)))
ph.capture("$pageview", distinct_id="anon-1", properties={"$current_url": "https://shop.example/"})
for i in range(120):
    ph.capture("viewed item", distinct_id=f"user-{i % 10}", properties={"item": i})
ph.alias(previous_id="user-1", distinct_id="anon-1")
ph.set(distinct_id="user-1", properties={"plan": "pro"})
ph.flush()
ph.shutdown()

sc = segment.Client(write_key=key, host=host, upload_size=20, on_error=lambda e, batch: errors.append(repr(e)))
for i in range(60):
    sc.track(user_id=f"seg-{i % 5}", event="Order Completed", properties={"total": i})
sc.identify(user_id="seg-1", anonymous_id="seg-anon", traits={"email": "one@example.org"})
sc.page(user_id="seg-2", name="Pricing", properties={"url": "https://shop.example/pricing"})
sc.flush()
sc.shutdown()
print(json.dumps({"errors": errors}))
"#;
    crate::helpers::run_sdk_script(script, &app.base, &key).await;

    let (_, names) = app
        .get("/api/v1/projects/shop/analytics/events", &admin)
        .await;
    let counts: HashMap<String, u64> = names
        .as_array()
        .expect("names")
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap_or_default().to_owned(),
                n["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(counts.get("viewed item"), Some(&120), "{counts:?}");
    assert_eq!(counts.get("$pageview"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("Order Completed"), Some(&60), "{counts:?}");
    assert_eq!(counts.get("$create_alias"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("$identify"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("$set"), Some(&1), "{counts:?}");

    // The alias joined anon-1 to user-1's person, with its $set properties.
    let (status, p) = app
        .get("/api/v1/projects/shop/analytics/persons/anon-1", &admin)
        .await;
    assert_eq!(status, 200, "{p}");
    let ids: HashSet<&str> = p["person"]["distinct_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(ids, HashSet::from(["user-1", "anon-1"]));
    assert_eq!(p["person"]["properties"]["plan"], "pro");
    // Segment identify merged the anonymous id and set traits.
    let (_, seg) = app
        .get("/api/v1/projects/shop/analytics/persons/seg-anon", &admin)
        .await;
    assert_eq!(seg["person"]["properties"]["email"], "one@example.org");
    app.stop().await;
}

async fn ingest_keeps_good_events_and_refuses_bad_ones(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.ingest_events_per_sec = 50).await;
    let (admin, key) = shop_with_ingest_key(&app).await;
    let json_ct = [("content-type", "application/json")];
    let t = "2026-11-02T10:00:00Z";
    // One bad event in a batch is named; the good ones are kept.
    let body = json!({"api_key": key, "batch": [
        event("signed up", "u1", "e1", t),
        {"event": "no person"},
        event("signed up", "u2", "e2", t),
    ]});
    let (status, v, _) = post_raw(&app, "/batch/", body.to_string().into(), &json_ct).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 2);
    assert_eq!(v["rejected"][0]["index"], 1);
    assert!(
        v["rejected"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("distinct id"))
    );
    // Sent again (an SDK retry): acknowledged, stored once.
    let (status, _, _) = post_raw(&app, "/batch/", body.to_string().into(), &json_ct).await;
    assert_eq!(status, 200);
    // gzip without a hint, and posthog-js's base64 form with one.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(
        json!([{"event": "clicked", "properties": {"distinct_id": "u3", "token": key}, "uuid": "e3", "timestamp": t}])
            .to_string()
            .as_bytes(),
    )
    .expect("gzip");
    let (status, v, _) = post_raw(&app, "/e/", gz.finish().expect("gzip"), &[]).await;
    assert_eq!(status, 200, "{v}");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(
        json!({"event": "clicked", "distinct_id": "u4", "uuid": "e4", "token": key, "timestamp": t}).to_string(),
    );
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("data", &b64)
        .finish();
    let (status, v, _) = post_raw(
        &app,
        "/e/?compression=base64",
        form.into(),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // Segment with basic auth.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    let (status, v, _) = post_raw(
        &app,
        "/v1/track",
        json!({"userId": "u5", "event": "Paid", "messageId": "e5", "timestamp": t})
            .to_string()
            .into(),
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Basic {basic}")),
        ],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], true);
    // Segment's screen and group calls.
    for (call, body) in [
        (
            "screen",
            json!({"userId": "u5", "name": "Home", "messageId": "e6", "timestamp": t}),
        ),
        (
            "group",
            json!({"userId": "u5", "groupId": "acme", "traits": {"plan": "pro"}, "messageId": "e7", "timestamp": t}),
        ),
    ] {
        let (status, v, _) = post_raw(
            &app,
            &format!("/v1/{call}"),
            body.to_string().into(),
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Basic {basic}")),
            ],
        )
        .await;
        assert_eq!(status, 200, "{call}: {v}");
    }
    // posthog-js: a GET with the payload in `data=`, and a browser's
    // preflight, answered for the caller's origin.
    let get_b64 = base64::engine::general_purpose::STANDARD.encode(
        json!({"event": "viewed", "distinct_id": "u7", "uuid": "e8", "token": key, "timestamp": t})
            .to_string(),
    );
    let resp = app
        .http
        .get(app.url("/e/"))
        .query(&[("data", get_b64.as_str()), ("ip", "1")])
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    let resp = app
        .http
        .request(Method::OPTIONS, app.url("/batch/"))
        .header("origin", "https://shop.example")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://shop.example")
    );

    // Refusals, each clear and storing nothing.
    let keyed_batch = format!("/batch/?api_key={key}");
    let refusals: Vec<(Vec<u8>, &str, u16)> = vec![
        // No key anywhere: refused before the body is parsed.
        (b"{not json".to_vec(), "/batch/", 401),
        (b"{not json".to_vec(), &keyed_batch, 400),
        (json!({"api_key": key, "batch": []}).to_string().into(), "/batch/", 400),
        (json!({"api_key": key, "batch": [{"event": ""}]}).to_string().into(), "/batch/", 400),
        (json!({"batch": [event("x", "u", "z1", t)]}).to_string().into(), "/batch/", 401),
        (json!({"api_key": "lo_ingest_wrong", "batch": [event("x", "u", "z2", t)]}).to_string().into(), "/batch/", 401),
        (json!([{"event": "x", "distinct_id": "u", "token": key}, {"event": "x", "distinct_id": "u", "token": "other"}]).to_string().into(), "/e/", 401),
        (json!({"api_key": key, "batch": [{"event": "x", "distinct_id": "u", "timestamp": "yesterday"}]}).to_string().into(), "/batch/", 400),
        (vec![b'['; 3 * 1024 * 1024], "/e/", 413),
        (json!({"writeKey": key, "batch": [{"type": "track", "userId": "u", "event": "big", "properties": {"x": "y".repeat(600_000)}}]}).to_string().into(), "/v1/batch", 400),
    ];
    for (body, path, want) in refusals {
        let (status, v, _) = post_raw(&app, path, body, &json_ct).await;
        assert_eq!(status, want, "{path}: {v}");
        assert_eq!(v["status"], want, "problem details: {v}");
    }
    // Over the key's rate (50/s, bursts of 100): 429 with Retry-After.
    let many: Vec<Value> = (0..90)
        .map(|i| event("burst", "u6", &format!("b{i}"), t))
        .collect();
    let (status, _, _) = post_raw(
        &app,
        "/batch/",
        json!({"api_key": key, "batch": many}).to_string().into(),
        &json_ct,
    )
    .await;
    assert_eq!(status, 200);
    let more: Vec<Value> = (0..90)
        .map(|i| event("burst", "u6", &format!("c{i}"), t))
        .collect();
    let (status, v, retry) = post_raw(
        &app,
        "/batch/",
        json!({"api_key": key, "batch": more}).to_string().into(),
        &json_ct,
    )
    .await;
    assert_eq!(status, 429, "{v}");
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)));
    // The SDKs' feature-flag calls get a harmless empty answer.
    for path in ["/decide/?v=3", "/flags/?v=2"] {
        let (status, v, _) = post_raw(
            &app,
            path,
            json!({"api_key": key, "distinct_id": "u1"})
                .to_string()
                .into(),
            &json_ct,
        )
        .await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(v["featureFlags"], json!({}));
    }
    let (_, names) = app
        .get("/api/v1/projects/shop/analytics/events", &admin)
        .await;
    let total: u64 = names
        .as_array()
        .expect("names")
        .iter()
        .map(|n| n["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 2 + 1 + 1 + 1 + 2 + 1 + 90, "{names}");
    for name in ["$screen", "$groupidentify", "viewed"] {
        assert!(
            names
                .as_array()
                .expect("names")
                .iter()
                .any(|n| n["name"] == name),
            "{name}: {names}"
        );
    }
    app.stop().await;
}

/// A small, fixed history: who did what, in days and hours after
/// 2026-11-02 (a Monday).
fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn story() -> Vec<Value> {
    const MONDAY: i64 = 1_793_577_600;
    let at = |d: i64, h: i64| {
        jiff::Timestamp::from_second(MONDAY + d * 86_400 + h * 3600)
            .expect("time")
            .to_string()
    };
    let steps: &[(&str, &str, i64, i64)] = &[
        // ann: the whole funnel in one day; back in weeks 1 and 2.
        ("visit", "ann", 0, 1),
        ("signup", "ann", 0, 2),
        ("trial", "ann", 0, 3),
        ("pay", "ann", 0, 4),
        ("visit", "ann", 8, 1),
        ("visit", "ann", 15, 1),
        // bob: stops after signing up, and asks for help.
        ("visit", "bob", 0, 5),
        ("signup", "bob", 0, 6),
        ("help", "bob", 0, 7),
        // cat: pays, but 19 days after her visit.
        ("visit", "cat", 1, 1),
        ("signup", "cat", 1, 2),
        ("trial", "cat", 2, 2),
        ("visit", "cat", 9, 9),
        ("pay", "cat", 20, 2),
        // dan: visits anonymously, is identified, signs up.
        ("visit", "anon-dan", 7, 1),
        ("signup", "dan", 7, 3),
    ];
    let mut out: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(n, (e, who, d, h))| {
            // Where each first visit came from, and what each payment was.
            let properties = match (*e, *who, *d) {
                ("visit", "ann", 0) | ("visit", "cat", 1) => json!({"utm_source": "ads"}),
                ("visit", "bob", _) => json!({"utm_source": "blog"}),
                ("pay", "ann", _) => json!({"amount": 30, "coupon": "NOV"}),
                ("pay", "cat", _) => json!({"amount": "5"}),
                _ => json!({}),
            };
            json!({"event": e, "distinct_id": who, "uuid": format!("s{n}"), "timestamp": at(*d, *h),
                "properties": properties})
        })
        .collect();
    out.push(
        json!({"event": "$identify", "distinct_id": "dan", "uuid": "s-id", "timestamp": at(7, 2),
        "properties": {"$anon_distinct_id": "anon-dan"}, "$set": {"plan": "pro"}}),
    );
    out
}

async fn queries_answer_from_the_events(backend: Backend) {
    queries_answer_on(spawn_app(backend).await).await;
}

/// The same story with the events in ClickHouse (Debian's server, started
/// for the story): every answer the API gives is the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_answer_from_the_events_in_clickhouse() {
    use liveops_telemetry::clickhouse::testing::{Server, server_here};
    if !server_here() {
        return;
    }
    let server = tokio::task::spawn_blocking(Server::start)
        .await
        .expect("start clickhouse");
    let url = server.url();
    let app = spawn_app_with(Backend::Sqlite, move |c| {
        c.clickhouse_url = Some(liveops_server::config::Secret::new(url));
    })
    .await;
    queries_answer_on(app).await;
    drop(server);
}

async fn queries_answer_on(app: TestApp) {
    let (admin, key) = shop_with_ingest_key(&app).await;
    let (status, v, _) = post_raw(
        &app,
        "/batch/",
        json!({"api_key": key, "batch": story()}).to_string().into(),
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let range = json!({"from": "2026-11-02", "to": "2026-12-01"});
    let funnel = |extra: Value| {
        let (app, admin) = (&app, admin.clone());
        let mut body = json!({"steps": ["visit", "signup", "trial", "pay"], "from": range["from"], "to": range["to"]});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        async move {
            app.send(
                Method::POST,
                "/api/v1/projects/shop/analytics/funnel",
                &admin,
                Some(body),
            )
            .await
        }
    };
    let (status, f) = funnel(json!({"dropoff_after": 2})).await;
    assert_eq!(status, 200, "{f}");
    let reached: Vec<u64> = f["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["persons"].as_u64().unwrap_or(0))
        .collect();
    // ann, bob, cat, dan visit; ann, bob, cat, dan sign up; ann and cat
    // trial; only ann pays within 14 days.
    assert_eq!(reached, vec![4, 4, 2, 1]);
    assert_eq!(f["steps"][1]["median_secs"], 3600.0);
    assert_eq!(f["dropoff"]["persons"], 2);
    assert_eq!(f["dropoff"]["next_events"][0]["event"], "help");
    // After signing up, bob asked for help; dan did nothing more.
    assert_eq!(
        f["dropoff"]["paths"],
        json!([{"events": [], "persons": 1}, {"events": ["help"], "persons": 1}]),
        "{f}"
    );
    let (_, deep) = funnel(json!({"dropoff_after": 1, "steps": ["visit", "trial"]})).await;
    // bob and dan never trialled: bob signed up and asked for help, dan
    // was identified and signed up.
    assert_eq!(
        deep["dropoff"]["paths"],
        json!([{"events": ["$identify", "signup"], "persons": 1}, {"events": ["signup", "help"], "persons": 1}]),
        "{deep}"
    );
    let (_, wide) = funnel(json!({"window": "30d"})).await;
    assert_eq!(wide["steps"][3]["persons"], 2);
    let (_, strict) = funnel(json!({"order": "strict"})).await;
    assert_eq!(
        strict["steps"][1]["persons"], 3,
        "dan's visit and signup have $identify between"
    );
    let (_, excl) =
        funnel(json!({"exclusions": [{"event": "help", "after_step": 2, "before_step": 3}]})).await;
    assert_eq!(excl["excluded"], 1);
    assert_eq!(excl["steps"][0]["persons"], 3);
    // By the step-1 event's property: ann's and cat's paths began with a
    // visit from ads, bob's from the blog, dan's with no source.
    let (status, src) = funnel(json!({"breakdown": "utm_source"})).await;
    assert_eq!(status, 200, "{src}");
    let firsts: Vec<(String, u64, u64)> = src["breakdown"]
        .as_array()
        .expect("breakdown")
        .iter()
        .map(|b| {
            (
                b["value"].as_str().unwrap_or("").to_owned(),
                b["steps"][0]["persons"].as_u64().unwrap_or(0),
                b["steps"][3]["persons"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        firsts,
        vec![
            ("ads".to_owned(), 2, 1),
            ("(none)".to_owned(), 1, 0),
            ("blog".to_owned(), 1, 0)
        ]
    );
    assert_problem(
        &funnel(json!({"breakdown": "x", "breakdown_type": "group"})).await,
        422,
    );
    let (_, by) = funnel(json!({"breakdown": "plan", "breakdown_type": "person"})).await;
    assert!(
        by["breakdown"].as_array().is_some_and(|b| b
            .iter()
            .any(|x| x["value"] == "pro" && x["steps"][0]["persons"] == 1)),
        "{by}"
    );
    assert_problem(&funnel(json!({"order": "sideways"})).await, 422);
    assert_problem(&funnel(json!({"window": "forever"})).await, 422);
    assert_problem(&funnel(json!({"steps": []})).await, 422);

    // Weekly first-time retention of "visit": week 0 has ann, bob, cat; dan in week 1.
    let (status, r) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/analytics/retention",
            &admin,
            Some(json!({"start_event": "visit", "interval": "week", "from": "2026-11-02", "periods": 3})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["cohorts"][0]["counts"], json!([3, 2, 1]));
    assert_eq!(r["cohorts"][1]["counts"], json!([1, 0]));

    let (status, a) = app
        .get(
            "/api/v1/projects/shop/analytics/active?from=2026-11-02&to=2026-11-10",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let dau: Vec<u64> = a
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d["dau"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(dau, vec![2, 1, 1, 0, 0, 0, 0, 1]);
    // Days 1 to 7: cat (days 1 and 2) and dan (day 7).
    assert_eq!(a[7]["wau"], 2);
    assert_eq!(a[7]["mau"], 4);

    let (status, t) = app
        .get("/api/v1/projects/shop/analytics/trends?event=visit&interval=week&from=2026-11-02&to=2026-11-23", &admin)
        .await;
    assert_eq!(status, 200, "{t}");
    let weekly: Vec<u64> = t["series"][0]["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["events"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(weekly, vec![3, 3, 1]);
    assert_eq!(
        t["series"][0]["points"][1]["persons"], 3,
        "ann, cat and dan (anon) in week 1"
    );
    // Property filters beyond equality.
    let paid = |filter: &'static str| {
        let (app, admin) = (&app, admin.clone());
        let path = format!(
            "/api/v1/projects/shop/analytics/trends?event=pay&interval=month&from=2026-11-01&to=2026-12-01&where={}",
            urlencode(filter)
        );
        async move {
            let (status, v) = app.get(&path, &admin).await;
            assert_eq!(status, 200, "{filter}: {v}");
            v["series"][0]["points"][0]["events"].as_u64().unwrap_or(99)
        }
    };
    assert_eq!(paid("amount>10").await, 1);
    assert_eq!(paid("amount<=5").await, 1);
    assert_eq!(paid("amount>=5;amount<100").await, 2);
    assert_eq!(paid("coupon?").await, 1);
    assert_eq!(paid("coupon!?").await, 1);
    assert_eq!(paid("coupon!=NOV").await, 1, "cat has no coupon");
    assert_eq!(paid("coupon~nov").await, 1);
    assert_eq!(paid("coupon=~^N.V$").await, 1);
    assert_eq!(paid("coupon!~o").await, 1);
    for bad in ["amount>lots", "coupon=~(", "coupon"] {
        let (status, v) = app
            .get(
                &format!(
                    "/api/v1/projects/shop/analytics/trends?where={}",
                    urlencode(bad)
                ),
                &admin,
            )
            .await;
        assert_eq!(status, 422, "{bad}: {v}");
    }

    // Features: adoption among the range's active people.
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/analytics/features",
            &admin,
            Some(json!({"name": "Checkout", "events": ["pay", "trial"]})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, u) = app
        .get(
            "/api/v1/projects/shop/analytics/features/usage?from=2026-11-02&to=2026-12-01",
            &admin,
        )
        .await;
    assert_eq!(u["active_users"], 4);
    assert_eq!(u["features"][0]["users"], 2);
    assert_eq!(u["features"][0]["adoption"], 0.5);

    // Export, then a GDPR deletion of bob.
    let resp = app
        .http
        .get(app.url("/api/v1/projects/shop/analytics/export"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("export");
    assert_eq!(resp.status(), 200);
    let parquet = resp.bytes().await.expect("bytes");
    assert!(parquet.starts_with(b"PAR1"), "a Parquet file");
    let (status, d) = app
        .send(
            Method::DELETE,
            "/api/v1/projects/shop/analytics/persons/bob",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["events_deleted"], 3);
    assert_problem(
        &app.send(
            Method::DELETE,
            "/api/v1/projects/shop/analytics/persons/bob",
            &admin,
            None,
        )
        .await,
        404,
    );
    let (_, f) = funnel(json!({})).await;
    assert_eq!(f["steps"][0]["persons"], 3);

    // Retention: events older than the limit go, without stopping ingest.
    let (status, _) = app
        .send(
            Method::PUT,
            "/api/v1/projects/shop/analytics/settings",
            &admin,
            Some(json!({"retention_days": 1})),
        )
        .await;
    assert_eq!(status, 200);
    assert_problem(
        &app.send(
            Method::PUT,
            "/api/v1/projects/shop/analytics/settings",
            &admin,
            Some(json!({"retention_days": 0})),
        )
        .await,
        422,
    );
    let dropped = liveops_server::scaling::retention::enforce(&app.state)
        .await
        .expect("expire");
    assert_eq!(dropped, 14, "every story event left is older than a day");
    let (_, names) = app
        .get("/api/v1/projects/shop/analytics/events", &admin)
        .await;
    assert_eq!(names, json!([]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_kill_9() {
    let place = Place::new(Backend::Sqlite).await;
    let acked = ingest_until_killed(&place, place.serve()).await;
    // The restarted server replays DuckDB's log; after a clean stop, read the file.
    place.serve().stop();
    let conn = duckdb::Connection::open(place.data_dir().join("telemetry.duckdb")).expect("open");
    let mut stmt = conn
        .prepare("SELECT uuid FROM analytics_events")
        .expect("prepare");
    let stored: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    all_kept_once(&acked, &stored);
}

/// The same with the events in ClickHouse: what a node acknowledged is in
/// ClickHouse after the node died.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_kill_9_in_clickhouse() {
    use liveops_telemetry::clickhouse::ClickHouse;
    use liveops_telemetry::clickhouse::testing::{Server, server_here};
    if !server_here() {
        return;
    }
    let clickhouse = tokio::task::spawn_blocking(Server::start)
        .await
        .expect("start clickhouse");
    let place = Place::new(Backend::Sqlite).await;
    let serve = |place: &Place| {
        let mut cmd = place.cmd(&["serve", "--listen", "127.0.0.1:0"]);
        cmd.env("LIVEOPS_CLICKHOUSE_URL", clickhouse.url());
        crate::cli::serve_with(cmd)
    };
    let acked = ingest_until_killed(&place, serve(&place)).await;
    #[derive(serde::Deserialize)]
    struct Row {
        uuid: String,
    }
    let url = clickhouse.url();
    let stored: Vec<String> = tokio::task::spawn_blocking(move || {
        ClickHouse::connect(
            &url,
            None,
            &[],
            Duration::from_secs(60),
            Duration::from_secs(60),
        )
        .expect("connect")
        .client()
        .rows::<Row>("SELECT uuid FROM events")
        .expect("uuids")
    })
    .await
    .expect("join")
    .into_iter()
    .map(|r| r.uuid)
    .collect();
    all_kept_once(&acked, &stored);
    // A node started again answers from the same rows.
    serve(&place).stop();
}

/// Every acknowledged event is stored, and none twice.
fn all_kept_once(acked: &[String], stored: &[String]) {
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "no event stored twice");
    let missing: Vec<&String> = acked.iter().filter(|id| !unique.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

/// Four writers send batches to `server` until it is killed with SIGKILL
/// mid-stream; returns the ids of every event it acknowledged.
async fn ingest_until_killed(place: &Place, server: crate::cli::Server) -> Vec<String> {
    let (slug, admin) = bootstrap(place);
    let http = reqwest::Client::new();
    let key: Value = http
        .post(server.url(&format!("/api/v1/projects/{slug}/ingest-key")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let key = key["ingest_key"].as_str().expect("key").to_owned();
    let url = server.url("/batch/");
    let mut writers = Vec::new();
    let going = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for w in 0..4 {
        let (http, url, key) = (http.clone(), url.clone(), key.clone());
        let going = going.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for round in 0.. {
                let ids: Vec<String> = (0..50).map(|i| format!("w{w}-{round}-{i}")).collect();
                let batch: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"event": "tick", "distinct_id": format!("writer-{w}"), "uuid": id}))
                    .collect();
                match http.post(&url).json(&json!({"api_key": key, "batch": batch})).send().await {
                    Ok(r) if r.status() == 200 => {
                        going.fetch_add(ids.len(), std::sync::atomic::Ordering::Relaxed);
                        acked.extend(ids);
                    }
                    _ => break,
                }
            }
            acked
        }));
    }
    // Once the writers are well under way, no graceful shutdown: whatever
    // was acknowledged must be on disk.
    let start = std::time::Instant::now();
    while going.load(std::sync::atomic::Ordering::Relaxed) < 1000 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the writers did not get going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill9();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.expect("writer"));
    }
    assert!(
        acked.len() > 200,
        "the writers got going ({} acked)",
        acked.len()
    );
    acked
}

/// Deterministic pseudo-random numbers (xorshift), so the data set is the
/// same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Funnels, DAU/WAU/MAU and weekly retention give exactly what ClickHouse's
/// `windowFunnel` (chdb) and plain SQL in DuckDB give over the same events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_match_duckdb_and_clickhouse() {
    // A differential test, not a rate test: the key's limit is lifted.
    let app = spawn_app_with(Backend::Sqlite, |c| c.ingest_events_per_sec = 1_000_000).await;
    let (admin, key) = shop_with_ingest_key(&app).await;
    let start = 1_793_577_600_i64; // 2026-11-02T00:00:00Z, a Monday
    let names = ["visit", "signup", "trial", "pay", "help"];
    let mut rng = Rng(0x5eed_1234_abcd);
    let mut events = Vec::new();
    for person in 0..1500 {
        let n = 1 + rng.below(30);
        // Some persons start anonymous and identify later.
        let anon = person % 7 == 0;
        for i in 0..n {
            let who = if anon && i < n / 2 {
                format!("anon-{person}")
            } else {
                format!("p{person}")
            };
            // Whole seconds, so ClickHouse's DateTime sees the same order.
            let at = start + rng.below(45 * 86_400) as i64;
            // Earlier funnel steps are more common.
            let name = names[(rng.below(5) * rng.below(5) / 4) as usize % 5];
            events.push(
                json!({"event": name, "distinct_id": who, "uuid": format!("d{person}-{i}"),
                "timestamp": jiff::Timestamp::from_second(at).expect("t").to_string()}),
            );
        }
        if anon {
            events.push(json!({"event": "$identify", "distinct_id": format!("p{person}"), "uuid": format!("id{person}"),
                "properties": {"$anon_distinct_id": format!("anon-{person}")},
                "timestamp": jiff::Timestamp::from_second(start + 46 * 86_400).expect("t").to_string()}));
        }
    }
    for chunk in events.chunks(1000) {
        let (status, v, _) = post_raw(
            &app,
            "/batch/",
            json!({"api_key": key, "batch": chunk}).to_string().into(),
            &[("content-type", "application/json")],
        )
        .await;
        assert_eq!(status, 200, "{v}");
    }
    let resp = app
        .http
        .get(app.url("/api/v1/projects/shop/analytics/export"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("export");
    let dir = tempfile::tempdir().expect("tempdir");
    let parquet = dir.path().join("events.parquet");
    std::fs::write(&parquet, resp.bytes().await.expect("bytes")).expect("write");

    let (from, to) = ("2026-11-05", "2026-12-10");
    let from_ms = (start + 3 * 86_400) * 1000;
    let to_ms = (start + 38 * 86_400) * 1000;
    let retention_from = start * 1000;
    let out = tokio::task::spawn_blocking({
        let parquet = parquet.clone();
        move || {
            Command::new(venv().join("bin").join("python"))
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../scripts/analytics_reference.py"
                ))
                .arg(&parquet)
                .args(["--steps", "visit,signup,trial,pay"])
                .args([
                    "--from-ms",
                    &from_ms.to_string(),
                    "--to-ms",
                    &to_ms.to_string(),
                ])
                .args([
                    "--retention-event",
                    "visit",
                    "--retention-from-ms",
                    &retention_from.to_string(),
                ])
                .args(["--periods", "6"])
                .output()
                .expect("run the reference script")
        }
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Value = serde_json::from_slice(&out.stdout).expect("reference json");

    let (_, f) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/analytics/funnel",
            &admin,
            Some(json!({"steps": ["visit", "signup", "trial", "pay"], "window": "14d", "from": from, "to": to})),
        )
        .await;
    let got: Vec<u64> = f["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["persons"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(json!(got), want["funnel"], "funnel against windowFunnel");
    assert!(
        got[0] > 500 && got[3] > 10,
        "a funnel with people in it: {got:?}"
    );

    let (_, a) = app
        .get(
            &format!("/api/v1/projects/shop/analytics/active?from={from}&to={to}"),
            &admin,
        )
        .await;
    for (measure, key) in [("dau", "dau"), ("wau", "wau"), ("mau", "mau")] {
        let got: Vec<u64> = a
            .as_array()
            .expect("days")
            .iter()
            .map(|d| d[key].as_u64().unwrap_or(0))
            .collect();
        assert_eq!(json!(got), want[measure], "{measure} against DuckDB SQL");
    }
    let (_, r) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/analytics/retention",
            &admin,
            Some(json!({"start_event": "visit", "interval": "week", "from": "2026-11-02", "periods": 6})),
        )
        .await;
    let got: Vec<Value> = r["cohorts"]
        .as_array()
        .expect("cohorts")
        .iter()
        .map(|c| c["counts"].clone())
        .collect();
    assert_eq!(
        json!(got),
        want["retention"],
        "weekly retention against DuckDB SQL"
    );
    app.stop().await;
}

storage_stories!(
    ingest_keeps_good_events_and_refuses_bad_ones,
    queries_answer_from_the_events,
);
