//! Performance client commands: route latency and errors, query
//! fingerprints, findings, trace evidence and the tuning report.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Format, Global};
use crate::client::{Client, s};
use crate::output;

/// Which requests a command covers.
#[derive(Debug, Args)]
pub struct Range {
    #[arg(long, value_name = "SLUG")]
    project: String,
    /// The last stretch of time, like 1h, 24h or 7d.
    #[arg(long, default_value = "24h")]
    last: String,
    /// Start (date or RFC 3339); overrides --last.
    #[arg(long)]
    from: Option<String>,
    /// End, exclusive; now by default.
    #[arg(long)]
    to: Option<String>,
    #[arg(long)]
    service: Option<String>,
    /// One release (service.version) only.
    #[arg(long, value_name = "VERSION")]
    release: Option<String>,
}

impl Range {
    fn query(&self) -> String {
        let pairs = [
            ("last", Some(&self.last)),
            ("from", self.from.as_ref()),
            ("to", self.to.as_ref()),
            ("service", self.service.as_ref()),
            ("version", self.release.as_ref()),
        ];
        let parts: Vec<String> = pairs
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={}", esc(v))))
            .collect();
        parts.join("&")
    }
}

fn esc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

#[derive(Debug, Subcommand)]
pub enum PerfCommand {
    /// Throughput, error rate, latency percentiles and Apdex per route.
    Routes(Range),
    /// Database queries grouped by fingerprint, by total time.
    Queries(Range),
    /// Open findings: N+1 queries, slow queries, large payloads, cache
    /// candidates, release regressions.
    Findings {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// open, resolved, ignored or all.
        #[arg(long, default_value = "open")]
        status: String,
    },
    /// Mark a finding resolved, ignored or open.
    Mark {
        #[arg(long, value_name = "SLUG")]
        project: String,
        id: String,
        /// open, resolved or ignored.
        status: String,
    },
    /// Every span of a trace.
    Trace {
        #[arg(long, value_name = "SLUG")]
        project: String,
        trace_id: String,
    },
    /// Where time goes: slowest routes, worst queries, N+1 patterns, slow
    /// queries, payload outliers, cache candidates, regressions.
    Report(Range),
    /// Alert rules on request metrics.
    #[command(subcommand)]
    Rule(RuleCommand),
}

#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// Every rule and where it stands.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Alert when a metric crosses a threshold, e.g. `--metric p95_ms --above 500 --for 5m`.
    Create {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        /// p50_ms, p90_ms, p95_ms, p99_ms, error_rate, requests_per_min, apdex.
        #[arg(long)]
        metric: String,
        #[arg(long, conflicts_with = "below", required_unless_present = "below")]
        above: Option<f64>,
        #[arg(long)]
        below: Option<f64>,
        /// How long it must hold, like 5m.
        #[arg(long = "for")]
        for_: Option<String>,
        /// The window, like 5m.
        #[arg(long)]
        window: Option<String>,
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        route: Option<String>,
        /// sev1 to sev4.
        #[arg(long)]
        severity: Option<String>,
        /// The integration whose policy pages.
        #[arg(long)]
        integration: Option<String>,
    },
    /// Delete a rule.
    Delete {
        #[arg(long, value_name = "SLUG")]
        project: String,
        id: String,
    },
}

/// SLOs: error budgets and burn-rate alerts.
#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// Every SLO with its budget and burn rates.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Promise availability (`--objective 0.999`) or latency (`--latency-ms 300`).
    Create {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        #[arg(long)]
        objective: f64,
        /// Make it a latency SLO: requests faster than this are good.
        #[arg(long)]
        latency_ms: Option<f64>,
        #[arg(long, default_value_t = 30)]
        period_days: i64,
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        route: Option<String>,
        #[arg(long)]
        integration: Option<String>,
    },
    /// Delete an SLO.
    Delete {
        #[arg(long, value_name = "SLUG")]
        project: String,
        id: String,
    },
}

fn rule_rows(v: &Value) -> Vec<Vec<String>> {
    let one = |r: &Value| {
        vec![
            s(r, "id"),
            s(r, "name"),
            format!(
                "{} {} {}",
                s(r, "metric"),
                s(r, "comparator"),
                s(r, "threshold")
            ),
            s(r, "route"),
            s(r, "state"),
            ms(&r["value"]),
        ]
    };
    match v.as_array() {
        Some(a) => a.iter().map(one).collect(),
        None => vec![one(v)],
    }
}

