//! Dashboard client commands (`liveops analytics dashboard ...`): list,
//! make from saved insights, open (every tile answered, with its headline
//! and goal), delete, export as JSON and import into a project.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use liveops_server::contract::dashboards::{
    DashboardAnswerView, DashboardBody, DashboardExport, DashboardView, TileBody,
};

use crate::cli::{Format, Global};
use crate::client::{Client, esc, read_as};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum DashboardCommand {
    /// The project's dashboards.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Make a dashboard of saved insights.
    Create {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        name: String,
        /// A saved insight (id or name), as INSIGHT or INSIGHT:WIDTH (1 to
        /// 3 columns); in order.
        #[arg(long = "insight", value_name = "INSIGHT[:WIDTH]", required = true)]
        insights: Vec<String>,
        /// Every tile shows the last this many days.
        #[arg(long)]
        days: Option<i64>,
        /// Every tile keeps to this cohort.
        #[arg(long, value_name = "COHORT")]
        in_cohort: Option<String>,
        /// Property filters for the trends.
        #[arg(long = "where")]
        filter: Option<String>,
    },
    /// Open a dashboard: each tile's headline, goal and age.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        dashboard: String,
    },
    /// Delete a dashboard (its insights stay).
    Delete {
        #[arg(long, value_name = "SLUG")]
        project: String,
        dashboard: String,
    },
    /// Write a dashboard, with its insights and goals, as JSON.
    Export {
        #[arg(long, value_name = "SLUG")]
        project: String,
        dashboard: String,
        /// The file to write; standard output when absent.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Make a dashboard from exported JSON.
    Import {
        #[arg(long, value_name = "SLUG")]
        project: String,
        file: PathBuf,
    },
}

/// `INSIGHT` or `INSIGHT:WIDTH`.
fn tile(spec: &str) -> anyhow::Result<TileBody> {
    match spec.rsplit_once(':') {
        Some((name, w)) if w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty() => Ok(TileBody {
            insight: name.to_owned(),
            width: Some(w.parse().context("--insight NAME:WIDTH takes 1 to 3")?),
        }),
        _ => Ok(TileBody {
            insight: spec.to_owned(),
            width: None,
        }),
    }
}

pub async fn run(g: &Global, cmd: DashboardCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/analytics/dashboards");
    match cmd {
        DashboardCommand::List { project } => {
            let path = base(&project);
            let v = c.call(Method::GET, &path, None).await?;
            let list: Vec<DashboardView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = list
                .into_iter()
                .map(|d| vec![d.name, d.tiles.to_string(), d.link])
                .collect();
            output::table(g.format, &v, &["NAME", "INSIGHTS", "LINK"], &rows);
        }
        DashboardCommand::Create {
            project,
            name,
            insights,
            days,
            in_cohort,
            filter,
        } => {
            let body = DashboardBody {
                name,
                days,
                in_cohort,
                filter,
                tiles: insights
                    .iter()
                    .map(|s| tile(s))
                    .collect::<anyhow::Result<_>>()?,
                ..DashboardBody::default()
            };
            let path = base(&project);
            let v = c
                .call(Method::POST, &path, Some(serde_json::to_value(&body)?))
                .await?;
            let d: DashboardView = read_as(&path, &v)?;
            output::record(
                g.format,
                &[
                    ("name", json!(d.name)),
                    ("insights", json!(d.tiles)),
                    ("link", json!(d.link)),
                ],
            );
        }
        DashboardCommand::Show { project, dashboard } => {
            let path = format!("{}/{}", base(&project), esc(&dashboard));
            let v = c.call(Method::GET, &path, None).await?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            let d: DashboardAnswerView = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = d
                .tiles
                .into_iter()
                .map(|t| {
                    vec![
                        t.insight.name,
                        t.insight.kind,
                        t.headline
                            .map(|h| format!("{h:.2}"))
                            .unwrap_or_else(|| "-".into()),
                        t.goal
                            .map(|g| format!("{} {}", g.op, g.target))
                            .unwrap_or_else(|| "-".into()),
                        match t.met {
                            Some(true) => "met".into(),
                            Some(false) => "not met".into(),
                            None => "-".into(),
                        },
                        t.error.unwrap_or_else(|| {
                            t.age_secs
                                .map(|a| {
                                    format!("{a}s ago{}", if t.stale { ", stale" } else { "" })
                                })
                                .unwrap_or_default()
                        }),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &["INSIGHT", "KIND", "NOW", "GOAL", "", "ANSWERED"],
                &rows,
            );
        }
        DashboardCommand::Delete { project, dashboard } => {
            let path = format!("{}/{}", base(&project), esc(&dashboard));
            c.call(Method::DELETE, &path, None).await?;
            println!("deleted dashboard {dashboard}");
        }
        DashboardCommand::Export {
            project,
            dashboard,
            out,
        } => {
            let path = format!("{}/{}/export", base(&project), esc(&dashboard));
            let v = c.call(Method::GET, &path, None).await?;
            let doc: DashboardExport = read_as(&path, &v)?;
            let text = serde_json::to_string_pretty(&doc)?;
            match out {
                Some(file) => std::fs::write(&file, text + "\n")
                    .with_context(|| format!("cannot write {}", file.display()))?,
                None => println!("{text}"),
            }
        }
        DashboardCommand::Import { project, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let doc: DashboardExport = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an exported dashboard", file.display()))?;
            let path = format!("{}/import", base(&project));
            let v = c
                .call(Method::POST, &path, Some(serde_json::to_value(&doc)?))
                .await?;
            let d: DashboardView = read_as(&path, &v)?;
            output::record(
                g.format,
                &[
                    ("name", json!(d.name)),
                    ("insights", json!(d.tiles)),
                    ("link", json!(d.link)),
                ],
            );
        }
    }
    Ok(())
}
