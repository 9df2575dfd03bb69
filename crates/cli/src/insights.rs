//! Saved-insight client commands (`liveops analytics insight ...`): list
//! the project's insights, save a question under a name, open one (answered
//! now, as its kind's endpoint answers) and delete one.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use liveops_server::contract::insights::{InsightAnswerView, InsightBody, InsightView};

use crate::cli::{Format, Global};
use crate::client::{Client, esc, read_as};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum InsightCommand {
    /// The project's saved insights.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Save a question: its kind and the request that kind's endpoint
    /// takes, as JSON (inline, or @FILE).
    Save {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        name: String,
        /// trends, funnel, retention, stickiness, lifecycle, active, web or
        /// revenue.
        #[arg(long)]
        kind: String,
        /// The request as JSON, such as '{"series":[{"event":"order","math":"sum:amount"}]}',
        /// or @FILE to read it from a file.
        #[arg(long, value_name = "JSON")]
        query: String,
    },
    /// Open a saved insight (id or name): its answer for today.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        insight: String,
    },
    /// Set the goal on an insight's headline number ('>= 50000'), or
    /// remove it with --none.
    Goal {
        #[arg(long, value_name = "SLUG")]
        project: String,
        insight: String,
        /// `>=` or `<=`.
        #[arg(long, required_unless_present = "none")]
        op: Option<String>,
        #[arg(long, required_unless_present = "none", allow_negative_numbers = true)]
        target: Option<f64>,
        #[arg(long, conflicts_with_all = ["op", "target"])]
        none: bool,
    },
    /// Alert the on-call people of a tier when the insight's headline
    /// goes --above or --below a value, or moves by --change per cent;
    /// --none removes the alert.
    Alert {
        #[arg(long, value_name = "SLUG")]
        project: String,
        insight: String,
        #[arg(long, allow_negative_numbers = true, conflicts_with_all = ["below", "change", "none"])]
        above: Option<f64>,
        #[arg(long, allow_negative_numbers = true, conflicts_with_all = ["change", "none"])]
        below: Option<f64>,
        #[arg(long, value_name = "PERCENT", conflicts_with = "none")]
        change: Option<f64>,
        /// l1, l2 or l3.
        #[arg(long, default_value = "l1")]
        tier: String,
        /// sev1 to sev4.
        #[arg(long, default_value = "sev3")]
        severity: String,
        #[arg(long)]
        none: bool,
    },
    /// Delete a saved insight (id or name).
    Delete {
        #[arg(long, value_name = "SLUG")]
        project: String,
        insight: String,
    },
}

pub async fn run(g: &Global, cmd: InsightCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/analytics/insights");
    match cmd {
        InsightCommand::List { project } => {
            let path = base(&project);
            let v = c.call(Method::GET, &path, None).await?;
            let list: Vec<InsightView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = list
                .into_iter()
                .map(|i| vec![i.name, i.kind, i.created_by, i.link])
                .collect();
            output::table(g.format, &v, &["NAME", "KIND", "SAVED BY", "LINK"], &rows);
        }
        InsightCommand::Save {
            project,
            name,
            kind,
            query,
        } => {
            let text = match query.strip_prefix('@') {
                Some(file) => std::fs::read_to_string(PathBuf::from(file))
                    .with_context(|| format!("cannot read {file}"))?,
                None => query,
            };
            let query: serde_json::Value =
                serde_json::from_str(&text).context("--query is not JSON")?;
            let body = InsightBody { name, kind, query };
            let path = base(&project);
            let v = c
                .call(Method::POST, &path, Some(serde_json::to_value(&body)?))
                .await?;
            let saved: InsightView = read_as(&path, &v)?;
            output::record(
                g.format,
                &[
                    ("id", json!(saved.id)),
                    ("name", json!(saved.name)),
                    ("kind", json!(saved.kind)),
                    ("link", json!(saved.link)),
                ],
            );
        }
        InsightCommand::Show { project, insight } => {
            let path = format!("{}/{}", base(&project), esc(&insight));
            let v = c.call(Method::GET, &path, None).await?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            let a: InsightAnswerView = read_as(&path, &v)?;
            output::record(
                g.format,
                &[
                    ("name", json!(a.insight.name)),
                    ("kind", json!(a.insight.kind)),
                    ("answered", json!(a.computed_at)),
                    ("link", json!(a.insight.link)),
                ],
            );
            println!();
            println!(
                "{}",
                serde_json::to_string_pretty(&a.result).unwrap_or_default()
            );
        }
        InsightCommand::Goal {
            project,
            insight,
            op,
            target,
            none: _,
        } => {
            let goal = match (op, target) {
                (Some(op), Some(target)) => json!({"op": op, "target": target}),
                _ => serde_json::Value::Null,
            };
            let path = format!("{}/{}/goal", base(&project), esc(&insight));
            let v = c
                .call(Method::PUT, &path, Some(json!({ "goal": goal })))
                .await?;
            let i: InsightView = read_as(&path, &v)?;
            println!("goal set on {}", i.name);
        }
        InsightCommand::Alert {
            project,
            insight,
            above,
            below,
            change,
            tier,
            severity,
            none,
        } => {
            let rule = [("above", above), ("below", below), ("change", change)]
                .into_iter()
                .find_map(|(c, v)| v.map(|v| (c, v)));
            let alert = match (rule, none) {
                (_, true) => serde_json::Value::Null,
                (Some((condition, value)), false) => json!({"condition": condition,
                    "value": value, "tier": tier, "severity": severity}),
                (None, false) => anyhow::bail!("say when: --above, --below or --change, or --none"),
            };
            let path = format!("{}/{}/alert", base(&project), esc(&insight));
            let v = c
                .call(Method::PUT, &path, Some(json!({ "alert": alert })))
                .await?;
            let i: InsightView = read_as(&path, &v)?;
            println!("alert set on {}", i.name);
        }
        InsightCommand::Delete { project, insight } => {
            let path = format!("{}/{}", base(&project), esc(&insight));
            c.call(Method::DELETE, &path, None).await?;
            println!("deleted insight {insight}");
        }
    }
    Ok(())
}
