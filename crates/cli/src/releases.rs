//! Release commands: notes from a git repository's Conventional Commits
//! with a semver bump suggestion (standalone), and planning, scheduling,
//! shipping, trains and deployments on a server (client).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use liveops_core::releases::changelog::{self, Entry, Release};
use liveops_core::releases::commits::{self, ConventionalCommit};
use liveops_server::contract::releases::{
    DeploymentView, NotesView, PullRequestView, ReleaseMoved, ReleaseView, TrainView,
};
use liveops_server::releases::hooks::{CreatedHook, HookView};
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Format, Global};
use crate::client::esc;
use crate::client::read_as;

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Keep a Changelog notes: for the commits in FROM..TO of a git
    /// repository with the semver bump they call for (standalone), or with
    /// --project and --release, for a planned or shipped release (client).
    Notes {
        /// The repository.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// The last release's tag or revision; the newest tag on TO's
        /// history by default.
        #[arg(long)]
        from: Option<String>,
        /// Every commit reachable from TO, for a first release.
        #[arg(long, conflicts_with = "from")]
        all: bool,
        /// The revision to describe.
        #[arg(long, default_value = "HEAD")]
        to: String,
        /// The version to title the notes with; the suggested one by default.
        #[arg(long, value_name = "VERSION")]
        next: Option<String>,
        /// The release date (YYYY-MM-DD); today by default.
        #[arg(long)]
        date: Option<String>,
        /// Notes for a release recorded on the server, in this project.
        #[arg(long, value_name = "SLUG", requires = "release")]
        project: Option<String>,
        /// The release's version.
        #[arg(long, value_name = "VERSION", requires = "project")]
        release: Option<String>,
    },
    /// Plan a release: the next version for its type unless given.
    #[command(disable_version_flag = true)]
    Plan {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// major, minor, patch or hotfix.
        #[arg(long, default_value = "minor")]
        kind: String,
        #[arg(long)]
        version: Option<String>,
        /// The train it leaves on (its next free departure sets the date).
        #[arg(long)]
        train: Option<String>,
        /// YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
        /// Person-weeks of effort it can hold.
        #[arg(long)]
        capacity: Option<f64>,
    },
    /// Releases, unshipped first.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// A release with its items and capacity.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        release: String,
    },
    /// Schedule backlog items into a release.
    Schedule {
        #[arg(long, value_name = "SLUG")]
        project: String,
        release: String,
        /// Item numbers.
        #[arg(required = true)]
        items: Vec<i64>,
    },
    /// Freeze a release: only bugs and security fixes join it after.
    Freeze {
        #[arg(long, value_name = "SLUG")]
        project: String,
        release: String,
    },
    /// Ship a release: done items are released, open ones go back to the backlog.
    Ship {
        #[arg(long, value_name = "SLUG")]
        project: String,
        release: String,
    },
    /// Open a hotfix release for an incident.
    #[command(disable_version_flag = true)]
    Hotfix {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        incident: i64,
        #[arg(long)]
        version: Option<String>,
    },
    /// Store the OpenAPI document a release ships, for its API changes.
    Openapi {
        #[arg(long, value_name = "SLUG")]
        project: String,
        release: String,
        spec: PathBuf,
    },
}

/// Release trains (client).
#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Start a train.
    Create {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        /// weekly, biweekly or monthly.
        #[arg(long)]
        cadence: String,
        /// The first release day, YYYY-MM-DD.
        #[arg(long)]
        first: String,
        /// Days before each release that the code freezes.
        #[arg(long, default_value_t = 2)]
        freeze_days: i64,
    },
    /// Trains and their next departures.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
}

const RELEASE_HEADERS: [&str; 7] = [
    "VERSION", "TYPE", "STATE", "DATE", "ITEMS", "EFFORT", "WARNING",
];

fn release_row(r: &ReleaseView) -> Vec<String> {
    vec![
        r.version.clone(),
        r.kind.clone(),
        r.state.clone(),
        r.shipped_at
            .as_deref()
            .or(r.planned_for.as_deref())
            .unwrap_or("-")
            .to_owned(),
        r.items.len().to_string(),
        match r.capacity {
            Some(c) => format!("{:.1}/{c:.1}", r.planned_effort),
            None => format!("{:.1}", r.planned_effort),
        },
        r.capacity_warning
            .as_ref()
            .map(|w| w.message.clone())
            .unwrap_or_default(),
    ]
}

