//! Business metrics end to end: math on a numeric event property (per
//! event and per person), formulas over several series, and the web
//! overview of page views, through the API, the CLI and the pages.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, shop_with_ingest_key, spawn_app, storage_stories,
};

fn at(day: u32, hour: u32) -> String {
    format!("2026-11-{day:02}T{hour:02}:00:00Z")
}

/// Orders with amounts on 2 and 3 November, page views on both days, and
/// nothing on the 4th.
fn orders() -> Vec<Value> {
    let order = |n: u32, who: &str, day: u32, amount: Value| {
        json!({"event": "order", "distinct_id": who, "uuid": format!("o{n}"),
               "timestamp": at(day, 9 + n), "properties": {"amount": amount}})
    };
    let view = |n: u32, who: &str, day: u32| {
        json!({"event": "$pageview", "distinct_id": who, "uuid": format!("v{n}"),
               "timestamp": at(day, 8), "properties": {}})
    };
    vec![
        order(1, "pia", 2, json!(10)),
        order(2, "pia", 2, json!(20)),
        order(3, "quin", 2, json!("30")),
        order(4, "pia", 3, json!(5)),
        order(5, "quin", 3, json!(7.5)),
        order(6, "zed", 3, json!(100)),
        order(7, "zed", 3, json!("not a number")),
        view(1, "pia", 2),
        view(2, "quin", 2),
        view(3, "pia", 3),
        view(4, "quin", 3),
        view(5, "zed", 3),
    ]
}

fn values(points: &Value) -> Vec<Option<f64>> {
    points
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["value"].as_f64())
        .collect()
}

/// A server with the Shop project holding `batch`, sent through `/batch`,
/// and an admin token.
async fn shop_with(backend: Backend, batch: Vec<Value>) -> (TestApp, String) {
    let app = spawn_app(backend).await;
    let (admin, key) = shop_with_ingest_key(&app).await;
    let resp = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": key, "batch": batch}))
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), 200);
    (app, admin)
}

async fn property_math_and_formulas(backend: Backend) {
    let (app, admin) = shop_with(backend, orders()).await;
    let range = "from=2026-11-02&to=2026-11-05";

    // One series over the query string: sums, percentiles and the
    // average of each person's sum.
    let get = |q: String| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let (status, v) = app
                .get(
                    &format!("/api/v1/projects/shop/analytics/trends?{q}"),
                    &admin,
                )
                .await;
            assert_eq!(status, 200, "{q}: {v}");
            v
        }
    };
    let sum = get(format!("event=order&math=sum:amount&{range}")).await;
    assert_eq!(
        values(&sum["series"][0]["points"]),
        [Some(60.0), Some(112.5), Some(0.0)]
    );
    assert_eq!(sum["series"][0]["points"][1]["events"], 4);
    let p90 = get(format!("event=order&math=p90:amount&{range}")).await;
    let p90 = values(&p90["series"][0]["points"]);
    assert!((p90[0].expect("p90") - 28.0).abs() < 1e-9, "{p90:?}");
    assert_eq!(p90[2], None, "no orders, no percentile");
    let per_person = get(format!(
        "event=order&math=sum:amount&per_person=avg&{range}"
    ))
    .await;
    assert_eq!(
        values(&per_person["series"][0]["points"]),
        [Some(30.0), Some(37.5), None]
    );

    // Two series and a formula: revenue per visitor, empty where nobody
    // visited rather than infinite.
    let body = json!({
        "series": [
            {"event": "order", "math": "sum:amount"},
            {"event": "$pageview", "math": "persons"}
        ],
        "formula": "A / B",
        "from": "2026-11-02", "to": "2026-11-05"
    });
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/analytics/trends",
            &admin,
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["series"][1]["name"], "B");
    assert_eq!(v["series"][1]["math"], "persons");
    assert_eq!(
        values(&v["formula"]["lines"][0]["points"]),
        [Some(30.0), Some(37.5), None]
    );

    // Bad math and bad formulas are refused, saying why.
    for (q, says) in [
        ("math=total:amount", "not an aggregate"),
        ("math=sum:", "names no property"),
        ("math=events&per_person=avg", "per-person"),
    ] {
        let got = app
            .get(
                &format!("/api/v1/projects/shop/analytics/trends?{q}"),
                &admin,
            )
            .await;
        assert_problem(&got, 422);
        assert!(
            got.1["detail"].as_str().unwrap_or("").contains(says),
            "{q}: {}",
            got.1
        );
    }
    for (formula, says) in [
        ("A / C", "from A to B"),
        ("A +", "ends where"),
        ("A % B", "`%`"),
    ] {
        let mut bad = body.clone();
        bad["formula"] = json!(formula);
        let got = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/analytics/trends",
                &admin,
                Some(bad),
            )
            .await;
        assert_problem(&got, 422);
        assert!(
            got.1["detail"].as_str().unwrap_or("").contains(says),
            "{formula}: {}",
            got.1
        );
    }
    let got = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/analytics/trends",
            &admin,
            Some(json!({"series": []})),
        )
        .await;
    assert_problem(&got, 422);

    // The CLI: math on one series, and a formula over two.
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "trends",
            "--project",
            "shop",
            "--event",
            "order",
            "--math",
            "sum:amount",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-05",
        ],
    );
    assert!(out.contains("112.5"), "{out}");
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "trends",
            "--project",
            "shop",
            "--event",
            "order",
            "--math",
            "sum:amount",
            "--series",
            "$pageview=persons",
            "--formula",
            "A / B",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-05",
        ],
    );
    let formula_rows: Vec<&str> = out.lines().filter(|l| l.starts_with("A / B")).collect();
    assert_eq!(formula_rows.len(), 3, "{out}");
    assert!(formula_rows[1].contains("37.5"), "{out}");

    // The analytics page: series A and B, the formula's line and its
    // latest value (none: nobody visited on the 4th).
    let (_, html) = crate::ui::root_page(
        &app.base,
        "/p/shop/analytics?event=order&math=sum&property=amount&event_b=%24pageview&math_b=persons\
         &formula=A+%2F+B&from=2026-11-02&to=2026-11-04",
    )
    .await;
    assert!(html.contains("<tr class=\"formula\">"), "{html}");
    assert!(html.contains("sum:amount"), "the series' math is shown");
    let (_, refused) = crate::ui::root_page(
        &app.base,
        "/p/shop/analytics?event=order&math=sum&property=amount&formula=A+%2F+C",
    )
    .await;
    assert!(refused.contains("from A to B"), "{refused}");
    app.stop().await;
}

