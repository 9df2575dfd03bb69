//! Deployments, pull requests and releases from where they happen: GitHub's
//! and GitLab's webhooks and a signed CI call, each checked against the
//! secret the project gave that sender.
//!
//! - A push records its commits; one whose message fixes an incident or a
//!   ticket, or reverts a commit a deployment carried, links there.
//! - A pull (merge) request is kept from opened to merged.
//! - A successful deployment carries the commits pushed to its branch that
//!   no earlier deployment of the service to that environment carried, and
//!   marks the pull requests they merged as deployed.
//! - A published release ships the release of that version.

use liveops_core::releases::plan::ReleaseKind;
use liveops_core::releases::references::{self, Fixes};
use liveops_store::StoreError;
use liveops_store::audit::{Actor, ActorKind};
use liveops_store::releases::hooks::{self as store, NewGitCommit, PullRequestFields};
use liveops_store::support::{incidents, tickets};
use liveops_wire::githooks::{Deployed, HookEvent, Published, Push};
use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::deploy::{self, Deployment};
use super::{ReleasePlan, ReleasesError, Result};
use crate::state::{AppState, format_ms};
use crate::work::{Audit, Work};

/// Most commits one deployment carries from what was pushed.
const MAX_CARRIED: i64 = 10_000;

/// Who sends webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GitHub,
    GitLab,
    /// Any CI system, calling with an HMAC signature.
    Ci,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::GitHub, Provider::GitLab, Provider::Ci];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Ci => "ci",
        }
    }

    pub fn parse(s: &str) -> Result<Provider> {
        match s.trim().to_ascii_lowercase().as_str() {
            "github" => Ok(Provider::GitHub),
            "gitlab" => Ok(Provider::GitLab),
            "ci" => Ok(Provider::Ci),
            other => Err(ReleasesError::invalid(format!(
                "no webhook provider `{other}`: use github, gitlab or ci"
            ))),
        }
    }

    /// The path it posts to.
    pub fn path(self, project_slug: &str) -> String {
        match self {
            Provider::Ci => format!("/ingest/deployments/{project_slug}"),
            p => format!("/ingest/{}/{project_slug}", p.as_str()),
        }
    }

    fn actor(self) -> Actor {
        Actor {
            kind: ActorKind::System,
            name: self.as_str().into(),
            ip: None,
        }
    }
}

/// A provider a project takes webhooks from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HookView {
    pub provider: String,
    /// The path to post to, under the server's public address.
    pub path: String,
    /// The full address, when the server knows its public URL.
    pub url: Option<String>,
    pub created_at: String,
}

/// A new secret, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedHook {
    #[serde(flatten)]
    pub hook: HookView,
    /// What the sender signs with (GitHub, CI) or sends (GitLab's token).
    pub secret: String,
}

fn view(state: &AppState, slug: &str, provider: &str, created_at: i64) -> HookView {
    let path = Provider::parse(provider)
        .map(|p| p.path(slug))
        .unwrap_or_default();
    HookView {
        provider: provider.to_owned(),
        url: state
            .config
            .public_base()
            .map(|base| format!("{base}{path}")),
        path,
        created_at: format_ms(created_at),
    }
}

/// The providers a project takes webhooks from.
pub async fn list(state: &AppState, project_id: &str, slug: &str) -> Result<Vec<HookView>> {
    Ok(state
        .db
        .git_hook_providers(project_id)
        .await?
        .into_iter()
        .map(|(p, at)| view(state, slug, &p, at))
        .collect())
}

/// Makes (or replaces) the secret a provider signs with.
pub async fn create_secret(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    slug: &str,
    provider: Provider,
) -> Result<CreatedHook> {
    let secret = format!("lo_hook_{}", crate::auth::keys::random_string(40));
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    store::set_secret(
        w.conn(),
        project_id,
        provider.as_str(),
        &state.sealer.seal(&secret),
        now,
    )
    .await?;
    w.commit(Audit::new("release.webhook.create", provider.as_str()))
        .await?;
    Ok(CreatedHook {
        hook: view(state, slug, provider.as_str(), now),
        secret,
    })
}

