//! Source maps for a project's JavaScript errors: files uploaded per
//! release (maps and the minified scripts they map), listed and deleted,
//! and the mapping of an arriving event's minified frames back to their
//! original file, line, function and context, before it is grouped.
//!
//! A release's file names are read from the state store for each intake
//! that has browser frames, so an upload on one node serves every node at
//! once. Parsed files are cached per node by their SHA-256, which names
//! the content: a cached file is never stale, and the cache is bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use liveops_store::audit::Actor;
use liveops_store::support::release_files::{self as store, NewReleaseFile, ReleaseFileRow};
use liveops_wire::sourcemaps::{self as maps, Artifact, FileKind, Mapping, SourceMapError};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Incoming;
use crate::contract::errors::{ReleaseFileView, ReleaseFilesSummaryView, UploadedFile};
use crate::state::AppState;
use crate::support::{Result, SupportError};
use crate::work::{Audit, Work};

/// What the parsed files a node keeps may weigh together.
const CACHE_BUDGET: usize = 256 * 1024 * 1024;

/// Parsed files by digest, bounded by their weight: past the budget the
/// cache starts again empty (maps are few per release, and a release's
/// maps are read again at most once per intake).
#[derive(Debug, Default)]
pub struct Cache(Mutex<(HashMap<String, Arc<Artifact>>, usize)>);

impl Cache {
    fn get(&self, sha: &str) -> Option<Arc<Artifact>> {
        let held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.0.get(sha).cloned()
    }

    fn put(&self, sha: &str, a: Arc<Artifact>) {
        let weight = a.weight();
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if held.1 + weight > CACHE_BUDGET {
            held.0.clear();
            held.1 = 0;
        }
        if weight <= CACHE_BUDGET {
            held.0.insert(sha.to_owned(), a);
            held.1 += weight;
        }
    }
}

static CACHE: std::sync::LazyLock<Cache> = std::sync::LazyLock::new(Cache::default);

fn release_of(release: &str) -> Result<&str> {
    let r = release.trim();
    if r.is_empty() || r.len() > 200 || r.chars().any(char::is_control) {
        return Err(SupportError::invalid(
            "a release is 1 to 200 characters, without control characters",
        ));
    }
    Ok(r)
}

fn kind_of(s: &str) -> FileKind {
    if s == "map" {
        FileKind::Map
    } else {
        FileKind::Source
    }
}

fn view(r: ReleaseFileRow) -> ReleaseFileView {
    ReleaseFileView {
        release: r.release,
        name: r.name,
        kind: r.kind,
        sha256: r.sha256,
        size: r.size,
        uploaded_at: crate::state::format_ms(r.uploaded_at),
        uploaded_by: r.uploaded_by,
    }
}

/// Keeps a file for a release under the name the browser loads it by; a
/// file of the same name is replaced. A map must decode.
pub async fn upload(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    release: &str,
    name: &str,
    bytes: Vec<u8>,
) -> Result<UploadedFile> {
    let release = release_of(release)?;
    let (kind, text) = maps::read_upload(name, bytes)
        .map_err(|e: SourceMapError| SupportError::invalid(e.to_string()))?;
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let at = w.now();
    let replaced = store::put(
        w.conn(),
        &NewReleaseFile {
            project_id,
            release,
            name,
            kind: kind.as_str(),
            sha256: &sha,
            content: &text,
            at,
            by: &actor.name,
        },
    )
    .await?;
    w.commit(
        Audit::new("errors.release_file.upload", name).detail(serde_json::json!({
            "release": release, "kind": kind.as_str(), "size": text.len(), "replaced": replaced
        })),
    )
    .await?;
    Ok(UploadedFile {
        file: ReleaseFileView {
            release: release.to_owned(),
            name: name.to_owned(),
            kind: kind.as_str().to_owned(),
            sha256: sha,
            size: text.len() as i64,
            uploaded_at: crate::state::format_ms(at),
            uploaded_by: actor.name.clone(),
        },
        replaced,
    })
}