fn slo_rows(v: &Value) -> Vec<Vec<String>> {
    let one = |r: &Value| {
        vec![
            s(r, "id"),
            s(r, "name"),
            format!("{} {}", s(r, "kind"), s(r, "objective")),
            s(r, "route"),
            r["attainment"]
                .as_f64()
                .map(|a| format!("{:.3}%", a * 100.0))
                .unwrap_or_else(|| "-".into()),
            pct(&r["budget_remaining"]),
            s(r, "state"),
        ]
    };
    match v.as_array() {
        Some(a) => a.iter().map(one).collect(),
        None => vec![one(v)],
    }
}

const RULE_HEADERS: [&str; 6] = ["ID", "NAME", "CONDITION", "ROUTE", "STATE", "VALUE"];
const SLO_HEADERS: [&str; 7] = [
    "ID",
    "NAME",
    "OBJECTIVE",
    "ROUTE",
    "ATTAINED",
    "BUDGET LEFT",
    "STATE",
];

pub async fn run_slo(g: &Global, cmd: SloCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/performance/slos");
    match cmd {
        SloCommand::List { project } => {
            let v = c.call(Method::GET, &base(&project), None).await?;
            output::table(g.format, &v, &SLO_HEADERS, &slo_rows(&v));
        }
        SloCommand::Create {
            project,
            name,
            objective,
            latency_ms,
            period_days,
            service,
            route,
            integration,
        } => {
            let kind = if latency_ms.is_some() {
                "latency"
            } else {
                "availability"
            };
            let body = json!({"name": name, "kind": kind, "objective": objective,
                "latency_ms": latency_ms, "period_days": period_days, "service": service,
                "route": route, "integration": integration});
            let v = c.call(Method::POST, &base(&project), Some(body)).await?;
            output::table(g.format, &v, &SLO_HEADERS, &slo_rows(&v));
        }
        SloCommand::Delete { project, id } => {
            c.call(
                Method::DELETE,
                &format!("{}/{}", base(&project), esc(&id)),
                None,
            )
            .await?;
            if g.format == Format::Json {
                println!("{}", json!({"deleted": id}));
            } else {
                println!("deleted SLO {id}");
            }
        }
    }
    Ok(())
}

fn ms(v: &Value) -> String {
    v.as_f64()
        .map(|f| format!("{f:.1}"))
        .unwrap_or_else(|| "-".into())
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map(|f| format!("{:.2}%", f * 100.0))
        .unwrap_or_default()
}

fn route_rows(v: &Value) -> Vec<Vec<String>> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            vec![
                s(r, "service"),
                s(r, "route"),
                s(r, "requests"),
                pct(&r["error_rate"]),
                ms(&r["p50_ms"]),
                ms(&r["p95_ms"]),
                ms(&r["p99_ms"]),
                r["apdex"]
                    .as_f64()
                    .map(|a| format!("{a:.2}"))
                    .unwrap_or_default(),
            ]
        })
        .collect()
}

const ROUTE_HEADERS: [&str; 8] = [
    "SERVICE", "ROUTE", "REQUESTS", "ERRORS", "P50 MS", "P95 MS", "P99 MS", "APDEX",
];

fn query_rows(v: &Value) -> Vec<Vec<String>> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|q| {
            vec![
                s(q, "fingerprint"),
                s(q, "calls"),
                ms(&q["total_ms"]),
                ms(&q["p95_ms"]),
                pct(&q["share_of_request_time"]),
                s(q, "query"),
            ]
        })
        .collect()
}

const QUERY_HEADERS: [&str; 6] = [
    "FINGERPRINT",
    "CALLS",
    "TOTAL MS",
    "P95 MS",
    "SHARE",
    "QUERY",
];

