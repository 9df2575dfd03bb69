//! Release commands that run standalone on a git repository: release notes
//! from Conventional Commits with a semver bump suggestion.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use liveops_core::releases::changelog::{self, Entry, Release};
use liveops_core::releases::commits::{self, ConventionalCommit};
use serde_json::json;

use crate::cli::{Format, Global};

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Keep a Changelog notes for the commits in FROM..TO of a git
    /// repository, and the semver bump they call for.
    Notes {
        /// The repository.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// The last release's tag or revision; every commit when absent.
        #[arg(long)]
        from: Option<String>,
        /// The revision to describe.
        #[arg(long, default_value = "HEAD")]
        to: String,
        /// The version to title the notes with; the suggested one by default.
        #[arg(long, value_name = "VERSION")]
        next: Option<String>,
        /// The release date (YYYY-MM-DD); today by default.
        #[arg(long)]
        date: Option<String>,
    },
}

pub fn run(g: &Global, cmd: ReleaseCommand) -> anyhow::Result<()> {
    let ReleaseCommand::Notes {
        repo,
        from,
        to,
        next: title,
        date,
    } = cmd;
    let history = liveops_wire::git::commits_between(&repo, from.as_deref(), &to)?;
    let parsed: Vec<ConventionalCommit> = history
        .iter()
        .filter_map(|c| c.message.parse().ok())
        .collect();
    let skipped = history.len() - parsed.len();
    // The last release's version, from its tag (`v1.2.3` or `1.2.3`).
    let current = from
        .as_deref()
        .map(|f| f.rsplit('/').next().unwrap_or(f))
        .and_then(|f| f.trim_start_matches('v').parse::<semver::Version>().ok());
    let bump = commits::suggest(
        current.as_ref().unwrap_or(&semver::Version::new(0, 0, 0)),
        &parsed,
    );
    let next = current.as_ref().map(|c| commits::bumped(c, bump));
    let title = title.or_else(|| next.as_ref().map(ToString::to_string));
    let date = match date {
        Some(d) => Some(
            d.parse::<jiff::civil::Date>()
                .with_context(|| format!("`{d}` is not a date like 2026-11-28"))?
                .to_string(),
        ),
        None => Some(jiff::Zoned::now().date().to_string()),
    };
    let release = Release {
        version: title.clone(),
        date: title.as_ref().and(date),
        entries: parsed.iter().filter_map(Entry::from_commit).collect(),
    };
    let markdown = changelog::render(std::slice::from_ref(&release));
    if g.format == Format::Json {
        println!(
            "{}",
            json!({
                "from": from, "to": to, "commits": history.len(), "conventional": parsed.len(),
                "skipped": skipped,
                "current": current.map(|c| c.to_string()), "bump": bump.to_string(),
                "next": next.map(|n| n.to_string()), "markdown": markdown,
            })
        );
    } else {
        print!("{markdown}");
        eprintln!(
            "{} commits, {} conventional; suggested bump: {bump}{}",
            history.len(),
            parsed.len(),
            match (&current, &next) {
                (Some(c), Some(n)) => format!(" ({c} → {n})"),
                _ => " (no version in --from to bump)".into(),
            }
        );
    }
    Ok(())
}

/// Deployments (client).
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Record a deployment; with --repo, the commits it carried since the
    /// service's previous deployment in that environment.
    #[command(disable_version_flag = true)]
    Record {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        service: String,
        /// The version deployed.
        #[arg(long)]
        version: String,
        #[arg(long, default_value = "production")]
        env: String,
        /// The commit deployed.
        #[arg(long)]
        commit: Option<String>,
        /// A git repository to read the commits from.
        #[arg(long)]
        repo: Option<PathBuf>,
        /// The revision the previous deployment had; found from the last
        /// recorded deployment when absent.
        #[arg(long)]
        since: Option<String>,
    },
    /// Deployments, newest first.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        env: Option<String>,
    },
}

fn esc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

pub async fn run_deploy(g: &Global, cmd: DeployCommand) -> anyhow::Result<()> {
    let c = crate::client::Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/deployments");
    let headers = [
        "SERVICE",
        "VERSION",
        "ENV",
        "COMMIT",
        "DEPLOYED",
        "COMMITS",
        "LEAD TIME",
    ];
    let rows = |v: &serde_json::Value| -> Vec<Vec<String>> {
        let one = |d: &serde_json::Value| {
            vec![
                crate::client::s(d, "service"),
                crate::client::s(d, "version"),
                crate::client::s(d, "environment"),
                crate::client::s(d, "commit"),
                crate::client::s(d, "deployed_at"),
                crate::client::s(d, "commits"),
                d["lead_time_secs"]
                    .as_i64()
                    .map(|s| format!("{:.1} h", s as f64 / 3600.0))
                    .unwrap_or_else(|| "-".into()),
            ]
        };
        match v.as_array() {
            Some(a) => a.iter().map(one).collect(),
            None => vec![one(v)],
        }
    };
    match cmd {
        DeployCommand::Record {
            project,
            service,
            version,
            env,
            commit,
            repo,
            since,
        } => {
            let mut commits = Vec::new();
            if let Some(repo) = repo {
                let to = commit.clone().unwrap_or_else(|| "HEAD".into());
                let since = match since {
                    Some(s) => Some(s),
                    None => {
                        let last = c
                            .call(
                                reqwest::Method::GET,
                                &format!(
                                    "{}?service={}&environment={}&limit=1",
                                    base(&project),
                                    esc(&service),
                                    esc(&env)
                                ),
                                None,
                            )
                            .await?;
                        last[0]["commit"].as_str().map(str::to_owned)
                    }
                };
                for gc in liveops_wire::git::commits_between(&repo, since.as_deref(), &to)? {
                    let at = jiff::Timestamp::from_second(gc.time)
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                    commits.push(json!({"sha": gc.id, "message": gc.message, "committed_at": at}));
                }
            }
            let commit = match (commit, commits.first()) {
                (Some(c), _) => Some(c),
                (None, Some(first)) => first["sha"].as_str().map(str::to_owned),
                (None, None) => None,
            };
            let body = json!({"service": service, "version": version, "environment": env,
                "commit": commit, "commits": commits});
            let v = c
                .call(reqwest::Method::POST, &base(&project), Some(body))
                .await?;
            crate::output::table(g.format, &v, &headers, &rows(&v));
        }
        DeployCommand::List {
            project,
            service,
            env,
        } => {
            let mut q = Vec::new();
            if let Some(s) = service {
                q.push(format!("service={}", esc(&s)));
            }
            if let Some(e) = env {
                q.push(format!("environment={}", esc(&e)));
            }
            let v = c
                .call(
                    reqwest::Method::GET,
                    &format!("{}?{}", base(&project), q.join("&")),
                    None,
                )
                .await?;
            crate::output::table(g.format, &v, &headers, &rows(&v));
        }
    }
    Ok(())
}
