//! The weekly continuous-improvement report of a known past week, seeded
//! with deployments, an incident, tickets, feedback, spans, an SLO, action
//! items and security findings, against a hand count; kept, replaced, sent
//! to a webhook and by e-mail, listed as history; and bad input refused.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use liveops_core::feedback::backlog::ItemKind;
use liveops_core::support::escalation::Tier;
use liveops_core::support::incident::Severity;
use liveops_core::support::sla::Priority;
use liveops_store::feedback::NewFeedback;
use liveops_store::performance::Sighting;
use liveops_store::security::NewFinding;
use liveops_store::support::{incidents, tickets};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{
    Backend, Sink, TestApp, assert_problem, shop_with_server_key, spawn_app_with, storage_stories,
};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// Monday 2026-11-09 00:00 UTC, the week the story happens in.
fn week() -> i64 {
    "2026-11-09T00:00:00Z"
        .parse::<jiff::Timestamp>()
        .expect("timestamp")
        .as_millisecond()
}

/// `days`, `hours` and `minutes` into the week.
fn at(days: i64, hours: i64, minutes: i64) -> i64 {
    week() + days * DAY + hours * HOUR + minutes * MIN
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .expect("timestamp")
        .to_string()
}

/// An SMTP server that accepts every message and keeps its raw text: just
/// enough of RFC 5321 for lettre without TLS or authentication.
struct SmtpSink {
    url: String,
    mail: Arc<Mutex<Vec<String>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind smtp");
        let url = format!("smtp://{}", listener.local_addr().expect("addr"));
        let mail: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = mail.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = converse(stream, kept).await;
                });
            }
        });
        SmtpSink {
            url,
            mail,
            _task: task,
        }
    }

    /// The messages so far, quoted-printable undone.
    fn messages(&self) -> Vec<String> {
        let raw = self.mail.lock().unwrap_or_else(|p| p.into_inner()).clone();
        raw.iter().map(|m| unquote(m)).collect()
    }
}