/// Page views as the PostHog JS SDK sends them: two sessions of Ann (one
/// from Google with a UTM source, one direct), a bounce from X, and Cat,
/// who identifies between her two views.
fn page_views() -> Vec<Value> {
    let view = |n: u32, who: &str, day: u32, hour: u32, minute: u32, props: Value| {
        json!({"event": "$pageview", "distinct_id": who, "uuid": format!("w{n}"),
               "timestamp": format!("2026-11-{day:02}T{hour:02}:{minute:02}:00Z"), "properties": props})
    };
    vec![
        view(
            1,
            "ann",
            2,
            9,
            0,
            json!({"$current_url": "https://shop.example/", "$session_id": "s1",
            "$referrer": "https://www.google.de/search?q=shop", "utm_source": "newsletter",
            "utm_medium": "email", "utm_campaign": "nov", "$browser": "Chrome", "$os": "Mac OS X",
            "$device_type": "Desktop"}),
        ),
        view(
            2,
            "ann",
            2,
            9,
            4,
            json!({"$current_url": "https://shop.example/pricing", "$session_id": "s1"}),
        ),
        view(
            3,
            "ann",
            3,
            15,
            0,
            json!({"$current_url": "https://shop.example/docs", "$session_id": "s2",
            "$referrer": "$direct", "$browser": "Chrome"}),
        ),
        view(
            4,
            "bob",
            2,
            11,
            0,
            json!({"$current_url": "https://shop.example/pricing?plan=pro",
            "$referrer": "https://t.co/x", "$browser": "Mobile Safari", "$device_type": "Mobile"}),
        ),
        view(5, "anon-cat", 4, 8, 0, json!({"$pathname": "/"})),
        json!({"event": "$identify", "distinct_id": "cat", "uuid": "w-id",
               "timestamp": "2026-11-04T08:05:00Z", "properties": {"$anon_distinct_id": "anon-cat"}}),
        view(6, "cat", 4, 8, 10, json!({"$pathname": "/signup"})),
    ]
}

async fn web_overview_from_page_views(backend: Backend) {
    let (app, admin) = shop_with(backend, page_views()).await;
    let (status, w) = app
        .get(
            "/api/v1/projects/shop/analytics/web?from=2026-11-01&to=2026-11-05",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(
        (
            w["visitors"].as_u64(),
            w["page_views"].as_u64(),
            w["sessions"].as_u64()
        ),
        (Some(3), Some(6), Some(4))
    );
    // Ann's second session and Bob's are single views.
    assert_eq!(w["bounce_rate"], 0.5);
    // 4 minutes, 0, 0 and 10 minutes.
    assert_eq!(w["mean_session_seconds"], 210.0);
    let first = |k: &str| {
        (
            w[k][0]["value"].as_str().unwrap_or("").to_owned(),
            w[k][0]["count"].as_u64().unwrap_or(0),
        )
    };
    assert_eq!(
        first("pages"),
        ("/".to_owned(), 2),
        "/ and /pricing tie, by name"
    );
    assert_eq!(first("referrers"), ("(direct)".to_owned(), 2));
    assert_eq!(first("channels"), ("direct".to_owned(), 2));
    let referrers: Vec<&str> = w["referrers"]
        .as_array()
        .expect("referrers")
        .iter()
        .filter_map(|r| r["value"].as_str())
        .collect();
    assert_eq!(referrers, ["(direct)", "Google", "X (Twitter)"]);
    assert_eq!(w["utm_campaigns"][1]["value"], "nov");
    assert_eq!(w["browsers"][0]["value"], "Chrome");
    for q in ["top=0", "from=yesterday-ish"] {
        let got = app
            .get(&format!("/api/v1/projects/shop/analytics/web?{q}"), &admin)
            .await;
        assert_problem(&got, 422);
    }

    let out = app.cli(
        &admin,
        &[
            "analytics",
            "web",
            "--project",
            "shop",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-05",
        ],
    );
    assert!(
        out.contains("bounce rate") && out.contains("50.0%"),
        "{out}"
    );
    assert!(out.contains("X (Twitter)"), "{out}");

    let (_, html) = crate::ui::root_page(
        &app.base,
        "/p/shop/analytics/web?from=2026-11-01&to=2026-11-05",
    )
    .await;
    assert!(html.contains("<dd id=\"visitors\">3</dd>"), "{html}");
    assert!(
        html.contains("<dd id=\"bounce-rate\">50.0 %</dd>"),
        "{html}"
    );
    assert!(html.contains("Google"), "{html}");
    app.stop().await;
}

storage_stories!(property_math_and_formulas, web_overview_from_page_views);
