//! Dashboards end to end: saved insights in a grid under one range and
//! filters, each tile answered as its kind's endpoint answers the framed
//! request, answers kept while the data is unchanged and said to be stale
//! once new data arrives, goals with their attainment, JSON export and
//! import into another project, bad input refused, and the pages.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, shop_with_ingest_key, spawn_app, storage_stories,
};

const DAY: i64 = 86_400_000;

fn iso(ms: i64) -> String {
    liveops_server::state::format_ms(ms)
}

async fn ingest(app: &TestApp, key: &str, batch: Vec<Value>) {
    let resp = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": key, "batch": batch}))
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), 200);
}

async fn dashboards_of_saved_insights(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, key) = shop_with_ingest_key(&app).await;
    let api = "/api/v1/projects/shop/analytics";
    let today = app.now_ms().div_euclid(DAY) * DAY;
    // Earlier today, whatever the hour.
    let early = today + (app.now_ms() - today) / 2;
    let order = |n: u32, who: &str, at: i64, amount: i64| {
        json!({"event": "order", "distinct_id": who, "uuid": format!("o{n}"),
            "timestamp": iso(at), "properties": {"amount": amount}})
    };
    let view = |n: u32, who: &str, at: i64| {
        json!({"event": "$pageview", "distinct_id": who, "uuid": format!("v{n}"),
            "timestamp": iso(at), "properties": {"$current_url": "https://shop.example/"}})
    };
    ingest(
        &app,
        &key,
        vec![
            view(1, "ann", today - 2 * DAY),
            order(1, "ann", today - 2 * DAY + 60_000, 10),
            view(2, "bob", early),
            order(2, "bob", early + 1, 20),
            view(3, "cat", early),
        ],
    )
    .await;
    for (name, kind, query) in [
        (
            "Order value",
            "trends",
            json!({"series": [{"event": "order", "math": "sum:amount"}]}),
        ),
        (
            "Checkout",
            "funnel",
            json!({"steps": ["$pageview", "order"]}),
        ),
        ("Visitors", "web", json!({})),
    ] {
        let (status, v) = app
            .send(
                Method::POST,
                &format!("{api}/insights"),
                &admin,
                Some(json!({"name": name, "kind": kind, "query": query})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }
    // Goals: today's order value at least 50; conversion at least 60 %.
    for (insight, goal) in [
        ("Order value", json!({"op": ">=", "target": 50})),
        ("Checkout", json!({"op": ">=", "target": 60})),
    ] {
        let (status, v) = app
            .send(
                Method::PUT,
                &format!("{api}/insights/{}/goal", insight.replace(' ', "%20")),
                &admin,
                Some(json!({"goal": goal})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let bad = app
        .send(
            Method::PUT,
            &format!("{api}/insights/Checkout/goal"),
            &admin,
            Some(json!({"goal": {"op": "=", "target": 1}})),
        )
        .await;
    assert_problem(&bad, 422);

    // Refused: bad ranges, widths, names and references.
    for (body, status, says) in [
        (
            json!({"name": "X", "days": 0, "tiles": []}),
            422,
            "1 to 3660 days",
        ),
        (
            json!({"name": "X", "days": 7, "from": "2026-01-01", "tiles": []}),
            422,
            "not both",
        ),
        (
            json!({"name": "X", "from": "01/01/2026", "tiles": []}),
            422,
            "YYYY-MM-DD",
        ),
        (
            json!({"name": "X", "tiles": [{"insight": "Checkout", "width": 4}]}),
            422,
            "1 to 3 columns",
        ),
        (
            json!({"name": "X", "tiles": [{"insight": "Nothing"}]}),
            404,
            "no insight `Nothing`",
        ),
        (
            json!({"name": "X", "in_cohort": "Nobody", "tiles": []}),
            404,
            "no cohort",
        ),
        (
            json!({"name": "X", "where": "plan", "tiles": []}),
            422,
            "where",
        ),
        (json!({"name": " ", "tiles": []}), 422, "name"),
    ] {
        let got = app
            .send(
                Method::POST,
                &format!("{api}/dashboards"),
                &admin,
                Some(body.clone()),
            )
            .await;
        assert_problem(&got, status);
        let detail = got.1["detail"].as_str().unwrap_or("");
        assert!(detail.contains(says), "{body}: {detail}");
    }

    // Three insights over the last seven days (by the CLI).
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "dashboard",
            "create",
            "--project",
            "shop",
            "--name",
            "Sales",
            "--days",
            "7",
            "--insight",
            "Order value:2",
            "--insight",
            "Checkout",
            "--insight",
            "Visitors:3",
        ],
    );
    assert!(out.contains("/p/shop/analytics/dashboards/"), "{out}");
    let dup = app
        .send(
            Method::POST,
            &format!("{api}/dashboards"),
            &admin,
            Some(json!({"name": "Sales", "tiles": []})),
        )
        .await;
    assert_problem(&dup, 409);
    let (status, d) = app.get(&format!("{api}/dashboards/Sales"), &admin).await;
    assert_eq!(status, 200, "{d}");
    let tiles = d["tiles"].as_array().expect("tiles");
    assert_eq!(tiles.len(), 3);
    assert_eq!(tiles[0]["width"], 2);
    // Each tile answers as its endpoint answers the request with the
    // dashboard's range laid over it.
    let from = &iso(today - 6 * DAY)[..10];
    let to = &iso(today + DAY)[..10];
    let (_, direct) = app
        .send(Method::POST, &format!("{api}/trends"), &admin,
            Some(json!({"series": [{"event": "order", "math": "sum:amount"}], "from": from, "to": to})))
        .await;
    assert_eq!(tiles[0]["result"], direct);
    let (_, direct) = app
        .send(
            Method::POST,
            &format!("{api}/funnel"),
            &admin,
            Some(json!({"steps": ["$pageview", "order"], "from": from, "to": to})),
        )
        .await;
    assert_eq!(tiles[1]["result"], direct);
    let (_, direct) = app
        .get(&format!("{api}/web?from={from}&to={to}"), &admin)
        .await;
    assert_eq!(tiles[2]["result"], direct);
    // Headlines and goals, by hand: 20 of today's 50; 2 of 3 viewers
    // ordered, 66.7 % of 60 %; 3 visitors.
    assert_eq!(tiles[0]["headline"], 20.0);
    assert_eq!(tiles[0]["attainment"], 0.4);
    assert_eq!(tiles[0]["met"], false);
    let conv = tiles[1]["headline"].as_f64().unwrap_or(0.0);
    assert!((conv - 200.0 / 3.0).abs() < 1e-9, "{conv}");
    assert_eq!(tiles[1]["met"], true);
    assert_eq!(tiles[2]["headline"], 3.0);
    assert!(tiles[2]["goal"].is_null() && tiles[2]["met"].is_null());
    let first = tiles[0]["computed_at"].clone();

    // Opened again with no new data: the kept answers.
    let (_, again) = app.get(&format!("{api}/dashboards/Sales"), &admin).await;
    assert_eq!(again["tiles"][0]["computed_at"], first);
    assert_eq!(again["tiles"][0]["stale"], false);
    // New data: the kept answer is shown for up to a minute, said to be
    // stale, while it is made again in the background; the next look
    // finds it answered with the new order, which meets the goal.
    ingest(&app, &key, vec![order(3, "cat", early + 2, 40)]).await;
    app.clock.advance(std::time::Duration::from_secs(5));
    let (_, stale) = app.get(&format!("{api}/dashboards/Sales"), &admin).await;
    assert_eq!(stale["tiles"][0]["stale"], true, "{stale}");
    assert_eq!(stale["tiles"][0]["headline"], 20.0);
    assert_eq!(stale["tiles"][0]["age_secs"], 5, "{stale}");
    let mut refreshed = Value::Null;
    for _ in 0..500 {
        let (_, v) = app.get(&format!("{api}/dashboards/Sales"), &admin).await;
        if v["tiles"][0]["stale"] == false {
            refreshed = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(refreshed["tiles"][0]["headline"], 60.0, "{refreshed}");
    assert_eq!(refreshed["tiles"][0]["met"], true);
    assert_eq!(
        refreshed["tiles"][0]["age_secs"], 0,
        "made after the new order"
    );
    // Past the minute, nothing kept from before the new order is shown.
    app.clock.advance(std::time::Duration::from_secs(61));
    let (_, fresh) = app.get(&format!("{api}/dashboards/Sales"), &admin).await;
    assert_eq!(fresh["tiles"][0]["stale"], false);
    assert_eq!(fresh["tiles"][0]["headline"], 60.0);
    assert_eq!(fresh["tiles"][0]["met"], true);
    assert_ne!(fresh["tiles"][0]["computed_at"], first);

    // Filters for all tiles: a property filter reaches the trend.
    let (status, v) = app
        .send(Method::PUT, &format!("{api}/dashboards/Sales"), &admin,
            Some(json!({"name": "Sales", "days": 7, "where": "amount>25",
                "tiles": [{"insight": "Order value", "width": 2}, {"insight": "Checkout"}, {"insight": "Visitors", "width": 3}]})))
        .await;
    assert_eq!(status, 200, "{v}");
    let (_, filtered) = app.get(&format!("{api}/dashboards/Sales"), &admin).await;
    assert_eq!(filtered["tiles"][0]["headline"], 40.0, "{filtered}");

    // An alert: today's order value above 50 tells L1 on call, through
    // their rules, once; the tile shows it firing.
    let shop = app.state.db.project_by_slug("shop").await.expect("shop");
    let ann = app.responder(&shop, "ann").await;
    let ann_token = app.instance_token(&ann, "read,write").await;
    let (status, v) = app
        .send(Method::POST, "/api/v1/me/notification-rules", &ann_token,
            Some(json!({"kind": "email", "address": "ann-pager@example.com", "min_severity": "sev3", "delay_secs": 0})))
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = app
        .send(
            Method::PUT,
            "/api/v1/projects/shop/tiers/l1",
            &admin,
            Some(json!({"members": ["ann@example.com"]})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    for (alert, says) in [
        (
            json!({"condition": "equals", "value": 1, "tier": "l1"}),
            "above",
        ),
        (
            json!({"condition": "above", "value": 1, "tier": "l7"}),
            "tier",
        ),
        (
            json!({"condition": "above", "value": 1, "tier": "l1", "severity": "sev9"}),
            "sev9",
        ),
        (
            json!({"condition": "change", "value": 0, "tier": "l1"}),
            "positive",
        ),
    ] {
        let got = app
            .send(
                Method::PUT,
                &format!("{api}/insights/Checkout/alert"),
                &admin,
                Some(json!({"alert": alert})),
            )
            .await;
        assert_problem(&got, 422);
        assert!(
            got.1["detail"].as_str().unwrap_or("").contains(says),
            "{}",
            got.1
        );
    }
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "insight",
            "alert",
            "--project",
            "shop",
            "Order value",
            "--above",
            "50",
            "--tier",
            "l1",
        ],
    );
    assert!(out.contains("alert set"), "{out}");
    let told = |app: &TestApp| {
        let id = shop.id.clone();
        let db = app.state.db.clone();
        async move {
            db.deliveries_for_project(&id, 100)
                .await
                .expect("outbox")
                .into_iter()
                .filter(|d| d.subject.contains("Order value"))
                .map(|d| d.target)
                .collect::<Vec<_>>()
        }
    };
    assert!(told(&app).await.is_empty());
    liveops_server::jobs::housekeeping::tick(&app.state).await;
    assert_eq!(told(&app).await, ["ann-pager@example.com"]);
    liveops_server::jobs::housekeeping::tick(&app.state).await;
    assert_eq!(told(&app).await.len(), 1, "told once while it keeps firing");
    let (_, alerted) = app.get(&format!("{api}/dashboards/Sales"), &admin).await;
    assert_eq!(alerted["tiles"][0]["alert"]["firing"], true, "{alerted}");
    assert_eq!(alerted["tiles"][0]["alert"]["last_value"], 60.0);

    // Export, then import into another project: its insights and goals
    // come along. Into this project under the same insight names but
    // another question, it is refused and nothing is kept.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sales.json");
    let file_arg = file.display().to_string();
    app.cli(
        &admin,
        &[
            "analytics",
            "dashboard",
            "export",
            "--project",
            "shop",
            "Sales",
            "--out",
            &file_arg,
        ],
    );
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("export")).expect("json");
    assert_eq!(
        doc["tiles"][0]["insight"]["goal"],
        json!({"op": ">=", "target": 50.0})
    );
    let root = app
        .state
        .db
        .user_by_email(&liveops_core::Email::parse("root@example.com").expect("email"))
        .await
        .expect("root");
    let (other, _) = app.project("Other", &root).await;
    let other_token = app.token(&root, &other, "read,write,admin").await;
    let out = app.cli(
        &other_token,
        &[
            "analytics",
            "dashboard",
            "import",
            "--project",
            "other",
            &file_arg,
        ],
    );
    assert!(out.contains("/p/other/analytics/dashboards/"), "{out}");
    let (_, copied) = app
        .get(
            "/api/v1/projects/other/analytics/dashboards/Sales",
            &other_token,
        )
        .await;
    assert_eq!(
        copied["tiles"].as_array().map(Vec::len),
        Some(3),
        "{copied}"
    );
    assert_eq!(
        copied["tiles"][0]["goal"],
        json!({"op": ">=", "target": 50.0})
    );
    assert!(copied["tiles"][0]["headline"].is_number(), "{copied}");
    doc["name"] = json!("Sales again");
    doc["tiles"][1]["insight"]["query"] = json!({"steps": ["$pageview", "signup"]});
    let (_, before) = app.get(&format!("{api}/insights"), &admin).await;
    let refused = app
        .send(
            Method::POST,
            &format!("{api}/dashboards/import"),
            &admin,
            Some(doc.clone()),
        )
        .await;
    assert_problem(&refused, 409);
    assert!(
        refused.1["detail"]
            .as_str()
            .unwrap_or("")
            .contains("Checkout"),
        "{refused:?}"
    );
    let (_, after) = app.get(&format!("{api}/insights"), &admin).await;
    assert_eq!(before, after);
    assert_problem(
        &app.get(&format!("{api}/dashboards/Sales%20again"), &admin)
            .await,
        404,
    );

    // The CLI's view and goal.
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "dashboard",
            "show",
            "--project",
            "shop",
            "Sales",
        ],
    );
    assert!(
        out.contains("Order value") && out.contains(">= 50") && out.contains("met"),
        "{out}"
    );
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "insight",
            "goal",
            "--project",
            "shop",
            "Visitors",
            "--op",
            "<=",
            "--target",
            "2",
        ],
    );
    assert!(out.contains("Visitors"), "{out}");

    // The pages.
    let (browser, html) = crate::ui::root_page(&app.base, "/p/shop/analytics/dashboards").await;
    assert!(html.contains("Sales"), "{html}");
    let link = filtered["dashboard"]["link"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let page = browser
        .get(app.url(&link))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("data-insight=\"Checkout\""), "{page}");
    assert!(page.contains("class=\"tile span-2\""), "{page}");
    assert!(
        page.contains("<span class=\"goal-met\">met</span>"),
        "{page}"
    );
    assert!(
        page.contains("<span class=\"goal-missed\">not met</span>"),
        "Visitors: 3 > 2: {page}"
    );
    assert!(page.contains("Answered"), "{page}");
    assert!(
        page.contains("<strong class=\"alert-firing\">firing</strong>"),
        "{page}"
    );
    let del = app.cli(
        &admin,
        &[
            "analytics",
            "dashboard",
            "delete",
            "--project",
            "shop",
            "Sales",
        ],
    );
    assert!(del.contains("deleted"), "{del}");
    let (_, still) = app.get(&format!("{api}/insights/Checkout"), &admin).await;
    assert_eq!(still["insight"]["name"], "Checkout", "the insights stay");
    app.stop().await;
}

storage_stories!(dashboards_of_saved_insights);
