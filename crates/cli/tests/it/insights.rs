//! Saved insights end to end: questions of every kind saved through the
//! API, the CLI and the analytics page, each answered exactly as its
//! kind's own endpoint answers, a relative range answered for the day it
//! is opened, bad questions refused with the reason, and the pages.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, shop_with_ingest_key, spawn_app, storage_stories,
};

const DAY: i64 = 86_400_000;

fn iso(ms: i64) -> String {
    liveops_server::state::format_ms(ms)
}

/// Saves `query` as an insight of `kind`; its id.
async fn save(app: &TestApp, token: &str, name: &str, kind: &str, query: Value) -> String {
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/analytics/insights",
            token,
            Some(json!({"name": name, "kind": kind, "query": query})),
        )
        .await;
    assert_eq!(status, 201, "{name}: {v}");
    assert_eq!(
        v["link"],
        format!(
            "/p/shop/analytics/insights/{}",
            v["id"].as_str().unwrap_or("")
        )
    );
    v["id"].as_str().unwrap_or("").to_owned()
}

async fn answer(app: &TestApp, token: &str, which: &str) -> Value {
    let (status, v) = app
        .get(
            &format!("/api/v1/projects/shop/analytics/insights/{which}"),
            token,
        )
        .await;
    assert_eq!(status, 200, "{which}: {v}");
    v
}

