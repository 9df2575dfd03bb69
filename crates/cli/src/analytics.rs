//! Usage-analytics client commands: trends, active users, funnels,
//! retention, features, persons, deletion and Parquet export. Every insight
//! takes `--in-cohort`, and compares named cohorts with `--by-cohort`.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use liveops_server::contract::analytics::{
    ActiveDayView, AnalyticsSettings, DeletedPerson, EventNameView, FeatureUsageView, FunnelView,
    LifecycleView, PersonDetail, PersonView, RetentionView, SeriesBody, StickinessView, TrendsBody,
    TrendsResultView, TrendsView, WebOverviewView,
};

use crate::cli::{Format, Global};
use crate::client::{Client, esc, read_as};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Event names and how many of each.
    Events {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Event counts, unique persons or property math per interval, and
    /// formulas over several series.
    Trends {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// One event; all events when absent. This is series A.
        #[arg(long)]
        event: Option<String>,
        /// Series A's number per interval: events (default), persons, or
        /// AGGREGATE:PROPERTY with sum, avg, min, max, median, p90, p95 or
        /// p99, such as sum:amount.
        #[arg(long)]
        math: Option<String>,
        /// With property math: each person's aggregate first, then this
        /// aggregate of those (avg: the average of each person's sum).
        #[arg(long, value_name = "AGGREGATE")]
        per_person: Option<String>,
        /// Another series (B, C, …): EVENT, or EVENT=MATH such as
        /// '$pageview=persons'; `*` for every event.
        #[arg(long, value_name = "EVENT[=MATH]")]
        series: Vec<String>,
        /// Combines the series point by point: 'A / B', '(A - B) / A * 100'.
        #[arg(long)]
        formula: Option<String>,
        /// hour, day, week or month.
        #[arg(long, default_value = "day")]
        interval: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// Event property filters joined by `;`: key=value, key!=value,
        /// key~text, key!~text, key=~regex, key!=~regex, key>n, key>=n,
        /// key<n, key<=n, key? (set), key!? (not set).
        #[arg(long = "where")]
        filter: Option<String>,
        /// An event property to break down by.
        #[arg(long, conflicts_with = "by_cohort")]
        breakdown: Option<String>,
        /// Break down by these cohorts (ids or names, separated by commas):
        /// a line each.
        #[arg(long, value_name = "COHORTS")]
        by_cohort: Option<String>,
        /// Only the persons of this cohort (its id or name).
        #[arg(long, value_name = "COHORT")]
        in_cohort: Option<String>,
    },
    /// The web overview of the `$pageview` events: visitors, sessions,
    /// bounce rate, pages, referrers, UTM parameters, devices.
    Web {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// The most values each breakdown shows (10 by default).
        #[arg(long)]
        top: Option<usize>,
        /// Only the page views of this cohort's persons (its id or name).
        #[arg(long, value_name = "COHORT")]
        in_cohort: Option<String>,
        /// Compare these cohorts (ids or names, separated by commas).
        #[arg(long, value_name = "COHORTS")]
        by_cohort: Option<String>,
    },
    /// Revenue, MRR, the base currency and the currency rates.
    Revenue {
        #[command(subcommand)]
        cmd: crate::revenue::RevenueCommand,
    },
    /// Named cohorts: list, define, show, sizes over time, delete.
    Cohort {
        #[command(subcommand)]
        cmd: crate::cohorts::CohortCommand,
    },
    /// Saved insights: list, save, show (answered now), goal, delete.
    Insight {
        #[command(subcommand)]
        cmd: crate::insights::InsightCommand,
    },
    /// Dashboards of saved insights: list, create, show, delete, export,
    /// import.
    Dashboard {
        #[command(subcommand)]
        cmd: crate::dashboards::DashboardCommand,
    },
    /// DAU, WAU and MAU per day.
    Active {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        event: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// Only the persons of this cohort (its id or name).
        #[arg(long, value_name = "COHORT")]
        in_cohort: Option<String>,
        /// Compare these cohorts (ids or names, separated by commas).
        #[arg(long, value_name = "COHORTS")]
        by_cohort: Option<String>,
    },
    /// How many people were active on 1, 2, … days of a range.
    Stickiness {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        event: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// Only the persons of this cohort (its id or name).
        #[arg(long, value_name = "COHORT")]
        in_cohort: Option<String>,
        /// Compare these cohorts (ids or names, separated by commas).
        #[arg(long, value_name = "COHORTS")]
        by_cohort: Option<String>,
    },
    /// New, returning, resurrecting and dormant people per interval.
    Lifecycle {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        event: Option<String>,
        /// day, week or month.
        #[arg(long, default_value = "week")]
        interval: String,
        #[arg(long, default_value_t = 8)]
        periods: usize,
        /// Only the persons of this cohort (its id or name).
        #[arg(long, value_name = "COHORT")]
        in_cohort: Option<String>,
        /// Compare these cohorts (ids or names, separated by commas).
        #[arg(long, value_name = "COHORTS")]
        by_cohort: Option<String>,
    },
    /// Conversion through steps (each an event, or `a|b` for either).
    Funnel {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(required = true)]
        steps: Vec<String>,
        /// Conversion window, like 14d or 1h.
        #[arg(long, default_value = "14d")]
        window: String,
        /// ordered, strict or unordered.
        #[arg(long, default_value = "ordered")]
        order: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// A property to break down by.
        #[arg(long)]
        breakdown: Option<String>,
        /// event (the step-1 event's property) or person.
        #[arg(long, default_value = "event")]
        breakdown_type: String,
        /// Show who dropped off after this step and what they did next.
        #[arg(long)]
        dropoff_after: Option<usize>,
        /// Also show what the persons who converted paid in the range.
        #[arg(long)]
        revenue: bool,
        /// Break down by these cohorts (ids or names, separated by commas)
        /// instead of a property.
        #[arg(long, value_name = "COHORTS", conflicts_with = "breakdown")]
        by_cohort: Option<String>,
        /// Only the persons of this cohort (its id or name).
        #[arg(long, value_name = "COHORT")]
        in_cohort: Option<String>,
    },
    /// Cohorts and who came back.
    Retention {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long = "start")]
        start_event: String,
        #[arg(long = "return")]
        return_event: Option<String>,
        /// day, week or month.
        #[arg(long, default_value = "week")]
        interval: String,
        #[arg(long, default_value_t = 8)]
        periods: usize,
        #[arg(long)]
        from: Option<String>,
        /// first_time or recurring.
        #[arg(long, default_value = "first_time")]
        cohort: String,
        /// on or on_or_after.
        #[arg(long, default_value = "on")]
        mode: String,
        /// Only the persons of this cohort (its id or name).
        #[arg(long, value_name = "COHORT")]
        in_cohort: Option<String>,
        /// Compare these cohorts (ids or names, separated by commas).
        #[arg(long, value_name = "COHORTS")]
        by_cohort: Option<String>,
    },
    /// Feature adoption and usage; with --add, define a feature first.
    Features {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Define a feature with this name from the --event list.
        #[arg(long, value_name = "NAME")]
        add: Option<String>,
        #[arg(long = "event")]
        events: Vec<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Persons, or one person and their latest events.
    Persons {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Show this person (any distinct id).
        #[arg(long)]
        distinct_id: Option<String>,
        #[arg(long)]
        search: Option<String>,
    },
    /// Delete a person, their distinct ids and all their events (GDPR erasure).
    DeletePerson {
        #[arg(long, value_name = "SLUG")]
        project: String,
        distinct_id: String,
        /// Confirm; nothing is deleted without it.
        #[arg(long)]
        yes: bool,
    },
    /// Write every event, with its person, to a Parquet file.
    Export {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// The file to write.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Show or set how many days of events the project keeps.
    Retain {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Days to keep.
        #[arg(long, conflicts_with = "forever")]
        days: Option<i64>,
        /// Keep every event.
        #[arg(long)]
        forever: bool,
    },
}

pub(crate) fn query(pairs: &[(&str, &Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", esc(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// One `--series`: `EVENT` or `EVENT=MATH` (split at the last `=`, as
/// math never holds one); `*` is every event.
fn series_body(spec: &str) -> SeriesBody {
    let (event, math) = match spec.rsplit_once('=') {
        Some((e, m)) => (e.trim(), Some(m.trim().to_owned())),
        None => (spec.trim(), None),
    };
    SeriesBody {
        event: (event != "*" && !event.is_empty()).then(|| event.to_owned()),
        math,
        per_person: None,
        filter: None,
    }
}

/// A line's name: its series, with its breakdown value.
fn line_name(series: &str, value: Option<String>) -> String {
    match value {
        Some(v) => format!("{series} {v}"),
        None => series.to_owned(),
    }
}

/// A point's value to four decimals without trailing zeros, or nothing
/// where it has none.
fn value_text(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| {
        let text = format!("{v:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    })
}

/// A share of 1 as a percentage to one decimal.
/// A retention table, a row per starting period.
fn print_retention(rows: &[liveops_server::contract::analytics::CohortView]) {
    println!("{:<12} {:>7}  periods 0, 1, 2, …", "STARTED", "PEOPLE");
    for co in rows {
        let rates: Vec<String> = co
            .rates
            .iter()
            .map(|r| format!("{:>5.1}%", r * 100.0))
            .collect();
        println!(
            "{:<12} {:>7}  {}",
            co.start.get(..10).unwrap_or(&co.start),
            co.size,
            rates.join(" ")
        );
    }
}

/// `cohort` when cohorts are compared, for the query's `breakdown_type`.
fn cohort_type(by_cohort: &Option<String>) -> Option<String> {
    by_cohort.as_ref().map(|_| "cohort".to_owned())
}

/// A row with its cohort first, when cohorts are compared.
fn with_cohort(
    by_cohort: &Option<String>,
    cohort: Option<String>,
    row: Vec<String>,
) -> Vec<String> {
    match by_cohort {
        Some(_) => std::iter::once(cohort.unwrap_or_default())
            .chain(row)
            .collect(),
        None => row,
    }
}

/// Column names, with `COHORT` first when cohorts are compared.
fn headers<'a>(by_cohort: &Option<String>, names: &[&'a str]) -> Vec<&'a str> {
    let first = by_cohort.as_ref().map(|_| "COHORT");
    first.into_iter().chain(names.iter().copied()).collect()
}

fn pct(f: f64) -> String {
    format!("{:.1}%", f * 100.0)
}

pub async fn run(g: &Global, cmd: AnalyticsCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/analytics");
    match cmd {
        AnalyticsCommand::Revenue { cmd } => return crate::revenue::run(g, cmd).await,
        AnalyticsCommand::Cohort { cmd } => return crate::cohorts::run(g, cmd).await,
        AnalyticsCommand::Insight { cmd } => return crate::insights::run(g, cmd).await,
        AnalyticsCommand::Dashboard { cmd } => return crate::dashboards::run(g, cmd).await,
        AnalyticsCommand::Events { project } => {
            let path = format!("{}/events", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let events: Vec<EventNameView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = events
                .into_iter()
                .map(|e| vec![e.name, e.count.to_string()])
                .collect();
            output::table(g.format, &v, &["EVENT", "COUNT"], &rows);
        }
        AnalyticsCommand::Trends {
            project,
            event,
            math,
            per_person,
            series,
            formula,
            interval,
            from,
            to,
            filter,
            breakdown,
            by_cohort,
            in_cohort,
        } if !series.is_empty() || formula.is_some() => {
            let mut all = vec![SeriesBody {
                event,
                math,
                per_person,
                filter: None,
            }];
            all.extend(series.iter().map(|s| series_body(s)));
            let body = TrendsBody {
                series: all,
                formula,
                interval: Some(interval),
                from,
                to,
                filter,
                breakdown_type: by_cohort.as_ref().map(|_| "cohort".to_owned()),
                breakdown: by_cohort.or(breakdown),
                breakdown_limit: None,
                in_cohort,
            };
            let path = format!("{}/trends", base(&project));
            let v = c
                .call(Method::POST, &path, Some(serde_json::to_value(&body)?))
                .await?;
            let trends: TrendsResultView = read_as(&path, &v)?;
            let mut rows = Vec::new();
            for s in trends.series {
                for line in s.lines {
                    let name = line_name(&s.name, line.value);
                    for p in line.points {
                        rows.push(vec![
                            name.clone(),
                            p.start,
                            p.events.to_string(),
                            p.persons.to_string(),
                            value_text(p.value),
                        ]);
                    }
                }
            }
            if let Some(f) = trends.formula {
                for line in f.lines {
                    let name = line_name(&f.formula, line.value);
                    for p in line.points {
                        rows.push(vec![
                            name.clone(),
                            p.start,
                            String::new(),
                            String::new(),
                            value_text(p.value),
                        ]);
                    }
                }
            }
            output::table(
                g.format,
                &v,
                &["SERIES", "START", "EVENTS", "PERSONS", "VALUE"],
                &rows,
            );
        }
        AnalyticsCommand::Trends {
            project,
            event,
            math,
            per_person,
            interval,
            from,
            to,
            filter,
            breakdown,
            by_cohort,
            in_cohort,
            ..
        } => {
            let breakdown_type = by_cohort.as_ref().map(|_| "cohort".to_owned());
            let breakdown = by_cohort.or(breakdown);
            let q = query(&[
                ("breakdown_type", &breakdown_type),
                ("in_cohort", &in_cohort),
                ("math", &math),
                ("per_person", &per_person),
                ("event", &event),
                ("interval", &Some(interval)),
                ("from", &from),
                ("to", &to),
                ("where", &filter),
                ("breakdown", &breakdown),
            ]);
            let path = format!("{}/trends{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let trends: TrendsView = read_as(&path, &v)?;
            let mut rows = Vec::new();
            for series in trends.series {
                let name = series.value.unwrap_or_else(|| "all".to_owned());
                for p in series.points {
                    rows.push(vec![
                        name.clone(),
                        p.start,
                        p.events.to_string(),
                        p.persons.to_string(),
                        value_text(p.value),
                    ]);
                }
            }
            output::table(
                g.format,
                &v,
                &["SERIES", "START", "EVENTS", "PERSONS", "VALUE"],
                &rows,
            );
        }
        AnalyticsCommand::Web {
            project,
            from,
            to,
            top,
            in_cohort,
            by_cohort,
        } => {
            let top = top.map(|t| t.to_string());
            let q = query(&[
                ("from", &from),
                ("to", &to),
                ("top", &top),
                ("in_cohort", &in_cohort),
                ("breakdown_type", &cohort_type(&by_cohort)),
                ("breakdown", &by_cohort),
            ]);
            let path = format!("{}/web{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            let w: WebOverviewView = read_as(&path, &v)?;
            output::record(
                g.format,
                &[
                    ("range", json!(format!("{} to {}", w.from, w.to))),
                    ("visitors", json!(w.visitors)),
                    ("page views", json!(w.page_views)),
                    ("sessions", json!(w.sessions)),
                    (
                        "views per session",
                        json!(format!("{:.2}", w.views_per_session)),
                    ),
                    ("bounce rate", json!(pct(w.bounce_rate))),
                    (
                        "mean session",
                        json!(format!("{:.0}s", w.mean_session_seconds)),
                    ),
                    (
                        "median session",
                        json!(format!("{:.0}s", w.median_session_seconds)),
                    ),
                ],
            );
            if !w.breakdown.is_empty() {
                println!();
                let rows: Vec<Vec<String>> = w
                    .breakdown
                    .iter()
                    .map(|b| {
                        vec![
                            b.value.clone(),
                            b.visitors.to_string(),
                            b.page_views.to_string(),
                            b.sessions.to_string(),
                            pct(b.bounce_rate),
                        ]
                    })
                    .collect();
                output::table(
                    g.format,
                    &v,
                    &[
                        "COHORT",
                        "VISITORS",
                        "PAGE VIEWS",
                        "SESSIONS",
                        "BOUNCE RATE",
                    ],
                    &rows,
                );
            }
            if !w.geoip_database && w.countries.iter().all(|c| c.value == "(none)") {
                eprintln!(
                    "note: the server has no GeoIP database (geoip_database), so countries are unknown"
                );
            }
            let sections = [
                ("PAGE", "VIEWS", w.pages),
                ("ENTRY PAGE", "SESSIONS", w.entry_pages),
                ("EXIT PAGE", "SESSIONS", w.exit_pages),
                ("REFERRER", "SESSIONS", w.referrers),
                ("CHANNEL", "SESSIONS", w.channels),
                ("UTM SOURCE", "SESSIONS", w.utm_sources),
                ("UTM MEDIUM", "SESSIONS", w.utm_mediums),
                ("UTM CAMPAIGN", "SESSIONS", w.utm_campaigns),
                ("DEVICE", "SESSIONS", w.devices),
                ("BROWSER", "SESSIONS", w.browsers),
                ("OS", "SESSIONS", w.oses),
                ("COUNTRY", "SESSIONS", w.countries),
            ];
            for (name, count, rows) in sections {
                println!();
                let rows: Vec<Vec<String>> = rows
                    .into_iter()
                    .map(|r| vec![r.value, r.count.to_string(), r.visitors.to_string()])
                    .collect();
                output::table(g.format, &v, &[name, count, "VISITORS"], &rows);
            }
        }
        AnalyticsCommand::Active {
            project,
            event,
            from,
            to,
            in_cohort,
            by_cohort,
        } => {
            let q = query(&[
                ("event", &event),
                ("from", &from),
                ("to", &to),
                ("in_cohort", &in_cohort),
                ("breakdown_type", &cohort_type(&by_cohort)),
                ("breakdown", &by_cohort),
            ]);
            let path = format!("{}/active{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let days: Vec<ActiveDayView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = days
                .into_iter()
                .map(|d| {
                    with_cohort(
                        &by_cohort,
                        d.cohort,
                        vec![
                            d.date,
                            d.dau.to_string(),
                            d.wau.to_string(),
                            d.mau.to_string(),
                        ],
                    )
                })
                .collect();
            let head = headers(&by_cohort, &["DATE", "DAU", "WAU", "MAU"]);
            output::table(g.format, &v, &head, &rows);
        }
        AnalyticsCommand::Stickiness {
            project,
            event,
            from,
            to,
            in_cohort,
            by_cohort,
        } => {
            let q = query(&[
                ("event", &event),
                ("from", &from),
                ("to", &to),
                ("in_cohort", &in_cohort),
                ("breakdown_type", &cohort_type(&by_cohort)),
                ("breakdown", &by_cohort),
            ]);
            let path = format!("{}/stickiness{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let days: Vec<StickinessView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = days
                .into_iter()
                .filter(|d| d.persons > 0)
                .map(|d| {
                    with_cohort(
                        &by_cohort,
                        d.cohort,
                        vec![d.days.to_string(), d.persons.to_string()],
                    )
                })
                .collect();
            let head = headers(&by_cohort, &["DAYS ACTIVE", "PERSONS"]);
            output::table(g.format, &v, &head, &rows);
        }
        AnalyticsCommand::Lifecycle {
            project,
            event,
            interval,
            periods,
            in_cohort,
            by_cohort,
        } => {
            let q = query(&[
                ("event", &event),
                ("interval", &Some(interval)),
                ("periods", &Some(periods.to_string())),
                ("in_cohort", &in_cohort),
                ("breakdown_type", &cohort_type(&by_cohort)),
                ("breakdown", &by_cohort),
            ]);
            let path = format!("{}/lifecycle{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let intervals: Vec<LifecycleView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = intervals
                .into_iter()
                .map(|d| {
                    with_cohort(
                        &by_cohort,
                        d.cohort,
                        vec![
                            d.start,
                            d.new.to_string(),
                            d.returning.to_string(),
                            d.resurrecting.to_string(),
                            format!("-{}", d.dormant),
                        ],
                    )
                })
                .collect();
            let head = headers(
                &by_cohort,
                &["START", "NEW", "RETURNING", "RESURRECTING", "DORMANT"],
            );
            output::table(g.format, &v, &head, &rows);
        }
        AnalyticsCommand::Funnel {
            project,
            steps,
            window,
            order,
            from,
            to,
            breakdown,
            breakdown_type,
            dropoff_after,
            revenue,
            by_cohort,
            in_cohort,
        } => {
            let breakdown_type = if by_cohort.is_some() {
                "cohort".to_owned()
            } else {
                breakdown_type
            };
            let body = json!({
                "steps": steps, "window": window, "order": order, "from": from, "to": to,
                "breakdown": by_cohort.or(breakdown), "breakdown_type": breakdown_type,
                "dropoff_after": dropoff_after, "revenue": revenue, "in_cohort": in_cohort,
            });
            let path = format!("{}/funnel", base(&project));
            let v = c.call(Method::POST, &path, Some(body)).await?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            let funnel: FunnelView = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = funnel
                .steps
                .iter()
                .map(|st| {
                    vec![
                        st.step.to_string(),
                        st.event.clone(),
                        st.persons.to_string(),
                        pct(st.conversion),
                        pct(st.dropoff),
                        st.median_secs
                            .map(|m| format!("{m:.0}s"))
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &[
                    "STEP",
                    "EVENT",
                    "PERSONS",
                    "CONVERSION",
                    "DROP-OFF",
                    "MEDIAN TIME",
                ],
                &rows,
            );
            if let Some(r) = &funnel.revenue {
                println!();
                println!(
                    "The {} persons who converted paid {:.2} {}{}",
                    r.converted,
                    r.revenue,
                    r.currency,
                    r.per_converted
                        .map(|p| format!(", {p:.2} per converted person"))
                        .unwrap_or_default()
                );
            }
            if let Some(d) = &funnel.dropoff {
                println!();
                println!("{} dropped off after step {}", d.persons, d.after_step);
                for next in &d.paths {
                    let shown = if next.events.is_empty() {
                        "(nothing more)".to_owned()
                    } else {
                        next.events.join(" → ")
                    };
                    println!("  then {shown} ({})", next.persons);
                }
            }
            if !funnel.breakdown.is_empty() {
                println!();
                println!("BREAKDOWN: PERSONS PER STEP");
            }
            for b in &funnel.breakdown {
                let counts: Vec<String> = b.steps.iter().map(|st| st.persons.to_string()).collect();
                println!("{}: {}", b.value, counts.join(" → "));
            }
        }
        AnalyticsCommand::Retention {
            project,
            start_event,
            return_event,
            interval,
            periods,
            from,
            cohort,
            mode,
            in_cohort,
            by_cohort,
        } => {
            let body = json!({
                "start_event": start_event, "return_event": return_event, "interval": interval,
                "periods": periods, "from": from, "cohort": cohort, "mode": mode,
                "in_cohort": in_cohort, "breakdown_type": cohort_type(&by_cohort),
                "breakdown": by_cohort,
            });
            let path = format!("{}/retention", base(&project));
            let v = c.call(Method::POST, &path, Some(body)).await?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            let retention: RetentionView = read_as(&path, &v)?;
            print_retention(&retention.cohorts);
            for line in &retention.breakdown {
                println!();
                println!("COHORT {}", line.value);
                print_retention(&line.cohorts);
            }
        }
        AnalyticsCommand::Features {
            project,
            add,
            events,
            from,
            to,
        } => {
            if let Some(name) = add {
                c.call(
                    Method::POST,
                    &format!("{}/features", base(&project)),
                    Some(json!({ "name": name, "events": events })),
                )
                .await?;
            }
            let q = query(&[("from", &from), ("to", &to)]);
            let path = format!("{}/features/usage{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let usage: FeatureUsageView = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = usage
                .features
                .into_iter()
                .map(|f| {
                    vec![
                        f.name,
                        f.users.to_string(),
                        pct(f.adoption),
                        f.events.to_string(),
                        format!("{:.1}", f.per_user),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &["FEATURE", "USERS", "ADOPTION", "USES", "PER USER"],
                &rows,
            );
        }
        AnalyticsCommand::Persons {
            project,
            distinct_id,
            search,
        } => {
            if let Some(d) = distinct_id {
                let path = format!("{}/persons/{}", base(&project), esc(&d));
                let v = c.call(Method::GET, &path, None).await?;
                if g.format == Format::Json {
                    println!("{v}");
                } else {
                    let detail: PersonDetail = read_as(&path, &v)?;
                    println!("person {}", detail.person.id);
                    println!("distinct ids: {}", detail.person.distinct_ids.join(","));
                    println!("properties: {}", detail.person.properties);
                    for e in &detail.events {
                        println!("{}  {}", e.timestamp, e.event);
                    }
                }
                return Ok(());
            }
            let q = query(&[("search", &search)]);
            let path = format!("{}/persons{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let persons: Vec<PersonView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = persons
                .into_iter()
                .map(|p| vec![p.id, p.distinct_ids.join(","), p.created_at])
                .collect();
            output::table(
                g.format,
                &v,
                &["PERSON", "DISTINCT IDS", "FIRST SEEN"],
                &rows,
            );
        }
        AnalyticsCommand::DeletePerson {
            project,
            distinct_id,
            yes,
        } => {
            if !yes {
                anyhow::bail!(
                    "this deletes the person and every event they sent; run again with --yes to do it"
                );
            }
            let deleted: DeletedPerson = c
                .call_as(
                    Method::DELETE,
                    &format!("{}/persons/{}", base(&project), esc(&distinct_id)),
                    None,
                )
                .await?;
            output::record(
                g.format,
                &[("events_deleted", Value::from(deleted.events_deleted))],
            );
        }
        AnalyticsCommand::Export { project, out } => {
            let bar = output::progress(g.format, "exporting events", "bytes");
            let n = c
                .download(&format!("{}/export", base(&project)), &out, &bar)
                .await;
            bar.finish_and_clear();
            let n = n?;
            output::record(
                g.format,
                &[
                    ("file", Value::String(out.display().to_string())),
                    ("bytes", Value::from(n)),
                ],
            );
        }
        AnalyticsCommand::Retain {
            project,
            days,
            forever,
        } => {
            let path = format!("{}/settings", base(&project));
            let settings: AnalyticsSettings = if days.is_some() || forever {
                c.call_as(Method::PUT, &path, Some(json!({ "retention_days": days })))
                    .await?
            } else {
                c.call_as(Method::GET, &path, None).await?
            };
            output::record(
                g.format,
                &[("retention_days", json!(settings.retention_days))],
            );
        }
    }
    Ok(())
}
