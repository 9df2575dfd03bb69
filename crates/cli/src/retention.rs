//! `liveops retention`: how long a project keeps its events, spans and
//! metrics (client).

use clap::Subcommand;
use liveops_server::contract::scaling::RetentionView;
use reqwest::Method;
use serde_json::json;

use crate::cli::Global;
use crate::client::Client;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// How long each kind is kept, and the defaults.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Keep KIND (events, spans, metrics or rollups) for DAYS days, or with
    /// --forever keep all of it; older data goes a whole day at a time.
    Set {
        #[arg(long, value_name = "SLUG")]
        project: String,
        kind: String,
        #[arg(required_unless_present = "forever", conflicts_with = "forever")]
        days: Option<i64>,
        #[arg(long)]
        forever: bool,
    },
}

fn days(d: Option<i64>) -> String {
    d.map_or_else(|| "forever".to_owned(), |d| format!("{d} days"))
}

pub async fn run(g: &Global, cmd: RetentionCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/scaling/retention");
    let (raw, view): (serde_json::Value, RetentionView) = match cmd {
        RetentionCommand::Show { project } => {
            let path = base(&project);
            let v = c.call(Method::GET, &path, None).await?;
            let view = crate::client::read_as(&path, &v)?;
            (v, view)
        }
        RetentionCommand::Set {
            project,
            kind,
            days,
            forever: _,
        } => {
            let path = format!("{}/{kind}", base(&project));
            let v = c
                .call(Method::PUT, &path, Some(json!({ "days": days })))
                .await?;
            let view = crate::client::read_as(&path, &v)?;
            (v, view)
        }
    };
    let rows: Vec<Vec<String>> = view
        .kinds
        .iter()
        .map(|k| {
            vec![
                k.kind.clone(),
                days(k.days),
                if k.set { "set" } else { "default" }.to_owned(),
                days(k.default_days),
            ]
        })
        .collect();
    output::table(g.format, &raw, &["KIND", "KEPT", "FROM", "DEFAULT"], &rows);
    Ok(())
}
