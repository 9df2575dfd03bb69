//! Business metrics end to end: math on a numeric event property (per
//! event and per person), formulas over several series, the web overview
//! of page views, and revenue and MRR in several currencies, through the
//! API, the CLI and the pages.

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
    // No GeoIP database: every session's country is unknown, and the page
    // says why rather than guessing.
    assert_eq!(w["geoip_database"], false);
    assert_eq!(w["countries"][0]["value"], "(none)");
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
    assert!(html.contains("id=\"no-geoip\""), "{html}");
    app.stop().await;
}

/// Revenue in three currencies (one without a rate) and subscription
/// events from July to November 2026.
fn money_events() -> Vec<Value> {
    let event = |n: u32, who: &str, name: &str, when: &str, props: Value| {
        json!({"event": name, "distinct_id": who, "uuid": format!("m{n}"),
               "timestamp": when, "properties": props})
    };
    let sub = |n: u32, who: &str, name: &str, when: &str, props: Value| {
        event(100 + n, who, name, &format!("{when}T10:00:00Z"), props)
    };
    vec![
        // PostHog's $revenue in the base currency, Segment's Order
        // Completed with a total in dollars, a revenue in pounds (the code
        // in small letters) and one in yen, which has no rate.
        event(1, "pia", "purchase", &at(2, 9), json!({"$revenue": 100})),
        event(
            2,
            "quin",
            "Order Completed",
            &at(2, 10),
            json!({"total": 50, "currency": "USD"}),
        ),
        event(
            3,
            "zed",
            "upgrade",
            &at(3, 9),
            json!({"revenue": "20", "currency": "gbp"}),
        ),
        event(
            4,
            "yan",
            "purchase",
            &at(3, 10),
            json!({"$revenue": 10, "currency": "JPY"}),
        ),
        event(
            5,
            "pia",
            "purchase",
            &at(3, 11),
            json!({"note": "no amount"}),
        ),
        // Before September: a pays 100 a month, b 600 a year; x came and
        // went in July.
        sub(
            1,
            "a",
            "subscription_started",
            "2026-08-05",
            json!({"subscription_id": "a1", "amount": 100, "interval": "month"}),
        ),
        sub(
            2,
            "b",
            "subscription_started",
            "2026-08-06",
            json!({"amount": 600, "interval": "year"}),
        ),
        sub(
            3,
            "x",
            "subscription_started",
            "2026-07-06",
            json!({"amount": 10}),
        ),
        sub(4, "x", "subscription_cancelled", "2026-07-20", json!({})),
        // September: c is new, a expands with a second subscription, b
        // contracts to 480 a year.
        sub(
            5,
            "c",
            "subscription_started",
            "2026-09-03",
            json!({"amount": 30, "interval": "month"}),
        ),
        sub(
            6,
            "a",
            "subscription_started",
            "2026-09-04",
            json!({"subscription_id": "a2", "amount": 20}),
        ),
        sub(
            7,
            "b",
            "subscription_changed",
            "2026-09-09",
            json!({"amount": 480, "interval": "year"}),
        ),
        // October: b churns and x comes back.
        sub(8, "b", "subscription_cancelled", "2026-10-01", json!({})),
        sub(
            9,
            "x",
            "Subscription Started",
            "2026-10-02",
            json!({"amount": 15}),
        ),
        // November: a drops its first subscription; d pays 20 dollars a
        // month; e sends no amount.
        sub(
            10,
            "a",
            "subscription_canceled",
            "2026-11-05",
            json!({"subscription_id": "a1"}),
        ),
        sub(
            11,
            "d",
            "subscription_started",
            "2026-11-06",
            json!({"amount": 20, "currency": "USD"}),
        ),
        sub(
            12,
            "e",
            "subscription_started",
            "2026-11-07",
            json!({"interval": "month"}),
        ),
    ]
}