/// A release answer read back, as one table row.
fn release_rows(v: &Value) -> anyhow::Result<Vec<Vec<String>>> {
    let r: ReleaseView = read_as("the release", v)?;
    Ok(vec![release_row(&r)])
}

pub async fn run(g: &Global, cmd: ReleaseCommand) -> anyhow::Result<()> {
    let base = |p: &str| format!("/api/v1/projects/{p}/releases");
    let show = |v: &Value| -> anyhow::Result<()> {
        crate::output::table(g.format, v, &RELEASE_HEADERS, &release_rows(v)?);
        Ok(())
    };
    match cmd {
        ReleaseCommand::Notes {
            project: Some(project),
            release: Some(release),
            ..
        } => {
            let c = crate::client::Client::new(g)?;
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/{}/notes", base(&project), esc(&release)),
                    None,
                )
                .await?;
            if g.format == Format::Json {
                println!("{v}");
            } else {
                let notes: NotesView = read_as("the release notes", &v)?;
                print!("{}", notes.markdown);
                if let Some(p) = notes.version_problem {
                    eprintln!("warning: {p}");
                }
            }
            Ok(())
        }
        ReleaseCommand::Notes {
            repo,
            from,
            all,
            to,
            next,
            date,
            ..
        } => {
            let from = match (from, all) {
                (Some(f), _) => Some(f),
                (None, true) => None,
                (None, false) => {
                    Some(liveops_wire::git::latest_tag(&repo, &to)?.with_context(|| {
                        format!(
                            "{} has no tags on the history of {to}, so there is no last release \
                             to start from: pass --from REV, or --all for every commit",
                            repo.display()
                        )
                    })?)
                }
            };
            notes_from_git(g, repo, from, to, next, date)
        }
        ReleaseCommand::Plan {
            project,
            kind,
            version,
            train,
            date,
            capacity,
        } => {
            let c = crate::client::Client::new(g)?;
            let v = c
                .call(
                    Method::POST,
                    &base(&project),
                    Some(json!({"kind": kind, "version": version, "train": train,
                        "planned_for": date, "capacity": capacity})),
                )
                .await?;
            show(&v)?;
            Ok(())
        }
        ReleaseCommand::List { project } => {
            let c = crate::client::Client::new(g)?;
            let v = c.call(Method::GET, &base(&project), None).await?;
            let releases: Vec<ReleaseView> = read_as(&base(&project), &v)?;
            let rows: Vec<Vec<String>> = releases.iter().map(release_row).collect();
            crate::output::table(g.format, &v, &RELEASE_HEADERS, &rows);
            Ok(())
        }
        ReleaseCommand::Show { project, release } => {
            let c = crate::client::Client::new(g)?;
            let v = c
                .call(
                    Method::GET,
                    &format!("{}/{}", base(&project), esc(&release)),
                    None,
                )
                .await?;
            let r: ReleaseView = read_as("the release", &v)?;
            crate::output::table(g.format, &v, &RELEASE_HEADERS, &[release_row(&r)]);
            if g.format == Format::Table {
                for i in &r.items {
                    eprintln!("  #{} {} ({}, {})", i.number, i.title, i.kind, i.status);
                }
            }
            Ok(())
        }
        ReleaseCommand::Schedule {
            project,
            release,
            items,
        } => {
            let c = crate::client::Client::new(g)?;
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/{}/items", base(&project), esc(&release)),
                    Some(json!({"items": items})),
                )
                .await?;
            show(&v)?;
            Ok(())
        }
        ReleaseCommand::Freeze { project, release } => {
            move_release(g, &base(&project), &release, "frozen").await
        }
        ReleaseCommand::Ship { project, release } => {
            move_release(g, &base(&project), &release, "shipped").await
        }
        ReleaseCommand::Hotfix {
            project,
            incident,
            version,
        } => {
            let c = crate::client::Client::new(g)?;
            let v = c
                .call(
                    Method::POST,
                    &format!("/api/v1/projects/{project}/releases/hotfixes"),
                    Some(json!({"incident": incident, "version": version})),
                )
                .await?;
            show(&v)?;
            Ok(())
        }
        ReleaseCommand::Openapi {
            project,
            release,
            spec,
        } => {
            let bytes = std::fs::read(&spec)
                .with_context(|| format!("could not read {}", spec.display()))?;
            let c = crate::client::Client::new(g)?;
            c.call_raw(
                Method::PUT,
                &format!("{}/{}/openapi", base(&project), esc(&release)),
                "application/yaml",
                bytes,
            )
            .await?;
            eprintln!("stored the OpenAPI document of {release}");
            Ok(())
        }
    }
}

