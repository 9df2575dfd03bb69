//! Capacity commands (client): forecasts per service and metric with their
//! crossing dates and replica advice, and the capacities they are read
//! against.

use anyhow::Context;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use liveops_server::contract::scaling::{
    CapacityForecast, CapacitySettingView, ServiceCapacity, Step,
};

use crate::cli::{Format, Global};
use crate::client::{Client, esc, read_as};
use crate::output;

/// `liveops capacity`: every service's forecasts in brief, or one
/// service's in full.
#[derive(Debug, Args)]
#[command(subcommand_negates_reqs = true)]
pub struct CapacityArgs {
    #[command(subcommand)]
    pub command: Option<CapacityCommand>,
    #[arg(long, value_name = "SLUG", required = true)]
    pub project: Option<String>,
    /// One service in full: its history, forecast, capacity and backtest.
    pub service: Option<String>,
    /// `requests` (the default) or an OTLP metric name, with SERVICE.
    #[arg(long, requires = "service")]
    pub metric: Option<String>,
    /// History to fit, like 56d (the default) or 12w.
    #[arg(long, requires = "service")]
    pub history: Option<String>,
    /// day or hour; chosen from the history by default.
    #[arg(long, requires = "service")]
    pub step: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CapacityCommand {
    /// Set what a service can take on one metric.
    Set {
        /// The project (also accepted before `set`).
        #[arg(long, value_name = "SLUG")]
        project: Option<String>,
        service: String,
        /// `requests` (per second) or an OTLP metric name.
        metric: String,
        /// The most the current replicas together can take, in the metric's unit.
        #[arg(long)]
        capacity: f64,
        /// The replicas that take it.
        #[arg(long)]
        replicas: i64,
        /// The utilisation to scale for, in (0, 1].
        #[arg(long, default_value_t = 0.7)]
        target: f64,
    },
    /// Remove a service metric's capacity.
    Unset {
        /// The project (also accepted before `unset`).
        #[arg(long, value_name = "SLUG")]
        project: Option<String>,
        service: String,
        metric: String,
    },
}

/// A path segment, percent-encoded.
pub(crate) fn seg(v: &str) -> String {
    esc(v).replace('+', "%20")
}

/// A number to three significant digits (whole from 100 up), `-` when
/// absent: request rates per second can be tiny.
fn num(v: impl Into<Option<f64>>) -> String {
    match v.into() {
        None => "-".into(),
        Some(x) if x == 0.0 || !x.is_finite() => x.to_string(),
        Some(x) if x.abs() < 1e-6 => format!("{x:.2e}"),
        Some(x) => {
            let magnitude = x.abs().log10().floor() as i32;
            let decimals = usize::try_from(2 - magnitude).unwrap_or(0).min(12);
            format!("{x:.decimals$}")
        }
    }
}

/// A percentage to three significant digits, `-` when absent.
fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{} %", num(x)))
}

/// The date of an RFC 3339 time, `-` when absent.
fn date(v: Option<&str>) -> String {
    v.map(|s| s.get(..10).unwrap_or(s).to_owned())
        .unwrap_or_else(|| "-".into())
}

/// A count or the like, `-` when absent.
fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |x| x.to_string())
}

pub async fn run(g: &Global, a: CapacityArgs) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let CapacityArgs {
        command,
        project: shared,
        service,
        metric,
        history,
        step,
    } = a;
    let either = |own: Option<String>| {
        own.or_else(|| shared.clone())
            .context("--project is required")
    };
    match command {
        Some(CapacityCommand::Set {
            project,
            service,
            metric,
            capacity,
            replicas,
            target,
        }) => {
            let project = either(project)?;
            let v: CapacitySettingView = c
                .call_as(
                    Method::PUT,
                    &format!(
                        "/api/v1/projects/{project}/scaling/capacity/{}/{}",
                        seg(&service),
                        seg(&metric)
                    ),
                    Some(json!({"capacity": capacity, "replicas": replicas,
                        "target_utilisation": target})),
                )
                .await?;
            let fields: Vec<(&str, Value)> = vec![
                ("service", json!(v.service)),
                ("metric", json!(v.metric)),
                ("capacity", json!(v.capacity)),
                ("replicas", json!(v.replicas)),
                ("per_replica", json!(v.per_replica)),
                ("target_utilisation", json!(v.target_utilisation)),
            ];
            output::record(g.format, &fields);
            Ok(())
        }
        Some(CapacityCommand::Unset {
            project,
            service,
            metric,
        }) => {
            let project = either(project)?;
            c.call(
                Method::DELETE,
                &format!(
                    "/api/v1/projects/{project}/scaling/capacity/{}/{}",
                    seg(&service),
                    seg(&metric)
                ),
                None,
            )
            .await?;
            if g.format == Format::Json {
                println!("{}", json!({"removed": true}));
            } else {
                println!("removed the capacity for {metric} of {service}");
            }
            Ok(())
        }
        None => {
            let project = either(None)?;
            match &service {
                Some(service) => {
                    let q = [("metric", metric), ("history", history), ("step", step)];
                    one(g, &c, &project, service, &q).await
                }
                None => all(g, &c, &project).await,
            }
        }
    }
}