async fn saved_insights_answer_as_the_api_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, key) = shop_with_ingest_key(&app).await;
    let today = app.now_ms().div_euclid(DAY) * DAY;
    let at = |days_ago: i64, hour: i64| iso(today - days_ago * DAY + hour * 3_600_000);
    let mut batch = Vec::new();
    for (n, (who, days_ago, amount)) in [("ann", 2, 10), ("ann", 1, 20), ("bob", 1, 5)]
        .into_iter()
        .enumerate()
    {
        batch.push(json!({"event": "$pageview", "distinct_id": who, "uuid": format!("v{n}"),
            "timestamp": at(days_ago, 9), "properties": {"$current_url": "https://shop.example/cart",
            "$session_id": format!("s{n}")}}));
        batch.push(
            json!({"event": "order", "distinct_id": who, "uuid": format!("o{n}"),
            "timestamp": at(days_ago, 10), "properties": {"amount": amount, "$revenue": amount}}),
        );
    }
    let resp = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": key, "batch": batch}))
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), 200);
    let api = "/api/v1/projects/shop/analytics";
    let from = &iso(today - 3 * DAY)[..10];
    let to = &iso(today + DAY)[..10];

    // Every kind, each answered as its own endpoint answers the same
    // request.
    let trends = json!({"series": [{"event": "order", "math": "sum:amount"}, {"event": "$pageview", "math": "persons"}],
        "formula": "A / B", "from": from, "to": to});
    let funnel = json!({"steps": ["$pageview", "order"], "from": from, "to": to});
    let retention =
        json!({"start_event": "$pageview", "interval": "day", "periods": 3, "from": from});
    let cases: Vec<(&str, Value, Method, String, Option<Value>)> = vec![
        (
            "trends",
            trends.clone(),
            Method::POST,
            format!("{api}/trends"),
            Some(trends.clone()),
        ),
        (
            "funnel",
            funnel.clone(),
            Method::POST,
            format!("{api}/funnel"),
            Some(funnel),
        ),
        (
            "retention",
            retention.clone(),
            Method::POST,
            format!("{api}/retention"),
            Some(retention),
        ),
        (
            "active",
            json!({"from": from, "to": to}),
            Method::GET,
            format!("{api}/active?from={from}&to={to}"),
            None,
        ),
        (
            "stickiness",
            json!({"from": from, "to": to}),
            Method::GET,
            format!("{api}/stickiness?from={from}&to={to}"),
            None,
        ),
        (
            "lifecycle",
            json!({"interval": "day", "periods": 3, "from": from}),
            Method::GET,
            format!("{api}/lifecycle?interval=day&periods=3&from={from}"),
            None,
        ),
        (
            "web",
            json!({"from": from, "to": to}),
            Method::GET,
            format!("{api}/web?from={from}&to={to}"),
            None,
        ),
        (
            "revenue",
            json!({"from": from, "to": to}),
            Method::GET,
            format!("{api}/revenue?from={from}&to={to}"),
            None,
        ),
    ];
    for (kind, query, method, path, body) in cases {
        let id = save(&app, &admin, &format!("My {kind}"), kind, query).await;
        let saved = answer(&app, &admin, &id).await;
        let (status, direct) = app.send(method, &path, &admin, body).await;
        assert_eq!(status, 200, "{kind}: {direct}");
        assert_eq!(saved["result"], direct, "{kind}");
        assert_eq!(saved["insight"]["kind"], kind);
    }
    // By hand: orders summed per day, 10 then 25, over the persons who
    // viewed (1, then 2).
    let t = answer(&app, &admin, "My trends").await;
    let sums: Vec<Option<f64>> = t["result"]["series"][0]["lines"][0]["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["value"].as_f64())
        .collect();
    assert_eq!(sums, [Some(0.0), Some(10.0), Some(25.0), Some(0.0)]);
    let ratio: Vec<Option<f64>> = t["result"]["formula"]["lines"][0]["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["value"].as_f64())
        .collect();
    assert_eq!(ratio, [None, Some(10.0), Some(12.5), None]);

    // A range left out stays relative: opened the next day, the insight
    // answers for that day.
    save(
        &app,
        &admin,
        "Orders lately",
        "trends",
        json!({"series": [{"event": "order"}]}),
    )
    .await;
    let before = answer(&app, &admin, "Orders lately").await;
    let last = |v: &Value| {
        v["result"]["series"][0]["lines"][0]["points"]
            .as_array()
            .and_then(|p| p.last())
            .map(|p| p["start"].clone())
    };
    assert_eq!(
        last(&before).and_then(|s| s.as_str().map(|s| s[..10].to_owned())),
        Some(iso(today)[..10].to_owned())
    );
    // Just past midnight (the test token lasts a day).
    let wait = u64::try_from(today + DAY - app.now_ms() + 1_000).unwrap_or(0);
    app.clock.advance(std::time::Duration::from_millis(wait));
    let after = answer(&app, &admin, "Orders lately").await;
    assert_eq!(
        last(&after).and_then(|s| s.as_str().map(|s| s[..10].to_owned())),
        Some(iso(today + DAY)[..10].to_owned())
    );
    assert_ne!(before["computed_at"], after["computed_at"]);

    // Bad questions are refused with the reason, and nothing is kept.
    for (body, status, says) in [
        (
            json!({"name": "X", "kind": "paths", "query": {}}),
            422,
            "not an insight kind",
        ),
        (
            json!({"name": "X", "kind": "trends", "query": {"series": [{"math": "total:amount"}]}}),
            422,
            "series A",
        ),
        (
            json!({"name": "X", "kind": "funnel", "query": {"steps": []}}),
            422,
            "1 to",
        ),
        (
            json!({"name": "X", "kind": "web", "query": 5}),
            422,
            "the web query",
        ),
        (
            json!({"name": " ", "kind": "web", "query": {}}),
            422,
            "name",
        ),
        (
            json!({"name": "My web", "kind": "web", "query": {}}),
            409,
            "already an insight",
        ),
        (json!({"name": "X", "kind": "web"}), 422, "query"),
    ] {
        let got = app
            .send(
                Method::POST,
                &format!("{api}/insights"),
                &admin,
                Some(body.clone()),
            )
            .await;
        assert_problem(&got, status);
        let detail = got.1["detail"].as_str().unwrap_or("");
        assert!(detail.contains(says), "{body}: {detail}");
    }
    let (_, list) = app.get(&format!("{api}/insights"), &admin).await;
    assert_eq!(list.as_array().map(Vec::len), Some(9), "{list}");
    let gone = app.get(&format!("{api}/insights/nothing"), &admin).await;
    assert_problem(&gone, 404);

    // The CLI: save from a file, list, open, delete.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("q.json");
    std::fs::write(
        &file,
        json!({"steps": ["$pageview", "order"], "from": from, "to": to}).to_string(),
    )
    .expect("query file");
    let query_arg = format!("@{}", file.display());
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "insight",
            "save",
            "--project",
            "shop",
            "--name",
            "Checkout",
            "--kind",
            "funnel",
            "--query",
            &query_arg,
        ],
    );
    assert!(out.contains("/p/shop/analytics/insights/"), "{out}");
    let out = app.cli(
        &admin,
        &["analytics", "insight", "list", "--project", "shop"],
    );
    assert!(
        out.contains("Checkout") && out.contains("My revenue"),
        "{out}"
    );
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "insight",
            "show",
            "--project",
            "shop",
            "Checkout",
        ],
    );
    assert!(out.contains("\"persons\": 2"), "{out}");
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "insight",
            "delete",
            "--project",
            "shop",
            "Checkout",
        ],
    );
    assert!(out.contains("deleted"), "{out}");
    assert_problem(
        &app.get(&format!("{api}/insights/Checkout"), &admin).await,
        404,
    );

    // The pages: the analytics page saves its trend; the list and the
    // insight's own page show it.
    let (browser, html) = crate::ui::root_page(
        &app.base,
        "/p/shop/analytics?event=order&math=sum&property=amount",
    )
    .await;
    assert!(html.contains("Save insight"), "{html}");
    let csrf = crate::ui::hidden_value(&html, "_csrf").expect("csrf");
    let query = crate::ui::hidden_value(&html, "query")
        .expect("the trend's query")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let resp = browser
        .post(app.url("/p/shop/analytics/insights"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("kind", "trends"),
            ("query", query.as_str()),
            ("name", "Order value"),
        ])
        .send()
        .await
        .expect("save");
    assert_eq!(resp.status(), 303);
    let saved = answer(&app, &admin, "Order value").await;
    assert_eq!(saved["insight"]["query"]["series"][0]["math"], "sum:amount");
    assert!(
        saved["insight"]["query"].get("from").is_none(),
        "kept relative: {saved}"
    );
    let page = browser
        .get(app.url("/p/shop/analytics/insights"))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Order value") && page.contains("My funnel"),
        "{page}"
    );
    let link = saved["insight"]["link"].as_str().unwrap_or("");
    let page = browser
        .get(app.url(link))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("<h1>Order value</h1>") && page.contains("<svg"),
        "{page}"
    );
    let id = answer(&app, &admin, "My funnel").await["insight"]["link"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let page = browser
        .get(app.url(&id))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("<td class=\"persons\">2</td>"), "{page}");
    app.stop().await;
}

storage_stories!(saved_insights_answer_as_the_api_does);
