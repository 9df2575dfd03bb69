//! Countries in web analytics from a GeoIP database: events get
//! `$geoip_country_code` and `$geoip_country_name` at ingest, from their
//! `$ip` or the request's address, and the web overview counts sessions by
//! country. The database is a MaxMind DB file written here, by the format's
//! specification, for loopback and private addresses only.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use crate::helpers::{
    Backend, assert_problem, shop_with_ingest_key, spawn_app_with, storage_stories, test_config,
};

/// A MaxMind DB value, as the format encodes it.
enum Mm<'a> {
    Str(&'a str),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'a str, Mm<'a>)>),
    Array(Vec<Mm<'a>>),
}

/// A control byte for `kind` (extended types past 7) and a size under 29.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    assert!(size < 29, "small values only");
    let size = size as u8;
    if kind <= 7 {
        out.push((kind << 5) | size);
    } else {
        out.push(size);
        out.push(kind - 7);
    }
}

fn encode(v: &Mm, out: &mut Vec<u8>) {
    let uint = |out: &mut Vec<u8>, kind: u8, n: u64| {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        control(out, kind, bytes.len());
        out.extend(bytes);
    };
    match v {
        Mm::Str(s) => {
            control(out, 2, s.len());
            out.extend(s.as_bytes());
        }
        Mm::U16(n) => uint(out, 5, u64::from(*n)),
        Mm::U32(n) => uint(out, 6, u64::from(*n)),
        Mm::U64(n) => uint(out, 9, *n),
        Mm::Map(entries) => {
            control(out, 7, entries.len());
            for (k, v) in entries {
                encode(&Mm::Str(k), out);
                encode(v, out);
            }
        }
        Mm::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                encode(v, out);
            }
        }
    }
}

/// What a search-tree record points at.
#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// An IPv4 country database: each (network, prefix length, ISO code,
/// English name), broader networks first.
fn country_database(networks: &[(Ipv4Addr, u32, &str, &str)]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty; 2]];
    for (net, len, code, name) in networks {
        let offset = data.len();
        encode(
            &Mm::Map(vec![(
                "country",
                Mm::Map(vec![
                    ("iso_code", Mm::Str(code)),
                    ("names", Mm::Map(vec![("en", Mm::Str(name))])),
                ]),
            )]),
            &mut data,
        );
        let bits = u32::from(*net);
        let mut node = 0;
        for depth in 0..*len {
            let bit = ((bits >> (31 - depth)) & 1) as usize;
            if depth + 1 == *len {
                nodes[node][bit] = Rec::Data(offset);
                break;
            }
            node = match nodes[node][bit] {
                Rec::Node(n) => n,
                // Inside a broader network: both halves keep its data.
                other => {
                    nodes.push([other; 2]);
                    nodes[node][bit] = Rec::Node(nodes.len() - 1);
                    nodes.len() - 1
                }
            };
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for pair in &nodes {
        for rec in pair {
            let value = match rec {
                Rec::Empty => count,
                Rec::Node(n) => *n,
                Rec::Data(offset) => count + 16 + offset,
            };
            out.extend(&(value as u32).to_be_bytes()[1..]);
        }
    }
    out.extend([0u8; 16]);
    out.extend(&data);
    out.extend(b"\xab\xcd\xefMaxMind.com");
    encode(
        &Mm::Map(vec![
            ("binary_format_major_version", Mm::U16(2)),
            ("binary_format_minor_version", Mm::U16(0)),
            ("build_epoch", Mm::U64(1_790_000_000)),
            ("database_type", Mm::Str("liveops-test-Country")),
            ("description", Mm::Map(vec![("en", Mm::Str("test"))])),
            ("ip_version", Mm::U16(4)),
            ("languages", Mm::Array(vec![Mm::Str("en")])),
            ("node_count", Mm::U32(count as u32)),
            ("record_size", Mm::U16(24)),
        ]),
        &mut out,
    );
    out
}

/// Loopback is Germany except 127.0.0.2, which is France; 10.0.0.0/8 is
/// not in the database.
fn test_database() -> Vec<u8> {
    country_database(&[
        (Ipv4Addr::new(127, 0, 0, 0), 8, "DE", "Germany"),
        (Ipv4Addr::new(127, 0, 0, 2), 32, "FR", "France"),
    ])
}

async fn countries_from_a_geoip_database(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("countries.mmdb");
    std::fs::write(&db, test_database()).expect("mmdb");
    let app = spawn_app_with(backend, |c| c.geoip_database = Some(db.clone())).await;
    let (admin, key) = shop_with_ingest_key(&app).await;
    let view = |n: u32, who: &str, props: Value| {
        let mut props = props;
        props["$pathname"] = json!("/");
        json!({"event": "$pageview", "distinct_id": who, "uuid": format!("g{n}"),
               "timestamp": format!("2026-11-02T1{n}:00:00Z"), "properties": props})
    };
    let batch = vec![
        // From the request's address, 127.0.0.1.
        view(1, "ann", json!({})),
        // A server-side SDK forwarding its user's address.
        view(2, "bob", json!({"$ip": "127.0.0.2"})),
        // An address the database does not know: no country.
        view(3, "cat", json!({"$ip": "10.9.8.7"})),
        // A country the SDK already set is kept.
        view(
            4,
            "dee",
            json!({"$geoip_country_code": "JP", "$geoip_country_name": "Japan"}),
        ),
    ];
    let resp = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": key, "batch": batch}))
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), 200);
    let (status, w) = app
        .get(
            "/api/v1/projects/shop/analytics/web?from=2026-11-02&to=2026-11-03",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["geoip_database"], true);
    let countries: Vec<(String, u64)> = w["countries"]
        .as_array()
        .expect("countries")
        .iter()
        .map(|c| {
            (
                c["value"].as_str().unwrap_or("").to_owned(),
                c["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        countries,
        [
            ("(none)".to_owned(), 1),
            ("France".to_owned(), 1),
            ("Germany".to_owned(), 1),
            ("Japan".to_owned(), 1)
        ],
        "{w}"
    );
    // The event keeps the code and the name, and no address is added.
    let (status, person) = app
        .get("/api/v1/projects/shop/analytics/persons/ann", &admin)
        .await;
    assert_eq!(status, 200, "{person}");
    let text = person.to_string();
    assert!(
        text.contains("$geoip_country_code") && text.contains("DE"),
        "{person}"
    );
    assert!(
        !text.contains("127.0.0.1"),
        "the address is not stored: {person}"
    );

    let (_, html) = crate::ui::root_page(
        &app.base,
        "/p/shop/analytics/web?from=2026-11-02&to=2026-11-03",
    )
    .await;
    assert!(html.contains("class=\"web-countries\""), "{html}");
    assert!(html.contains("France"), "{html}");
    let got = app
        .get("/api/v1/projects/shop/analytics/web?top=0", &admin)
        .await;
    assert_problem(&got, 422);
    app.stop().await;
}

storage_stories!(countries_from_a_geoip_database);

/// A file that is not a MaxMind database stops the server at start, saying
/// which setting is wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_geoip_database_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("countries.mmdb");
    std::fs::write(&bad, b"not a database").expect("file");
    let mut config = test_config(Backend::Sqlite, dir.path()).await;
    config.geoip_database = Some(bad);
    let err = liveops_server::startup::Application::build(config)
        .await
        .expect_err("a bad database");
    assert!(format!("{err:#}").contains("geoip_database"), "{err:#}");
}