/// Every service and metric, one line each.
async fn all(g: &Global, c: &Client, project: &str) -> anyhow::Result<()> {
    let path = format!("/api/v1/projects/{project}/scaling/capacity");
    let v = c.call(Method::GET, &path, None).await?;
    let services: Vec<ServiceCapacity> = read_as(&path, &v)?;
    let mut rows = Vec::new();
    for s in &services {
        for m in &s.metrics {
            let at = |days: i64| num(m.horizons.iter().find(|x| x.days == days).map(|x| x.value));
            rows.push(vec![
                s.service.clone(),
                m.metric.clone(),
                num(m.latest),
                at(30),
                at(60),
                at(90),
                num(m.capacity),
                date(m.crossing.as_deref()),
                opt(m.replicas_90d),
                percent(m.mape),
                opt(m.problem.as_deref()),
            ]);
        }
    }
    output::table(
        g.format,
        &v,
        &[
            "SERVICE", "METRIC", "LATEST", "30D", "60D", "90D", "CAPACITY", "CROSSES", "REPLICAS",
            "MAPE", "NOTE",
        ],
        &rows,
    );
    Ok(())
}

/// One service metric in full.
async fn one(
    g: &Global,
    c: &Client,
    project: &str,
    service: &str,
    params: &[(&str, Option<String>)],
) -> anyhow::Result<()> {
    let q: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", esc(v))))
        .collect();
    let path = format!(
        "/api/v1/projects/{project}/scaling/capacity/{}?{}",
        seg(service),
        q.join("&")
    );
    let v = c.call(Method::GET, &path, None).await?;
    if g.format == Format::Json {
        println!("{v}");
        return Ok(());
    }
    let f: CapacityForecast = read_as(&path, &v)?;
    // OpenTelemetry writes `1` for a ratio such as CPU utilisation.
    let unit = match f.unit.as_str() {
        "" | "1" => String::new(),
        u => format!(" ({u})"),
    };
    println!("{} · {}{unit}", f.service, f.metric);
    println!("model     {}", f.model.description);
    println!(
        "history   {} days in {} steps; latest {}",
        f.history_days,
        match f.step {
            Step::Hour => "hourly",
            Step::Day => "daily",
        },
        num(f.latest)
    );
    if let Some(cap) = &f.capacity {
        println!(
            "capacity  {} over {} replicas, target {} %; now {} % used, HPA wants {} replicas",
            num(cap.capacity),
            cap.replicas,
            (cap.target_utilisation * 100.0).round(),
            (cap.utilisation * 100.0).round(),
            opt(cap.replicas_now)
        );
        println!(
            "crosses   {} (earliest {}); target passed {}",
            date(cap.crossing.as_deref()),
            date(cap.earliest_crossing.as_deref()),
            date(cap.target_crossing.as_deref())
        );
    }
    if let Some(b) = &f.backtest {
        println!(
            "backtest  last {} steps: MAPE {}, MAE {}, RMSE {}, 80 % coverage {}, 95 % coverage {}",
            b.holdout,
            percent(b.mape),
            num(b.mae),
            num(b.rmse),
            num(b.coverage80),
            num(b.coverage95)
        );
    }
    println!();
    let rows: Vec<Vec<String>> = f
        .horizons
        .iter()
        .map(|h| {
            vec![
                format!("{} days", h.days),
                date(Some(&h.at)),
                num(h.value),
                format!("{} – {}", num(h.lo80), num(h.hi80)),
                format!("{} – {}", num(h.lo95), num(h.hi95)),
                num(h.peak),
                opt(h.replicas),
                opt(h.replicas_hi95),
            ]
        })
        .collect();
    output::table(
        g.format,
        &v,
        &[
            "AHEAD", "DATE", "FORECAST", "80 %", "95 %", "PEAK", "REPLICAS", "AT 95 %",
        ],
        &rows,
    );
    Ok(())
}