/// Stops taking a provider's webhooks.
pub async fn delete_secret(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    provider: Provider,
) -> Result<()> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !store::delete_secret(w.conn(), project_id, provider.as_str()).await? {
        return Err(ReleasesError::not_found(format!(
            "this project takes no {} webhooks",
            provider.as_str()
        )));
    }
    w.commit(Audit::new("release.webhook.delete", provider.as_str()))
        .await?;
    Ok(())
}

/// How a delivery proves it comes from the sender the project trusts.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// `sha256=<hex>` HMAC of the body (GitHub, CI).
    Hmac(&'a str),
    /// The secret itself (GitLab's `X-Gitlab-Token`).
    Token(&'a str),
    None,
}

/// Finds the project a delivery is for and checks its proof; nothing is
/// read from a delivery that fails.
pub async fn verify(
    state: &AppState,
    slug: &str,
    provider: Provider,
    proof: Proof<'_>,
    body: &[u8],
) -> Result<String> {
    let refuse = || {
        ReleasesError::unauthorized(format!(
            "the {} webhook's signature does not match this project's secret",
            provider.as_str()
        ))
    };
    let project = match state.db.project_by_slug(slug).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(refuse()),
        Err(e) => return Err(e.into()),
    };
    let Some(sealed) = state
        .db
        .git_hook_secret(&project.id, provider.as_str())
        .await?
    else {
        return Err(refuse());
    };
    let secret = state
        .sealer
        .open(&sealed)
        .map_err(|e| ReleasesError::internal(e.to_string()))?;
    let good = match proof {
        Proof::Hmac(sig) => crate::signing::verify(&secret, body, sig),
        Proof::Token(token) => crate::auth::same_secret(token.trim(), &secret),
        Proof::None => false,
    };
    if good { Ok(project.id) } else { Err(refuse()) }
}

/// What a delivery recorded.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Taken {
    /// push, pull_request, deployment, release, duplicate or ignored.
    pub recorded: String,
    /// Why nothing was recorded, for an ignored delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Pull requests this deployment took to production.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pull_requests: Vec<i64>,
    /// Incidents and tickets a commit linked to, as `incident #N`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

fn taken(what: &str) -> Taken {
    Taken {
        recorded: what.into(),
        ..Taken::default()
    }
}

/// Records what a verified delivery says happened. A delivery id seen
/// before records nothing again.
pub async fn take(
    state: &AppState,
    project_id: &str,
    provider: Provider,
    delivery: Option<&str>,
    event: HookEvent,
) -> Result<Taken> {
    let actor = provider.actor();
    match event {
        HookEvent::Ignored(reason) => Ok(Taken {
            reason: Some(reason),
            ..taken("ignored")
        }),
        HookEvent::Release(r) => ship(state, &actor, project_id, &r).await,
        event => {
            let mut w = Work::begin(&state.db, &*state.clock, &actor, Some(project_id)).await?;
            let now = w.now();
            if let Some(id) = delivery.filter(|d| !d.is_empty()) {
                let id: String = id.chars().take(200).collect();
                if !store::claim_delivery(w.conn(), project_id, provider.as_str(), &id, now).await?
                {
                    return Ok(taken("duplicate"));
                }
            }
            let (out, audit) = match event {
                HookEvent::Push(p) => push(&mut w, project_id, &p).await?,
                HookEvent::PullRequest(pr) => {
                    let row = store::upsert_pull_request(
                        w.conn(),
                        project_id,
                        &PullRequestFields {
                            repository: &pr.repository,
                            number: pr.number,
                            title: &pr.title,
                            author: &pr.author,
                            source_branch: &pr.source_branch,
                            target_branch: &pr.target_branch,
                            head_sha: pr.head_sha.as_deref(),
                            merge_sha: pr.merge_sha.as_deref(),
                            state: pr.state.as_str(),
                            opened_at: pr.opened_at,
                            merged_at: pr.merged_at,
                            closed_at: pr.closed_at,
                        },
                        now,
                    )
                    .await?;
                    (
                        taken("pull_request"),
                        Audit::new(
                            "release.pull_request",
                            format!("{}#{}", row.repository, row.number),
                        )
                        .detail(json!({ "state": row.state, "provider": provider.as_str() })),
                    )
                }
                HookEvent::Deployment(d) => deployed(&mut w, project_id, &d).await?,
                HookEvent::Release(_) | HookEvent::Ignored(_) => {
                    return Err(ReleasesError::internal("handled above"));
                }
            };
            w.commit(audit).await?;
            Ok(out)
        }
    }
}

