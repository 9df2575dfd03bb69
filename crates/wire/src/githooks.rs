//! Webhooks from Git hosts: GitHub's `push`, `pull_request`,
//! `deployment_status` and `release` events, and GitLab's Push, Merge
//! Request, Deployment and Release hooks, each read into one shape that says
//! what happened, whichever host said it.
//!
//! Only the fields liveops uses are read; everything else in the payload is
//! ignored, so new fields a host adds change nothing.

use jiff::Timestamp;
use serde_json::Value;

/// A commit as a push reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedCommit {
    /// Lower-case hex.
    pub sha: String,
    pub message: String,
    pub author: String,
    /// Milliseconds since the epoch.
    pub committed_at: i64,
}

/// Commits pushed to a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub repository: String,
    pub branch: String,
    /// The branch's new head.
    pub head: Option<String>,
    pub commits: Vec<PushedCommit>,
}

/// Where a pull (merge) request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullState {
    Open,
    Merged,
    Closed,
}

impl PullState {
    pub fn as_str(self) -> &'static str {
        match self {
            PullState::Open => "open",
            PullState::Merged => "merged",
            PullState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<PullState> {
        match s {
            "open" => Some(PullState::Open),
            "merged" => Some(PullState::Merged),
            "closed" => Some(PullState::Closed),
            _ => None,
        }
    }
}

/// A pull request (GitHub) or merge request (GitLab) as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub repository: String,
    pub number: i64,
    pub title: String,
    pub author: String,
    pub source_branch: String,
    pub target_branch: String,
    pub head_sha: Option<String>,
    /// The commit the merge made on the target branch.
    pub merge_sha: Option<String>,
    pub state: PullState,
    pub opened_at: i64,
    pub merged_at: Option<i64>,
    pub closed_at: Option<i64>,
}

/// A deployment that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    pub repository: String,
    pub environment: String,
    /// The commit deployed, lower-case hex.
    pub sha: String,
    /// The branch or tag it was deployed from, when the host says.
    pub reference: Option<String>,
    pub deployed_at: i64,
}

/// A release published from a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub repository: String,
    pub tag: String,
    pub published_at: i64,
}

/// What a webhook delivery says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookEvent {
    Push(Push),
    PullRequest(PullRequest),
    Deployment(Deployed),
    Release(Published),
    /// A delivery liveops has nothing to record for (a ping, a deployment
    /// still running, a draft release, a tag push), and why.
    Ignored(String),
}

/// Why a delivery could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    #[error("the body is not JSON: {0}")]
    Json(String),
    #[error("`{0}` is missing or not a string")]
    Missing(&'static str),
    #[error("`{field}` is not a time: `{value}`")]
    Time { field: &'static str, value: String },
    #[error("`{0}` is not a number")]
    Number(&'static str),
}

type Result<T> = std::result::Result<T, HookError>;

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

fn opt_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

fn string(v: &Value, path: &[&str], field: &'static str) -> Result<String> {
    opt_str(v, path)
        .map(str::to_owned)
        .ok_or(HookError::Missing(field))
}

fn number(v: &Value, path: &[&str], field: &'static str) -> Result<i64> {
    at(v, path)
        .and_then(Value::as_i64)
        .ok_or(HookError::Number(field))
}

/// A time as the hosts write them: RFC 3339 (`2019-05-15T15:20:33Z`,
/// `2015-05-05T19:40:15-04:00`), or GitLab's `2013-12-03 17:23:34 UTC` and
/// `2021-04-28 21:50:00 +0200`.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t.as_millisecond());
    }
    let (civil, zone) = s.rsplit_once(' ')?;
    let civil = civil.trim().replacen(' ', "T", 1);
    let offset = match zone {
        "UTC" | "Z" => "+00:00".to_owned(),
        z if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            format!("{}:{}", &z[..3], &z[3..])
        }
        _ => return None,
    };
    format!("{civil}{offset}")
        .parse::<Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

