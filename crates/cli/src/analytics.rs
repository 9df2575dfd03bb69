//! Usage-analytics client commands: trends, active users, funnels,
//! retention, features, persons, deletion and Parquet export.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Format, Global};
use crate::client::{Client, s};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Event names and how many of each.
    Events {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Event counts and unique persons per interval.
    Trends {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// One event; all events when absent.
        #[arg(long)]
        event: Option<String>,
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
        #[arg(long)]
        breakdown: Option<String>,
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

fn esc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

fn query(pairs: &[(&str, &Option<String>)]) -> String {
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

fn pct(v: &Value) -> String {
    v.as_f64()
        .map(|f| format!("{:.1}%", f * 100.0))
        .unwrap_or_default()
}

pub async fn run(g: &Global, cmd: AnalyticsCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/analytics");
    match cmd {
        AnalyticsCommand::Events { project } => {
            let v = c
                .call(Method::GET, &format!("{}/events", base(&project)), None)
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| vec![s(e, "name"), s(e, "count")])
                .collect();
            output::table(g.format, &v, &["EVENT", "COUNT"], &rows);
        }
        AnalyticsCommand::Trends {
            project,
            event,
            interval,
            from,
            to,
            filter,
            breakdown,
        } => {
            let q = query(&[
                ("event", &event),
                ("interval", &Some(interval)),
                ("from", &from),
                ("to", &to),
                ("where", &filter),
                ("breakdown", &breakdown),
            ]);
            let v = c
                .call(Method::GET, &format!("{}/trends{q}", base(&project)), None)
                .await?;
            let mut rows = Vec::new();
            for series in v["series"].as_array().into_iter().flatten() {
                let name = series["value"].as_str().unwrap_or("all").to_owned();
                for p in series["points"].as_array().into_iter().flatten() {
                    rows.push(vec![
                        name.clone(),
                        s(p, "start"),
                        s(p, "events"),
                        s(p, "persons"),
                    ]);
                }
            }
            output::table(
                g.format,
                &v,
                &["SERIES", "START", "EVENTS", "PERSONS"],
                &rows,
            );
        }
        AnalyticsCommand::Active {
            project,
            event,
            from,
            to,
        } => {
            let q = query(&[("event", &event), ("from", &from), ("to", &to)]);
            let v = c
                .call(Method::GET, &format!("{}/active{q}", base(&project)), None)
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| vec![s(d, "date"), s(d, "dau"), s(d, "wau"), s(d, "mau")])
                .collect();
            output::table(g.format, &v, &["DATE", "DAU", "WAU", "MAU"], &rows);
        }
        AnalyticsCommand::Stickiness {
            project,
            event,
            from,
            to,
        } => {
            let q = query(&[("event", &event), ("from", &from), ("to", &to)]);
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/stickiness{q}", base(&project)),
                    None,
                )
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["persons"].as_u64().unwrap_or(0) > 0)
                .map(|d| vec![s(d, "days"), s(d, "persons")])
                .collect();
            output::table(g.format, &v, &["DAYS ACTIVE", "PERSONS"], &rows);
        }
        AnalyticsCommand::Lifecycle {
            project,
            event,
            interval,
            periods,
        } => {
            let q = query(&[
                ("event", &event),
                ("interval", &Some(interval)),
                ("periods", &Some(periods.to_string())),
            ]);
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/lifecycle{q}", base(&project)),
                    None,
                )
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    vec![
                        s(d, "start"),
                        s(d, "new"),
                        s(d, "returning"),
                        s(d, "resurrecting"),
                        format!("-{}", s(d, "dormant")),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &["START", "NEW", "RETURNING", "RESURRECTING", "DORMANT"],
                &rows,
            );
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
        } => {
            let body = json!({
                "steps": steps, "window": window, "order": order, "from": from, "to": to,
                "breakdown": breakdown, "breakdown_type": breakdown_type,
                "dropoff_after": dropoff_after,
            });
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/funnel", base(&project)),
                    Some(body),
                )
                .await?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = v["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|st| {
                    vec![
                        s(st, "step"),
                        s(st, "event"),
                        s(st, "persons"),
                        pct(&st["conversion"]),
                        pct(&st["dropoff"]),
                        st["median_secs"]
                            .as_f64()
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
            if let Some(d) = v["dropoff"].as_object() {
                println!();
                println!(
                    "{} dropped off after step {}",
                    d.get("persons").map(output::plain).unwrap_or_default(),
                    d.get("after_step").map(output::plain).unwrap_or_default()
                );
                for path in d
                    .get("paths")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let events: Vec<String> = path["events"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(output::plain)
                        .collect();
                    let shown = if events.is_empty() {
                        "(nothing more)".to_owned()
                    } else {
                        events.join(" → ")
                    };
                    println!("  then {shown} ({})", s(path, "persons"));
                }
            }
            if v["breakdown"].as_array().is_some_and(|b| !b.is_empty()) {
                println!();
                println!("BREAKDOWN: PERSONS PER STEP");
            }
            for b in v["breakdown"].as_array().into_iter().flatten() {
                let counts: Vec<String> = b["steps"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|st| s(st, "persons"))
                    .collect();
                println!("{}: {}", s(b, "value"), counts.join(" → "));
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
        } => {
            let body = json!({
                "start_event": start_event, "return_event": return_event, "interval": interval,
                "periods": periods, "from": from, "cohort": cohort, "mode": mode,
            });
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/retention", base(&project)),
                    Some(body),
                )
                .await?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            println!("{:<12} {:>7}  periods 0, 1, 2, …", "COHORT", "PEOPLE");
            for co in v["cohorts"].as_array().into_iter().flatten() {
                let rates: Vec<String> = co["rates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| format!("{:>5.1}%", r.as_f64().unwrap_or(0.0) * 100.0))
                    .collect();
                let start = s(co, "start");
                println!(
                    "{:<12} {:>7}  {}",
                    start.get(..10).unwrap_or(&start),
                    s(co, "size"),
                    rates.join(" ")
                );
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
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/features/usage{q}", base(&project)),
                    None,
                )
                .await?;
            let rows: Vec<Vec<String>> = v["features"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    vec![
                        s(f, "name"),
                        s(f, "users"),
                        pct(&f["adoption"]),
                        s(f, "events"),
                        f["per_user"]
                            .as_f64()
                            .map(|p| format!("{p:.1}"))
                            .unwrap_or_default(),
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
                let v = c
                    .call(
                        Method::GET,
                        &format!("{}/persons/{}", base(&project), esc(&d)),
                        None,
                    )
                    .await?;
                if g.format == Format::Json {
                    println!("{v}");
                } else {
                    println!("person {}", s(&v["person"], "id"));
                    println!(
                        "distinct ids: {}",
                        output::plain(&v["person"]["distinct_ids"])
                    );
                    println!("properties: {}", v["person"]["properties"]);
                    for e in v["events"].as_array().into_iter().flatten() {
                        println!("{}  {}", s(e, "timestamp"), s(e, "event"));
                    }
                }
                return Ok(());
            }
            let q = query(&[("search", &search)]);
            let v = c
                .call(Method::GET, &format!("{}/persons{q}", base(&project)), None)
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    vec![
                        s(p, "id"),
                        output::plain(&p["distinct_ids"]),
                        s(p, "created_at"),
                    ]
                })
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
            let v = c
                .call(
                    Method::DELETE,
                    &format!("{}/persons/{}", base(&project), esc(&distinct_id)),
                    None,
                )
                .await?;
            output::record(g.format, &[("events_deleted", v["events_deleted"].clone())]);
        }
        AnalyticsCommand::Export { project, out } => {
            let n = c
                .download(&format!("{}/export", base(&project)), &out)
                .await?;
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
            let v = if days.is_some() || forever {
                c.call(Method::PUT, &path, Some(json!({ "retention_days": days })))
                    .await?
            } else {
                c.call(Method::GET, &path, None).await?
            };
            output::record(g.format, &[("retention_days", v["retention_days"].clone())]);
        }
    }
    Ok(())
}