/// A signed CI call: a deployment as the API's body describes it.
pub async fn take_ci(
    state: &AppState,
    project_id: &str,
    delivery: Option<&str>,
    d: &Deployment,
) -> Result<Taken> {
    let actor = Provider::Ci.actor();
    let id: Option<String> = delivery
        .filter(|d| !d.is_empty())
        .map(|d| d.chars().take(200).collect());
    let claim = id.as_deref().map(|id| (Provider::Ci.as_str(), id));
    Ok(
        match deploy::record_once(state, &actor, project_id, d, claim).await? {
            Some((row, prs)) => Taken {
                deployment: Some(row.id),
                pull_requests: prs,
                ..taken("deployment")
            },
            None => taken("duplicate"),
        },
    )
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or_default()
}

/// Records a push, and links the incidents and tickets its new commits fix
/// or whose deployment they revert.
async fn push(w: &mut Work, project_id: &str, p: &Push) -> Result<(Taken, Audit)> {
    let now = w.now();
    let mut out = taken("push");
    for c in &p.commits {
        let new = store::record_push(
            w.conn(),
            project_id,
            &p.repository,
            &p.branch,
            &[NewGitCommit {
                sha: &c.sha,
                message: &c.message,
                author: &c.author,
                committed_at: c.committed_at,
            }],
            now,
        )
        .await?;
        if new == 0 {
            continue;
        }
        let target = format!("{}@{}", p.repository, short(&c.sha));
        let said = format!("commit {target}: {}", first_line(&c.message));
        for f in references::fixes(&c.message) {
            match f {
                Fixes::Incident(n) => {
                    let Some(id) = incident_id(w, project_id, n).await? else {
                        continue;
                    };
                    if incidents::add_link(w.conn(), &id, "commit", &target, now).await? {
                        incidents::add_event(
                            w.conn(),
                            &id,
                            &c.author,
                            "linked",
                            Some(&said),
                            false,
                            now,
                        )
                        .await?;
                        out.links.push(format!("incident #{n}"));
                    }
                }
                Fixes::Ticket(n) => {
                    let Some(id) = ticket_id(w, project_id, n).await? else {
                        continue;
                    };
                    if tickets::add_link(w.conn(), &id, "commit", &target, now).await? {
                        out.links.push(format!("ticket #{n}"));
                    }
                }
            }
        }
        if let Some(reverted) = references::reverts(&c.message) {
            for d in store::deployments_carrying(w.conn(), project_id, &reverted).await? {
                for id in store::incidents_of_deployment(w.conn(), &d).await? {
                    if incidents::add_link(w.conn(), &id, "commit", &target, now).await? {
                        let said = format!(
                            "revert {target} undoes {} of deployment {d}",
                            short(&reverted)
                        );
                        incidents::add_event(
                            w.conn(),
                            &id,
                            &c.author,
                            "linked",
                            Some(&said),
                            false,
                            now,
                        )
                        .await?;
                        let n = incident_number(w, &id).await?;
                        out.links.push(format!("incident #{n}"));
                    }
                }
            }
        }
    }
    out.links.sort();
    out.links.dedup();
    let audit = Audit::new("release.push", format!("{}:{}", p.repository, p.branch))
        .detail(json!({ "commits": p.commits.len(), "links": out.links }));
    Ok((out, audit))
}

async fn incident_id(w: &mut Work, project_id: &str, number: i64) -> Result<Option<String>> {
    Ok(incidents::id_by_number(w.conn(), project_id, number).await?)
}

async fn ticket_id(w: &mut Work, project_id: &str, number: i64) -> Result<Option<String>> {
    Ok(tickets::id_by_number(w.conn(), project_id, number).await?)
}

