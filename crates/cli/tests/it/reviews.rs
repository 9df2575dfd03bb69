//! The post-production story end to end: a deployment, a latency
//! regression that opens an incident, escalation and acknowledgement, a
//! hotfix, and the postmortem drafted from the data — its timeline,
//! suspect deployment and measured impact — with action items in the
//! backlog, its review workflow, exports, and DORA against a hand count.
//!
//! Every test starts from the same drafted postmortem ([`drafted`]) and
//! checks one part of what follows, so one failure hides nothing else.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, shop_with_ingest_key, spawn_app_with, storage_stories,
};

const WEEK_MS: i64 = 7 * 86_400_000;

fn ok(got: (u16, Value), want: u16) -> Value {
    assert_eq!(got.0, want, "{}", got.1);
    got.1
}

/// `n` requests to GET /checkout starting at `start_ms`, each `ms` long, the
/// first `errors` answered 503.
fn checkout_spans(start_ms: i64, n: usize, ms: i64, errors: usize, seed: u64) -> Value {
    let spans: Vec<Value> = (0..n)
        .map(|i| {
            let id = seed * 10_000 + i as u64 + 1;
            let start = start_ms * 1_000_000 + i as i64 * 1_000_000;
            json!({"traceId": format!("{id:032x}"), "spanId": format!("{id:016x}"),
                   "name": "GET /checkout", "kind": 2, "startTimeUnixNano": start.to_string(),
                   "endTimeUnixNano": (start + ms * 1_000_000).to_string(),
                   "attributes": [
                       {"key": "http.route", "value": {"stringValue": "/checkout"}},
                       {"key": "http.request.method", "value": {"stringValue": "GET"}},
                       {"key": "http.response.status_code", "value": {"intValue": if i < errors { 503 } else { 200 }}}]})
        })
        .collect();
    json!({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"spans": spans}]}]})
}

async fn post_spans(app: &TestApp, key: &str, body: Value) {
    let r = app
        .http
        .post(app.url("/v1/traces"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("spans");
    assert_eq!(r.status(), 200);
}

async fn post_events(app: &TestApp, key: &str, events: Vec<(&str, String, i64)>) {
    let batch: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, (name, who, at))| {
            let t = jiff::Timestamp::from_millisecond(*at).expect("time");
            json!({"event": name, "distinct_id": who, "uuid": format!("{at}-{i}-{who}"),
                   "timestamp": t.to_string(), "properties": {}})
        })
        .collect();
    let r = app
        .http
        .post(app.url("/batch/"))
        .header("content-type", "application/json")
        .body(json!({"api_key": key, "batch": batch}).to_string())
        .send()
        .await
        .expect("events");
    assert_eq!(r.status(), 200);
}

fn ms(rfc3339: &Value) -> i64 {
    rfc3339
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
        .unwrap_or_else(|| panic!("not a time: {rfc3339}"))
}

