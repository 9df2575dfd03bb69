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
