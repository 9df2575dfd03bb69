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