async fn move_release(g: &Global, base: &str, release: &str, to: &str) -> anyhow::Result<()> {
    let c = crate::client::Client::new(g)?;
    let v = c
        .call(
            Method::POST,
            &format!("{base}/{}/state", esc(release)),
            Some(json!({"state": to})),
        )
        .await?;
    let moved: ReleaseMoved = read_as("the moved release", &v)?;
    crate::output::table(
        g.format,
        &v,
        &RELEASE_HEADERS,
        &[release_row(&moved.release)],
    );
    if !moved.carried_over.is_empty() {
        let list: Vec<String> = moved.carried_over.iter().map(|n| format!("#{n}")).collect();
        eprintln!("not done, back in the backlog: {}", list.join(", "));
    }
    Ok(())
}

pub async fn run_train(g: &Global, cmd: TrainCommand) -> anyhow::Result<()> {
    let c = crate::client::Client::new(g)?;
    let headers = [
        "NAME",
        "CADENCE",
        "FREEZE DAYS",
        "NEXT RELEASE",
        "NEXT FREEZE",
    ];
    let row = |t: &TrainView| {
        let next = t.next.first();
        vec![
            t.name.clone(),
            t.cadence.clone(),
            t.freeze_days.to_string(),
            next.map_or_else(|| "-".into(), |d| d.release.clone()),
            next.map_or_else(|| "-".into(), |d| d.freeze.clone()),
        ]
    };
    match cmd {
        TrainCommand::Create {
            project,
            name,
            cadence,
            first,
            freeze_days,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("/api/v1/projects/{project}/releases/trains"),
                    Some(
                        json!({"name": name, "cadence": cadence, "first_release": first,
                        "freeze_days": freeze_days}),
                    ),
                )
                .await?;
            let train: TrainView = read_as("the train", &v)?;
            crate::output::table(g.format, &v, &headers, &[row(&train)]);
        }
        TrainCommand::List { project } => {
            let v = c
                .call(
                    Method::GET,
                    &format!("/api/v1/projects/{project}/releases/trains"),
                    None,
                )
                .await?;
            let trains: Vec<TrainView> = read_as("the trains", &v)?;
            let rows: Vec<Vec<String>> = trains.iter().map(row).collect();
            crate::output::table(g.format, &v, &headers, &rows);
        }
    }
    Ok(())
}