/// A release's files, by name.
pub async fn list(
    state: &AppState,
    project_id: &str,
    release: &str,
) -> Result<Vec<ReleaseFileView>> {
    let release = release_of(release)?;
    Ok(state
        .db
        .release_files(project_id, release)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// The releases that have files, newest upload first.
pub async fn releases(state: &AppState, project_id: &str) -> Result<Vec<ReleaseFilesSummaryView>> {
    Ok(state
        .db
        .releases_with_files(project_id)
        .await?
        .into_iter()
        .map(|r| ReleaseFilesSummaryView {
            release: r.release,
            files: r.files,
            bytes: r.bytes,
            last_upload: crate::state::format_ms(r.last_upload),
        })
        .collect())
}

/// Deletes one file of a release, or (with no name) all of them.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    release: &str,
    name: Option<&str>,
) -> Result<u64> {
    let release = release_of(release)?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let gone = store::delete(w.conn(), project_id, release, name).await?;
    if gone == 0 {
        return Err(SupportError::not_found(match name {
            Some(n) => format!("release {release} has no file named {n}"),
            None => format!("release {release} has no files"),
        }));
    }
    w.commit(
        Audit::new("errors.release_file.delete", name.unwrap_or("*"))
            .detail(serde_json::json!({ "release": release, "files": gone })),
    )
    .await?;
    Ok(gone)
}

/// One file of a release, parsed, from the cache or the store.
async fn artifact(
    state: &AppState,
    project_id: &str,
    release: &str,
    file: &ReleaseFileRow,
) -> Result<Option<Arc<Artifact>>> {
    if let Some(a) = CACHE.get(&file.sha256) {
        return Ok(Some(a));
    }
    let Some((sha, text)) = state
        .db
        .release_file_content(project_id, release, &file.name)
        .await?
    else {
        return Ok(None);
    };
    let kind = kind_of(&file.kind);
    let parsed = tokio::task::spawn_blocking(move || maps::artifact(kind, &text)).await?;
    Ok(parsed.map(|a| {
        let a = Arc::new(a);
        CACHE.put(&sha, a.clone());
        a
    }))
}

/// How the scripts at `urls` map, from a release's files: the script by
/// its name (when uploaded) names its map; otherwise the map is the
/// script's name plus `.map`.
async fn mappings(
    state: &AppState,
    project_id: &str,
    release: &str,
    urls: &[String],
) -> Result<HashMap<String, Mapping>> {
    let files = state.db.release_files(project_id, release).await?;
    let mut out = HashMap::new();
    if files.is_empty() {
        return Ok(out);
    }
    let by_name: HashMap<&str, &ReleaseFileRow> =
        files.iter().map(|f| (f.name.as_str(), f)).collect();
    for url in urls {
        let names = maps::names_for(url);
        let mut script = None;
        let mut map_name = None;
        if let Some(f) = names
            .iter()
            .find_map(|n| by_name.get(n.as_str()).filter(|f| f.kind == "source"))
            && let Some(a) = artifact(state, project_id, release, f).await?
        {
            if let Artifact::Source(view) = &*a {
                map_name = maps::map_name_of(&f.name, view);
            }
            script = Some(a);
        }
        let map_name = map_name.or_else(|| {
            names
                .iter()
                .map(|n| format!("{n}.map"))
                .find(|n| by_name.contains_key(n.as_str()))
        });
        let Some(map_file) = map_name.and_then(|n| by_name.get(n.as_str()).copied()) else {
            continue;
        };
        if let Some(map) = artifact(state, project_id, release, map_file).await? {
            out.insert(
                url.clone(),
                Mapping {
                    map_name: map_file.name.clone(),
                    map,
                    script,
                },
            );
        }
    }
    Ok(out)
}

/// Maps the minified frames of the events that have a release with
/// files. An event is read again from its mapped payload, so grouping
/// and the issue page see the original frames. A failure leaves the
/// events as they came: they are still stored and grouped.
pub async fn symbolicate(state: &AppState, project_id: &str, incoming: &mut [Incoming]) {
    let mut by_release: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, inc) in incoming.iter().enumerate() {
        let browser_like = inc
            .event
            .exceptions
            .iter()
            .flat_map(|e| &e.frames)
            .any(|f| f.colno.is_some() && f.core.filename.is_some());
        if browser_like && let Some(r) = inc.event.release.as_deref() {
            by_release.entry(r.to_owned()).or_default().push(i);
        }
    }
    for (release, idx) in by_release {
        let mut payloads: Vec<(usize, Value)> = idx
            .iter()
            .filter_map(|&i| Some((i, serde_json::from_str(&incoming[i].payload).ok()?)))
            .collect();
        let mut urls: Vec<String> = Vec::new();
        for (_, p) in &payloads {
            for u in maps::frame_urls(p) {
                if !urls.contains(&u) {
                    urls.push(u);
                }
            }
        }
        let found = match mappings(state, project_id, &release, &urls).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(project = project_id, release = %release, error = %e,
                    "source maps could not be read; frames stay minified");
                continue;
            }
        };
        for (i, payload) in &mut payloads {
            if maps::symbolicate(payload, &found) == 0 {
                continue;
            }
            let text = payload.to_string();
            if let Ok(event) = liveops_wire::sentry::parse_event(text.as_bytes()) {
                incoming[*i] = Incoming {
                    event,
                    payload: text,
                };
            }
        }
    }
}
