//! Configuration as a file (client): `liveops apply -f liveops.yaml` makes a
//! project match the file, `liveops export-config` writes the project's
//! configuration in the same form, and `liveops settings` lists, sets and
//! deletes one setting of any kind by name.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use liveops_server::contract::configuration::{Document, KINDS, PlanView};
use reqwest::Method;
use serde_json::Value;

use crate::Exit;
use crate::cli::{Format, Global};
use crate::client::Client;
use crate::output;
use crate::scaling::seg;

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// The settings of one kind (schedules, tiers, policies, integrations,
    /// hooks, components, slos, alert_rules, capacity, retention,
    /// key_funnels, trains, credentials), as the file lists them.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        kind: String,
    },
    /// Create or change one setting from a YAML (or JSON) file holding that
    /// one object, as `export-config` writes it ("-" reads standard input).
    Set {
        #[arg(long, value_name = "SLUG")]
        project: String,
        kind: String,
        /// Its name (capacity: SERVICE/METRIC; tiers: l1, l2 or l3).
        name: String,
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
    },
    /// Delete one setting by name.
    Delete {
        #[arg(long, value_name = "SLUG")]
        project: String,
        kind: String,
        name: String,
    },
}

fn read_text(file: &Path) -> anyhow::Result<String> {
    if file == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("could not read standard input")?;
        return Ok(s);
    }
    std::fs::read_to_string(file).with_context(|| format!("could not read {}", file.display()))
}

/// Reads a configuration file: YAML, of which JSON is a part. Mistakes are
/// reported with the file's name, and where serde says, the line.
fn read_document(file: &Path) -> anyhow::Result<Document> {
    let text = read_text(file).map_err(Exit::bad_input)?;
    serde_norway::from_str(&text)
        .map_err(|e| Exit::bad_input(anyhow::anyhow!("{}: {e}", file.display())))
}

fn print_plan(format: Format, raw: &Value, plan: &PlanView) {
    if format == Format::Json {
        output::stdout(format_args!("{raw:#}\n"));
        return;
    }
    let rows: Vec<Vec<String>> = plan
        .changes
        .iter()
        .map(|c| {
            vec![
                c.action.clone(),
                c.kind.clone(),
                c.name.clone(),
                c.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if rows.is_empty() {
        output::stdout(format_args!("No changes: the project matches.\n"));
    } else {
        output::table(format, raw, &["ACTION", "KIND", "NAME", "NOTE"], &rows);
        output::stdout(format_args!(
            "{} {} change(s).\n",
            if plan.dry_run { "Would make" } else { "Made" },
            plan.changes.len()
        ));
    }
    if !plan.kept.is_empty() {
        let names: Vec<String> = plan
            .kept
            .iter()
            .map(|c| format!("{}/{}", c.kind, c.name))
            .collect();
        output::stdout(format_args!(
            "Kept {} setting(s) the file leaves out (--prune deletes them): {}\n",
            names.len(),
            names.join(", ")
        ));
    }
}

/// `liveops apply -f FILE`.
pub async fn apply(
    g: &Global,
    file: &Path,
    project: Option<&str>,
    dry_run: bool,
    prune: bool,
) -> anyhow::Result<()> {
    let doc = read_document(file)?;
    let project = match (project, doc.project.as_deref()) {
        (Some(p), _) => p.to_owned(),
        (None, Some(p)) => p.to_owned(),
        (None, None) => {
            return Err(Exit::bad_input(anyhow::anyhow!(
                "{} names no project: add `project: SLUG` or pass --project",
                file.display()
            )));
        }
    };
    let c = Client::new(g)?;
    let body = serde_json::to_value(&doc)?;
    let path = format!(
        "/api/v1/projects/{}/configuration?dry_run={dry_run}&prune={prune}",
        seg(&project)
    );
    let bar = output::progress(g.format, if dry_run { "planning" } else { "applying" }, "");
    let raw = c.call(Method::POST, &path, Some(body)).await;
    bar.finish_and_clear();
    let raw = raw?;
    let plan: PlanView = crate::client::read_as(&path, &raw)?;
    print_plan(g.format, &raw, &plan);
    Ok(())
}

/// `liveops export-config`: the project's configuration as YAML (JSON with
/// `--format json`), to a file or standard output.
pub async fn export(g: &Global, project: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let path = format!("/api/v1/projects/{}/configuration", seg(project));
    let doc: Document = c.call_as(Method::GET, &path, None).await?;
    let text = if g.format == Format::Json {
        format!("{:#}\n", serde_json::to_value(&doc)?)
    } else {
        format!(
            "# liveops configuration of project `{project}`; apply with `liveops apply -f FILE`.\n{}",
            serde_norway::to_string(&doc).context("could not write the configuration as YAML")?
        )
    };
    match out {
        Some(file) => std::fs::write(file, text)
            .with_context(|| format!("could not write {}", file.display())),
        None => {
            output::stdout(format_args!("{text}"));
            Ok(())
        }
    }
}

fn known_kind(kind: &str) -> anyhow::Result<()> {
    if KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(Exit::bad_input(anyhow::anyhow!(
            "`{kind}` is not a kind of setting: use one of {}",
            KINDS.join(", ")
        )))
    }
}

/// `liveops settings …`.
pub async fn run(g: &Global, cmd: SettingsCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    match cmd {
        SettingsCommand::List { project, kind } => {
            known_kind(&kind)?;
            let path = format!("/api/v1/projects/{}/configuration", seg(&project));
            let doc = c.call(Method::GET, &path, None).await?;
            let list = doc.get(&kind).cloned().unwrap_or(Value::Array(Vec::new()));
            if g.format == Format::Json {
                output::stdout(format_args!("{list:#}\n"));
            } else if list.as_array().is_none_or(Vec::is_empty) {
                output::stdout(format_args!("No {kind}.\n"));
            } else {
                let yaml = serde_norway::to_string(&list)
                    .context("could not write the settings as YAML")?;
                output::stdout(format_args!("{yaml}"));
            }
            Ok(())
        }
        SettingsCommand::Set {
            project,
            kind,
            name,
            file,
        } => {
            known_kind(&kind)?;
            let text = read_text(&file).map_err(Exit::bad_input)?;
            let spec: Value = serde_norway::from_str(&text)
                .map_err(|e| Exit::bad_input(anyhow::anyhow!("{}: {e}", file.display())))?;
            let path = format!(
                "/api/v1/projects/{}/configuration/{}/{}",
                seg(&project),
                seg(&kind),
                seg(&name)
            );
            let raw = c.call(Method::PUT, &path, Some(spec)).await?;
            let plan: PlanView = crate::client::read_as(&path, &raw)?;
            print_plan(g.format, &raw, &plan);
            Ok(())
        }
        SettingsCommand::Delete {
            project,
            kind,
            name,
        } => {
            known_kind(&kind)?;
            let path = format!(
                "/api/v1/projects/{}/configuration/{}/{}",
                seg(&project),
                seg(&kind),
                seg(&name)
            );
            let raw = c.call(Method::DELETE, &path, None).await?;
            let plan: PlanView = crate::client::read_as(&path, &raw)?;
            print_plan(g.format, &raw, &plan);
            Ok(())
        }
    }
}