fn notes_from_git(
    g: &Global,
    repo: PathBuf,
    from: Option<String>,
    to: String,
    title: Option<String>,
    date: Option<String>,
) -> anyhow::Result<()> {
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
        /// A lockfile the deployment shipped (repeatable): production
        /// deployments are scanned, so findings they no longer carry are fixed.
        #[arg(long = "lockfile", value_name = "PATH")]
        lockfiles: Vec<PathBuf>,
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
    /// Take deployments, pull requests and releases from a Git host or CI
    /// (github, gitlab or ci): makes the secret it signs with, replacing
    /// any before, and prints where it posts to. The secret is shown once.
    Webhook {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(value_parser = ["github", "gitlab", "ci"])]
        provider: String,
        /// Stop taking this sender's webhooks instead.
        #[arg(long)]
        remove: bool,
    },
    /// The Git hosts and CI systems the project takes webhooks from.
    Webhooks {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Pull (merge) requests the Git hosts reported, with the stages of
    /// their lead time.
    PullRequests {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        repository: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

fn hours(secs: Option<i64>) -> String {
    secs.map(|s| format!("{:.1} h", s as f64 / 3600.0))
        .unwrap_or_else(|| "-".into())
}

pub async fn run_deploy(g: &Global, cmd: DeployCommand) -> anyhow::Result<()> {
    let c = crate::client::Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/releases/deployments");
    let headers = [
        "SERVICE",
        "VERSION",
        "ENV",
        "COMMIT",
        "DEPLOYED",
        "COMMITS",
        "LEAD TIME",
    ];
    let row = |d: &DeploymentView| {
        vec![
            d.service.clone(),
            d.version.clone(),
            d.environment.clone(),
            d.commit.clone().unwrap_or_else(|| "-".into()),
            d.deployed_at.clone(),
            d.commits.to_string(),
            d.lead_time_secs
                .map(|s| format!("{:.1} h", s as f64 / 3600.0))
                .unwrap_or_else(|| "-".into()),
        ]
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
            lockfiles,
        } => {
            let mut locks = Vec::new();
            for p in &lockfiles {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("could not read {}", p.display()))?;
                locks.push(json!({"name": p.display().to_string(), "text": text}));
            }
            let mut commits = Vec::new();
            let mut first_sha: Option<String> = None;
            if let Some(repo) = repo {
                let to = commit.clone().unwrap_or_else(|| "HEAD".into());
                let since = match since {
                    Some(s) => Some(s),
                    None => {
                        let last: Vec<DeploymentView> = c
                            .call_as(
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
                        last.into_iter().next().and_then(|d| d.commit)
                    }
                };
                let carried = liveops_wire::git::commits_between(&repo, since.as_deref(), &to)?;
                first_sha = carried.first().map(|gc| gc.id.clone());
                for gc in carried {
                    let at = jiff::Timestamp::from_second(gc.time)
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                    commits.push(json!({"sha": gc.id, "message": gc.message, "committed_at": at}));
                }
            }
            let commit = commit.or(first_sha);
            let body = json!({"service": service, "version": version, "environment": env,
                "commit": commit, "commits": commits, "lockfiles": locks});
            let v = c
                .call(reqwest::Method::POST, &base(&project), Some(body))
                .await?;
            let d: DeploymentView = read_as("the deployment", &v)?;
            crate::output::table(g.format, &v, &headers, &[row(&d)]);
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
            let list: Vec<DeploymentView> = read_as("the deployments", &v)?;
            let rows: Vec<Vec<String>> = list.iter().map(row).collect();
            crate::output::table(g.format, &v, &headers, &rows);
        }
        DeployCommand::Webhook {
            project,
            provider,
            remove,
        } => {
            let path = format!("/api/v1/projects/{project}/releases/webhooks/{provider}");
            if remove {
                c.call(reqwest::Method::DELETE, &path, None).await?;
                crate::output::record(
                    g.format,
                    &[("provider", json!(provider)), ("removed", json!(true))],
                );
                return Ok(());
            }
            let v = c.call(reqwest::Method::PUT, &path, None).await?;
            let made: CreatedHook = read_as("the webhook", &v)?;
            let target = made
                .hook
                .url
                .clone()
                .unwrap_or_else(|| format!("{}{}", c.server(), made.hook.path));
            let how = match provider.as_str() {
                "github" => {
                    "GitHub: Settings → Webhooks → Add webhook; content type application/json; events push, pull requests, deployment statuses, releases."
                }
                "gitlab" => {
                    "GitLab: Settings → Webhooks; secret token as below; triggers push, merge request, deployment and release events."
                }
                _ => {
                    "CI: POST the deployment JSON, signed `X-Liveops-Signature: sha256=<hex HMAC-SHA256 of the body>`."
                }
            };
            crate::output::table(
                g.format,
                &v,
                &["PROVIDER", "URL", "SECRET"],
                &[vec![
                    made.hook.provider.clone(),
                    target,
                    made.secret.clone(),
                ]],
            );
            if g.format != Format::Json {
                eprintln!("{how}\nThe secret is shown only now.");
            }
        }
        DeployCommand::Webhooks { project } => {
            let v = c
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/projects/{project}/releases/webhooks"),
                    None,
                )
                .await?;
            let list: Vec<HookView> = read_as("the webhooks", &v)?;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|h| {
                    vec![
                        h.provider.clone(),
                        h.url
                            .clone()
                            .unwrap_or_else(|| format!("{}{}", c.server(), h.path)),
                        h.created_at.clone(),
                    ]
                })
                .collect();
            crate::output::table(g.format, &v, &["PROVIDER", "URL", "SINCE"], &rows);
        }
        DeployCommand::PullRequests {
            project,
            repository,
            limit,
        } => {
            let mut q = format!("limit={limit}");
            if let Some(r) = repository {
                q.push_str(&format!("&repository={}", esc(&r)));
            }
            let v = c
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/projects/{project}/releases/pull-requests?{q}"),
                    None,
                )
                .await?;
            let list: Vec<PullRequestView> = read_as("the pull requests", &v)?;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|p| {
                    vec![
                        format!("{}#{}", p.repository, p.number),
                        p.title.clone(),
                        p.state.clone(),
                        hours(p.coding_secs),
                        hours(p.review_secs),
                        hours(p.deploy_secs),
                    ]
                })
                .collect();
            crate::output::table(
                g.format,
                &v,
                &[
                    "PULL REQUEST",
                    "TITLE",
                    "STATE",
                    "CODING",
                    "REVIEW",
                    "DEPLOY",
                ],
                &rows,
            );
        }
    }
    Ok(())
}