async fn incident_number(w: &mut Work, id: &str) -> Result<i64> {
    Ok(incidents::number_of(w.conn(), id).await?)
}

/// A version for a deployment from a host: its tag when it was deployed
/// from a semver tag, otherwise its short commit id.
fn version_of(d: &Deployed) -> String {
    d.reference
        .as_deref()
        .filter(|r| Version::parse(r.trim_start_matches('v')).is_ok())
        .map_or_else(|| short(&d.sha).to_owned(), str::to_owned)
}

/// Records a successful deployment with the commits it carried: those
/// pushed to the deployed commit's branch, up to its push, that no earlier
/// deployment of the service to that environment carried.
async fn deployed(w: &mut Work, project_id: &str, d: &Deployed) -> Result<(Taken, Audit)> {
    let at = store::pushed(
        w.conn(),
        project_id,
        &d.repository,
        &d.sha,
        d.reference.as_deref(),
    )
    .await?;
    let (commit, commits) = match &at {
        Some(p) => (
            p.sha.clone(),
            store::undeployed(
                w.conn(),
                project_id,
                &d.repository,
                &p.branch,
                p.pushed_at,
                &d.environment,
                MAX_CARRIED,
            )
            .await?,
        ),
        None => (d.sha.clone(), Vec::new()),
    };
    let deployment = Deployment {
        service: d.repository.clone(),
        version: version_of(d),
        environment: d.environment.clone(),
        commit: Some(commit),
        deployed_at: Some(d.deployed_at),
        commits,
        lockfiles: Vec::new(),
    };
    let (row, prs) = deploy::record_in(w, project_id, &deployment).await?;
    let audit = Audit::new(
        "deployment.record",
        format!("{} {}", row.service, row.version),
    )
    .detail(json!({ "environment": row.environment, "commits": row.commits, "pull_requests": prs, "provider": w.actor().name.clone() }));
    Ok((
        Taken {
            deployment: Some(row.id),
            pull_requests: prs,
            ..taken("deployment")
        },
        audit,
    ))
}

/// The release kind a version is, after the highest one before it.
fn kind_after(previous: Option<&Version>, v: &Version) -> ReleaseKind {
    match previous {
        Some(p) if v.major == p.major && v.minor == p.minor => ReleaseKind::Patch,
        Some(p) if v.major == p.major => ReleaseKind::Minor,
        Some(_) => ReleaseKind::Major,
        None if v.patch > 0 => ReleaseKind::Patch,
        None if v.minor > 0 => ReleaseKind::Minor,
        None => ReleaseKind::Major,
    }
}

/// Ships the release a published tag names, planning it first when it
/// was not. A release already shipped is left as it is.
async fn ship(state: &AppState, actor: &Actor, project_id: &str, r: &Published) -> Result<Taken> {
    let name = r.tag.trim().trim_start_matches('v');
    let Ok(version) = Version::parse(name) else {
        return Ok(Taken {
            reason: Some(format!("tag `{}` is not a semver version", r.tag)),
            ..taken("ignored")
        });
    };
    let release = match state.db.release(project_id, &version.to_string()).await {
        Ok(rel) => rel,
        Err(StoreError::NotFound) => {
            let previous = state
                .db
                .releases(project_id)
                .await?
                .iter()
                .filter_map(|rel| Version::parse(&rel.version).ok())
                .filter(|v| *v < version)
                .max();
            super::create_release(
                state,
                actor,
                project_id,
                &ReleasePlan {
                    version: Some(version.to_string()),
                    kind: kind_after(previous.as_ref(), &version).as_str().into(),
                    ..ReleasePlan::default()
                },
            )
            .await?
        }
        Err(e) => return Err(e.into()),
    };
    if release.state == "shipped" {
        return Ok(Taken {
            reason: Some(format!("release {} has shipped", release.version)),
            release: Some(release.version),
            ..taken("ignored")
        });
    }
    super::move_to(state, actor, project_id, &release, "shipped").await?;
    Ok(Taken {
        release: Some(release.version),
        ..taken("release")
    })
}
