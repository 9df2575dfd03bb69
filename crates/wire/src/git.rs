//! Git history read from a repository on disk (gix): the commits between
//! two revisions, for release notes and deployments.

use std::path::Path;

/// A commit as release notes need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCommit {
    /// 40 hex digits.
    pub id: String,
    pub message: String,
    /// Seconds since the epoch (the committer's time).
    pub time: i64,
}

/// Why history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path} is not a git repository: {reason}")]
    NotARepository { path: String, reason: String },
    #[error("`{rev}` names no commit in the repository: {reason}")]
    UnknownRevision { rev: String, reason: String },
    #[error("the history could not be read: {0}")]
    Walk(String),
}

/// The commits reachable from `to` but not from `from` (`from..to`), newest
/// first; every commit reachable from `to` when `from` is `None`.
pub fn commits_between(
    repo: &Path,
    from: Option<&str>,
    to: &str,
) -> Result<Vec<GitCommit>, GitError> {
    let r = gix::open(repo).map_err(|e| GitError::NotARepository {
        path: repo.display().to_string(),
        reason: e.to_string(),
    })?;
    let resolve = |rev: &str| {
        r.rev_parse_single(rev)
            .map(|id| id.detach())
            .map_err(|e| GitError::UnknownRevision {
                rev: rev.to_owned(),
                reason: e.to_string(),
            })
    };
    let tip = resolve(to)?;
    let hidden = from.map(resolve).transpose()?;
    let walk = r
        .rev_walk([tip])
        .with_hidden(hidden)
        .all()
        .map_err(|e| GitError::Walk(e.to_string()))?;
    let mut out = Vec::new();
    for info in walk {
        let info = info.map_err(|e| GitError::Walk(e.to_string()))?;
        let commit = info.object().map_err(|e| GitError::Walk(e.to_string()))?;
        let message = commit
            .message_raw()
            .map_err(|e| GitError::Walk(e.to_string()))?
            .to_string();
        let time = commit
            .time()
            .map(|t| t.seconds)
            .map_err(|e| GitError::Walk(e.to_string()))?;
        out.push(GitCommit {
            id: info.id.to_string(),
            message,
            time,
        });
    }
    Ok(out)
}

fn open(repo: &Path) -> Result<gix::Repository, GitError> {
    gix::open(repo).map_err(|e| GitError::NotARepository {
        path: repo.display().to_string(),
        reason: e.to_string(),
    })
}

/// The newest tag (by its commit's time) that `to` descends from, as
/// release tools pick the last release; `None` when the repository has no
/// tags on that history.
pub fn latest_tag(repo: &Path, to: &str) -> Result<Option<String>, GitError> {
    let r = open(repo)?;
    let tip = r
        .rev_parse_single(to)
        .map_err(|e| GitError::UnknownRevision {
            rev: to.to_owned(),
            reason: e.to_string(),
        })?
        .detach();
    let mut tags: std::collections::HashMap<gix::ObjectId, Vec<String>> =
        std::collections::HashMap::new();
    let refs = r.references().map_err(|e| GitError::Walk(e.to_string()))?;
    for reference in refs.tags().map_err(|e| GitError::Walk(e.to_string()))? {
        let mut reference = reference.map_err(|e| GitError::Walk(e.to_string()))?;
        let name = reference.name().shorten().to_string();
        if let Ok(id) = reference.peel_to_id() {
            tags.entry(id.detach()).or_default().push(name);
        }
    }
    if tags.is_empty() {
        return Ok(None);
    }
    // The walk yields newest first, so the first tagged commit is the latest.
    let walk = r
        .rev_walk([tip])
        .all()
        .map_err(|e| GitError::Walk(e.to_string()))?;
    for info in walk {
        let info = info.map_err(|e| GitError::Walk(e.to_string()))?;
        if let Some(names) = tags.get(&info.id) {
            let mut names = names.clone();
            names.sort();
            return Ok(names.pop());
        }
    }
    Ok(None)
}

/// A file's bytes at a revision, `None` when the file is not there.
pub fn file_at(repo: &Path, rev: &str, path: &str) -> Result<Option<Vec<u8>>, GitError> {
    let r = open(repo)?;
    let spec = format!("{rev}:{path}");
    match r.rev_parse_single(spec.as_str()) {
        Ok(id) => {
            let object = id.object().map_err(|e| GitError::Walk(e.to_string()))?;
            Ok(Some(object.detach().data))
        }
        Err(_) => Ok(None),
    }
}

/// The newest commit on `to`'s history that changed `path` (a file), with
/// its time; `None` when no commit touched it.
pub fn last_change(repo: &Path, to: &str, path: &str) -> Result<Option<GitCommit>, GitError> {
    let r = open(repo)?;
    let tip = r
        .rev_parse_single(to)
        .map_err(|e| GitError::UnknownRevision {
            rev: to.to_owned(),
            reason: e.to_string(),
        })?
        .detach();
    let blob_of = |commit: &gix::Commit<'_>| -> Option<gix::ObjectId> {
        let tree = commit.tree().ok()?;
        let entry = tree.lookup_entry_by_path(path).ok()??;
        Some(entry.object_id())
    };
    let walk = r
        .rev_walk([tip])
        .all()
        .map_err(|e| GitError::Walk(e.to_string()))?;
    for info in walk {
        let info = info.map_err(|e| GitError::Walk(e.to_string()))?;
        let commit = info.object().map_err(|e| GitError::Walk(e.to_string()))?;
        let here = blob_of(&commit);
        if here.is_none() {
            continue;
        }
        let parents: Vec<Option<gix::ObjectId>> = info
            .parent_ids()
            .map(|p| {
                p.object()
                    .ok()
                    .and_then(|o| o.try_into_commit().ok())
                    .and_then(|c| blob_of(&c))
            })
            .collect();
        // Changed here when no parent had the same content at the path.
        if parents.is_empty() || parents.iter().all(|p| *p != here) {
            let message = commit
                .message_raw()
                .map_err(|e| GitError::Walk(e.to_string()))?
                .to_string();
            let time = commit
                .time()
                .map(|t| t.seconds)
                .map_err(|e| GitError::Walk(e.to_string()))?;
            return Ok(Some(GitCommit {
                id: info.id.to_string(),
                message,
                time,
            }));
        }
    }
    Ok(None)
}