/// Undoes quoted-printable, which lettre picks for lines of 76 characters
/// or more.
fn unquote(raw: &str) -> String {
    if !raw
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: quoted-printable")
    {
        return raw.to_owned();
    }
    let joined = raw.replace("=\n", "");
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = joined.as_bytes().get(i) {
        let hex = joined
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'=', Some(h)) => {
                out.push(h);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn converse(
    stream: tokio::net::TcpStream,
    kept: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 localhost ESMTP test\r\n").await?;
    let mut data: Option<String> = None;
    while let Some(line) = lines.next_line().await? {
        if let Some(body) = data.as_mut() {
            if line == "." {
                kept.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(std::mem::take(body));
                data = None;
                write.write_all(b"250 2.0.0 kept\r\n").await?;
            } else {
                body.push_str(line.strip_prefix('.').unwrap_or(&line));
                body.push('\n');
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 localhost\r\n",
            "DATA" => {
                data = Some(String::new());
                b"354 go ahead\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 ok\r\n",
        };
        write.write_all(answer).await?;
    }
    Ok(())
}

/// Seeds the week: see the comments for what each count should be.
async fn seed(app: &TestApp, admin: &str, server_key: &str) {
    let db = &app.state.db;
    let shop = db.project_by_slug("shop").await.expect("shop");
    let pid = shop.id.as_str();

    // Deployments: three in the week (lead times 2 h and 12 h), one the
    // week before that does not count.
    let mut ids = Vec::new();
    for (version, deployed, commits) in [
        ("0.9.0", at(-1, 10, 0), vec![]),
        ("1.0.0", at(1, 10, 0), vec![("aaaaaaa1", at(1, 8, 0))]),
        ("1.0.1", at(2, 10, 0), vec![("aaaaaaa2", at(1, 22, 0))]),
        ("1.0.2", at(4, 10, 0), vec![]),
    ] {
        let body = json!({"service": "web", "version": version, "deployed_at": iso(deployed),
            "commits": commits.iter().map(|(sha, c)| json!({"sha": sha, "message": "fix: x",
                "committed_at": iso(*c)})).collect::<Vec<_>>()});
        let (status, d) = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/deployments",
                admin,
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{d}");
        ids.push(d["id"].as_str().expect("id").to_owned());
    }

    // 1.0.1 caused a SEV2, restored in 90 minutes.
    let mut conn = db.begin().await.expect("tx");
    let inc = incidents::insert_incident(
        &mut conn,
        &incidents::NewIncident {
            project_id: pid,
            title: "Checkout 500s after 1.0.1",
            severity: Severity::Sev2,
            dedup_key: None,
            integration_id: None,
            policy_id: None,
            assignee_id: None,
            commander_id: None,
        },
        at(2, 11, 0),
    )
    .await
    .expect("incident");
    incidents::add_link(&mut conn, &inc.id, "deployment", &ids[2], at(2, 11, 5))
        .await
        .expect("link");
    incidents::resolve(&mut conn, &inc.id, at(2, 12, 30))
        .await
        .expect("resolve");

    // Tickets. T0 (last week) resolved in time this week; T1 answered and
    // resolved in time; T2 answered late and never resolved (its resolution
    // due passes this week); T3 decides nothing this week.
    // Opened 3; resolved 2, both in time, 1 missed: 2/3. First responses
    // 2, 1 in time, 1 missed: 1/2.
    let ticket = |first: i64, resolution: i64| tickets::NewTicket {
        project_id: pid,
        subject: "Help",
        requester: "customer@example.org",
        tier: Tier::L1,
        priority: Priority::Normal,
        source: "email",
        first_response_due: first,
        resolution_due: resolution,
    };
    let t0 = tickets::insert_ticket(&mut conn, &ticket(at(-3, 13, 0), at(1, 0, 0)), at(-3, 9, 0))
        .await
        .expect("t0");
    tickets::set_status(&mut conn, &t0.id, "solved", at(0, 12, 0))
        .await
        .expect("t0 solved");
    let t1 = tickets::insert_ticket(&mut conn, &ticket(at(1, 13, 0), at(3, 9, 0)), at(1, 9, 0))
        .await
        .expect("t1");
    tickets::add_comment(
        &mut conn,
        &t1.id,
        "agent",
        true,
        true,
        "On it",
        at(1, 10, 0),
    )
    .await
    .expect("t1 answer");
    tickets::set_status(&mut conn, &t1.id, "solved", at(2, 9, 0))
        .await
        .expect("t1 solved");
    let t2 = tickets::insert_ticket(&mut conn, &ticket(at(2, 10, 0), at(4, 9, 0)), at(2, 9, 0))
        .await
        .expect("t2");
    tickets::add_comment(
        &mut conn,
        &t2.id,
        "agent",
        true,
        true,
        "Sorry",
        at(2, 12, 0),
    )
    .await
    .expect("t2 answer");
    tickets::insert_ticket(&mut conn, &ticket(at(8, 9, 0), at(12, 9, 0)), at(5, 9, 0))
        .await
        .expect("t3");
    conn.commit().await.expect("commit");

    // Feedback: three this week (a fourth is spam), one the week before.
    // Themes: Dark mode 2, Faster checkout 1.
    let mut conn = db.begin().await.expect("begin");
    let dark = liveops_store::feedback::insert_item(
        &mut conn,
        pid,
        ItemKind::Enhancement,
        "Dark mode",
        "",
        "test",
        at(-5, 0, 0),
    )
    .await
    .expect("item");
    let faster = liveops_store::feedback::insert_item(
        &mut conn,
        pid,
        ItemKind::Enhancement,
        "Faster checkout",
        "",
        "test",
        at(-5, 0, 0),
    )
    .await
    .expect("item");
    for (n, created, spam, item) in [
        (1, at(-2, 9, 0), false, Some(&dark.id)),
        (2, at(1, 9, 0), false, Some(&dark.id)),
        (3, at(3, 9, 0), false, Some(&dark.id)),
        (4, at(4, 9, 0), false, Some(&faster.id)),
        (5, at(4, 10, 0), true, None),
    ] {
        let title = format!("Feedback {n}");
        let f = liveops_store::feedback::insert_feedback(
            &mut conn,
            pid,
            &NewFeedback {
                kind: None,
                title: &title,
                body: "Please",
                source: "form",
                external_id: None,
                url: None,
                reporter_email: None,
                reporter_name: None,
                distinct_id: None,
                ticket_id: None,
                spam_signal: spam.then_some("honeypot"),
                created_at: created,
            },
        )
        .await
        .expect("feedback")
        .expect("new feedback");
        // Linking marks feedback `linked`, so spam stays unlinked.
        if let Some(item) = item {
            liveops_store::feedback::link_feedback(&mut conn, &f.id, Some(item))
                .await
                .expect("link feedback");
        }
    }
    conn.commit().await.expect("commit");

    // Spans on Thursday: GET /checkout 10 requests at 100 ms, one a 500;
    // GET /search 4 at 400 ms. An SLO of 99 % over 7 days: 13 of 14 good,
    // so 92.86 %, and 1 - 1 / (0.01 * 14) = -6.1429 of the budget left.
    let mut spans = Vec::new();
    let start_ns = i128::from(at(3, 14, 0)) * 1_000_000;
    for i in 0..14_i64 {
        let (route, ms, status) = match i {
            0..9 => ("/checkout", 100, 200),
            9 => ("/checkout", 100, 500),
            _ => ("/search", 400, 200),
        };
        let start = start_ns + i128::from(i) * 1_000_000_000;
        spans.push(
            json!({"traceId": format!("{:032x}", i + 1), "spanId": format!("{:016x}", i + 1),
            "name": format!("GET {route}"), "kind": 2,
            "startTimeUnixNano": start.to_string(),
            "endTimeUnixNano": (start + i128::from(ms) * 1_000_000).to_string(),
            "attributes": [
                {"key": "http.method", "value": {"stringValue": "GET"}},
                {"key": "http.route", "value": {"stringValue": route}},
                {"key": "http.status_code", "value": {"intValue": status}}
            ]}),
        );
    }
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
        "scopeSpans": [{"spans": spans}]}]});
    let resp = app
        .http
        .post(app.url("/v1/traces"))
        .bearer_auth(server_key)
        .json(&body)
        .send()
        .await
        .expect("otlp");
    assert_eq!(resp.status(), 200);
    let (status, slo) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/performance/slos",
            admin,
            Some(
                json!({"name": "Availability", "kind": "availability", "objective": 0.99,
                "period_days": 7}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{slo}");
    // One open performance finding, seen this week.
    db.record_findings(
        pid,
        &[Sighting {
            kind: "n_plus_one".into(),
            service: "web".into(),
            route: "GET /checkout".into(),
            subject: "SELECT * FROM items WHERE id = ?".into(),
            detail: "12 queries".into(),
            example_trace: None,
            occurrences: 3,
            at: at(3, 15, 0),
        }],
    )
    .await
    .expect("finding");

    // Two security findings opened this week; one breached its patch SLA
    // on Saturday.
    let finding = |key: &str| NewFinding {
        kind: "vulnerability".into(),
        key: key.into(),
        title: format!("Advisory {key}"),
        severity: "high".into(),
        ..NewFinding::default()
    };
    let mut conn = db.begin().await.expect("begin");
    liveops_store::security::record_scan(
        &mut conn,
        pid,
        "web",
        "test",
        &[finding("k1"), finding("k2")],
        at(1, 12, 0),
    )
    .await
    .expect("scan");
    conn.commit().await.expect("commit");
    sqlx::query("UPDATE security_findings SET sla_warned_at = $1 WHERE finding_key = 'k1'")
        .bind(at(5, 12, 0))
        .execute(db.pool())
        .await
        .expect("breach");

    // The incident's postmortem with two action items: one due Thursday
    // (overdue by the week's end), one due in three weeks.
    let (status, pm) = app
        .send(
            Method::POST,
            &format!("/api/v1/projects/shop/incidents/{}/postmortem", inc.number),
            admin,
            None,
        )
        .await;
    // The drafting job may have drafted it first.
    assert!(status == 201 || status == 409, "{status}: {pm}");
    for (kind, title, due) in [
        ("prevent", "Add a canary stage", "2026-11-12"),
        ("process", "Write the rollback runbook", "2026-11-30"),
    ] {
        let (status, a) = app
            .send(
                Method::POST,
                &format!(
                    "/api/v1/projects/shop/incidents/{}/postmortem/actions",
                    inc.number
                ),
                admin,
                Some(json!({"kind": kind, "title": title, "due": due})),
            )
            .await;
        assert_eq!(status, 201, "{a}");
    }
    // As if they had been written during the week.
    sqlx::query("UPDATE postmortem_actions SET created_at = $1")
        .bind(at(3, 9, 0))
        .execute(db.pool())
        .await
        .expect("backdate actions");
}

/// Checks a report of the seeded week against the hand count.
fn check_week(r: &Value) {
    assert_eq!(r["project"], "shop", "{r}");
    assert_eq!(r["week"], "2026-11-09");
    assert_eq!(r["from"], "2026-11-09T00:00:00Z");
    assert_eq!(r["to"], "2026-11-16T00:00:00Z");
    assert_eq!(r["as_of"], "2026-11-16T00:00:00Z");
    assert_eq!(r["complete"], true);

    let d = &r["dora"];
    assert_eq!(d["deployments"], 3, "{d}");
    assert_eq!(d["deployment_frequency"], 0.429);
    assert_eq!(d["frequency_level"], "high");
    assert_eq!(d["lead_time_secs"], 7 * 3600);
    assert_eq!(d["lead_time_level"], "elite");
    assert_eq!(d["change_failure_rate"], 0.3333);
    assert_eq!(d["change_failure_level"], "low");
    assert_eq!(d["time_to_restore_secs"], 5400);
    assert_eq!(d["time_to_restore_level"], "high");
    assert_eq!(d["level"], "low");

    assert_eq!(
        r["slos"],
        json!([{"name": "Availability", "kind": "availability", "objective": 0.99,
            "period_days": 7, "attainment": 0.9286, "budget_remaining": -6.1429}])
    );

    let p = &r["performance"];
    assert_eq!(p["open_findings"], 1, "{p}");
    let routes = p["slowest_routes"].as_array().expect("routes");
    assert_eq!(routes.len(), 2, "{p}");
    assert_eq!(routes[0]["route"], "GET /search");
    assert_eq!(routes[0]["requests"], 4);
    assert_eq!(routes[0]["error_rate"], 0.0);
    assert_eq!(routes[1]["route"], "GET /checkout");
    assert_eq!(routes[1]["service"], "web");
    assert_eq!(routes[1]["requests"], 10);
    assert_eq!(routes[1]["error_rate"], 0.1);
    // p95 comes from a sketch with 1 % relative error.
    for (route, want) in [(&routes[0], 400.0), (&routes[1], 100.0)] {
        let got = route["p95_ms"].as_f64().expect("p95");
        assert!((got - want).abs() <= want * 0.01, "{route}");
    }

    assert_eq!(
        r["feedback"],
        json!({"received": 3, "previous_week": 1, "change": 2,
            "themes": [{"title": "Dark mode", "count": 2}, {"title": "Faster checkout", "count": 1}]})
    );
    assert_eq!(r["incidents"], json!({"opened": 1, "major": 1}));
    assert_eq!(
        r["tickets"],
        json!({"opened": 3, "resolved": 2, "resolved_in_time": 2, "resolution_missed": 1,
            "resolution_attainment": 0.6667, "first_responses": 2, "first_responses_in_time": 1,
            "first_response_missed": 1, "first_response_attainment": 0.5})
    );

    let a = &r["actions"];
    assert_eq!(a["open"], 2, "{a}");
    assert_eq!(a["overdue"], 1);
    let items = a["items"].as_array().expect("items");
    assert_eq!(items[0]["title"], "Add a canary stage");
    assert_eq!(items[0]["kind"], "prevent");
    assert_eq!(items[0]["due"], "2026-11-12T00:00:00Z");
    assert_eq!(items[0]["overdue"], true);
    assert_eq!(items[1]["title"], "Write the rollback runbook");
    assert_eq!(items[1]["overdue"], false);

    assert_eq!(
        r["security"],
        json!({"open_findings": 2, "sla_breaches": 1, "opened": 2, "fixed": 0})
    );
}

async fn weekly_report_of_a_known_week(backend: Backend) {
    let smtp = SmtpSink::start().await;
    let smtp_url = smtp.url.clone();
    let app = spawn_app_with(backend, |c| {
        // The test sends due deliveries itself; the support job would race
        // it (and the SLA watchers are not part of this story).
        c.job_tick_ms = 3_600_000;
        c.smtp_url = Some(liveops_server::config::Secret::new(smtp_url));
        c.smtp_from = "liveops <reports@example.com>".into();
    })
    .await;
    let (admin, key) = shop_with_server_key(&app).await;
    seed(&app, &admin, &key).await;

    // On demand, for any day of the week; nothing is kept.
    let (status, r) = app
        .get(
            "/api/v1/projects/shop/reports/weekly?week=2026-11-12",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{r}");
    check_week(&r);
    let (_, history) = app.get("/api/v1/projects/shop/reports", &admin).await;
    assert_eq!(history, json!([]));

    // Recipients: a webhook and an e-mail address.
    let hooks = Sink::start().await;
    let hook = hooks.url("weekly");
    for (channel, target) in [("webhook", hook.as_str()), ("email", "Team@Example.com")] {
        let (status, v) = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/reports/recipients",
                &admin,
                Some(json!({"channel": channel, "target": target})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }
    let (_, recipients) = app
        .get("/api/v1/projects/shop/reports/recipients", &admin)
        .await;
    assert_eq!(
        recipients,
        json!([{"channel": "email", "target": "team@example.com"},
               {"channel": "webhook", "target": hook}])
    );

    // Kept and delivered.
    let (status, saved) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/reports/weekly",
            &admin,
            Some(json!({"week": "2026-11-09", "deliver": true})),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["created"], true);
    assert_eq!(saved["deliveries"], 2);
    check_week(&saved["report"]);
    liveops_server::support::deliver::run_due(&app.state)
        .await
        .expect("deliveries");
    let got = hooks.wait_for("weekly", 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["event"], "weekly_report");
    assert_eq!(got[0]["week"], "2026-11-09");
    check_week(&got[0]["report"]);
    let mut mail = Vec::new();
    for _ in 0..100 {
        mail = smtp
            .messages()
            .into_iter()
            .filter(|m| m.contains("Weekly report for Shop"))
            .collect();
        if !mail.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mail.len(), 1, "no report e-mail; got {:?}", smtp.messages());
    let m = &mail[0];
    for want in [
        "To: team@example.com",
        "Subject: [shop] Weekly report, week of 2026-11-09: DORA low",
        "Weekly report for Shop (shop), week of 2026-11-09 (Monday, UTC)",
        "3 deployments, 0.43 per day (high)",
        "Availability: 92.9 % of 99.0 % over 7 days, budget left -614.3 %",
        "Feedback: 3 received (+2 on the week before, 1)",
        "Resolution SLA      66.7 % (2 met, 1 missed)",
        "Action items: 2 open, 1 overdue",
        "Security: 2 open findings, 1 past their patch SLA",
    ] {
        assert!(m.contains(want), "{want:?} not in:\n{m}");
    }

    // History lists the week; keeping it again replaces it.
    let (status, again) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/reports/weekly",
            &admin,
            Some(json!({"week": "2026-11-15"})),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["created"], false);
    assert_eq!(again["deliveries"], 0);
    let (status, history) = app.get("/api/v1/projects/shop/reports", &admin).await;
    assert_eq!(status, 200, "{history}");
    let weeks = history.as_array().expect("history");
    assert_eq!(weeks.len(), 1, "{history}");
    assert_eq!(weeks[0]["week"], "2026-11-09");
    check_week(&weeks[0]["report"]);
    // The earlier week, kept too, comes after it.
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/reports/weekly",
            &admin,
            Some(json!({"week": "2026-11-02"})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, history) = app.get("/api/v1/projects/shop/reports", &admin).await;
    let weeks: Vec<&Value> = history
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| &w["week"])
        .collect();
    assert_eq!(weeks, [&json!("2026-11-09"), &json!("2026-11-02")]);
    assert_eq!(history[1]["report"]["dora"]["deployments"], 1);
    assert_eq!(history[1]["report"]["feedback"]["received"], 1);

    // The audit log has the changes.
    let (_, audit) = app.get("/api/v1/projects/shop/audit", &admin).await;
    let actions: Vec<String> = audit["entries"]
        .as_array()
        .or(audit.as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert!(
        actions.iter().any(|a| a == "report.store")
            && actions.iter().any(|a| a == "report.recipient.add"),
        "{audit}"
    );

    // The improvement page lists the kept weeks and shows the newest.
    let (_, html) = crate::ui::root_page(&app.base, "/p/shop/improvement").await;
    assert!(html.contains("Weekly reports"), "{html}");
    assert!(html.contains("Week of 2026-11-09") && html.contains("2026-11-02"));
    assert!(html.contains("Add a canary stage") && html.contains("-614.3 %"));

    // The CLI prints the same week, and the history.
    let server = app.base.clone();
    let token = admin.clone();
    let (table, history_json) = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let out = std::process::Command::new(crate::cli::BIN)
                .args(args)
                .env("LIVEOPS_SERVER", &server)
                .env("LIVEOPS_TOKEN", &token)
                .env("XDG_CONFIG_HOME", "/nonexistent")
                .output()
                .expect("run liveops");
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        (
            run(&[
                "report",
                "weekly",
                "--project",
                "shop",
                "--week",
                "2026-11-10",
            ]),
            run(&["report", "history", "--project", "shop", "--format", "json"]),
        )
    })
    .await
    .expect("cli");
    assert!(
        table.contains("Tickets: 3 opened, 2 resolved")
            && table.contains("First response SLA  50.0 % (1 met, 1 missed)"),
        "{table}"
    );
    let history_json: Value = serde_json::from_str(&history_json).expect("json");
    assert_eq!(history_json[0]["week"], "2026-11-09");

    // The weekly job keeps and sends the last complete week's report of
    // projects that existed before it ended, once.
    assert_eq!(
        liveops_server::improvement::send_due(&app.state)
            .await
            .expect("job"),
        0,
        "a project created this week has no complete week to report"
    );
    sqlx::query("UPDATE projects SET created_at = $1")
        .bind(week())
        .execute(app.state.db.pool())
        .await
        .expect("backdate project");
    // Someone keeps last week's report without sending it; the job still
    // sends it, since the project has recipients.
    let last = liveops_server::improvement::format_day(
        liveops_server::improvement::last_complete_week(app.now_ms()),
    );
    let (status, kept) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/reports/weekly",
            &admin,
            Some(json!({"week": last, "deliver": false})),
        )
        .await;
    assert!(status == 201 || status == 200, "{kept}");
    assert_eq!(kept["deliveries"], 0);
    assert_eq!(
        liveops_server::improvement::send_due(&app.state)
            .await
            .expect("job"),
        1
    );
    assert_eq!(
        liveops_server::improvement::send_due(&app.state)
            .await
            .expect("job"),
        0
    );
    let (_, history) = app.get("/api/v1/projects/shop/reports", &admin).await;
    assert_eq!(history[0]["week"], json!(last), "{history}");
    assert_eq!(history[0]["report"]["complete"], true);
    assert_eq!(history.as_array().map(Vec::len), Some(3));
    liveops_server::support::deliver::run_due(&app.state)
        .await
        .expect("deliveries");
    let got = hooks.wait_for("weekly", 2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["week"], json!(last));

    // Removing a recipient, by query string.
    let (status, _) = app
        .send(
            Method::DELETE,
            "/api/v1/projects/shop/reports/recipients?channel=email&target=team%40example.com",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_problem(
        &app.send(
            Method::DELETE,
            "/api/v1/projects/shop/reports/recipients?channel=email&target=team%40example.com",
            &admin,
            None,
        )
        .await,
        404,
    );
    let (_, recipients) = app
        .get("/api/v1/projects/shop/reports/recipients", &admin)
        .await;
    assert_eq!(recipients.as_array().map(Vec::len), Some(1));

    // Bad input is a 422 problem, never a 500.
    for path in [
        "/api/v1/projects/shop/reports/weekly?week=last-tuesday",
        "/api/v1/projects/shop/reports/weekly?week=2999-01-05",
        "/api/v1/projects/shop/reports/weekly?week=1999-06-01",
    ] {
        assert_problem(&app.get(path, &admin).await, 422);
    }
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/reports/weekly",
            &admin,
            Some(json!({"week": "13/11/2026"})),
        )
        .await,
        422,
    );
    for (channel, target) in [
        ("sms", "+15550100"),
        ("email", "not-an-address"),
        ("webhook", "ftp://example.com/reports"),
        ("webhook", "not a url"),
    ] {
        assert_problem(
            &app.send(
                Method::POST,
                "/api/v1/projects/shop/reports/recipients",
                &admin,
                Some(json!({"channel": channel, "target": target})),
            )
            .await,
            422,
        );
    }
    app.stop().await;
}

storage_stories!(weekly_report_of_a_known_week);