pub async fn run(g: &Global, cmd: PerfCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/performance");
    match cmd {
        PerfCommand::Routes(r) => {
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/routes?{}", base(&r.project), r.query()),
                    None,
                )
                .await?;
            output::table(g.format, &v, &ROUTE_HEADERS, &route_rows(&v));
        }
        PerfCommand::Queries(r) => {
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/queries?{}", base(&r.project), r.query()),
                    None,
                )
                .await?;
            output::table(g.format, &v, &QUERY_HEADERS, &query_rows(&v));
        }
        PerfCommand::Findings { project, status } => {
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/findings?status={}", base(&project), esc(&status)),
                    None,
                )
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    vec![
                        s(f, "id"),
                        s(f, "kind"),
                        s(f, "route"),
                        s(f, "occurrences"),
                        s(f, "status"),
                        s(f, "detail"),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &["ID", "KIND", "ROUTE", "SEEN", "STATUS", "DETAIL"],
                &rows,
            );
        }
        PerfCommand::Mark {
            project,
            id,
            status,
        } => {
            let v = c
                .call(
                    Method::PATCH,
                    &format!("{}/findings/{}", base(&project), esc(&id)),
                    Some(json!({"status": status})),
                )
                .await?;
            output::table(
                g.format,
                &v,
                &["ID", "KIND", "STATUS"],
                &[vec![s(&v, "id"), s(&v, "kind"), s(&v, "status")]],
            );
        }
        PerfCommand::Trace { project, trace_id } => {
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/traces/{}", base(&project), esc(&trace_id)),
                    None,
                )
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|sp| {
                    vec![
                        ms(&sp["offset_ms"]),
                        ms(&sp["duration_ms"]),
                        s(sp, "kind"),
                        s(sp, "name"),
                        sp["statement"].as_str().unwrap_or("").to_owned(),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &["AT MS", "TOOK MS", "KIND", "NAME", "STATEMENT"],
                &rows,
            );
        }
        PerfCommand::Rule(RuleCommand::List { project }) => {
            let v = c
                .call(Method::GET, &format!("{}/rules", base(&project)), None)
                .await?;
            output::table(g.format, &v, &RULE_HEADERS, &rule_rows(&v));
        }
        PerfCommand::Rule(RuleCommand::Create {
            project,
            name,
            metric,
            above,
            below,
            for_,
            window,
            service,
            route,
            severity,
            integration,
        }) => {
            let (comparator, threshold) = match (above, below) {
                (Some(a), _) => (">", a),
                (None, Some(b)) => ("<", b),
                (None, None) => anyhow::bail!("give --above or --below"),
            };
            let body = json!({"name": name, "metric": metric, "comparator": comparator,
                "threshold": threshold, "for": for_, "window": window, "service": service,
                "route": route, "severity": severity, "integration": integration});
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/rules", base(&project)),
                    Some(body),
                )
                .await?;
            output::table(g.format, &v, &RULE_HEADERS, &rule_rows(&v));
        }
        PerfCommand::Rule(RuleCommand::Delete { project, id }) => {
            c.call(
                Method::DELETE,
                &format!("{}/rules/{}", base(&project), esc(&id)),
                None,
            )
            .await?;
            if g.format == Format::Json {
                println!("{}", json!({"deleted": id}));
            } else {
                println!("deleted rule {id}");
            }
        }
        PerfCommand::Report(r) => {
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/report?{}", base(&r.project), r.query()),
                    None,
                )
                .await?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            println!("Tuning report, {} to {}", s(&v, "from"), s(&v, "to"));
            println!("\nSLOWEST ROUTES BY TOTAL TIME");
            output::table(
                g.format,
                &v["routes"],
                &ROUTE_HEADERS,
                &route_rows(&v["routes"]),
            );
            println!("\nWORST QUERIES");
            output::table(
                g.format,
                &v["queries"],
                &QUERY_HEADERS,
                &query_rows(&v["queries"]),
            );
            for (key, title) in [
                ("n_plus_one", "N+1 QUERIES"),
                ("slow_queries", "SLOW QUERIES"),
                ("large_payloads", "LARGE PAYLOADS"),
                ("cache_candidates", "CACHE CANDIDATES"),
            ] {
                let rows: Vec<Vec<String>> = v[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        vec![
                            s(p, "route"),
                            s(p, "occurrences"),
                            ms(&p["worst_ms"]),
                            s(p, "example_trace"),
                            p["query"].as_str().unwrap_or("").to_owned(),
                        ]
                    })
                    .collect();
                println!("\n{title}");
                output::table(
                    g.format,
                    &v[key],
                    &["ROUTE", "TRACES", "WORST MS", "EXAMPLE TRACE", "QUERY"],
                    &rows,
                );
            }
            println!("\nRELEASE REGRESSIONS");
            for r in v["regressions"].as_array().into_iter().flatten() {
                println!("{} {}: {}", s(r, "service"), s(r, "route"), s(r, "test"));
            }
        }
    }
    Ok(())
}
