//! Product analytics: the same seeded
//! events, the same queries and the same expected answers, on the embedded
//! DuckDB store, on one ClickHouse server (Debian's 18.16) and on a
//! two-shard ClickHouse cluster. Every answer ClickHouse gives must also
//! equal DuckDB's exactly. The SQL the ClickHouse store sent is then run on
//! `chdb`, a current ClickHouse, to show today's releases take it too.

use std::sync::Arc;

use futures::executor::block_on;
use liveops_core::analytics::Interval;
use liveops_core::analytics::cohort::Window;
use liveops_core::analytics::days_from_civil;
use liveops_core::analytics::event::Event;
use liveops_core::analytics::filter::parse_filters;
use liveops_core::analytics::funnel::FunnelOrder;
use liveops_core::analytics::math::SeriesMath;
use liveops_core::analytics::retention::{Cohort, ReturnMode};
use liveops_core::analytics::{revenue, web};
use liveops_telemetry::analytics::{
    ActiveQuery, CohortQuery, Feature, FunnelBreakdown, FunnelQuery, LifecycleQuery, Members,
    RetentionQuery, RowsQuery, TrendsQuery,
};
use liveops_telemetry::clickhouse::ClickHouse;
use liveops_telemetry::clickhouse::analytics::ClickHouseAnalytics;
use liveops_telemetry::clickhouse::testing::{chdb_here, run_on_chdb};
use liveops_telemetry::{Analytics, DuckDbStore, TelemetryStore};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;
const P: &str = "shop";

/// Monday 2 November 2026, 00:00 UTC.
fn d0() -> i64 {
    days_from_civil(2026, 11, 2) * DAY
}

fn event(uuid: &str, name: &str, who: &str, at: i64, props: &str) -> Event {
    Event {
        uuid: uuid.into(),
        name: name.into(),
        distinct_id: who.into(),
        at_ms: at,
        properties: props.into(),
        set: None,
        set_once: None,
        merge_with: None,
    }
}

