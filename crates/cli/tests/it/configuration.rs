//! Configuration as a file: `liveops apply -f` makes a project match a YAML
//! file with every kind of setting, idempotently and all-or-nothing;
//! `--dry-run` only plans; deleting needs `--prune`; `export-config` writes
//! a file that applies as no change and exports again byte for byte; and
//! one setting can be set or deleted by name.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_with, storage_stories};

const FILE: &str = r#"
project: shop
components:
  - name: Checkout
    description: Paying for things
  - name: Search
schedules:
  - name: Primary
    time_zone: Europe/Berlin
    layers:
      - members: [ann@example.com, bob@example.com]
        start: 2026-01-05T09:00
        shift: 1w
      - members: [Bob@Example.com]
        start: 2026-01-03T09:00
        shift: 1d
        days: [sat, sun]
        from: "09:00"
        to: "17:00"
tiers:
  - tier: l1
    schedule: Primary
  - tier: L2
    members: [bob@example.com, ann@example.com]
policies:
  - name: Default
    levels:
      - notify: [schedule:Primary]
        delay_secs: 300
      - notify: [tier:l2, user:bob@example.com]
        delay_secs: 600
    repeat: 1
    ack_timeout_secs: 1800
integrations:
  - name: Alertmanager
    kind: alertmanager
    policy: Default
    component: Checkout
    default_severity: sev2
hooks:
  - kind: webhook
    url: http://127.0.0.1:9/hooks/ops-room-0123456789abcdef0123
slos:
  - name: Checkout availability
    kind: availability
    objective: 0.999
    service: shop
    integration: Alertmanager
alert_rules:
  - name: Slow checkout
    metric: p95_ms
    threshold: 800
    for: 300s
    service: shop
    route: POST /checkout
capacity:
  - service: shop
    metric: requests
    capacity: 1200
    replicas: 3
retention:
  - kind: spans
    days: 14
key_funnels:
  - name: Signup
    steps: [visited, signed_up, "paid|trial_started"]
    window: 7d
trains:
  - name: Weekly
    cadence: weekly
    first_release: 2026-12-10
credentials:
  - name: stripe
    kind: api_key
    owner: ann@example.com
    system: stripe
    expires_at: 2027-06-01
error_alerts:
  - integration: Alertmanager
    on_new: true
    notify: L1
    spike_events: 50
    spike_percent: 5
    severities: error=sev3, fatal=SEV1
grouping_rules:
  - matcher: type
    pattern: Timeout*
    fingerprint: [timeouts]
revenue:
  - base_currency: usd
    property: amount
revenue_rates:
  - currency: eur
    date: 2026-01-01
    rate: 1.1
cohorts:
  - name: Pro
    kind: property
    where: plan=pro
  - name: Regulars
    kind: behavioural
    event: $pageview
    min_count: 2
    days: 7
  - name: VIP
    kind: static
    distinct_ids: [zed, uma, zed]
insights:
  - name: Daily orders
    kind: trends
    query:
      series: [{event: order}]
      in_cohort: Pro
    goal: {op: ">=", target: 50}
    alert: {condition: above, value: 40, tier: L1}
  - name: Signup funnel
    kind: funnel
    query: {steps: [visited, signed_up]}
dashboards:
  - name: Growth
    days: 30
    in_cohort: Regulars
    tiles:
      - insight: Daily orders
        width: 2
      - insight: Signup funnel
"#;

/// Runs the CLI, which must fail; its exit status and standard error.
fn cli_fails(app: &TestApp, token: &str, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(crate::cli::BIN)
        .args(args)
        .env("LIVEOPS_SERVER", &app.base)
        .env("LIVEOPS_TOKEN", token)
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .expect("run liveops");
    assert!(!out.status.success(), "{args:?} succeeded");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p.to_string_lossy().into_owned()
}