async fn revenue_and_mrr(backend: Backend) {
    let (app, admin) = shop_with(backend, money_events()).await;
    let api = "/api/v1/projects/shop/analytics/revenue";
    let (status, s) = app.get(&format!("{api}/settings"), &admin).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (s["base_currency"].as_str(), s["revenue_property"].as_str()),
        (Some("EUR"), Some("$revenue"))
    );

    // Rates: one bad rate refuses the whole import, saying which.
    for (rate, says) in [
        (
            json!({"currency": "usd", "date": "2026-11-01", "rate": 0}),
            "positive",
        ),
        (
            json!({"currency": "dollars", "date": "2026-11-01", "rate": 1}),
            "three letters",
        ),
        (
            json!({"currency": "USD", "date": "01/11/2026", "rate": 1}),
            "YYYY-MM-DD",
        ),
        (
            json!({"currency": "EUR", "date": "2026-11-01", "rate": 2}),
            "base currency",
        ),
    ] {
        let body = json!({"rates": [{"currency": "GBP", "date": "2026-11-01", "rate": 1.2}, rate]});
        let got = app
            .send(Method::POST, &format!("{api}/rates"), &admin, Some(body))
            .await;
        assert_problem(&got, 422);
        let detail = got.1["detail"].as_str().unwrap_or("");
        assert!(
            detail.contains("rates[1]") && detail.contains(says),
            "{detail}"
        );
    }
    let (_, none) = app.get(&format!("{api}/rates"), &admin).await;
    assert_eq!(none, json!([]), "nothing of a refused import is kept");
    let (status, v) = app
        .send(
            Method::POST,
            &format!("{api}/rates"),
            &admin,
            Some(json!({"rates": [
                {"currency": "usd", "date": "2026-11-01", "rate": 0.9},
                {"currency": "GBP", "date": "2026-11-01", "rate": 1.2}
            ]})),
        )
        .await;
    assert_eq!((status, v["imported"].as_u64()), (200, Some(2)), "{v}");
    // From the CLI, a CSV file: dollars are worth less from the 3rd, which
    // changes nothing on the 2nd.
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("rates.csv");
    std::fs::write(&csv, "currency,date,rate\nUSD,2026-11-03,0.8\n").expect("csv");
    let csv = csv.to_string_lossy().into_owned();
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "revenue",
            "import-rates",
            "--project",
            "shop",
            &csv,
        ],
    );
    assert!(out.contains("imported") && out.contains('1'), "{out}");
    let (_, rates) = app.get(&format!("{api}/rates"), &admin).await;
    assert_eq!(rates.as_array().map(Vec::len), Some(3), "{rates}");
    assert_eq!(rates[0]["currency"], "GBP");
    assert_eq!(rates[2]["date"], "2026-11-03");

    // The base cannot change under the rates.
    let got = app
        .send(
            Method::PUT,
            &format!("{api}/settings"),
            &admin,
            Some(json!({"base_currency": "USD", "revenue_property": "$revenue"})),
        )
        .await;
    assert_problem(&got, 409);

    // Revenue per day in euros: 100 + 50 × 0.9 on the 2nd, 20 × 1.2 on
    // the 3rd; the yen payment is counted as unconverted.
    let (status, r) = app
        .get(&format!("{api}?from=2026-11-02&to=2026-11-04"), &admin)
        .await;
    assert_eq!(status, 200, "{r}");
    let day = |i: usize| r["points"][i]["revenue"].as_f64().unwrap_or(f64::NAN);
    assert!((day(0) - 145.0).abs() < 1e-9, "{r}");
    assert!((day(1) - 24.0).abs() < 1e-9, "{r}");
    assert_eq!(
        (r["orders"].as_u64(), r["payers"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        r["unconverted"],
        json!([{"currency": "JPY", "payments": 1}])
    );
    assert!((r["per_payer"].as_f64().unwrap_or(0.0) - 169.0 / 3.0).abs() < 1e-9);
    let got = app.get(&format!("{api}?interval=fortnight"), &admin).await;
    assert_problem(&got, 422);

    // A funnel's converted persons and what they paid: Pia (100) and Yan
    // (yen, left out) bought; Quin and Zed paid through other events.
    let (status, f) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/analytics/funnel",
            &admin,
            Some(json!({"steps": ["purchase"], "from": "2026-11-02", "to": "2026-11-04", "revenue": true})),
        )
        .await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(
        f["revenue"],
        json!({"currency": "EUR", "revenue": 100.0, "converted": 2, "per_converted": 50.0,
               "unconverted_payments": 1}),
        "{f}"
    );
    let (_, plain) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/analytics/funnel",
            &admin,
            Some(json!({"steps": ["purchase"], "from": "2026-11-02", "to": "2026-11-04"})),
        )
        .await;
    assert!(plain.get("revenue").is_none(), "only when asked: {plain}");
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "funnel",
            "--project",
            "shop",
            "purchase",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-04",
            "--revenue",
        ],
    );
    assert!(
        out.contains("paid 100.00 EUR, 50.00 per converted person"),
        "{out}"
    );

    // MRR for September to November, by hand:
    //   Sep: new 30 (c), expansion 20 (a), contraction −10 (b): 190, 3 customers;
    //   Oct: churn −40 (b), reactivation 15 (x): 165, 3 customers;
    //   Nov: contraction −100 (a), new 16 (d's 20 dollars at 0.8, the rate
    //   from the 3rd): 81, 4 customers.
    let (status, m) = app
        .get(&format!("{api}/mrr?months=3&to=2026-11-15"), &admin)
        .await;
    assert_eq!(status, 200, "{m}");
    let month = |i: usize, k: &str| m["months"][i][k].as_f64().unwrap_or(f64::NAN);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert_eq!(m["months"][0]["month"], "2026-09");
    for (i, want) in [
        [30.0, 20.0, -10.0, 0.0, 0.0, 190.0],
        [0.0, 0.0, 0.0, -40.0, 15.0, 165.0],
        [16.0, 0.0, -100.0, 0.0, 0.0, 81.0],
    ]
    .iter()
    .enumerate()
    {
        let got = [
            "new",
            "expansion",
            "contraction",
            "churn",
            "reactivation",
            "mrr",
        ]
        .map(|k| month(i, k));
        assert!(
            got.iter().zip(want).all(|(g, w)| close(*g, *w)),
            "month {i}: {got:?} != {want:?}: {m}"
        );
    }
    assert_eq!(m["months"][2]["customers"], 4);
    assert!(close(month(1, "customer_churn_rate"), 1.0 / 3.0), "{m}");
    assert!(close(month(0, "gross_mrr_churn_rate"), 10.0 / 150.0), "{m}");
    assert!(close(month(1, "ltv"), 55.0 * 3.0), "{m}");
    assert_eq!(m["skipped"], json!([{"reason": "no_amount", "events": 1}]));
    let got = app.get(&format!("{api}/mrr?months=0"), &admin).await;
    assert_problem(&got, 422);

    let out = app.cli(
        &admin,
        &[
            "analytics",
            "revenue",
            "show",
            "--project",
            "shop",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-04",
        ],
    );
    assert!(out.contains("169.00 EUR"), "{out}");
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "revenue",
            "mrr",
            "--project",
            "shop",
            "--months",
            "3",
            "--to",
            "2026-11-15",
        ],
    );
    let nov = out.lines().find(|l| l.starts_with("2026-11")).unwrap_or("");
    assert!(nov.contains("81.00") && nov.contains("-100.00"), "{out}");

    // A launch review of the 3rd against the 2nd: revenue fell from 145
    // to 24 euros, which it says and files as a finding.
    let (status, review) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/reviews",
            &admin,
            Some(json!({"from": "2026-11-03", "to": "2026-11-04"})),
        )
        .await;
    assert_eq!(status, 201, "{review}");
    let facts = &review["facts"];
    assert!(
        close(facts["revenue"].as_f64().unwrap_or(0.0), 24.0),
        "{review}"
    );
    assert!(
        close(facts["revenue_before"].as_f64().unwrap_or(0.0), 145.0),
        "{review}"
    );
    assert_eq!(facts["revenue_currency"], "EUR");
    assert!(
        review["failed"]
            .as_str()
            .is_some_and(|f| f.contains("Revenue 24.00 EUR (was 145.00)")),
        "{review}"
    );

    let (_, html) = crate::ui::root_page(
        &app.base,
        "/p/shop/analytics/revenue?from=2026-11-02&to=2026-11-04",
    )
    .await;
    assert!(
        html.contains("<dd id=\"revenue-total\">169.00 EUR</dd>"),
        "{html}"
    );
    assert!(html.contains("in JPY are left out"), "{html}");
    assert!(
        html.contains("<td class=\"mrr-value\">81.00</td>"),
        "{html}"
    );
    app.stop().await;
}

storage_stories!(
    property_math_and_formulas,
    web_overview_from_page_views,
    revenue_and_mrr
);
