//! Performance client commands: route latency and errors, query
//! fingerprints, findings, trace evidence and the tuning report.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use liveops_server::contract::performance::{
    FindingView, QueryView, ReportView, RouteView, RuleView, SloView, SpanView,
};

use crate::cli::{Format, Global};
use crate::client::{Client, esc, read_as};
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

fn rule_row(r: &RuleView) -> Vec<String> {
    vec![
        r.id.clone(),
        r.name.clone(),
        format!("{} {} {}", r.metric, r.comparator, number(r.threshold)),
        r.route.clone().unwrap_or_else(|| "-".into()),
        r.state.clone(),
        ms(r.value),
    ]
}

fn slo_row(r: &SloView) -> Vec<String> {
    vec![
        r.id.clone(),
        r.name.clone(),
        format!("{} {}", r.kind, number(r.objective)),
        r.route.clone().unwrap_or_else(|| "-".into()),
        r.attainment
            .map_or_else(|| "-".into(), |a| format!("{:.3}%", a * 100.0)),
        pct(r.budget_remaining),
        r.state.clone(),
    ]
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
            let path = base(&project);
            let v = c.call(Method::GET, &path, None).await?;
            let slos: Vec<SloView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = slos.iter().map(slo_row).collect();
            output::table(g.format, &v, &SLO_HEADERS, &rows);
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
            let path = base(&project);
            let v = c.call(Method::POST, &path, Some(body)).await?;
            let slo: SloView = read_as(&path, &v)?;
            output::table(g.format, &v, &SLO_HEADERS, &[slo_row(&slo)]);
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

/// Milliseconds to a tenth, `-` when absent.
fn ms(v: impl Into<Option<f64>>) -> String {
    let v: Option<f64> = v.into();
    v.map_or_else(|| "-".into(), |f| format!("{f:.1}"))
}

/// A share of 1 as a percentage to two decimals.
fn pct(f: f64) -> String {
    format!("{:.2}%", f * 100.0)
}

/// A number written as the answer's JSON writes it (`500.0`, not `500`).
fn number(f: f64) -> String {
    output::plain(&Value::from(f))
}

fn route_rows(routes: &[RouteView]) -> Vec<Vec<String>> {
    routes
        .iter()
        .map(|r| {
            vec![
                r.service.clone(),
                r.route.clone(),
                r.requests.to_string(),
                pct(r.error_rate),
                ms(r.p50_ms),
                ms(r.p95_ms),
                ms(r.p99_ms),
                r.apdex.map(|a| format!("{a:.2}")).unwrap_or_default(),
            ]
        })
        .collect()
}

const ROUTE_HEADERS: [&str; 8] = [
    "SERVICE", "ROUTE", "REQUESTS", "ERRORS", "P50 MS", "P95 MS", "P99 MS", "APDEX",
];

fn query_rows(queries: &[QueryView]) -> Vec<Vec<String>> {
    queries
        .iter()
        .map(|q| {
            vec![
                q.fingerprint.clone(),
                q.calls.to_string(),
                ms(q.total_ms),
                ms(q.p95_ms),
                pct(q.share_of_request_time),
                q.query.clone(),
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
            let path = format!("{}/routes?{}", base(&r.project), r.query());
            let v = c.call(Method::GET, &path, None).await?;
            let routes: Vec<RouteView> = read_as(&path, &v)?;
            output::table(g.format, &v, &ROUTE_HEADERS, &route_rows(&routes));
        }
        PerfCommand::Queries(r) => {
            let path = format!("{}/queries?{}", base(&r.project), r.query());
            let v = c.call(Method::GET, &path, None).await?;
            let queries: Vec<QueryView> = read_as(&path, &v)?;
            output::table(g.format, &v, &QUERY_HEADERS, &query_rows(&queries));
        }
        PerfCommand::Findings { project, status } => {
            let path = format!("{}/findings?status={}", base(&project), esc(&status));
            let v = c.call(Method::GET, &path, None).await?;
            let findings: Vec<FindingView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = findings
                .into_iter()
                .map(|f| {
                    vec![
                        f.id,
                        f.kind,
                        f.route,
                        f.occurrences.to_string(),
                        f.status,
                        f.detail,
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
            let path = format!("{}/findings/{}", base(&project), esc(&id));
            let v = c
                .call(Method::PATCH, &path, Some(json!({"status": status})))
                .await?;
            let f: FindingView = read_as(&path, &v)?;
            output::table(
                g.format,
                &v,
                &["ID", "KIND", "STATUS"],
                &[vec![f.id, f.kind, f.status]],
            );
        }
        PerfCommand::Trace { project, trace_id } => {
            let path = format!("{}/traces/{}", base(&project), esc(&trace_id));
            let v = c.call(Method::GET, &path, None).await?;
            let spans: Vec<SpanView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = spans
                .into_iter()
                .map(|sp| {
                    vec![
                        ms(sp.offset_ms),
                        ms(sp.duration_ms),
                        sp.kind,
                        sp.name,
                        sp.statement.unwrap_or_default(),
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
            let path = format!("{}/rules", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let rules: Vec<RuleView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = rules.iter().map(rule_row).collect();
            output::table(g.format, &v, &RULE_HEADERS, &rows);
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
            let path = format!("{}/rules", base(&project));
            let v = c.call(Method::POST, &path, Some(body)).await?;
            let rule: RuleView = read_as(&path, &v)?;
            output::table(g.format, &v, &RULE_HEADERS, &[rule_row(&rule)]);
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
            let path = format!("{}/report?{}", base(&r.project), r.query());
            let v = c.call(Method::GET, &path, None).await?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            let report: ReportView = read_as(&path, &v)?;
            // Tables only from here: the JSON answer was printed whole above.
            let none = Value::Null;
            println!("Tuning report, {} to {}", report.from, report.to);
            println!("\nSLOWEST ROUTES BY TOTAL TIME");
            output::table(g.format, &none, &ROUTE_HEADERS, &route_rows(&report.routes));
            println!("\nWORST QUERIES");
            output::table(
                g.format,
                &none,
                &QUERY_HEADERS,
                &query_rows(&report.queries),
            );
            for (title, patterns) in [
                ("N+1 QUERIES", &report.n_plus_one),
                ("SLOW QUERIES", &report.slow_queries),
                ("LARGE PAYLOADS", &report.large_payloads),
                ("CACHE CANDIDATES", &report.cache_candidates),
            ] {
                let rows: Vec<Vec<String>> = patterns
                    .iter()
                    .map(|p| {
                        vec![
                            p.route.clone(),
                            p.occurrences.to_string(),
                            ms(p.worst_ms),
                            p.example_trace.clone(),
                            p.query.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                println!("\n{title}");
                output::table(
                    g.format,
                    &none,
                    &["ROUTE", "TRACES", "WORST MS", "EXAMPLE TRACE", "QUERY"],
                    &rows,
                );
            }
            println!("\nRELEASE REGRESSIONS");
            for r in &report.regressions {
                println!("{} {}: {}", r.service, r.route, r.test);
            }
        }
    }
    Ok(())
}