fn time(v: &Value, path: &[&str], field: &'static str) -> Result<i64> {
    let s = opt_str(v, path).ok_or(HookError::Missing(field))?;
    parse_time(s).ok_or_else(|| HookError::Time {
        field,
        value: s.chars().take(60).collect(),
    })
}

fn opt_time(v: &Value, path: &[&str], field: &'static str) -> Result<Option<i64>> {
    match opt_str(v, path) {
        None => Ok(None),
        Some(_) => time(v, path, field).map(Some),
    }
}

fn json(body: &[u8]) -> Result<Value> {
    let v: Value = serde_json::from_slice(body).map_err(|e| HookError::Json(e.to_string()))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(HookError::Json("the payload is not an object".into()))
    }
}

fn sha(s: &str) -> Option<String> {
    let s = s.trim();
    ((7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_ascii_lowercase())
}

/// Git's null id, which a push that creates or deletes a branch carries.
fn is_null_sha(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == b'0')
}

fn branch_of(reference: &str) -> Option<&str> {
    reference.strip_prefix("refs/heads/")
}

/// The commits of a push: GitHub and GitLab list them alike (`id`,
/// `message`, `timestamp`, `author`; GitHub's author has a user name).
fn pushed_commits(v: &Value) -> Result<Vec<PushedCommit>> {
    let listed = v
        .get("commits")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    listed
        .iter()
        .map(|c| {
            Ok(PushedCommit {
                sha: sha(opt_str(c, &["id"]).unwrap_or_default())
                    .ok_or(HookError::Missing("commits[].id"))?,
                message: string(c, &["message"], "commits[].message")?,
                author: opt_str(c, &["author", "username"])
                    .or_else(|| opt_str(c, &["author", "name"]))
                    .unwrap_or_default()
                    .to_owned(),
                committed_at: time(c, &["timestamp"], "commits[].timestamp")?,
            })
        })
        .collect()
}

/// Reads a GitHub delivery, by its `X-GitHub-Event` header.
pub fn github(event: &str, body: &[u8]) -> Result<HookEvent> {
    let v = json(body)?;
    let repository = || string(&v, &["repository", "name"], "repository.name");
    match event {
        "ping" => Ok(HookEvent::Ignored("ping".into())),
        "push" => {
            let reference = string(&v, &["ref"], "ref")?;
            let Some(branch) = branch_of(&reference) else {
                return Ok(HookEvent::Ignored(format!("a push to {reference}")));
            };
            if v.get("deleted").and_then(Value::as_bool) == Some(true) {
                return Ok(HookEvent::Ignored(format!("branch {branch} deleted")));
            }
            let commits = pushed_commits(&v)?;
            Ok(HookEvent::Push(Push {
                repository: repository()?,
                branch: branch.to_owned(),
                head: opt_str(&v, &["after"])
                    .filter(|s| !is_null_sha(s))
                    .and_then(sha),
                commits,
            }))
        }
        "pull_request" => {
            let pr = at(&v, &["pull_request"]).ok_or(HookError::Missing("pull_request"))?;
            let merged_at = opt_time(pr, &["merged_at"], "pull_request.merged_at")?;
            let closed_at = opt_time(pr, &["closed_at"], "pull_request.closed_at")?;
            let state = if merged_at.is_some() || at(pr, &["merged"]) == Some(&Value::Bool(true)) {
                PullState::Merged
            } else if opt_str(pr, &["state"]) == Some("closed") {
                PullState::Closed
            } else {
                PullState::Open
            };
            Ok(HookEvent::PullRequest(PullRequest {
                repository: repository()?,
                number: number(pr, &["number"], "pull_request.number")?,
                title: string(pr, &["title"], "pull_request.title")?,
                author: opt_str(pr, &["user", "login"])
                    .unwrap_or_default()
                    .to_owned(),
                source_branch: string(pr, &["head", "ref"], "pull_request.head.ref")?,
                target_branch: string(pr, &["base", "ref"], "pull_request.base.ref")?,
                head_sha: opt_str(pr, &["head", "sha"]).and_then(sha),
                merge_sha: opt_str(pr, &["merge_commit_sha"])
                    .and_then(sha)
                    .filter(|_| state == PullState::Merged),
                state,
                opened_at: time(pr, &["created_at"], "pull_request.created_at")?,
                merged_at: merged_at.filter(|_| state == PullState::Merged),
                closed_at,
            }))
        }
        "deployment_status" => {
            let status = string(
                &v,
                &["deployment_status", "state"],
                "deployment_status.state",
            )?;
            if status != "success" {
                return Ok(HookEvent::Ignored(format!("a deployment that is {status}")));
            }
            let environment = opt_str(&v, &["deployment_status", "environment"])
                .or_else(|| opt_str(&v, &["deployment", "environment"]))
                .ok_or(HookError::Missing("deployment.environment"))?;
            Ok(HookEvent::Deployment(Deployed {
                repository: repository()?,
                environment: environment.to_owned(),
                sha: sha(opt_str(&v, &["deployment", "sha"]).unwrap_or_default())
                    .ok_or(HookError::Missing("deployment.sha"))?,
                reference: opt_str(&v, &["deployment", "ref"]).map(str::to_owned),
                deployed_at: opt_time(
                    &v,
                    &["deployment_status", "created_at"],
                    "deployment_status.created_at",
                )?
                .map_or_else(
                    || time(&v, &["deployment", "created_at"], "deployment.created_at"),
                    Ok,
                )?,
            }))
        }
        "release" => {
            let action = opt_str(&v, &["action"]).unwrap_or_default();
            if !matches!(action, "published" | "released") {
                return Ok(HookEvent::Ignored(format!("a release {action}")));
            }
            let release = at(&v, &["release"]).ok_or(HookError::Missing("release"))?;
            if at(release, &["draft"]) == Some(&Value::Bool(true))
                || at(release, &["prerelease"]) == Some(&Value::Bool(true))
            {
                return Ok(HookEvent::Ignored("a draft or pre-release".into()));
            }
            Ok(HookEvent::Release(Published {
                repository: repository()?,
                tag: string(release, &["tag_name"], "release.tag_name")?,
                published_at: time(release, &["published_at"], "release.published_at")?,
            }))
        }
        other => Ok(HookEvent::Ignored(format!("the `{other}` event"))),
    }
}