fn at(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .expect("time")
        .to_string()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The API's times are whole seconds; the figures are read from ms.
fn near(v: &Value, want: i64) -> bool {
    v.as_i64().is_some_and(|s| (s - want).abs() <= 1)
}

/// Where the story stands once the job has drafted the postmortem.
struct Story {
    app: TestApp,
    admin: String,
    /// The project's API path.
    p: &'static str,
    t0: i64,
    /// The incident's number, and its API path.
    n: i64,
    inc: String,
    pm_path: String,
    /// The draft as the job left it.
    pm: Value,
    /// The deployment of 1.1.0.
    d11: Value,
    started: i64,
    acked: i64,
    resolved: i64,
}

impl Story {
    /// Two days around the story, as a query.
    fn window(&self) -> String {
        format!(
            "from={}&to={}",
            enc(&at(self.t0 - 86_400_000)),
            enc(&at(self.t0 + 86_400_000))
        )
    }

    /// The timeline entry of the first `kind`.
    fn entry(&self, kind: &str) -> Option<Value> {
        self.pm["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .find(|l| l["kind"] == kind)
            .map(|l| l["entry"].clone())
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(crate::cli::BIN)
            .args(args)
            .env("LIVEOPS_SERVER", &self.app.base)
            .env("LIVEOPS_TOKEN", &self.admin)
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .output()
            .expect("run liveops");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// A deployment, a latency regression that opens an incident, escalation,
/// acknowledgement, a hotfix and the resolution, the telemetry of the
/// window and of the week before, and the job drafting the postmortem.
async fn drafted(backend: Backend) -> Story {
    // The job runs once at start and then not again during the story; the
    // test drives it by hand.
    let app = spawn_app_with(backend, |c| c.job_tick_ms = 3_600_000).await;
    let (admin, key) = shop_with_ingest_key(&app).await;
    let server_key = crate::helpers::server_key(&app, &admin).await;
    let p = "/api/v1/projects/shop";
    let t0 = jiff::Timestamp::now().as_millisecond() / 1000 * 1000;
    // Support: L1 and L2 tiers, a policy, and an integration for the
    // performance rule.
    app.user("ann@example.com", "correct horse battery", false)
        .await;
    let (status, _) = app
        .send(
            Method::PUT,
            &format!("{p}/members/ann@example.com"),
            &admin,
            Some(json!({"role": "responder"})),
        )
        .await;
    assert!(status < 300, "member: {status}");
    ok(
        app.send(
            Method::PUT,
            &format!("{p}/tiers/l1"),
            &admin,
            Some(json!({"members": ["root@example.com"]})),
        )
        .await,
        200,
    );
    ok(
        app.send(
            Method::PUT,
            &format!("{p}/tiers/l2"),
            &admin,
            Some(json!({"members": ["ann@example.com"]})),
        )
        .await,
        200,
    );
    ok(
        app.send(
            Method::POST,
            &format!("{p}/policies"),
            &admin,
            Some(json!({"name": "Default", "repeat": 1, "levels": [
                {"notify": ["tier:l1"], "delay_secs": 600},
                {"notify": ["tier:l2"], "delay_secs": 600}]})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::POST,
            &format!("{p}/integrations"),
            &admin,
            Some(json!({"name": "perf", "kind": "generic", "policy": "Default"})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::POST,
            &format!("{p}/analytics/key-funnels"),
            &admin,
            Some(json!({"name": "checkout", "steps": ["cart", "paid"], "window": "1d"})),
        )
        .await,
        201,
    );

    ok(
        app.send(
            Method::POST,
            &format!("{p}/analytics/features"),
            &admin,
            Some(json!({"name": "One-click pay", "events": ["paid"]})),
        )
        .await,
        201,
    );

    // 1. Deploy 1.1.
    let d11 = ok(
        app.send(
            Method::POST,
            &format!("{p}/deployments"),
            &admin,
            Some(
                json!({"service": "shop", "version": "1.1.0", "deployed_at": at(t0 - 2 * 3_600_000),
                "commits": [{"sha": "abcdef1", "message": "feat: new checkout",
                             "committed_at": at(t0 - 5 * 3_600_000)}]}),
            ),
        )
        .await,
        201,
    );
    // An older deployment of another service, out of the 24-hour window.
    ok(
        app.send(
            Method::POST,
            &format!("{p}/deployments"),
            &admin,
            Some(json!({"service": "auth", "version": "3.0.0", "deployed_at": at(t0 - 30 * 3_600_000)})),
        )
        .await,
        201,
    );

    // 2. A latency regression: slow checkouts trip the rule.
    let now_ms = jiff::Timestamp::now().as_millisecond();
    // Over two minutes ago: rollups are per minute, and the incident window
    // must not share its first minute with them.
    post_spans(
        &app,
        &server_key,
        checkout_spans(now_ms - 150_000, 40, 800, 0, 1),
    )
    .await;
    ok(
        app.send(
            Method::POST,
            &format!("{p}/performance/rules"),
            &admin,
            Some(json!({"name": "slow checkout", "metric": "p95_ms", "threshold": 500,
                "route": "GET /checkout", "window": "5m", "severity": "sev2", "integration": "perf"})),
        )
        .await,
        201,
    );
    let fired = liveops_server::performance::alerts::evaluate(
        &app.state,
        jiff::Timestamp::now().as_millisecond(),
    )
    .await
    .expect("evaluate");
    assert_eq!(fired, 1);
    let open = ok(
        app.get(&format!("{p}/incidents?state=open"), &admin).await,
        200,
    );
    let n = open[0]["number"].as_i64().expect("incident");
    assert_eq!(open[0]["severity"], "sev2");
    let inc = format!("{p}/incidents/{n}");

    // 3. Escalated, then acknowledged.
    ok(
        app.send(
            Method::POST,
            &format!("{inc}/escalate"),
            &admin,
            Some(json!({})),
        )
        .await,
        200,
    );
    ok(
        app.send(
            Method::POST,
            &format!("{inc}/acknowledge"),
            &admin,
            Some(json!({})),
        )
        .await,
        200,
    );

    // 4. A hotfix 1.1.1 ships and is deployed; the incident resolves.
    let hotfix = ok(
        app.send(
            Method::POST,
            &format!("{p}/hotfixes"),
            &admin,
            Some(json!({"incident": n, "version": "1.1.1"})),
        )
        .await,
        201,
    );
    assert_eq!(hotfix["version"], "1.1.1", "{hotfix}");
    ok(
        app.send(
            Method::POST,
            &format!("{p}/releases/1.1.1/state"),
            &admin,
            Some(json!({"state": "shipped"})),
        )
        .await,
        200,
    );
    ok(
        app.send(
            Method::POST,
            &format!("{p}/deployments"),
            &admin,
            Some(json!({"service": "shop", "version": "1.1.1",
                "commits": [{"sha": "abcdef2", "message": "fix: checkout latency",
                             "committed_at": at(t0 - 3_600_000)}]})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::POST,
            &format!("{inc}/resolve"),
            &admin,
            Some(json!({})),
        )
        .await,
        200,
    );
    let detail = ok(app.get(&inc, &admin).await, 200);
    let started = ms(&detail["incident"]["created_at"]);
    let acked = ms(&detail["incident"]["acknowledged_at"]);
    let resolved = ms(&detail["incident"]["resolved_at"]);

    // The telemetry of the incident window (at least a minute from its
    // start) and of the same window a week before.
    let inside = started + 2_000;
    post_spans(&app, &server_key, checkout_spans(inside, 20, 800, 4, 2)).await;
    post_spans(
        &app,
        &server_key,
        checkout_spans(inside - WEEK_MS, 20, 100, 0, 3),
    )
    .await;
    let mut events = Vec::new();
    for u in 1..=6 {
        events.push(("pageview", format!("u{u}"), inside));
    }
    for u in 1..=4 {
        events.push(("cart", format!("u{u}"), inside + 1_000));
    }
    events.push(("paid", "u1".to_owned(), inside + 2_000));
    for u in 1..=10 {
        events.push(("pageview", format!("u{u}"), inside - WEEK_MS));
    }
    for u in 1..=5 {
        events.push(("cart", format!("u{u}"), inside - WEEK_MS + 1_000));
    }
    for u in 1..=4 {
        events.push(("paid", format!("u{u}"), inside - WEEK_MS + 2_000));
    }
    post_events(&app, &key, events).await;
    ok(
        app.send(
            Method::POST,
            &format!("{p}/performance/slos"),
            &admin,
            Some(
                json!({"name": "checkout fast", "kind": "latency", "objective": 0.99,
                "latency_ms": 500, "route": "GET /checkout"}),
            ),
        )
        .await,
        201,
    );

    // The job drafts the postmortem of the resolved SEV2 incident, once.
    assert_eq!(
        liveops_server::reviews::draft_due(&app.state)
            .await
            .expect("draft"),
        1
    );
    assert_eq!(
        liveops_server::reviews::draft_due(&app.state)
            .await
            .expect("draft"),
        0
    );
    assert_problem(
        &app.send(Method::POST, &format!("{inc}/postmortem"), &admin, None)
            .await,
        409,
    );
    let pm_path = format!("{inc}/postmortem");
    let pm = ok(app.get(&pm_path, &admin).await, 200);
    assert_eq!(pm["state"], "draft");

    Story {
        app,
        admin,
        p,
        t0,
        n,
        inc,
        pm_path,
        pm,
        d11,
        started,
        acked,
        resolved,
    }
}

/// People link the cause, star and hide timeline entries, and write
/// sections; returns whether a notification entry was hidden.
async fn shape(s: &Story) -> bool {
    let Story {
        app,
        admin,
        p,
        inc,
        pm_path,
        d11,
        ..
    } = s;
    let window = s.window();
    // People link the cause, star and hide entries, and write sections.
    ok(
        app.send(
            Method::POST,
            &format!("{inc}/links"),
            admin,
            Some(json!({"kind": "deployment", "target": d11["id"]})),
        )
        .await,
        200,
    );
    let refreshed = ok(
        app.send(Method::POST, &format!("{pm_path}/refresh"), admin, None)
            .await,
        200,
    );
    assert_eq!(refreshed["facts"]["suspects"][0]["linked"], true);
    let suggested = ok(
        app.get(&format!("{p}/dora/suggestions?{window}"), admin)
            .await,
        200,
    );
    assert_eq!(suggested, json!([]), "linked incidents need no suggestion");
    let esc = s.entry("escalated").expect("escalated");
    let notified = s.entry("notified");
    let marked = ok(
        app.send(
            Method::POST,
            &format!("{pm_path}/timeline"),
            admin,
            Some(json!({"entry": esc, "mark": "star"})),
        )
        .await,
        200,
    );
    assert!(
        marked["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .any(|l| l["entry"] == esc && l["mark"] == "star")
    );
    if let Some(entry) = &notified {
        ok(
            app.send(
                Method::POST,
                &format!("{pm_path}/timeline"),
                admin,
                Some(json!({"entry": entry, "mark": "hide"})),
            )
            .await,
            200,
        );
    }
    assert_problem(
        &app.send(
            Method::POST,
            &format!("{pm_path}/timeline"),
            admin,
            Some(json!({"entry": "nope", "mark": "star"})),
        )
        .await,
        422,
    );
    assert_problem(
        &app.send(
            Method::POST,
            &format!("{pm_path}/timeline"),
            admin,
            Some(json!({"entry": esc, "mark": "glow"})),
        )
        .await,
        422,
    );
    let edited = ok(
        app.send(
            Method::PATCH,
            pm_path,
            admin,
            Some(json!({"root_causes": "The new checkout queried every cart line.\n\nNo load test covered it.",
                        "went_well": "The p95 rule fired within a minute."})),
        )
        .await,
        200,
    );
    assert!(
        edited["sections"]["root_causes"]
            .as_str()
            .is_some_and(|t| t.contains("\n\nNo load test"))
    );
    assert!(
        edited["sections"]["summary"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_problem(
        &app.send(
            Method::PATCH,
            pm_path,
            admin,
            Some(json!({"trigger": "bell\u{7}"})),
        )
        .await,
        422,
    );

    notified.is_some()
}

/// Two action items, one overdue, each a backlog item; returns the first.
async fn add_actions(s: &Story) -> Value {
    let Story {
        app,
        admin,
        p,
        n,
        pm_path,
        ..
    } = s;
    // 6. Action items become backlog items, linked both ways.
    let a1 = ok(
        app.send(
            Method::POST,
            &format!("{pm_path}/actions"),
            admin,
            Some(
                json!({"kind": "prevent", "title": "Load-test the checkout before release",
                        "owner": "ann@example.com", "due": "2026-01-05"}),
            ),
        )
        .await,
        201,
    );
    assert_eq!(a1["overdue"], true);
    let a2 = ok(
        app.send(
            Method::POST,
            &format!("{pm_path}/actions"),
            admin,
            Some(json!({"kind": "mitigate", "title": "Cache cart lines"})),
        )
        .await,
        201,
    );
    for (bad, why) in [
        (json!({"kind": "blame", "title": "x"}), "kind"),
        (json!({"kind": "process", "title": ""}), "title"),
        (
            json!({"kind": "process", "title": "x", "owner": "nobody@example.com"}),
            "owner",
        ),
        (
            json!({"kind": "process", "title": "x", "due": "soon"}),
            "due",
        ),
    ] {
        let got = app
            .send(
                Method::POST,
                &format!("{pm_path}/actions"),
                admin,
                Some(bad),
            )
            .await;
        assert_eq!(got.0, 422, "{why}: {}", got.1);
    }
    let item = ok(
        app.get(&format!("{p}/backlog/{}", a1["item"]), admin).await,
        200,
    );
    let item = item["item"].clone();
    assert_eq!(item["title"], "Load-test the checkout before release");
    assert_eq!(item["kind"], "tech_debt");
    assert_eq!(item["postmortem"], *n);
    let items = ok(app.get(&format!("{p}/backlog"), admin).await, 200);
    let titles: Vec<&str> = items
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert!(titles.contains(&"Cache cart lines"), "{titles:?}");
    assert_eq!(a2["kind"], "mitigate");
    // The overdue one is reminded once a day, by e-mail to its owner.
    assert_eq!(
        liveops_server::reviews::remind_overdue(&app.state)
            .await
            .expect("remind"),
        1
    );
    assert_eq!(
        liveops_server::reviews::remind_overdue(&app.state)
            .await
            .expect("remind"),
        0
    );

    a1
}

async fn the_postmortem_is_drafted_from_the_data(backend: Backend) {
    let s = drafted(backend).await;
    let Story {
        n,
        pm,
        d11,
        started,
        acked,
        resolved,
        ..
    } = &s;
    // 5. The draft: durations, the suspect deployment, the timeline and
    // the measured impact.
    let f = &pm["facts"];
    assert_eq!(f["severity"], "sev2");
    assert!(
        near(&f["time_to_acknowledge_secs"], (acked - started) / 1000),
        "{f}"
    );
    assert!(
        near(&f["time_to_resolve_secs"], (resolved - started) / 1000),
        "{f}"
    );
    let suspects = f["suspects"].as_array().expect("suspects");
    assert_eq!(suspects.len(), 1, "{f}");
    assert_eq!(suspects[0]["version"], "1.1.0");
    assert_eq!(suspects[0]["deployment"], d11["id"]);
    assert_eq!(suspects[0]["linked"], false);
    let before = suspects[0]["before_secs"].as_i64().expect("before");
    assert!((7_200..7_300).contains(&before), "{before}");
    // 6 people active against 10 a week before; checkout converted 1 of 4
    // against 4 of 5.
    let u = &f["usage"];
    assert_eq!(u["active_users"], 6, "{u}");
    assert_eq!(u["active_users_week_before"], 10);
    assert_eq!(u["change"], -0.4);
    assert_eq!(u["funnels"][0]["name"], "checkout");
    assert_eq!(u["funnels"][0]["conversion"], 0.25);
    assert_eq!(u["funnels"][0]["conversion_week_before"], 0.8);
    // 20 requests in the window, 4 of them errors, all 800 ms; 100 ms a
    // week before.
    let perf = &f["performance"];
    assert_eq!(perf["requests"], 20, "{perf}");
    assert_eq!(perf["errors"], 4);
    assert_eq!(perf["error_rate"], 0.2);
    let p95 = perf["p95_ms"].as_f64().expect("p95");
    assert!((p95 - 800.0).abs() < 800.0 * 0.02, "{p95}");
    let p95_before = perf["p95_ms_week_before"].as_f64().expect("p95 before");
    assert!((p95_before - 100.0).abs() < 100.0 * 0.02, "{p95_before}");
    assert_eq!(perf["error_rate_week_before"], 0.0);
    // The latency SLO: 20 slow requests against a budget of 1 % of the 80
    // requests in its 30 days.
    let budget = &perf["budgets"][0];
    assert_eq!(budget["slo"], "checkout fast");
    assert_eq!(budget["bad"], 20);
    assert_eq!(budget["consumed"], 25.0);
    let summary = pm["sections"]["summary"].as_str().expect("summary");
    assert!(
        summary.starts_with(&format!("SEV2 incident #{n}")),
        "{summary}"
    );
    assert!(summary.contains("shop 1.1.0 went live"), "{summary}");
    let impact = pm["sections"]["impact"].as_str().expect("impact");
    assert!(
        impact.contains("6 during the incident against 10"),
        "{impact}"
    );
    assert!(impact.contains("-40.0 %"), "{impact}");
    assert_eq!(pm["sections"]["root_causes"], "");
    // The timeline: the deployment, then the incident's own events in order.
    let timeline = pm["timeline"].as_array().expect("timeline");
    let kinds: Vec<&str> = timeline.iter().filter_map(|l| l["kind"].as_str()).collect();
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("no {k} in {kinds:?}"))
    };
    assert_eq!(pos("deployment"), 0, "{kinds:?}");
    assert!(pos("triggered") < pos("escalated"), "{kinds:?}");
    assert!(pos("escalated") < pos("acknowledged"), "{kinds:?}");
    assert!(pos("acknowledged") < pos("resolved"), "{kinds:?}");
    assert!(kinds.contains(&"hotfix_shipped"), "{kinds:?}");
    assert_eq!(timeline[0]["text"], "shop 1.1.0 went live");

    s.app.stop().await;
}

async fn dora_suggests_the_cause_until_people_link_it(backend: Backend) {
    let s = drafted(backend).await;
    let Story {
        app,
        admin,
        p,
        n,
        d11,
        ..
    } = &s;
    let window = s.window();
    // DORA suggests linking the incident to 1.1.0, which went live two
    // hours before it started.
    let suggested = ok(
        app.get(&format!("{p}/dora/suggestions?{window}"), admin)
            .await,
        200,
    );
    assert_eq!(suggested.as_array().map(Vec::len), Some(1), "{suggested}");
    assert_eq!(suggested[0]["incident"], *n);
    assert_eq!(suggested[0]["deployment"], d11["id"]);
    assert_eq!(suggested[0]["version"], "1.1.0");
    assert_problem(
        &app.get(&format!("{p}/dora/suggestions?window_hours=0"), admin)
            .await,
        422,
    );
    let listed = s.cli(&["dora", "--project", "shop", "--suggest"]);
    assert!(
        listed.contains(&format!("#{n}")) && listed.contains("shop 1.1.0"),
        "{listed}"
    );
    shape(&s).await;
    s.app.stop().await;
}

async fn action_items_become_backlog_items_and_overdue_ones_are_reminded(backend: Backend) {
    let s = drafted(backend).await;
    add_actions(&s).await;
    s.app.stop().await;
}

async fn a_published_postmortem_is_read_only_and_exports(backend: Backend) {
    let s = drafted(backend).await;
    let hidden = shape(&s).await;
    add_actions(&s).await;
    let Story {
        app,
        admin,
        p,
        n,
        pm_path,
        ..
    } = &s;
    // Review: publishing needs a sign-off; published is read-only.
    let step = |s: &'static str| {
        let app = &app;
        let admin = admin.clone();
        let path = format!("{pm_path}/state");
        async move {
            app.send(Method::POST, &path, &admin, Some(json!({ "step": s })))
                .await
        }
    };
    assert_problem(&step("publish").await, 409);
    assert_eq!(ok(step("submit").await, 200)["state"], "in_review");
    assert_problem(&step("publish").await, 409);
    assert_problem(&step("dance").await, 422);
    let signed = ok(
        app.send(Method::POST, &format!("{pm_path}/sign-off"), admin, None)
            .await,
        200,
    );
    assert_eq!(signed["sign_offs"][0]["reviewer"], "root@example.com");
    let published = ok(step("publish").await, 200);
    assert_eq!(published["state"], "published");
    assert!(published["published_at"].is_string());
    assert_problem(
        &app.send(
            Method::PATCH,
            pm_path,
            admin,
            Some(json!({"summary": "late edit"})),
        )
        .await,
        409,
    );

    // Exports: Markdown, without hidden entries.
    let md = app
        .http
        .get(app.url(&format!("{pm_path}?format=markdown")))
        .bearer_auth(admin)
        .send()
        .await
        .expect("markdown");
    assert_eq!(md.status(), 200);
    assert!(
        md.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/markdown"))
    );
    let md = md.text().await.expect("text");
    assert!(
        md.starts_with(&format!("# Postmortem: incident #{n}")),
        "{md}"
    );
    assert!(md.contains("- Status: published"), "{md}");
    assert!(md.contains("## Root causes\n\nThe new checkout queried every cart line."));
    assert!(md.contains("- shop 1.1.0 deployed"), "{md}");
    assert!(md.contains("linked as the cause"), "{md}");
    assert!(md.contains("| ★ escalated"), "{md}");
    assert!(
        md.contains(
            "Load-test the checkout before release | prevent | ann@example.com | 2026-01-05"
        ),
        "{md}"
    );
    assert!(md.contains("## Sign-off\n\n- root@example.com"), "{md}");
    if hidden {
        assert!(!md.contains("| notified"), "hidden entries stay out: {md}");
    }
    assert_problem(&app.get(&format!("{pm_path}?format=pdf"), admin).await, 422);
    let printed = s.cli(&[
        "review",
        "show",
        "--project",
        "shop",
        &n.to_string(),
        "--markdown",
    ]);
    assert_eq!(printed, md, "the CLI prints the same export");
    let listed = s.cli(&["review", "postmortems", "--project", "shop"]);
    assert!(listed.contains("published"), "{listed}");
    let list = ok(app.get(&format!("{p}/postmortems"), admin).await, 200);
    assert_eq!(list[0]["incident"], *n);
    assert_eq!(list[0]["state"], "published");

    // The print-ready page.
    let (b, html) =
        crate::ui::root_page(&app.base, &format!("/p/shop/reviews/postmortems/{n}")).await;
    assert!(html.contains("Postmortem: "), "{html}");
    assert!(html.contains("Load-test the checkout before release"));
    assert!(html.contains("The new checkout queried every cart line."));
    let list_page = b
        .get(app.url("/p/shop/reviews"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        list_page.contains(&format!("/p/shop/reviews/postmortems/{n}")),
        "{list_page}"
    );

    s.app.stop().await;
}

async fn dora_keys_and_the_post_launch_review(backend: Backend) {
    let s = drafted(backend).await;
    shape(&s).await;
    let Story {
        app,
        admin,
        p,
        t0,
        started,
        resolved,
        ..
    } = &s;
    // 7. DORA over the two days around the story: 1.1.0 and 1.1.1 went to
    // production, 1.1.0 caused the incident.
    let from = at(t0 - 86_400_000);
    let to = at(t0 + 86_400_000);
    let k = ok(
        app.get(
            &format!("{p}/dora?from={}&to={}", enc(&from), enc(&to)),
            admin,
        )
        .await,
        200,
    );
    assert_eq!(k["deployments"], 2, "{k}");
    assert_eq!(k["deployment_frequency"], 1.0);
    assert_eq!(k["frequency_level"], "elite");
    assert_eq!(k["change_failure_rate"], 0.5);
    assert_eq!(k["change_failure_level"], "low");
    // Lead times 3 h and a little over 1 h: the median is their mean.
    let lead = k["lead_time_secs"].as_i64().expect("lead time");
    assert!((7_200..7_260).contains(&lead), "{lead}");
    assert!(
        near(&k["time_to_restore_secs"], (resolved - started) / 1000),
        "{k}"
    );
    assert_eq!(k["time_to_restore_level"], "elite");
    // By day: the same two deployments, each in its day.
    let days = ok(
        app.get(
            &format!(
                "{p}/dora/trends?interval=day&from={}&to={}",
                enc(&from),
                enc(&to)
            ),
            admin,
        )
        .await,
        200,
    );
    let per_day: Vec<i64> = days
        .as_array()
        .expect("periods")
        .iter()
        .filter_map(|d| d["deployments"].as_i64())
        .collect();
    assert_eq!(per_day.len(), 2, "{days}");
    assert_eq!(per_day.iter().sum::<i64>(), 2, "{days}");
    assert_problem(
        &app.get(&format!("{p}/dora/trends?interval=year"), admin)
            .await,
        422,
    );
    let by_day = s.cli(&[
        "dora",
        "--project",
        "shop",
        "--trend",
        "day",
        "--from",
        &from,
        "--to",
        &to,
    ]);
    assert_eq!(by_day.lines().count(), 3, "a header and two days: {by_day}");

    // A post-launch review of 1.1.1's first days names the incident.
    let review = ok(
        app.send(
            Method::POST,
            &format!("{p}/reviews"),
            admin,
            Some(json!({"from": from, "to": to})),
        )
        .await,
        201,
    );
    assert_eq!(review["facts"]["incidents"], 1, "{review}");
    assert_eq!(review["facts"]["major_incidents"], 1);
    assert!(
        review["failed"]
            .as_str()
            .is_some_and(|f| f.contains("1 incident(s), 1 of them SEV1 or SEV2")),
        "{review}"
    );
    // One of the six people active paid with it; nobody had before.
    let adopted = &review["facts"]["adoption"][0];
    assert_eq!(adopted["feature"], "One-click pay", "{review}");
    assert_eq!(adopted["users"], 1);
    assert_eq!(adopted["new"], true);
    assert!(
        review["went_well"]
            .as_str()
            .is_some_and(|w| w.contains("New feature One-click pay reached 16.7 % of active users")),
        "{review}"
    );
    let conv = &review["facts"]["conversions"][0];
    assert_eq!(conv["funnel"], "checkout");
    let rn = review["number"].as_i64().expect("review number");
    let raised = ok(
        app.send(
            Method::POST,
            &format!("{p}/reviews/{rn}/findings"),
            admin,
            Some(json!({"title": "Checkout conversion fell", "kind": "bug"})),
        )
        .await,
        201,
    );
    let raised_item = raised["items"][0]["item"].as_i64().expect("item");
    let item = ok(
        app.get(&format!("{p}/backlog/{raised_item}"), admin).await,
        200,
    );
    let item = item["item"].clone();
    assert_eq!(item["review"], rn);
    assert_problem(
        &app.send(
            Method::POST,
            &format!("{p}/reviews"),
            admin,
            Some(json!({"release": "9.9.9"})),
        )
        .await,
        422,
    );
    assert_problem(
        &app.send(
            Method::POST,
            &format!("{p}/reviews"),
            admin,
            Some(json!({"from": "2026-12-01", "to": "2026-11-01"})),
        )
        .await,
        422,
    );
    s.app.stop().await;
}

storage_stories!(
    the_postmortem_is_drafted_from_the_data,
    dora_suggests_the_cause_until_people_link_it,
    action_items_become_backlog_items_and_overdue_ones_are_reminded,
    a_published_postmortem_is_read_only_and_exports,
    dora_keys_and_the_post_launch_review,
);