fn plan(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn changes(p: &Value) -> Vec<String> {
    p["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            format!(
                "{} {}/{}",
                c["action"].as_str().unwrap_or("?"),
                c["kind"].as_str().unwrap_or("?"),
                c["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

async fn applies(app: &TestApp, count_of: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM audit_log WHERE action = '{count_of}'"
    ))
    .fetch_one(app.state.db.pool())
    .await
    .expect("count")
}

/// The analytics part of the file, as the API shows it.
async fn analytics_settings_were_made(app: &TestApp, admin: &str) {
    let api = "/api/v1/projects/shop/analytics";
    let (_, settings) = app.get(&format!("{api}/revenue/settings"), admin).await;
    assert_eq!(settings["base_currency"], "USD", "{settings}");
    assert_eq!(settings["revenue_property"], "amount", "{settings}");
    let (_, vip) = app.get(&format!("{api}/cohorts/VIP"), admin).await;
    assert_eq!(vip["cohort"]["listed"], 2, "zed once, and uma: {vip}");
    let (status, growth) = app.get(&format!("{api}/dashboards/Growth"), admin).await;
    assert_eq!(status, 200, "{growth}");
    let orders = &growth["tiles"][0];
    assert_eq!(orders["goal"]["target"], 50.0, "{growth}");
    assert_eq!(orders["alert"]["tier"], "l1", "{growth}");
    assert_eq!(orders["alert"]["severity"], "sev3", "{growth}");
    assert_eq!(growth["dashboard"]["in_cohort"], "Regulars", "{growth}");
    let tiles: Vec<(&str, i64)> = growth["tiles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["insight"]["name"].as_str().unwrap_or(""),
                t["width"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        tiles,
        [("Daily orders", 2), ("Signup funnel", 1)],
        "{growth}"
    );
}

async fn apply_round_trips_every_kind(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    let admin = app.token(&root, &shop, "read,write,admin").await;
    for name in ["ann", "bob"] {
        app.responder(&shop, name).await;
    }
    let file = write(dir.path(), "liveops.yaml", FILE);

    // A dry run plans every object and makes none of them.
    let dry = plan(&app.cli(
        &admin,
        &["--format", "json", "apply", "-f", &file, "--dry-run"],
    ));
    assert_eq!(dry["applied"], false, "{dry}");
    let planned = changes(&dry);
    for want in [
        "create components/Checkout",
        "create schedules/Primary",
        "create tiers/l1",
        "create tiers/l2",
        "create policies/Default",
        "create integrations/Alertmanager",
        "create slos/Checkout availability",
        "create alert_rules/Slow checkout",
        "create capacity/shop/requests",
        "create retention/spans",
        "create key_funnels/Signup",
        "create trains/Weekly",
        "create credentials/stripe",
        "create error_alerts/errors",
        "create grouping_rules/type:Timeout*",
        "create revenue/revenue",
        "create revenue_rates/EUR@2026-01-01",
        "create cohorts/Pro",
        "create cohorts/Regulars",
        "create cohorts/VIP",
        "create insights/Daily orders",
        "create insights/Signup funnel",
        "create dashboards/Growth",
    ] {
        assert!(planned.iter().any(|c| c == want), "{want} in {planned:?}");
    }
    let (_, schedules) = app
        .get("/api/v1/projects/shop/support/schedules", &admin)
        .await;
    assert_eq!(schedules, json!([]), "a dry run made something");
    assert_eq!(applies(&app, "configuration.apply").await, 0);

    // The real run makes them, in one change, and shows the new
    // integration's URL once; the URL takes Alertmanager's alerts.
    let made = plan(&app.cli(&admin, &["--format", "json", "apply", "-f", &file]));
    assert_eq!(made["applied"], true, "{made}");
    assert_eq!(changes(&made), planned);
    assert_eq!(applies(&app, "configuration.apply").await, 1);
    let note = made["changes"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "Alertmanager"))
        .and_then(|c| c["note"].as_str())
        .expect("the integration's URL");
    let url_path = note
        .split_whitespace()
        .find(|w| w.starts_with("/ingest/alerts/"))
        .expect("a URL in the note");
    let resp = app
        .http
        .request(Method::POST, app.url(url_path))
        .json(&json!({"version": "4", "status": "firing", "receiver": "liveops",
                "groupKey": "{}:{alertname=\"HighLatency\"}", "groupLabels": {}, "commonLabels": {},
                "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
                "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "severity": "critical"},
                    "annotations": {"summary": "p95 above 2s"}, "startsAt": "2026-12-06T10:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a1b2c3"}]}))
        .send()
        .await
        .expect("alert");
    let (status, body) = crate::helpers::status_json(resp).await;
    assert!((200..300).contains(&status), "{status}: {body}");
    // The address can be shown again, and replaced: the old one then
    // takes nothing.
    let again = plan(&app.cli(
        &admin,
        &[
            "--format",
            "json",
            "oncall",
            "integration",
            "address",
            "--project",
            "shop",
            "Alertmanager",
        ],
    ));
    assert_eq!(again["url_path"], url_path, "{again}");
    let fresh = plan(&app.cli(
        &admin,
        &[
            "--format",
            "json",
            "oncall",
            "integration",
            "address",
            "--project",
            "shop",
            "Alertmanager",
            "--new",
        ],
    ));
    let fresh_path = fresh["url_path"].as_str().expect("new address").to_owned();
    assert_ne!(fresh_path, url_path);
    let alert = json!({"version": "4", "status": "firing", "receiver": "liveops",
        "groupKey": "{}:{alertname=\"Again\"}", "groupLabels": {}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{"status": "firing", "labels": {"alertname": "Again"},
            "annotations": {"summary": "again"}, "startsAt": "2026-12-06T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "d00d"}]});
    for (path, works) in [(url_path, false), (fresh_path.as_str(), true)] {
        let resp = app
            .http
            .post(app.url(path))
            .json(&alert)
            .send()
            .await
            .expect("alert");
        assert_eq!(
            resp.status().is_success(),
            works,
            "{path}: {}",
            resp.status()
        );
    }
    let (_, tiers) = app.get("/api/v1/projects/shop/scaling/tiers", &admin).await;
    assert!(
        tiers.to_string().contains("\"schedule\":\"Primary\""),
        "{tiers}"
    );
    analytics_settings_were_made(&app, &admin).await;
    let (_, policies) = app
        .get("/api/v1/projects/shop/support/policies", &admin)
        .await;
    assert_eq!(
        policies[0]["levels"][1]["notify"],
        json!(["tier:l2", "user:bob@example.com"]),
        "{policies}"
    );

    // The same file again changes nothing.
    let again = plan(&app.cli(&admin, &["--format", "json", "apply", "-f", &file]));
    assert_eq!(again["applied"], false, "{again}");
    assert_eq!(changes(&again), Vec::<String>::new());
    assert_eq!(applies(&app, "configuration.apply").await, 1);

    // An exported file applies as no change, and exports the same again.
    let exported = dir.path().join("exported.yaml");
    let exported_s = exported.to_string_lossy().into_owned();
    app.cli(
        &admin,
        &["export-config", "--project", "shop", "-o", &exported_s],
    );
    let first = std::fs::read_to_string(&exported).expect("exported");
    assert!(first.contains("project: shop"), "{first}");
    assert!(
        first.contains("ops-room-…") || first.contains("/hooks/…"),
        "a hook's secret is redacted: {first}"
    );
    assert!(!first.contains("0123456789abcdef0123"), "{first}");
    let round = plan(&app.cli(&admin, &["--format", "json", "apply", "-f", &exported_s]));
    assert_eq!(changes(&round), Vec::<String>::new(), "{first}");
    let second = app.cli(&admin, &["export-config", "--project", "shop"]);
    assert_eq!(first, second);

    // Changes are made in place: the schedule keeps its id, so the tier
    // that follows it still does. What the file leaves out stays without
    // --prune, and goes with it.
    let (_, before) = app
        .get("/api/v1/projects/shop/support/schedules/Primary", &admin)
        .await;
    let edited = FILE
        .replace("shift: 1w", "shift: 2w")
        .replace("delay_secs: 600", "delay_secs: 900")
        .replace("  - name: Search\n", "");
    let edited_file = write(dir.path(), "edited.yaml", &edited);
    let kept = plan(&app.cli(&admin, &["--format", "json", "apply", "-f", &edited_file]));
    assert_eq!(
        changes(&kept),
        vec!["update schedules/Primary", "update policies/Default"],
        "{kept}"
    );
    assert_eq!(kept["kept"][0]["name"], "Search", "{kept}");
    let (_, after) = app
        .get("/api/v1/projects/shop/support/schedules/Primary", &admin)
        .await;
    assert_eq!(before["id"], after["id"]);
    assert_eq!(after["layers"][0]["shift"], "2w", "{after}");
    let (_, tiers) = app.get("/api/v1/projects/shop/scaling/tiers", &admin).await;
    assert!(
        tiers.to_string().contains("\"schedule\":\"Primary\""),
        "{tiers}"
    );
    let pruned = plan(&app.cli(
        &admin,
        &["--format", "json", "apply", "-f", &edited_file, "--prune"],
    ));
    assert_eq!(
        changes(&pruned),
        vec!["delete components/Search"],
        "{pruned}"
    );

    // An override from the CLI, in the schedule's local time, taken out again.
    app.cli(
        &admin,
        &[
            "oncall",
            "schedule",
            "override",
            "--project",
            "shop",
            "Primary",
            "--user",
            "bob@example.com",
            "--start",
            "2099-01-01T09:00",
            "--end",
            "2099-01-02T09:00",
        ],
    );
    let (_, schedule) = app
        .get("/api/v1/projects/shop/support/schedules/Primary", &admin)
        .await;
    // Berlin is an hour ahead of UTC in winter.
    assert_eq!(
        schedule["overrides"][0]["start"], "2099-01-01T08:00:00Z",
        "{schedule}"
    );
    let id = schedule["overrides"][0]["id"]
        .as_str()
        .expect("override")
        .to_owned();
    app.cli(
        &admin,
        &[
            "oncall",
            "schedule",
            "remove-override",
            "--project",
            "shop",
            "Primary",
            &id,
        ],
    );
    let (_, schedule) = app
        .get("/api/v1/projects/shop/support/schedules/Primary", &admin)
        .await;
    assert_eq!(schedule["overrides"], json!([]), "{schedule}");

    // What others use cannot go: the policy pages the schedule, and the
    // integration's alerts page through the policy.
    for (kind, name, user) in [
        ("schedules", "Primary", "the escalation policies `Default`"),
        ("policies", "Default", "the integrations `Alertmanager`"),
        (
            "integrations",
            "Alertmanager",
            "the alert rules, SLOs and error alerts `Checkout availability`, `error alerts`",
        ),
    ] {
        let (code, err) = cli_fails(
            &app,
            &admin,
            &["settings", "delete", "--project", "shop", kind, name],
        );
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("409") && err.contains(user), "{err}");
    }

    // One setting by name: set from a file, deleted.
    let spec = write(
        dir.path(),
        "train.yaml",
        "name: Weekly\ncadence: biweekly\nfirst_release: 2026-12-10\n",
    );
    let set = plan(&app.cli(
        &admin,
        &[
            "--format",
            "json",
            "settings",
            "set",
            "--project",
            "shop",
            "trains",
            "Weekly",
            "-f",
            &spec,
        ],
    ));
    assert_eq!(changes(&set), vec!["update trains/Weekly"], "{set}");
    let listed = app.cli(&admin, &["settings", "list", "--project", "shop", "trains"]);
    assert!(listed.contains("cadence: biweekly"), "{listed}");
    let gone = plan(&app.cli(
        &admin,
        &[
            "--format",
            "json",
            "settings",
            "delete",
            "--project",
            "shop",
            "credentials",
            "stripe",
        ],
    ));
    assert_eq!(changes(&gone), vec!["delete credentials/stripe"], "{gone}");
    let (code, err) = cli_fails(
        &app,
        &admin,
        &[
            "settings",
            "delete",
            "--project",
            "shop",
            "credentials",
            "stripe",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no credentials `stripe`"), "{err}");

    // Bad files: a misspelt key is refused with where it is; a reference to
    // nothing fails the whole apply, so the new component beside it is not
    // made either.
    let typo = write(
        dir.path(),
        "typo.yaml",
        "project: shop\nschedules:\n  - nmae: Primary\n",
    );
    let (code, err) = cli_fails(&app, &admin, &["apply", "-f", &typo]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown field `nmae`") && err.contains("line"),
        "{err}"
    );
    let dangling = write(
        dir.path(),
        "dangling.yaml",
        "project: shop\ncomponents:\n  - name: Billing\npolicies:\n  - name: Night\n    levels:\n      - notify: [schedule:Nowhere]\n        delay_secs: 60\n",
    );
    let (code, err) = cli_fails(&app, &admin, &["apply", "-f", &dangling]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("422") && err.contains("no schedule `Nowhere`"),
        "{err}"
    );
    let (_, components) = app
        .get("/api/v1/projects/shop/support/components", &admin)
        .await;
    assert!(!components.to_string().contains("Billing"), "{components}");
    // Analytics settings that do not check are named with their field; a
    // dashboard of an insight that does not exist is refused whole.
    let bad = write(
        dir.path(),
        "bad-analytics.yaml",
        "project: shop\ninsights:\n  - name: Pie\n    kind: pie\n    query: {}\nrevenue_rates:\n  - currency: USD\n    date: 2026-02-01\n    rate: 1\ncohorts:\n  - name: Few\n    kind: static\n",
    );
    let (code, err) = cli_fails(&app, &admin, &["apply", "-f", &bad]);
    assert_eq!(code, 1, "{err}");
    for says in [
        "insights `Pie`: kind",
        "revenue_rates `USD@2026-02-01`: rate",
        "cohorts `Few`: distinct_ids",
    ] {
        assert!(err.contains("422") && err.contains(says), "{says}: {err}");
    }
    let dangling = write(
        dir.path(),
        "dangling-board.yaml",
        "project: shop\ncomponents:\n  - name: Billing\ndashboards:\n  - name: Empty\n    tiles:\n      - insight: Nowhere\n",
    );
    let (code, err) = cli_fails(&app, &admin, &["apply", "-f", &dangling]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no insight `Nowhere`"), "{err}");
    let (_, components) = app
        .get("/api/v1/projects/shop/support/components", &admin)
        .await;
    assert!(!components.to_string().contains("Billing"), "{components}");
    // Personal notification rules, from the CLI.
    let mine = app.instance_token(&root, "read,write").await;
    let added = plan(&app.cli(
        &mine,
        &[
            "--format",
            "json",
            "oncall",
            "notify",
            "add",
            "webhook",
            "http://127.0.0.1:9/mine",
            "--min-severity",
            "sev2",
            "--after",
            "5m",
        ],
    ));
    assert_eq!(added["delay_secs"], 300, "{added}");
    let id = added["id"].as_str().expect("id").to_owned();
    let listed = app.cli(&mine, &["oncall", "notify", "list"]);
    assert!(listed.contains(&id) && listed.contains("sev2"), "{listed}");
    app.cli(&mine, &["oncall", "notify", "delete", &id]);
    let listed = app.cli(&mine, &["oncall", "notify", "list"]);
    assert!(!listed.contains(&id), "{listed}");
    let other = write(dir.path(), "other.yaml", "project: elsewhere\n");
    let (_, err) = cli_fails(&app, &admin, &["apply", "-f", &other, "--project", "shop"]);
    assert!(err.contains("configures project `elsewhere`"), "{err}");
}

storage_stories!(apply_round_trips_every_kind);