/// Three ingest requests: most people; then Cat identifying (merging her
/// anonymous id) and buying, and Dan; then a resent copy of Ann's first
/// event. Fay is deleted later.
fn batches() -> Vec<(&'static str, Vec<Event>)> {
    let d = d0();
    let mut first = vec![
        event(
            "a1",
            "$pageview",
            "ann",
            d + 10 * HOUR,
            r#"{"plan":"pro","path":"/home"}"#,
        ),
        event("a2", "signup", "ann", d + 10 * HOUR + 5 * MINUTE, "{}"),
        event(
            "a3",
            "purchase",
            "ann",
            d + 10 * HOUR + 30 * MINUTE,
            r#"{"amount":30}"#,
        ),
        event(
            "a4",
            "$pageview",
            "ann",
            d + DAY + 9 * HOUR,
            r#"{"plan":"pro"}"#,
        ),
        event(
            "a5",
            "$pageview",
            "ann",
            d + 7 * DAY + 9 * HOUR,
            r#"{"plan":"pro"}"#,
        ),
        event(
            "b1",
            "$pageview",
            "bob",
            d + 11 * HOUR,
            r#"{"plan":"free"}"#,
        ),
        event("bh", "help", "bob", d + 11 * HOUR + 5 * MINUTE, "{}"),
        event("b2", "signup", "bob", d + 11 * HOUR + 10 * MINUTE, "{}"),
        event(
            "b3",
            "$pageview",
            "bob",
            d + 2 * DAY + 12 * HOUR,
            r#"{"plan":"free"}"#,
        ),
        event(
            "c1",
            "$pageview",
            "anon-cat",
            d + 12 * HOUR,
            r#"{"plan":"free"}"#,
        ),
        event("e1", "signup", "eve", d + 13 * HOUR, "{}"),
        event("e2", "$pageview", "eve", d + 8 * DAY, "{}"),
        event("f1", "$pageview", "fay", d + 14 * HOUR, r#"{"plan":"pro"}"#),
        event("f2", "signup", "fay", d + 14 * HOUR + 5 * MINUTE, "{}"),
    ];
    first[0].set = Some(r#"{"name":"Ann"}"#.into());
    let mut signup = event("c2", "signup", "cat", d + DAY + 11 * HOUR, "{}");
    signup.merge_with = Some("anon-cat".into());
    signup.set = Some(r#"{"email":"cat@example.com"}"#.into());
    let mut dan = event(
        "d1",
        "$pageview",
        "dan",
        d + DAY + 8 * HOUR,
        r#"{"plan":"pro"}"#,
    );
    dan.set_once = Some(r#"{"first":"d1"}"#.into());
    let second = vec![
        signup,
        event(
            "c3",
            "purchase",
            "cat",
            d + DAY + 11 * HOUR + 30 * MINUTE,
            r#"{"amount":12}"#,
        ),
        dan,
        event("d2", "$pageview", "dan", d + 3 * DAY, r#"{"plan":"pro"}"#),
    ];
    let third = vec![event(
        "a1",
        "$pageview",
        "ann",
        d + 10 * HOUR,
        r#"{"plan":"pro","path":"/home"}"#,
    )];
    vec![(P, first), (P, second), (P, third)]
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn funnel(order: FunnelOrder) -> FunnelQuery {
    FunnelQuery {
        persons: None,
        steps: vec![
            names(&["$pageview"]),
            names(&["signup"]),
            names(&["purchase"]),
        ],
        window_ms: DAY,
        order,
        exclusions: Vec::new(),
        from_ms: d0(),
        to_ms: d0() + 9 * DAY,
        breakdown: None,
        dropoff_after: None,
        converted: false,
    }
}

fn trends(filters: &str, breakdown: Option<&str>) -> TrendsQuery {
    TrendsQuery {
        persons: None,
        event: Some("$pageview".into()),
        interval: Interval::Day,
        from_ms: d0(),
        to_ms: d0() + 9 * DAY,
        filters: parse_filters(filters).expect("filters"),
        breakdown: breakdown.map(str::to_owned),
        breakdown_limit: 25,
        math: SeriesMath::Events,
    }
}

/// Page views of three people, one of them before identifying, with
/// session ids, referrers, UTM parameters and devices; the web overview
/// the core makes of what each backend reads.
fn web_answers(a: &dyn Analytics, out: &mut Vec<String>) {
    let d = d0();
    let mut cat = event(
        "p6",
        "$pageview",
        "cat",
        d + 4 * HOUR + 10 * MINUTE,
        r#"{"$pathname":"/signup"}"#,
    );
    cat.merge_with = Some("anon-cat".into());
    let views = vec![
        event(
            "p1",
            "$pageview",
            "ann",
            d + HOUR,
            r#"{"$pathname":"/","$session_id":"s1","$referrer":"https://www.google.com/search?q=x","utm_source":"newsletter","$browser":"Chrome","$os":"Mac OS X","$device_type":"Desktop"}"#,
        ),
        event(
            "p2",
            "$pageview",
            "ann",
            d + HOUR + 5 * MINUTE,
            r#"{"$pathname":"/pricing","$session_id":"s1"}"#,
        ),
        event(
            "p3",
            "$pageview",
            "ann",
            d + 3 * HOUR,
            r#"{"$pathname":"/docs","$referring_domain":"$direct"}"#,
        ),
        event(
            "p4",
            "$pageview",
            "bob",
            d + 2 * HOUR,
            r#"{"$current_url":"https://shop.example/pricing?x=1","$referrer":"https://t.co/abc","$browser":"Safari","$os":"iOS","$device_type":"Mobile"}"#,
        ),
        event(
            "p5",
            "$pageview",
            "anon-cat",
            d + 4 * HOUR,
            r#"{"$pathname":"/"}"#,
        ),
        cat,
        event(
            "p7",
            "signup",
            "cat",
            d + 4 * HOUR + 11 * MINUTE,
            r#"{"$pathname":"/welcome"}"#,
        ),
        event(
            "p8",
            "$pageview",
            "dee",
            d + 2 * DAY,
            r#"{"$pathname":"/later"}"#,
        ),
    ];
    block_on(a.ingest("site", views))
        .expect("answered")
        .expect("stored");
    let o = web::overview(a.page_views("site", d, d + DAY).expect("views"), 10);
    assert_eq!((o.visitors, o.page_views, o.sessions), (3, 6, 4));
    assert_eq!((o.bounce_rate, o.views_per_session), (0.5, 1.5));
    assert_eq!(
        (o.mean_session_ms, o.median_session_ms),
        (225_000.0, 150_000.0)
    );
    let top = |r: &[web::Ranked]| -> Vec<(String, u64, u64)> {
        r.iter()
            .map(|r| (r.value.clone(), r.count, r.visitors))
            .collect()
    };
    assert_eq!(
        top(&o.pages),
        [
            ("/".into(), 2, 2),
            ("/pricing".into(), 2, 2),
            ("/docs".into(), 1, 1),
            ("/signup".into(), 1, 1)
        ]
    );
    assert_eq!(
        top(&o.referrers),
        [
            ("(direct)".into(), 2, 2),
            ("Google".into(), 1, 1),
            ("X (Twitter)".into(), 1, 1)
        ]
    );
    assert_eq!(top(&o.utm_sources)[1], ("newsletter".into(), 1, 1));
    out.push(format!("{o:?}"));
}

/// Revenue events (PostHog's `$revenue`, Segment's `revenue` and an
/// `Order Completed` total, in two currencies, one sent before its payer
/// identified) and subscription events, read with `property_rows` and
/// summed by the core: the same rows on every backend give the same
/// revenue and MRR.
fn revenue_answers(a: &dyn Analytics, out: &mut Vec<String>) {
    let d = d0();
    let mut pia = event("r3", "purchase", "pia", d + DAY, r#"{"$revenue":5}"#);
    pia.merge_with = Some("anon-pia".into());
    let events = vec![
        event(
            "r1",
            "purchase",
            "anon-pia",
            d + HOUR,
            r#"{"$revenue":10,"currency":"USD"}"#,
        ),
        event(
            "r2",
            "Order Completed",
            "quin",
            d + 2 * HOUR,
            r#"{"total":"40","currency":"usd"}"#,
        ),
        pia,
        event(
            "r4",
            "upgrade",
            "quin",
            d + DAY + HOUR,
            r#"{"revenue":7,"$currency":"JPY"}"#,
        ),
        event(
            "r5",
            "purchase",
            "quin",
            d + DAY + 2 * HOUR,
            r#"{"$revenue":null,"note":"$revenue"}"#,
        ),
        event(
            "s1",
            "subscription_started",
            "ann",
            d - 40 * DAY,
            r#"{"amount":120,"interval":"year"}"#,
        ),
        event(
            "s2",
            "subscription_started",
            "bob",
            d + HOUR,
            r#"{"amount":30,"currency":"USD"}"#,
        ),
        event(
            "s3",
            "subscription_changed",
            "ann",
            d + 2 * HOUR,
            r#"{"amount":20,"interval":"month"}"#,
        ),
        event("s4", "subscription_cancelled", "bob", d + 3 * DAY, "{}"),
        event(
            "s5",
            "subscription_started",
            "cat",
            d + 3 * DAY,
            r#"{"interval":"month"}"#,
        ),
    ];
    block_on(a.ingest("money", events))
        .expect("answered")
        .expect("stored");
    let eur = revenue::Currency::parse("EUR").expect("EUR");
    let usd = revenue::Currency::parse("USD").expect("USD");
    let rate = revenue::Rate::new(&eur, usd, d / DAY - 100, 0.5).expect("rate");
    let rates = revenue::RateTable::new(eur, [rate]);
    let source = revenue::RevenueSource::default();
    let rows = a
        .property_rows(
            "money",
            &RowsQuery {
                from_ms: d,
                to_ms: d + 7 * DAY,
                names: vec![revenue::ORDER_COMPLETED.into()],
                carrying: source.amount_properties(),
                keys: source.keys(),
            },
        )
        .expect("revenue rows");
    // r5 names `$revenue` only as a value, and its own is null.
    assert_eq!(rows.len(), 4, "{rows:?}");
    let payments: Vec<revenue::Payment> = rows
        .into_iter()
        .filter_map(|r| {
            let (amount, currency) = source.read(&r.event, &r.values)?;
            Some(revenue::Payment {
                who: r.who,
                at_ms: r.at_ms,
                amount,
                currency,
            })
        })
        .collect();
    let report = revenue::revenue(&payments, &rates, Interval::Day, d, d + 2 * DAY);
    assert_eq!(
        report.points.iter().map(|p| p.revenue).collect::<Vec<_>>(),
        [25.0, 5.0]
    );
    // Pia's payment before she identified is hers: two payers, not three.
    assert_eq!((report.orders, report.payers), (3, 2));
    assert_eq!(report.unconverted.get("JPY"), Some(&1));
    out.push(format!("{report:?}"));

    let rows = a
        .property_rows(
            "money",
            &RowsQuery {
                from_ms: i64::MIN,
                to_ms: d + 30 * DAY,
                names: revenue::Change::event_names(),
                carrying: Vec::new(),
                keys: revenue::SUBSCRIPTION_PROPERTIES.map(String::from).to_vec(),
            },
        )
        .expect("subscription rows");
    assert_eq!(rows.len(), 5);
    let subs: Vec<revenue::Subscription> = rows
        .into_iter()
        .filter_map(|r| {
            revenue::Subscription::read(&r.event, r.who, r.at_ms, &r.values, &rates)?.ok()
        })
        .collect();
    let months = revenue::mrr(&subs, d, 1);
    let nov = &months[0];
    // Ann 10 → 20 (expansion), Bob new at 15 and gone; Cat sent no amount.
    assert_eq!(
        (nov.new, nov.expansion, nov.churn, nov.mrr, nov.customers),
        (15.0, 10.0, -15.0, 20.0, 1)
    );
    out.push(format!("{months:?}"));
}

/// Orders with amounts (numbers, a number in a string, text that is not
/// one, and none) on two days and an empty third, and each backend's
/// property math over them. Values are compared to six decimals: the
/// backends add in different orders.
fn math_answers(a: &dyn Analytics, out: &mut Vec<String>) {
    type Points = Vec<Option<f64>>;
    let d = d0();
    let mut zed = event(
        "m6",
        "order",
        "zed",
        d + DAY + 3 * HOUR,
        r#"{"amount":100,"plan":"pro"}"#,
    );
    zed.merge_with = Some("anon-zed".into());
    let orders = vec![
        event(
            "m1",
            "order",
            "pia",
            d + HOUR,
            r#"{"amount":10,"plan":"pro"}"#,
        ),
        event(
            "m2",
            "order",
            "pia",
            d + 2 * HOUR,
            r#"{"amount":20,"plan":"pro"}"#,
        ),
        event(
            "m3",
            "order",
            "quin",
            d + 3 * HOUR,
            r#"{"amount":30,"plan":"free"}"#,
        ),
        event("m4", "order", "anon-zed", d + 4 * HOUR, r#"{"plan":"pro"}"#),
        event(
            "m5",
            "order",
            "pia",
            d + DAY + HOUR,
            r#"{"amount":5,"plan":"pro"}"#,
        ),
        event(
            "m7",
            "order",
            "quin",
            d + DAY + 2 * HOUR,
            r#"{"amount":"7.5","plan":"free"}"#,
        ),
        event(
            "m8",
            "order",
            "quin",
            d + DAY + 4 * HOUR,
            r#"{"amount":"n/a","plan":"free"}"#,
        ),
        zed,
    ];
    block_on(a.ingest("money", orders))
        .expect("answered")
        .expect("stored");
    let query = |math: &str, per_person: Option<&str>, breakdown: Option<&str>| TrendsQuery {
        persons: None,
        event: Some("order".into()),
        interval: Interval::Day,
        from_ms: d,
        to_ms: d + 3 * DAY,
        filters: Vec::new(),
        breakdown: breakdown.map(str::to_owned),
        breakdown_limit: 25,
        math: SeriesMath::parse(math, per_person).expect("math"),
    };
    let values =
        |lines: &[liveops_telemetry::analytics::TrendSeries]| -> Vec<(Option<String>, Points)> {
            lines
                .iter()
                .map(|l| {
                    let v = l
                        .points
                        .iter()
                        .map(|p| p.value.map(|v| (v * 1e6).round() / 1e6));
                    (l.value.clone(), v.collect())
                })
                .collect()
        };
    let cases: [(&str, Option<&str>, Points); 10] = [
        ("events", None, vec![Some(4.0), Some(4.0), Some(0.0)]),
        ("persons", None, vec![Some(3.0), Some(3.0), Some(0.0)]),
        ("sum:amount", None, vec![Some(60.0), Some(112.5), Some(0.0)]),
        ("avg:amount", None, vec![Some(20.0), Some(37.5), None]),
        ("min:amount", None, vec![Some(10.0), Some(5.0), None]),
        ("max:amount", None, vec![Some(30.0), Some(100.0), None]),
        ("median:amount", None, vec![Some(20.0), Some(7.5), None]),
        // Ranks 1.8 of 10, 20, 30 and of 5, 7.5, 100.
        ("p90:amount", None, vec![Some(28.0), Some(81.5), None]),
        // Pia's 30 and Quin's 30 (Zed gave no number); then 5, 7.5, 100.
        (
            "sum:amount",
            Some("avg"),
            vec![Some(30.0), Some(37.5), None],
        ),
        (
            "max:amount",
            Some("sum"),
            vec![Some(50.0), Some(112.5), Some(0.0)],
        ),
    ];
    for (math, per_person, want) in cases {
        let got = a
            .trends("money", &query(math, per_person, None))
            .expect("trends");
        let got = values(&got);
        assert_eq!(got, vec![(None, want)], "{math} per person {per_person:?}");
        out.push(format!("{math} {per_person:?} {got:?}"));
    }
    let by_plan = a
        .trends("money", &query("sum:amount", None, Some("plan")))
        .expect("by plan");
    let by_plan = values(&by_plan);
    assert_eq!(
        by_plan,
        vec![
            (Some("free".into()), vec![Some(30.0), Some(7.5), Some(0.0)]),
            (Some("pro".into()), vec![Some(30.0), Some(105.0), Some(0.0)]),
        ]
    );
    out.push(format!("{by_plan:?}"));
    // An order after the trends were asked counts (DuckDB answers from a
    // column it now keeps in memory), and a deleted person's do not.
    let later = event(
        "m9",
        "order",
        "quin",
        d + 2 * DAY + HOUR,
        r#"{"amount":12.5}"#,
    );
    block_on(a.ingest("money", vec![later]))
        .expect("answered")
        .expect("stored");
    let sums = |a: &dyn Analytics, math: &str, per_person: Option<&str>| {
        values(
            &a.trends("money", &query(math, per_person, None))
                .expect("trends"),
        )
    };
    assert_eq!(
        sums(a, "sum:amount", None),
        vec![(None, vec![Some(60.0), Some(112.5), Some(12.5)])]
    );
    assert_eq!(
        sums(a, "max:amount", Some("sum")),
        vec![(None, vec![Some(50.0), Some(112.5), Some(12.5)])]
    );
    a.delete_person("money", "quin").expect("deleted");
    let after = sums(a, "sum:amount", None);
    assert_eq!(
        after,
        vec![(None, vec![Some(30.0), Some(105.0), Some(0.0)])]
    );
    out.push(format!("{after:?}"));
}

/// Stores the seed and deletes Fay, checking what each step answers.
/// Cohorts over the seed: who belongs (by their distinct ids, since
/// person ids differ between stores), sizes over time, and a cohort as the
/// filter of a trend, a funnel and active users.
fn cohort_answers(a: &dyn Analytics, out: &mut Vec<String>) {
    let d = d0();
    let window = Window {
        min_count: 2,
        days: 7,
    };
    let person = |did: &str| a.person(P, did).expect("person").expect("known").id;
    let named = |m: &Members| -> Vec<&str> {
        let mut got: Vec<&str> = ["ann", "bob", "cat", "dan", "eve"]
            .into_iter()
            .filter(|n| m.contains(&person(n)))
            .collect();
        got.sort_unstable();
        got
    };
    let viewers = a
        .cohort(
            P,
            &CohortQuery::Behavioural {
                event: "$pageview".into(),
                window,
                did: true,
                at_ms: d + 4 * DAY,
            },
        )
        .expect("cohort");
    // Two views in [d - 3 days, d + 4 days): Ann, Bob and Dan; Cat viewed
    // once (as anon-cat), Eve not yet.
    assert_eq!(named(&viewers), ["ann", "bob", "dan"]);
    assert_eq!(viewers.len(), 3);
    let others = a
        .cohort(
            P,
            &CohortQuery::Behavioural {
                event: "$pageview".into(),
                window,
                did: false,
                at_ms: d + 4 * DAY,
            },
        )
        .expect("cohort");
    assert_eq!(named(&others), ["cat", "eve"]);
    let emails = a
        .cohort(
            P,
            &CohortQuery::Property {
                filters: parse_filters("email~example.com").expect("filters"),
            },
        )
        .expect("cohort");
    assert_eq!(named(&emails), ["cat"]);
    let listed = a
        .cohort(
            P,
            &CohortQuery::Static {
                distinct_ids: names(&["anon-cat", "eve", "zed"]),
            },
        )
        .expect("cohort");
    // Zed has sent nothing yet: he stands for himself.
    assert_eq!(named(&listed), ["cat", "eve"]);
    assert!(listed.contains("zed") && listed.len() == 3);
    let ends: Vec<i64> = [1, 2, 3, 4, 7, 8, 9].iter().map(|k| d + k * DAY).collect();
    let sizes = a
        .cohort_sizes(P, "$pageview", window, true, &ends)
        .expect("sizes");
    assert_eq!(sizes, [0, 1, 2, 3, 3, 2, 0]);
    let not = a
        .cohort_sizes(P, "$pageview", window, false, &ends)
        .expect("sizes");
    // Everyone who had sent anything by then (Dan from the second day on),
    // less those who had.
    assert_eq!(not, [4, 4, 3, 2, 2, 3, 5]);
    out.push(format!("cohorts {sizes:?} {not:?}"));
    let mut views = trends("", None);
    views.event = Some("$pageview".into());
    views.from_ms = d;
    views.to_ms = d + 3 * DAY;
    views.persons = Some(viewers.clone());
    let got = a.trends(P, &views).expect("trends");
    let events: Vec<u64> = got[0].points.iter().map(|p| p.events).collect();
    let people: Vec<u64> = got[0].points.iter().map(|p| p.persons).collect();
    assert_eq!((events, people), (vec![2, 2, 1], vec![2, 2, 1]));
    let mut f = funnel(FunnelOrder::Ordered);
    f.persons = Some(viewers.clone());
    let got = a.funnel(P, &f).expect("funnel");
    let counts: Vec<u64> = got.steps.iter().map(|s| s.count).collect();
    assert_eq!(counts, [3, 2, 1]);
    let active = a
        .active_users(
            P,
            &ActiveQuery {
                persons: Some(viewers),
                events: Vec::new(),
                from_day: d / DAY,
                days: 3,
            },
        )
        .expect("active");
    // Day 1 Ann and Bob (Cat and Eve are not in it), day 2 Ann and Dan,
    // day 3 Bob.
    assert_eq!(active.dau, [2, 2, 1]);
    out.push(format!("{:?}", active.wau));
}

fn seed(a: &dyn Analytics) {
    let expected = [(14, 0), (4, 0), (0, 1)];
    for ((project, events), (stored, duplicates)) in batches().into_iter().zip(expected) {
        let got = block_on(a.ingest(project, events))
            .expect("answered")
            .expect("stored");
        assert_eq!((got.stored, got.duplicates), (stored, duplicates));
    }
    assert_eq!(a.delete_person(P, "fay").expect("delete"), Some(2));
    assert_eq!(a.delete_person(P, "nobody").expect("delete"), None);
}

/// Every answer the backend gives over the seed, checked against what the
/// seed implies; the whole text is returned for comparing backends.
fn answers(a: &dyn Analytics) -> String {
    let d = d0();
    let mut out = Vec::new();

    let ordered = a.funnel(P, &funnel(FunnelOrder::Ordered)).expect("funnel");
    let counts: Vec<u64> = ordered.steps.iter().map(|s| s.count).collect();
    // Ann, Bob, Cat, Dan and Eve view; Ann, Bob and Cat (within the day)
    // sign up after it; Ann and Cat buy. Eve signed up before viewing.
    assert_eq!(counts, [5, 3, 2]);
    out.push(format!("{ordered:?}"));
    let strict = a.funnel(P, &funnel(FunnelOrder::Strict)).expect("strict");
    let counts: Vec<u64> = strict.steps.iter().map(|s| s.count).collect();
    // Bob asked for help between viewing and signing up.
    assert_eq!(counts, [5, 2, 2]);
    out.push(format!("{strict:?}"));
    out.push(format!(
        "{:?}",
        a.funnel(P, &funnel(FunnelOrder::Unordered))
            .expect("unordered")
    ));
    let mut by_plan = funnel(FunnelOrder::Ordered);
    by_plan.breakdown = Some(FunnelBreakdown::Event("plan".into()));
    by_plan.dropoff_after = Some(2);
    let by_plan = a.funnel(P, &by_plan).expect("breakdown");
    let mut plans: Vec<(String, Vec<u64>)> = by_plan
        .breakdown
        .iter()
        .map(|(v, steps)| (v.clone(), steps.iter().map(|s| s.count).collect()))
        .collect();
    plans.sort();
    assert_eq!(
        plans,
        [
            ("(none)".to_owned(), vec![1, 0, 0]),
            ("free".to_owned(), vec![2, 2, 1]),
            ("pro".to_owned(), vec![2, 1, 1]),
        ]
    );
    let dropoff = by_plan.dropoff.as_ref().expect("drop-off");
    assert_eq!(dropoff.total, 1, "Bob signed up and did not buy");
    out.push(format!("{by_plan:?}"));
    let mut excluding = funnel(FunnelOrder::Ordered);
    excluding.exclusions = vec![(names(&["purchase"]), 0, 1)];
    out.push(format!(
        "{:?}",
        a.funnel(P, &excluding).expect("exclusions")
    ));

    let views = a.trends(P, &trends("", None)).expect("trends");
    let per_day: Vec<(u64, u64)> = views[0]
        .points
        .iter()
        .map(|p| (p.events, p.persons))
        .collect();
    assert_eq!(
        per_day,
        [
            (3, 3),
            (2, 2),
            (1, 1),
            (1, 1),
            (0, 0),
            (0, 0),
            (0, 0),
            (1, 1),
            (1, 1)
        ]
    );
    out.push(format!("{views:?}"));
    let pro = a.trends(P, &trends("plan=pro", None)).expect("filtered");
    let pro_events: u64 = pro[0].points.iter().map(|p| p.events).sum();
    assert_eq!(pro_events, 5, "Ann's three and Dan's two");
    out.push(format!("{pro:?}"));
    for (filters, breakdown) in [
        ("plan!=pro;path?", None),
        ("", Some("plan")),
        ("plan~FR", Some("path")),
    ] {
        out.push(format!(
            "{:?}",
            a.trends(P, &trends(filters, breakdown)).expect("trends")
        ));
    }
    let mut one = trends("", Some("plan"));
    one.breakdown_limit = 1;
    one.event = None;
    let one = a.trends(P, &one).expect("limited");
    assert!(one.iter().any(|s| s.other), "{one:?}");
    out.push(format!("{one:?}"));

    let active = a
        .active_users(
            P,
            &ActiveQuery {
                persons: None,
                events: Vec::new(),
                from_day: d / DAY,
                days: 9,
            },
        )
        .expect("active");
    assert_eq!(active.dau[0], 4, "Ann, Bob, Cat and Eve on the first day");
    out.push(format!("{active:?}"));
    // Only page views; and a range too wide for ClickHouse's day masks,
    // which starts before the first event and ends after the last.
    for (events, from_day, days) in [
        (names(&["$pageview"]), d / DAY + 2, 9),
        (Vec::new(), d / DAY - 20, 40),
    ] {
        let active = a
            .active_users(
                P,
                &ActiveQuery {
                    persons: None,
                    events,
                    from_day,
                    days,
                },
            )
            .expect("active");
        assert!(active.mau.iter().any(|&n| n > 0), "{active:?}");
        out.push(format!("{active:?}"));
    }
    let sticky = a
        .stickiness(
            P,
            &ActiveQuery {
                persons: None,
                events: names(&["$pageview"]),
                from_day: d / DAY,
                days: 9,
            },
        )
        .expect("stickiness");
    out.push(format!("{sticky:?}"));
    out.push(format!(
        "{:?}",
        a.lifecycle(
            P,
            &LifecycleQuery {
                persons: None,
                events: Vec::new(),
                interval: Interval::Day,
                from_ms: d,
                periods: 9,
            },
        )
        .expect("lifecycle")
    ));
    for (cohort, mode) in [
        (Cohort::FirstTime, ReturnMode::On),
        (Cohort::Recurring, ReturnMode::OnOrAfter),
    ] {
        let r = a
            .retention(
                P,
                &RetentionQuery {
                    persons: None,
                    start: names(&["$pageview"]),
                    returning: Vec::new(),
                    interval: Interval::Day,
                    from_ms: d,
                    periods: 8,
                    cohort,
                    mode,
                },
            )
            .expect("retention");
        assert_eq!(r[0].counts[0], 3, "Ann, Bob and Cat first viewed on day 0");
        out.push(format!("{r:?}"));
    }
    // The other intervals, which a store may read by bucket: hours,
    // weeks from Monday, calendar months; all names and listed ones.
    for interval in [Interval::Hour, Interval::Week, Interval::Month] {
        for events in [Vec::new(), names(&["$pageview", "purchase"])] {
            let q = LifecycleQuery {
                persons: None,
                events: events.clone(),
                interval,
                from_ms: d,
                periods: 3,
            };
            out.push(format!(
                "{interval:?} {:?}",
                a.lifecycle(P, &q).expect("lifecycle")
            ));
            let q = RetentionQuery {
                persons: None,
                start: names(&["$pageview"]),
                returning: events,
                interval,
                from_ms: d - DAY,
                periods: 3,
                cohort: Cohort::FirstTime,
                mode: ReturnMode::OnOrAfter,
            };
            out.push(format!(
                "{interval:?} {:?}",
                a.retention(P, &q).expect("retention")
            ));
        }
    }
    let features = a
        .features(
            P,
            &[
                Feature {
                    name: "buying".into(),
                    events: names(&["purchase"]),
                },
                Feature {
                    name: "joining".into(),
                    events: names(&["signup"]),
                },
            ],
            d,
            d + 9 * DAY,
        )
        .expect("features");
    assert_eq!(features.active_users, 5);
    out.push(format!("{features:?}"));

    let cat = a.person(P, "anon-cat").expect("person").expect("Cat");
    assert_eq!(a.person(P, "cat").expect("person").as_ref(), Some(&cat));
    let mut ids = cat.distinct_ids.clone();
    ids.sort();
    assert_eq!(ids, ["anon-cat", "cat"]);
    assert!(cat.properties.contains("cat@example.com"), "{cat:?}");
    assert_eq!(a.person(P, "fay").expect("person"), None, "deleted");
    let people = a.persons(P, None, 100).expect("persons");
    assert_eq!(people.len(), 5);
    let mut shown: Vec<(usize, String)> = people
        .iter()
        .map(|p| (p.distinct_ids.len(), p.properties.clone()))
        .collect();
    shown.sort();
    out.push(format!("{shown:?}"));
    let searched = a.persons(P, Some("an"), 100).expect("search");
    let mut found: Vec<String> = searched
        .iter()
        .flat_map(|p| p.distinct_ids.clone())
        .collect();
    found.sort();
    assert_eq!(found, ["ann", "anon-cat", "cat", "dan"]);
    let events = a.person_events(P, &cat.distinct_ids, 10).expect("events");
    assert_eq!(
        events.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["purchase", "signup", "$pageview"]
    );
    out.push(format!("{events:?}"));
    let names = a.event_names(P).expect("names");
    assert_eq!(
        names,
        [
            ("$pageview".to_owned(), 9),
            ("signup".to_owned(), 4),
            ("purchase".to_owned(), 2),
            ("help".to_owned(), 1)
        ]
    );
    let stats = a.stats(P).expect("stats");
    assert_eq!(
        (
            stats.events,
            stats.persons,
            stats.distinct_ids,
            stats.event_names
        ),
        (16, 5, 6, 4)
    );
    assert!(a.funnel("elsewhere", &funnel(FunnelOrder::Ordered)).is_ok());
    assert!(a.persons("elsewhere", None, 10).expect("none").is_empty());

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("events.parquet");
    assert_eq!(a.export_parquet(P, &file).expect("export"), 16);
    assert!(std::fs::metadata(&file).expect("written").len() > 0);

    // Retention: a project with an old day and a recent one.
    let old = vec![
        event("o1", "$pageview", "ann", d, "{}"),
        event("o2", "$pageview", "ann", d + 5 * DAY, "{}"),
    ];
    block_on(a.ingest("old", old))
        .expect("answered")
        .expect("stored");
    assert_eq!(a.drop_before("old", d + 3 * DAY).expect("drop"), 1);
    assert_eq!(
        a.event_names("old").expect("names"),
        [("$pageview".to_owned(), 1)]
    );

    // Bucket edges: the last minute of a Sunday and of a month, the first
    // of the next, an hour's edge, and a time before 1970.
    let edges = vec![
        event("w1", "$pageview", "gus", d + 7 * DAY - MINUTE, "{}"),
        event("w2", "$pageview", "gus", d + 7 * DAY, "{}"),
        event("w3", "$pageview", "hal", d - DAY - MINUTE, "{}"),
        event("w4", "$pageview", "hal", d - DAY, "{}"),
        event("w5", "$pageview", "ivy", d + 2 * DAY + HOUR - 1, "{}"),
        event("w6", "$pageview", "ivy", d + 2 * DAY + HOUR, "{}"),
        event("w7", "$pageview", "jo", -DAY - 1, "{}"),
    ];
    block_on(a.ingest("edges", edges))
        .expect("answered")
        .expect("stored");
    for (interval, from) in [
        (Interval::Hour, d + 2 * DAY),
        (Interval::Day, d - 2 * DAY),
        (Interval::Week, d - 14 * DAY),
        (Interval::Month, d - 40 * DAY),
        (Interval::Day, -3 * DAY),
    ] {
        let q = LifecycleQuery {
            persons: None,
            events: Vec::new(),
            interval,
            from_ms: from,
            periods: 4,
        };
        out.push(format!(
            "edges {interval:?} {:?}",
            a.lifecycle("edges", &q).expect("lifecycle")
        ));
        let q = RetentionQuery {
            persons: None,
            start: vec!["$pageview".to_owned()],
            returning: vec!["$pageview".to_owned()],
            interval,
            from_ms: from,
            periods: 4,
            cohort: Cohort::Recurring,
            mode: ReturnMode::On,
        };
        out.push(format!(
            "edges {interval:?} {:?}",
            a.retention("edges", &q).expect("retention")
        ));
    }

    // Later rounds: a plain event of a known id, then one that sets a
    // property, then the id deleted and seen again, which makes a new
    // person owning only what came after.
    let mut set = event("k2", "$pageview", "gus", d + 8 * DAY + HOUR, "{}");
    set.set = Some(r#"{"plan":"team"}"#.into());
    for round in [
        vec![event("k1", "$pageview", "gus", d + 8 * DAY, "{}")],
        vec![set],
    ] {
        block_on(a.ingest("edges", round))
            .expect("answered")
            .expect("stored");
    }
    let gus = a.person("edges", "gus").expect("person").expect("gus");
    assert_eq!(gus.properties, r#"{"plan":"team"}"#);
    assert_eq!(a.delete_person("edges", "gus").expect("delete"), Some(4));
    block_on(a.ingest(
        "edges",
        vec![event("k3", "$pageview", "gus", d + 9 * DAY, "{}")],
    ))
    .expect("answered")
    .expect("stored");
    let again = a
        .person("edges", "gus")
        .expect("person")
        .expect("gus again");
    assert_ne!(again.id, gus.id);
    assert_eq!(again.properties, "{}");
    out.push(format!(
        "{:?} {:?}",
        again.distinct_ids,
        a.person_events("edges", &["gus".into()], 10)
            .expect("events")
            .iter()
            .map(|e| e.uuid.clone())
            .collect::<Vec<_>>()
    ));
    math_answers(a, &mut out);
    web_answers(a, &mut out);
    revenue_answers(a, &mut out);
    cohort_answers(a, &mut out);
    out.join("\n")
}

fn duckdb_answers() -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DuckDbStore::open(&dir.path().join("t.duckdb")).expect("open");
    seed(store.analytics());
    let got = answers(store.analytics());
    store.close().expect("close");
    got
}

#[test]
fn duckdb_conforms() {
    duckdb_answers();
}

fn clickhouse_answers(ch: ClickHouse) -> String {
    ch.migrate(d0()).expect("migrate");
    let analytics = ClickHouseAnalytics::open(Arc::new(ch)).expect("open");
    seed(&analytics);
    let got = answers(&analytics);
    analytics.close();
    got
}

fn same_as_duckdb(clickhouse: &str) {
    let duck = duckdb_answers();
    for (i, (c, d)) in clickhouse.lines().zip(duck.lines()).enumerate() {
        assert_eq!(c, d, "answer {i} differs from DuckDB's");
    }
    assert_eq!(clickhouse.lines().count(), duck.lines().count());
}

#[test]
fn one_clickhouse_server_conforms_and_its_sql_runs_on_a_current_clickhouse() {
    let Some((_server, ch, journal)) = super::one_server() else {
        return;
    };
    same_as_duckdb(&clickhouse_answers(ch));
    // Each statement sent runs on chdb's empty tables.
    if chdb_here() {
        run_on_chdb(&super::replay(&journal, "groupArray"));
    }
}

#[test]
fn a_two_shard_clickhouse_cluster_conforms() {
    let Some((_servers, ch)) = super::two_shards() else {
        return;
    };
    same_as_duckdb(&clickhouse_answers(ch));
}
