//! Documentation sync commands: change detection between two versions of an
//! OpenAPI description and stale docs pages (standalone, on files and a git
//! repository), and decision records on a server (client).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use liveops_core::docs::api_diff::{self, Level};
use liveops_core::docs::openapi::Spec;
use liveops_server::contract::docs::{AdrImport, AdrView};
use serde_json::json;

use crate::Exit;
use crate::cli::{Format, Global};

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Compare two OpenAPI descriptions (3.0 or 3.1, JSON or YAML) and list
    /// what changed, breaking changes first; exits 1 when something breaks,
    /// 2 when a spec cannot be read.
    ApiDiff {
        /// The spec of the version clients use now.
        old: PathBuf,
        /// The spec of the version to ship.
        new: PathBuf,
        /// The version number of OLD, to check NEW's number against the changes.
        #[arg(long, value_name = "SEMVER", requires = "new_version")]
        old_version: Option<String>,
        /// The version number of NEW.
        #[arg(long, value_name = "SEMVER", requires = "old_version")]
        new_version: Option<String>,
        /// The lowest level that fails the command.
        #[arg(long, value_enum, default_value_t = FailOn::Err)]
        fail_on: FailOn,
    },
    /// Flag docs pages that mention API paths changed in the OpenAPI
    /// document since the page was last edited, from a git repository's
    /// history; exits 1 when a page is stale.
    Stale {
        /// The repository.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// The OpenAPI document's path in the repository.
        #[arg(long)]
        spec: String,
        /// The docs folder in the repository.
        #[arg(long, default_value = "docs")]
        docs: String,
        /// The revision to check.
        #[arg(long, default_value = "HEAD")]
        to: String,
    },
    /// Architecture decision records (client).
    #[command(subcommand)]
    Adr(AdrCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Breaking changes.
    Err,
    /// Breaking and possibly breaking changes.
    Warn,
}

pub async fn run(g: &Global, cmd: DocsCommand) -> anyhow::Result<()> {
    match cmd {
        DocsCommand::ApiDiff {
            old,
            new,
            old_version,
            new_version,
            fail_on,
        } => api_diff_files(g, old, new, old_version, new_version, fail_on),
        DocsCommand::Stale {
            repo,
            spec,
            docs,
            to,
        } => stale(g, &repo, &spec, &docs, &to),
        DocsCommand::Adr(cmd) => run_adr(g, cmd).await,
    }
}

fn api_diff_files(
    g: &Global,
    old: PathBuf,
    new: PathBuf,
    old_version: Option<String>,
    new_version: Option<String>,
    fail_on: FailOn,
) -> anyhow::Result<()> {
    let read = || -> anyhow::Result<_> {
        let versions = match (old_version, new_version) {
            (Some(o), Some(n)) => Some((semver(&o)?, semver(&n)?)),
            _ => None,
        };
        Ok((read_spec(&old)?, read_spec(&new)?, versions))
    };
    let (old_spec, new_spec, versions) = read().map_err(Exit::bad_input)?;

    let mut changes = api_diff::diff(&old_spec, &new_spec);
    // Stable: within a level, changes keep their path order.
    changes.sort_by_key(|c| c.level);
    let problem = versions
        .as_ref()
        .and_then(|(o, n)| api_diff::check_version(&changes, o, n));
    let count = |level: Level| changes.iter().filter(|c| c.level == level).count();
    let (breaking, warnings, info) = (count(Level::Err), count(Level::Warn), count(Level::Info));

    if g.format == Format::Json {
        let list: Vec<_> = changes
            .iter()
            .map(|c| {
                json!({"id": c.id, "level": c.level.as_str(), "method": c.method,
                    "path": c.path, "text": c.text})
            })
            .collect();
        let version_problem = problem.as_ref().map(|p| {
            json!({"id": p.id, "text": p.to_string(), "old": p.old.to_string(),
                "new": p.new.to_string(), "needed": p.needed.to_string()})
        });
        println!(
            "{}",
            json!({"changes": list, "breaking": breaking, "warnings": warnings, "info": info,
                "version_problem": version_problem})
        );
    } else {
        let width = changes.iter().map(|c| c.id.len()).max().unwrap_or(0);
        for c in &changes {
            println!(
                "{:<4}  {:<width$}  {} {}  {}",
                c.level, c.id, c.method, c.path, c.text
            );
        }
    }
    if changes.is_empty() {
        eprintln!("no changes");
    } else {
        eprintln!(
            "{} changes: {breaking} breaking, {warnings} possibly breaking, {info} not breaking",
            changes.len()
        );
    }
    if let Some(p) = &problem {
        eprintln!("version problem ({}): {p}", p.id);
    }
    let failed = breaking > 0 || (fail_on == FailOn::Warn && warnings > 0) || problem.is_some();
    if failed {
        return Err(Exit::verdict());
    }
    Ok(())
}

fn semver(v: &str) -> anyhow::Result<semver::Version> {
    v.trim_start_matches('v')
        .parse()
        .with_context(|| format!("`{v}` is not a semantic version like 1.2.3"))
}

fn read_spec(path: &Path) -> anyhow::Result<Spec> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    liveops_wire::openapi::parse(&bytes)
        .with_context(|| format!("{} is not a usable OpenAPI spec", path.display()))
}

