//! Continuous-improvement commands (client): the DORA four keys.

use clap::Args;
use reqwest::Method;
use serde_json::Value;

use crate::cli::Global;

#[derive(Debug, Args)]
pub struct DoraArgs {
    #[arg(long, value_name = "SLUG")]
    pub project: String,
    /// Start (date or RFC 3339); 30 days before --to by default.
    #[arg(long)]
    pub from: Option<String>,
    /// End, exclusive; now by default.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long, default_value = "production")]
    pub env: String,
}

fn hours(v: &Value) -> String {
    v.as_i64()
        .map(|s| format!("{:.1} h", s as f64 / 3600.0))
        .unwrap_or_else(|| "-".into())
}

pub async fn run_dora(g: &Global, a: DoraArgs) -> anyhow::Result<()> {
    let c = crate::client::Client::new(g)?;
    let mut q = vec![format!("environment={}", esc(&a.env))];
    for (k, v) in [("from", &a.from), ("to", &a.to), ("service", &a.service)] {
        if let Some(v) = v {
            q.push(format!("{k}={}", esc(v)));
        }
    }
    let v = c
        .call(
            Method::GET,
            &format!("/api/v1/projects/{}/dora?{}", a.project, q.join("&")),
            None,
        )
        .await?;
    let level = |k: &str| v[k].as_str().unwrap_or("-").to_owned();
    let rows = vec![
        vec![
            "Deployment frequency".into(),
            format!(
                "{} per day ({} deployments)",
                v["deployment_frequency"], v["deployments"]
            ),
            level("frequency_level"),
        ],
        vec![
            "Lead time for changes".into(),
            hours(&v["lead_time_secs"]),
            level("lead_time_level"),
        ],
        vec![
            "Change failure rate".into(),
            v["change_failure_rate"]
                .as_f64()
                .map(|r| format!("{:.1} %", r * 100.0))
                .unwrap_or_else(|| "-".into()),
            level("change_failure_level"),
        ],
        vec![
            "Time to restore".into(),
            hours(&v["time_to_restore_secs"]),
            level("time_to_restore_level"),
        ],
        vec!["Overall".into(), String::new(), level("level")],
    ];
    crate::output::table(g.format, &v, &["KEY", "VALUE", "LEVEL"], &rows);
    Ok(())
}

fn esc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