/// A GitLab project's short name: the last part of its path.
fn gitlab_repository(v: &Value) -> Result<String> {
    opt_str(v, &["project", "path_with_namespace"])
        .and_then(|p| p.rsplit('/').next())
        .or_else(|| opt_str(v, &["project", "name"]))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or(HookError::Missing("project.path_with_namespace"))
}

/// Reads a GitLab delivery, by its `X-Gitlab-Event` header.
pub fn gitlab(event: &str, body: &[u8]) -> Result<HookEvent> {
    let v = json(body)?;
    match event {
        "Push Hook" => {
            let reference = string(&v, &["ref"], "ref")?;
            let Some(branch) = branch_of(&reference) else {
                return Ok(HookEvent::Ignored(format!("a push to {reference}")));
            };
            let after = opt_str(&v, &["after"]).unwrap_or_default();
            if is_null_sha(after) {
                return Ok(HookEvent::Ignored(format!("branch {branch} deleted")));
            }
            let commits = pushed_commits(&v)?;
            Ok(HookEvent::Push(Push {
                repository: gitlab_repository(&v)?,
                branch: branch.to_owned(),
                head: opt_str(&v, &["checkout_sha"])
                    .and_then(sha)
                    .or_else(|| sha(after)),
                commits,
            }))
        }
        "Merge Request Hook" => {
            let mr =
                at(&v, &["object_attributes"]).ok_or(HookError::Missing("object_attributes"))?;
            let state = match opt_str(mr, &["state"]).unwrap_or_default() {
                "merged" => PullState::Merged,
                "closed" | "locked" => PullState::Closed,
                _ => PullState::Open,
            };
            let updated_at = opt_time(mr, &["updated_at"], "object_attributes.updated_at")?;
            // GitLab's payload carries no merge time: a merge is the last
            // update of a merged request.
            let merged_at = match state {
                PullState::Merged => Some(
                    opt_time(mr, &["merged_at"], "object_attributes.merged_at")?
                        .or(updated_at)
                        .ok_or(HookError::Missing("object_attributes.updated_at"))?,
                ),
                _ => None,
            };
            Ok(HookEvent::PullRequest(PullRequest {
                repository: gitlab_repository(&v)?,
                number: number(mr, &["iid"], "object_attributes.iid")?,
                title: string(mr, &["title"], "object_attributes.title")?,
                author: opt_str(&v, &["user", "username"])
                    .unwrap_or_default()
                    .to_owned(),
                source_branch: string(mr, &["source_branch"], "object_attributes.source_branch")?,
                target_branch: string(mr, &["target_branch"], "object_attributes.target_branch")?,
                head_sha: opt_str(mr, &["last_commit", "id"]).and_then(sha),
                merge_sha: opt_str(mr, &["merge_commit_sha"]).and_then(sha),
                state,
                opened_at: time(mr, &["created_at"], "object_attributes.created_at")?,
                merged_at,
                closed_at: match state {
                    PullState::Open => None,
                    _ => merged_at.or(updated_at),
                },
            }))
        }
        "Deployment Hook" => {
            let status = string(&v, &["status"], "status")?;
            if status != "success" {
                return Ok(HookEvent::Ignored(format!("a deployment that is {status}")));
            }
            // The full id is the last part of the commit's address; the
            // short one is all the payload has besides.
            let full = opt_str(&v, &["commit_url"])
                .and_then(|u| u.trim_end_matches('/').rsplit('/').next())
                .and_then(sha);
            Ok(HookEvent::Deployment(Deployed {
                repository: gitlab_repository(&v)?,
                environment: string(&v, &["environment"], "environment")?,
                sha: full
                    .or_else(|| opt_str(&v, &["short_sha"]).and_then(sha))
                    .ok_or(HookError::Missing("commit_url"))?,
                reference: opt_str(&v, &["ref"]).map(str::to_owned),
                deployed_at: time(&v, &["status_changed_at"], "status_changed_at")?,
            }))
        }
        "Release Hook" => {
            let action = opt_str(&v, &["action"]).unwrap_or_default();
            if action != "create" {
                return Ok(HookEvent::Ignored(format!("a release {action}")));
            }
            Ok(HookEvent::Release(Published {
                repository: gitlab_repository(&v)?,
                tag: string(&v, &["tag"], "tag")?,
                published_at: opt_time(&v, &["released_at"], "released_at")?
                    .map_or_else(|| time(&v, &["created_at"], "created_at"), Ok)?,
            }))
        }
        other => Ok(HookEvent::Ignored(format!("the `{other}` event"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(f: fn(&str, &[u8]) -> Result<HookEvent>, event: &str, v: Value) -> HookEvent {
        f(event, v.to_string().as_bytes()).expect("a good payload reads")
    }

    #[test]
    fn times_in_every_spelling_the_hosts_use() {
        let t = 1_386_091_414_000; // 2013-12-03T17:23:34Z
        assert_eq!(parse_time("2013-12-03T17:23:34Z"), Some(t));
        assert_eq!(parse_time("2013-12-03 17:23:34 UTC"), Some(t));
        assert_eq!(parse_time("2013-12-03 19:23:34 +0200"), Some(t));
        assert_eq!(parse_time("2013-12-03T12:23:34-05:00"), Some(t));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2013-12-03 17:23:34 CET"), None);
    }

    #[test]
    fn a_github_push_reads_its_branch_and_commits() {
        let e = read(
            github,
            "push",
            json!({
                "ref": "refs/heads/main", "after": "A1B2C3D4E5F60718293a4b5c6d7e8f9012345678",
                "repository": {"name": "checkout", "full_name": "acme/checkout"},
                "commits": [{"id": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                    "message": "Fix totals\n\nfixes incident #3",
                    "timestamp": "2026-12-01T10:00:00+01:00",
                    "author": {"name": "Ada", "username": "ada"}}]
            }),
        );
        let HookEvent::Push(p) = e else {
            panic!("not a push: {e:?}")
        };
        assert_eq!(p.repository, "checkout");
        assert_eq!(p.branch, "main");
        assert_eq!(
            p.head.as_deref(),
            Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")
        );
        assert_eq!(p.commits[0].author, "ada");
        assert_eq!(
            p.commits[0].committed_at,
            parse_time("2026-12-01T09:00:00Z").expect("a time")
        );
        let tag = read(
            github,
            "push",
            json!({"ref": "refs/tags/v1.0.0", "repository": {"name": "x"}}),
        );
        assert!(matches!(tag, HookEvent::Ignored(_)));
    }

    #[test]
    fn a_merged_github_pull_request() {
        let e = read(
            github,
            "pull_request",
            json!({"action": "closed", "number": 7, "repository": {"name": "checkout"},
                "pull_request": {"number": 7, "title": "Cache", "state": "closed", "merged": true,
                "created_at": "2026-12-01T10:00:00Z", "merged_at": "2026-12-01T12:00:00Z",
                "closed_at": "2026-12-01T12:00:00Z", "merge_commit_sha": "abcdef1234567",
                "head": {"ref": "cache", "sha": "1234567abc"}, "base": {"ref": "main"},
                "user": {"login": "ada"}}}),
        );
        let HookEvent::PullRequest(pr) = e else {
            panic!("not a pull request: {e:?}")
        };
        assert_eq!(pr.state, PullState::Merged);
        assert_eq!(pr.merge_sha.as_deref(), Some("abcdef1234567"));
        assert_eq!(
            pr.merged_at.expect("merged") - pr.opened_at,
            2 * 3_600_000,
            "two hours in review"
        );
        assert_eq!(pr.source_branch, "cache");
    }

    #[test]
    fn only_successful_deployments_and_published_releases_count() {
        let running = read(
            github,
            "deployment_status",
            json!({"deployment_status": {"state": "in_progress"}, "repository": {"name": "x"}}),
        );
        assert!(matches!(running, HookEvent::Ignored(_)));
        let draft = read(
            github,
            "release",
            json!({"action": "published", "repository": {"name": "x"},
                   "release": {"tag_name": "v1", "draft": true}}),
        );
        assert!(matches!(draft, HookEvent::Ignored(_)));
        let ok = read(
            gitlab,
            "Deployment Hook",
            json!({"object_kind": "deployment", "status": "success",
                "status_changed_at": "2026-12-01 13:00:00 +0100", "environment": "production",
                "project": {"path_with_namespace": "acme/checkout"}, "short_sha": "abcdef12",
                "commit_url": "https://gitlab.example/acme/checkout/-/commit/abcdef1234567890abcdef1234567890abcdef12",
                "ref": "main"}),
        );
        assert_eq!(
            ok,
            HookEvent::Deployment(Deployed {
                repository: "checkout".into(),
                environment: "production".into(),
                sha: "abcdef1234567890abcdef1234567890abcdef12".into(),
                reference: Some("main".into()),
                deployed_at: parse_time("2026-12-01T12:00:00Z").expect("a time"),
            })
        );
    }

    #[test]
    fn bad_payloads_say_what_is_wrong() {
        assert!(matches!(github("push", b"[1]"), Err(HookError::Json(_))));
        assert!(matches!(github("push", b"{"), Err(HookError::Json(_))));
        assert_eq!(
            github(
                "push",
                json!({"ref": "refs/heads/main", "repository": {"name": "x"},
                       "commits": [{"id": "abcdef1", "message": "m", "timestamp": "soon"}]})
                .to_string()
                .as_bytes()
            ),
            Err(HookError::Time {
                field: "commits[].timestamp",
                value: "soon".into()
            })
        );
        assert_eq!(
            gitlab(
                "Merge Request Hook",
                json!({"object_attributes": {"iid": "x"}})
                    .to_string()
                    .as_bytes()
            ),
            Err(HookError::Missing("project.path_with_namespace"))
        );
    }
}