/// Decision records on a server (client).
#[derive(Debug, Subcommand)]
pub enum AdrCommand {
    /// Import the Markdown decision records of a folder (adr-tools or MADR).
    Import {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// The folder, such as docs/adr.
        dir: PathBuf,
    },
    /// Decision records, optionally those made for one release.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long, value_name = "VERSION")]
        release: Option<String>,
    },
}

fn adr_row(r: &AdrView) -> Vec<String> {
    vec![
        r.number.to_string(),
        r.title.clone(),
        r.status.clone(),
        r.date.clone().unwrap_or_else(|| "-".into()),
        r.path.clone(),
    ]
}

pub async fn run_adr(g: &Global, cmd: AdrCommand) -> anyhow::Result<()> {
    let c = crate::client::Client::new(g)?;
    let headers = ["#", "TITLE", "STATUS", "DATE", "FILE"];
    match cmd {
        AdrCommand::Import { project, dir } => {
            let mut files = Vec::new();
            let entries = std::fs::read_dir(&dir)
                .with_context(|| format!("could not read the folder {}", dir.display()))?;
            for e in entries {
                let path = e?.path();
                if path.extension().and_then(|x| x.to_str()) != Some("md") {
                    continue;
                }
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("could not read {}", path.display()))?;
                files.push(serde_json::json!({"path": path.display().to_string(), "text": text}));
            }
            anyhow::ensure!(
                !files.is_empty(),
                "{} holds no Markdown files",
                dir.display()
            );
            let done: AdrImport = c
                .call_as(
                    reqwest::Method::POST,
                    &format!("/api/v1/projects/{project}/docs/adrs"),
                    Some(serde_json::Value::Array(files)),
                )
                .await?;
            crate::output::record(
                g.format,
                &[
                    ("imported", json!(done.imported)),
                    ("skipped", json!(done.skipped)),
                ],
            );
        }
        AdrCommand::List { project, release } => {
            let q = release.map(|r| format!("?release={r}")).unwrap_or_default();
            let path = format!("/api/v1/projects/{project}/docs/adrs{q}");
            let v = c.call(reqwest::Method::GET, &path, None).await?;
            let adrs: Vec<AdrView> = crate::client::read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = adrs.iter().map(adr_row).collect();
            crate::output::table(g.format, &v, &headers, &rows);
        }
    }
    Ok(())
}

/// Flags docs pages whose API paths changed in the OpenAPI document after
/// the page was last edited, from the repository's history.
fn stale(g: &Global, repo: &Path, spec: &str, docs: &str, to: &str) -> anyhow::Result<()> {
    use liveops_wire::git;
    let now_spec = git::file_at(repo, to, spec)
        .map_err(anyhow::Error::from)
        .and_then(|s| s.with_context(|| format!("{spec} is not in {to}")))
        .map_err(Exit::bad_input)?;
    let now_model = liveops_wire::openapi::parse(&now_spec)
        .with_context(|| format!("{spec} at {to}"))
        .map_err(Exit::bad_input)?;
    let dir = repo.join(docs);
    let mut pages = Vec::new();
    collect_pages(&dir, &mut pages)
        .with_context(|| format!("could not read the docs folder {}", dir.display()))
        .map_err(Exit::bad_input)?;
    pages.sort();
    let mut report = Vec::new();
    for page in pages {
        let rel = page
            .strip_prefix(repo)
            .unwrap_or(&page)
            .to_string_lossy()
            .replace('\\', "/");
        let Some(edit) = git::last_change(repo, to, &rel).map_err(anyhow::Error::from)? else {
            continue;
        };
        let then = git::file_at(repo, &edit.id, spec).map_err(anyhow::Error::from)?;
        let changes = match then {
            Some(bytes) => match liveops_wire::openapi::parse(&bytes) {
                Ok(old) => liveops_core::docs::api_diff::diff(&old, &now_model),
                Err(_) => continue,
            },
            None => continue,
        };
        let text = std::fs::read_to_string(&page).unwrap_or_default();
        let changed: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        let hit = liveops_core::docs::stale::mentioned(&text, changed);
        if !hit.is_empty() {
            let ids: Vec<String> = changes
                .iter()
                .filter(|c| hit.contains(&c.path.as_str()))
                .map(|c| format!("{} {} {}", c.method, c.path, c.id))
                .collect();
            report.push((
                rel,
                edit,
                hit.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                ids,
            ));
        }
    }
    let json: Vec<serde_json::Value> = report
        .iter()
        .map(|(page, edit, paths, changes)| {
            serde_json::json!({"page": page, "last_edited": jiff::Timestamp::from_second(edit.time)
                .map(|t| t.to_string()).unwrap_or_default(), "commit": edit.id,
                "paths": paths, "changes": changes})
        })
        .collect();
    if g.format == Format::Json {
        println!("{}", serde_json::Value::Array(json));
    } else {
        for (page, edit, paths, changes) in &report {
            println!(
                "STALE  {page}  (last edited in {})",
                edit.id.get(..7).unwrap_or(&edit.id)
            );
            println!("       mentions {}", paths.join(", "));
            for c in changes {
                println!("       - {c}");
            }
        }
        eprintln!("{} stale page(s)", report.len());
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(Exit::verdict())
    }
}

fn collect_pages(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        if path.is_dir() {
            collect_pages(&path, out)?;
        } else if matches!(
            path.extension().and_then(|x| x.to_str()),
            Some("md" | "mdx" | "markdown" | "rst" | "txt" | "html")
        ) {
            out.push(path);
        }
    }
    Ok(())
}
