//! Source maps for browser errors (client): `upload` sends every script
//! and map under a build directory for a release, each named as the
//! browser loads it (`~/` and its path under the directory, or another
//! `--url-prefix`); `list` and `delete` show and remove a release's files.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use reqwest::Method;

use liveops_server::contract::errors::{ReleaseFileView, UploadedFile};

use crate::cli::Global;
use crate::client::{Client, esc, read_as};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum SourcemapsCommand {
    /// Upload a build's scripts (.js, .mjs, .cjs) and maps (.map) for a release.
    Upload {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// The release, as the SDK's `release` option names it.
        #[arg(long)]
        release: String,
        /// What the files' paths under DIR are served under: `~/` is any
        /// host's root; `~/static/` or a URL like `https://cdn.example/app/`.
        #[arg(long, default_value = "~/", value_name = "PREFIX")]
        url_prefix: String,
        /// The build output: scripts and their maps.
        dir: PathBuf,
    },
    /// A release's files.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        release: String,
    },
    /// Delete one file of a release, or all of them with `--all`.
    Delete {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        release: String,
        /// The file's name, like `~/static/app.min.js.map`.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

const UPLOADED: [&str; 4] = ["NAME", "KIND", "BYTES", "WAS"];

/// The scripts and maps under `dir`, with their paths relative to it
/// (`/`-separated), in name order.
fn build_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> anyhow::Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))?;
        for e in entries {
            let e = e.with_context(|| format!("could not read {}", dir.display()))?;
            let path = e.path();
            let ty = e
                .file_type()
                .with_context(|| format!("could not read {}", path.display()))?;
            if ty.is_dir() {
                walk(root, &path, out)?;
                continue;
            }
            let wanted = path
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "js" | "mjs" | "cjs" | "map"));
            if !ty.is_file() || !wanted {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn rows(files: &[ReleaseFileView]) -> Vec<Vec<String>> {
    files
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.kind.clone(),
                f.size.to_string(),
                f.uploaded_at.clone(),
                f.uploaded_by.clone(),
            ]
        })
        .collect()
}

pub async fn run(g: &Global, cmd: SourcemapsCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let files_path = |project: &str, release: &str| {
        format!(
            "/api/v1/projects/{}/support/errors/releases/{}/files",
            esc(project),
            esc(release)
        )
    };
    match cmd {
        SourcemapsCommand::Upload {
            project,
            release,
            url_prefix,
            dir,
        } => {
            if !(url_prefix.starts_with("~/") || url_prefix.contains("://")) {
                bail!("--url-prefix must start with `~/` or be a URL, not `{url_prefix}`");
            }
            let prefix = if url_prefix.ends_with('/') {
                url_prefix
            } else {
                format!("{url_prefix}/")
            };
            let found = build_files(&dir)?;
            if found.is_empty() {
                bail!("{} holds no .js, .mjs, .cjs or .map files", dir.display());
            }
            let bar = output::progress(g.format, "uploading", "files");
            let mut kept = Vec::new();
            for (rel, path) in &found {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("could not read {}", path.display()))?;
                let name = format!("{prefix}{rel}");
                let at = format!("{}?name={}", files_path(&project, &release), esc(&name));
                let up: UploadedFile = c
                    .call_raw_as(Method::PUT, &at, "application/octet-stream", bytes)
                    .await
                    .with_context(|| format!("{} was not uploaded", path.display()))?;
                bar.inc(1);
                kept.push(up);
            }
            bar.finish_and_clear();
            let v = serde_json::to_value(&kept)?;
            let rows: Vec<Vec<String>> = kept
                .iter()
                .map(|u| {
                    vec![
                        u.file.name.clone(),
                        u.file.kind.clone(),
                        u.file.size.to_string(),
                        if u.replaced { "replaced" } else { "new" }.to_owned(),
                    ]
                })
                .collect();
            output::table(g.format, &v, &UPLOADED, &rows);
        }
        SourcemapsCommand::List { project, release } => {
            let path = files_path(&project, &release);
            let v = c.call(Method::GET, &path, None).await?;
            let files: Vec<ReleaseFileView> = read_as(&path, &v)?;
            output::table(
                g.format,
                &v,
                &["NAME", "KIND", "BYTES", "UPLOADED", "BY"],
                &rows(&files),
            );
        }
        SourcemapsCommand::Delete {
            project,
            release,
            name,
            all,
        } => {
            let mut path = files_path(&project, &release);
            match &name {
                Some(n) => path.push_str(&format!("?name={}", esc(n))),
                None if all => path.push_str("?all=true"),
                None => bail!("name a file, or give --all"),
            }
            c.call(Method::DELETE, &path, None).await?;
            println!(
                "deleted {} of release {release}",
                name.as_deref().unwrap_or("every file")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_directory_gives_its_scripts_and_maps_by_relative_path() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("js")).expect("mkdir");
        for f in [
            "app.min.js",
            "app.min.js.map",
            "index.html",
            "js/chunk.mjs",
            "js/chunk.mjs.map",
        ] {
            std::fs::write(root.join(f), "x").expect("write");
        }
        let names: Vec<String> = build_files(root)
            .expect("walk")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            vec![
                "app.min.js",
                "app.min.js.map",
                "js/chunk.mjs",
                "js/chunk.mjs.map"
            ]
        );
    }

    #[test]
    fn names_and_releases_are_escaped_for_the_url() {
        assert_eq!(esc("~/static/app.min.js"), "%7E%2Fstatic%2Fapp.min.js");
        assert_eq!(esc("shop web@1.0"), "shop%20web%401.0");
    }
}
