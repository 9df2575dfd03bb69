//! Error issues for people: the list (sorted and filtered, with the users
//! each reached), an issue in full (releases, tag breakdown, events over
//! time, sample events with their stack traces, what happened to it, the
//! deployment that brought it), and the changes people make: resolve (now,
//! in the next release, in a release), ignore (until more events, users or
//! a date), reopen, merge and unmerge.

use std::collections::HashMap;

use liveops_core::support::issues::{IgnoreUntil, Resolution, Status};
use liveops_store::StoreError;
use liveops_store::audit::Actor;
use liveops_store::support::errors::{
    self as store, IssueFilter, IssueOrder, IssueRow, StateChange,
};
use liveops_telemetry::errors::ErrorEvent;
use serde_json::json;

use super::super::{Result, SupportError};
use crate::clock::format_ms;
use crate::contract::errors::*;
use crate::state::AppState;
use crate::work::{Audit, Work};

const DAY_MS: i64 = 86_400_000;
/// The most issues a list sorted by users ranks (the most recently seen).
const USERS_RANKED: i64 = 2000;

fn no_issue(number: i64) -> SupportError {
    SupportError::not_found(format!("no issue #{number} in this project"))
}

async fn issue(state: &AppState, project_id: &str, number: i64) -> Result<IssueRow> {
    match state.db.issue_by_number(project_id, number).await {
        Err(StoreError::NotFound) => Err(no_issue(number)),
        other => Ok(other?),
    }
}

async fn on_errors<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn liveops_telemetry::Errors) -> liveops_telemetry::Result<T> + Send + 'static,
) -> Result<T> {
    super::on_telemetry(state, move |t| f(t.errors())).await
}

/// The summary the list and the page show.
pub fn summary(i: &IssueRow, users: u64) -> IssueSummary {
    IssueSummary {
        number: i.number,
        title: i.title.clone(),
        culprit: i.culprit.clone(),
        level: i.level.clone(),
        status: i.status.as_str().to_owned(),
        regressed_at: i.regressed_at.map(format_ms),
        resolution: i.resolution.as_ref().map(|r| r.kind().to_owned()),
        resolved_release: i
            .resolution
            .as_ref()
            .and_then(|r| r.release().map(str::to_owned)),
        events: i.times_seen,
        users,
        first_seen: format_ms(i.first_seen),
        last_seen: format_ms(i.last_seen),
        first_release: i.first_release.clone(),
        last_release: i.last_release.clone(),
    }
}

/// Distinct users of each issue, by its fingerprints.
async fn users_of(
    state: &AppState,
    project_id: &str,
    issues: &[IssueRow],
) -> Result<HashMap<String, u64>> {
    let ids: Vec<String> = issues.iter().map(|i| i.id.clone()).collect();
    let pairs = state.db.fingerprints_of_issues(project_id, &ids).await?;
    let mut prints: HashMap<String, Vec<String>> = HashMap::new();
    for (issue, fp) in pairs {
        prints.entry(issue).or_default().push(fp);
    }
    let all: Vec<String> = prints.values().flatten().cloned().collect();
    let project = project_id.to_owned();
    let each: HashMap<String, u64> = on_errors(state, move |t| t.users_each(&project, &all))
        .await?
        .into_iter()
        .collect();
    let mut out = HashMap::new();
    for (issue, fps) in prints {
        let n = if fps.len() == 1 {
            each.get(&fps[0]).copied().unwrap_or(0)
        } else {
            // A merged issue: a user of two fingerprints counts once.
            let project = project_id.to_owned();
            on_errors(state, move |t| t.users(&project, &fps, 0)).await?
        };
        out.insert(issue, n);
    }
    Ok(out)
}

/// The issues the parameters ask for.
pub async fn list(
    state: &AppState,
    project_id: &str,
    p: &IssueListParams,
) -> Result<Vec<IssueSummary>> {
    let status = p
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse::<Status>)
        .transpose()
        .map_err(SupportError::invalid)?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(SupportError::invalid("`limit` must be from 1 to 500"));
    }
    let offset = p.offset.unwrap_or(0).max(0);
    let by_users = match p.sort.as_deref().unwrap_or("last_seen") {
        "last_seen" | "" => None,
        "first_seen" => Some(IssueOrder::FirstSeen),
        "events" => Some(IssueOrder::Events),
        "users" => Some(IssueOrder::LastSeen),
        other => {
            return Err(SupportError::invalid(format!(
                "no sort `{other}`: use last_seen, first_seen, events or users"
            )));
        }
    };
    let users_sort = p.sort.as_deref() == Some("users");
    let tagged: Option<Vec<String>> = match p.tag.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            let (k, v) = t.split_once(':').ok_or_else(|| {
                SupportError::invalid("`tag` must be key:value, like browser:Chrome")
            })?;
            let (project, k, v) = (
                project_id.to_owned(),
                k.trim().to_owned(),
                v.trim().to_owned(),
            );
            let prints = on_errors(state, move |t| t.fingerprints_tagged(&project, &k, &v)).await?;
            let pairs = state.db.issues_of_fingerprints(project_id, &prints).await?;
            let mut ids: Vec<String> = pairs.into_iter().map(|(_, i)| i).collect();
            ids.sort();
            ids.dedup();
            Some(ids)
        }
    };
    let reached = match p
        .in_cohort
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => None,
        Some(which) => Some(reached_by_cohort(state, project_id, which).await?),
    };
    let ids = match (tagged, reached) {
        (Some(t), Some(r)) => Some(t.into_iter().filter(|i| r.contains(i)).collect()),
        (t, r) => t.or(r),
    };
    let filter = IssueFilter {
        status,
        release: p.release.as_deref().filter(|s| !s.is_empty()),
        environment: p.environment.as_deref().filter(|s| !s.is_empty()),
        ids: ids.as_deref(),
    };
    let order = by_users.unwrap_or(IssueOrder::LastSeen);
    let (take, skip) = if users_sort {
        (USERS_RANKED, 0)
    } else {
        (limit, offset)
    };
    let rows = state
        .db
        .issues(project_id, &filter, order, take, skip)
        .await?;
    let users = users_of(state, project_id, &rows).await?;
    let mut out: Vec<IssueSummary> = rows
        .iter()
        .map(|i| summary(i, users.get(&i.id).copied().unwrap_or(0)))
        .collect();
    if users_sort {
        out.sort_by(|a, b| b.users.cmp(&a.users).then(b.number.cmp(&a.number)));
        out = out
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(0))
            .take(usize::try_from(limit).unwrap_or(50))
            .collect();
    }
    Ok(out)
}

/// The ids of the issues whose events named a distinct id of a person in
/// the cohort, sorted.
async fn reached_by_cohort(state: &AppState, project_id: &str, which: &str) -> Result<Vec<String>> {
    // Analytics errors come back by their kind (a 404 stays a 404).
    let theirs =
        |e: crate::analytics::AnalyticsError| SupportError::from(crate::error::ApiError::from(e));
    let (_, members) = crate::analytics::cohorts::resolve(state, project_id, which)
        .await
        .map_err(theirs)?;
    let project = project_id.to_owned();
    let pairs = on_errors(state, move |t| t.fingerprint_people(&project)).await?;
    let dids: Vec<String> = pairs.iter().map(|(_, d)| d.clone()).collect();
    let project = project_id.to_owned();
    let who = crate::analytics::telemetry(state, move |a| a.who(&project, &dids))
        .await
        .map_err(theirs)?;
    let mut prints: Vec<String> = pairs
        .into_iter()
        .zip(who)
        .filter(|(_, w)| members.contains(w))
        .map(|((f, _), _)| f)
        .collect();
    prints.dedup();
    let mut ids: Vec<String> = state
        .db
        .issues_of_fingerprints(project_id, &prints)
        .await?
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

fn frame_view(f: &liveops_wire::sentry::Frame) -> FrameView {
    FrameView {
        function: f.core.function.clone(),
        module: f.core.module.clone(),
        filename: f.core.filename.clone(),
        lineno: f.core.lineno,
        colno: f.colno,
        in_app: f.core.in_app.unwrap_or(false),
        context_line: f.context_line.clone(),
        pre_context: f.pre_context.clone(),
        post_context: f.post_context.clone(),
        vars: f.vars.clone(),
        sourcemap: f.sourcemap.clone(),
        minified: f.minified.clone(),
    }
}

/// An event as the page shows it, read again from what the SDK sent.
pub fn event_view(e: &ErrorEvent) -> ErrorEventView {
    let read = liveops_wire::sentry::parse_event(e.payload.as_bytes()).unwrap_or_default();
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    ErrorEventView {
        event_id: e.event_id.clone(),
        at: format_ms(e.ts_ms),
        level: e.level.clone(),
        release: some(&e.release),
        environment: some(&e.environment),
        user: some(&e.user),
        distinct_id: some(&e.distinct_id),
        message: read.message.clone(),
        exceptions: read
            .exceptions
            .iter()
            .map(|x| ExceptionView {
                ty: x.ty.clone(),
                value: x.value.clone(),
                module: x.module.clone(),
                frames: x.frames.iter().map(frame_view).collect(),
            })
            .collect(),
        tags: e.tags.clone(),
        breadcrumbs: read.breadcrumbs.clone(),
        request: read.request.clone(),
        contexts: read.contexts.clone(),
    }
}

/// An issue in full.
pub async fn show(state: &AppState, project_id: &str, number: i64) -> Result<IssueDetail> {
    let i = issue(state, project_id, number).await?;
    let fingerprints = state.db.issue_fingerprints(&i.id).await?;
    let prints: Vec<String> = fingerprints.iter().map(|f| f.fingerprint.clone()).collect();
    let releases = state.db.issue_releases(&i.id).await?;
    let activity = state.db.issue_activity(&i.id).await?;
    let now = state.now_ms();
    let to = (now.div_euclid(DAY_MS) + 1) * DAY_MS;
    let from = to - 14 * DAY_MS;
    // Four questions about the same events, asked side by side (each on
    // a read connection of its own). Only the newest event is read in
    // full: reading one stored payload costs as much as the other
    // questions together, and the page shows one.
    let asked = || (project_id.to_owned(), prints.clone());
    let (p, f) = asked();
    let users = on_errors(state, move |t| t.users(&p, &f, 0));
    let (p, f) = asked();
    let tags = on_errors(state, move |t| t.tags(&p, &f, 10));
    let (p, f) = asked();
    let series = on_errors(state, move |t| t.series(&p, &f, from, to, DAY_MS));
    let (p, f) = asked();
    let events = on_errors(state, move |t| t.latest(&p, &f, 1));
    let (users, tags, series, events) = tokio::try_join!(users, tags, series, events)?;
    let introduced = introduced(state, project_id, &releases).await?;
    let (incidents, tickets, backlog) = state.db.issue_links(&i).await?;
    Ok(IssueDetail {
        issue: summary(&i, users),
        ignore_events: i.ignore.events,
        ignore_users: i.ignore.users,
        ignore_until: i.ignore.until_ms.map(format_ms),
        resolved_by: i.resolved_by.clone(),
        resolved_at: i.resolved_at.map(format_ms),
        fingerprints: fingerprints
            .into_iter()
            .map(|f| FingerprintView {
                fingerprint: f.fingerprint,
                title: f.title,
                events: f.times_seen,
                last_seen: format_ms(f.last_seen),
            })
            .collect(),
        releases: releases
            .iter()
            .map(|r| IssueReleaseView {
                release: r.release.clone(),
                environment: r.environment.clone(),
                events: r.times_seen,
                first_seen: format_ms(r.first_seen),
                last_seen: format_ms(r.last_seen),
            })
            .collect(),
        tags: tags
            .into_iter()
            .map(|t| TagValueView {
                key: t.key,
                value: t.value,
                events: t.events,
            })
            .collect(),
        series: series
            .into_iter()
            .map(|(at, n)| CountPoint {
                start: format_ms(at),
                events: n,
            })
            .collect(),
        events: events.iter().map(event_view).collect(),
        activity: activity
            .into_iter()
            .map(|a| IssueActivityView {
                kind: a.kind,
                release: a.release,
                actor: a.actor,
                detail: a.detail,
                at: format_ms(a.at),
            })
            .collect(),
        introduced,
        incidents,
        tickets,
        backlog,
    })
}

/// The deployment that brought the issue: in the environment it was first
/// seen in, the last deployment at or before that first sighting.
async fn introduced(
    state: &AppState,
    project_id: &str,
    releases: &[store::ReleaseSeen],
) -> Result<Option<IntroducedView>> {
    let Some(first) = releases.iter().min_by_key(|r| r.first_seen) else {
        return Ok(None);
    };
    let env = (!first.environment.is_empty()).then_some(first.environment.as_str());
    let deployments = state.db.deployments(project_id, None, env, 200).await?;
    Ok(deployments
        .into_iter()
        .find(|d| d.deployed_at <= first.first_seen)
        .map(|d| IntroducedView {
            service: d.service,
            version: d.version,
            environment: d.environment,
            deployed_at: format_ms(d.deployed_at),
        }))
}

/// One event of an issue.
pub async fn event(
    state: &AppState,
    project_id: &str,
    number: i64,
    event_id: &str,
) -> Result<ErrorEventView> {
    let i = issue(state, project_id, number).await?;
    let project = project_id.to_owned();
    let id = event_id.to_ascii_lowercase();
    let found = on_errors(state, move |t| t.event(&project, &id)).await?;
    let prints = state.db.issue_fingerprints(&i.id).await?;
    match found {
        Some(e) if prints.iter().any(|f| f.fingerprint == e.fingerprint) => Ok(event_view(&e)),
        _ => Err(SupportError::not_found(format!(
            "issue #{number} has no event {event_id}"
        ))),
    }
}

fn parse_time(field: &str, s: &str) -> Result<i64> {
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            SupportError::invalid(format!(
                "`{field}` must be an RFC 3339 time like 2026-01-05T09:00:00Z"
            ))
        })
}

/// Resolves, ignores or reopens an issue.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    number: i64,
    body: &IssueUpdate,
) -> Result<IssueSummary> {
    let status: Status = body.status.parse().map_err(SupportError::invalid)?;
    let i = issue(state, project_id, number).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let (change, kind, release) = match status {
        Status::Unresolved => (StateChange::Unresolve, "reopened", None),
        Status::Resolved => {
            let resolution = match (&body.in_release, body.in_next_release) {
                (Some(_), true) => {
                    return Err(SupportError::invalid(
                        "resolve in a release or in the next release, not both",
                    ));
                }
                (Some(r), false) => {
                    let r = r.trim();
                    if r.is_empty() || r.len() > 200 {
                        return Err(SupportError::invalid("`in_release` must name a release"));
                    }
                    Resolution::InRelease(r.to_owned())
                }
                (None, true) => Resolution::NextRelease {
                    current: newest_release(state, &i).await?,
                },
                (None, false) => Resolution::Now,
            };
            let release = resolution.release().map(str::to_owned);
            (
                StateChange::Resolve {
                    resolution,
                    by: actor.name.clone(),
                    at: now,
                },
                "resolved",
                release,
            )
        }
        Status::Ignored => {
            let until = IgnoreUntil {
                events: body.ignore_events.filter(|n| *n > 0),
                users: body.ignore_users.filter(|n| *n > 0),
                until_ms: body
                    .ignore_until
                    .as_deref()
                    .map(|s| parse_time("ignore_until", s))
                    .transpose()?,
            };
            if until.until_ms.is_some_and(|t| t <= now) {
                return Err(SupportError::invalid(
                    "`ignore_until` must be in the future",
                ));
            }
            (
                StateChange::Ignore {
                    until,
                    at: now,
                    count: i.times_seen,
                },
                "ignored",
                None,
            )
        }
    };
    store::set_state(w.conn(), &i.id, &change).await?;
    store::add_activity(
        w.conn(),
        &i,
        kind,
        release.as_deref(),
        &actor.name,
        None,
        now,
    )
    .await?;
    w.commit(
        Audit::new("errors.issue.status", number.to_string()).detail(json!({
            "status": status.as_str(), "release": release,
        })),
    )
    .await?;
    summary_of(state, project_id, number).await
}

/// The newest release an issue was seen in.
async fn newest_release(state: &AppState, i: &IssueRow) -> Result<Option<String>> {
    let releases = state.db.issue_releases(&i.id).await?;
    Ok(liveops_core::support::issues::newest(
        releases
            .iter()
            .map(|r| r.release.as_str())
            .filter(|r| !r.is_empty()),
    )
    .map(str::to_owned)
    .or_else(|| i.last_release.clone()))
}

async fn summary_of(state: &AppState, project_id: &str, number: i64) -> Result<IssueSummary> {
    let i = issue(state, project_id, number).await?;
    let users = users_of(state, project_id, std::slice::from_ref(&i)).await?;
    Ok(summary(&i, users.get(&i.id).copied().unwrap_or(0)))
}

/// Folds other issues into `number`: their fingerprints, counts and
/// releases become its own, and they are gone.
pub async fn merge(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    number: i64,
    others: &[i64],
) -> Result<IssueSummary> {
    if others.is_empty() {
        return Err(SupportError::invalid(
            "name the issues to merge into this one",
        ));
    }
    if others.contains(&number) {
        return Err(SupportError::invalid(
            "an issue cannot be merged into itself",
        ));
    }
    let into = issue(state, project_id, number).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    for n in others {
        let from = issue(state, project_id, *n).await?;
        store::merge(w.conn(), &into, &from).await?;
        store::add_activity(
            w.conn(),
            &into,
            "merged",
            None,
            &actor.name,
            Some(&format!("#{n} {}", from.title)),
            now,
        )
        .await?;
    }
    w.commit(
        Audit::new("errors.issue.merge", number.to_string()).detail(json!({ "merged": others })),
    )
    .await?;
    summary_of(state, project_id, number).await
}

/// Splits one fingerprint off an issue into a new issue; returns the new one.
pub async fn unmerge(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    number: i64,
    fingerprint: &str,
) -> Result<IssueSummary> {
    let i = issue(state, project_id, number).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let split = match store::unmerge(w.conn(), &i, fingerprint, now).await {
        Err(StoreError::NotFound) => {
            return Err(SupportError::not_found(format!(
                "issue #{number} has no fingerprint {fingerprint}"
            )));
        }
        Err(StoreError::Conflict(_)) => {
            return Err(SupportError::conflict(format!(
                "issue #{number} has only this fingerprint; there is nothing to split off"
            )));
        }
        other => other?,
    };
    store::add_activity(
        w.conn(),
        &i,
        "unmerged",
        None,
        &actor.name,
        Some(&format!("into #{}", split.number)),
        now,
    )
    .await?;
    store::add_activity(
        w.conn(),
        &split,
        "created",
        None,
        &actor.name,
        Some(&format!("split off #{number}")),
        now,
    )
    .await?;
    w.commit(
        Audit::new("errors.issue.unmerge", number.to_string()).detail(json!({
            "fingerprint": fingerprint, "into": split.number,
        })),
    )
    .await?;
    summary_of(state, project_id, split.number).await
}

/// Links an issue to an incident or a ticket by its number; both pages
/// list the link.
pub async fn link(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    number: i64,
    kind: &str,
    target: i64,
) -> Result<()> {
    let i = issue(state, project_id, number).await?;
    let target_id = match kind {
        "incident" => match state.db.incident_by_number(project_id, target).await {
            Ok(x) => x.id,
            Err(StoreError::NotFound) => {
                return Err(SupportError::invalid(format!("no incident #{target}")));
            }
            Err(e) => return Err(e.into()),
        },
        "ticket" => match state.db.ticket_by_number(project_id, target).await {
            Ok(x) => x.id,
            Err(StoreError::NotFound) => {
                return Err(SupportError::invalid(format!("no ticket #{target}")));
            }
            Err(e) => return Err(e.into()),
        },
        other => {
            return Err(SupportError::invalid(format!(
                "an issue links to an incident or a ticket, not `{other}`"
            )));
        }
    };
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    store::link(w.conn(), &i, kind, &target_id, now).await?;
    if kind == "incident" {
        liveops_store::support::incidents::add_event(
            w.conn(),
            &target_id,
            &actor.name,
            "linked",
            Some(&format!("issue #{number} {}", i.title)),
            false,
            now,
        )
        .await?;
    }
    store::add_activity(
        w.conn(),
        &i,
        "linked",
        None,
        &actor.name,
        Some(&format!("{kind} #{target}")),
        now,
    )
    .await?;
    w.commit(
        Audit::new("errors.issue.link", number.to_string()).detail(json!({
            "kind": kind, "target": target,
        })),
    )
    .await?;
    Ok(())
}

/// Makes a backlog bug from an issue, linked to it; returns its number.
/// The affected customers a new backlog bug takes as votes, at most.
const MAX_VOTES_FROM_ISSUE: usize = 500;

/// Each customer an issue reached (known by an analytics distinct id or an
/// e-mail address; bare IP addresses are not customers) becomes a vote on
/// the backlog item: feedback from source `errors`, one per issue and
/// customer, linked to the item. Says how many were added.
async fn customer_votes(
    w: &mut Work,
    project_id: &str,
    i: &IssueRow,
    item_id: &str,
    affected: &[(String, String)],
    now: i64,
) -> Result<usize> {
    use liveops_store::feedback::{self as fb, NewFeedback};
    let body = format!("Affected by error issue #{}.", i.number);
    let mut added = 0;
    for (user, distinct) in affected {
        let distinct_id = Some(distinct.as_str()).filter(|d| !d.is_empty());
        let email = Some(user.as_str()).filter(|u| u.contains('@'));
        if distinct_id.is_none() && email.is_none() {
            continue;
        }
        let external = format!("issue:{}:{user}", i.id);
        let made = fb::insert_feedback(
            w.conn(),
            project_id,
            &NewFeedback {
                kind: Some(liveops_core::feedback::FeedbackKind::Bug),
                title: &i.title,
                body: &body,
                source: "errors",
                external_id: Some(&external),
                url: None,
                reporter_email: email,
                reporter_name: None,
                distinct_id,
                ticket_id: None,
                spam_signal: None,
                created_at: now,
            },
        )
        .await?;
        if let Some(f) = made {
            fb::link_feedback(w.conn(), &f.id, Some(item_id)).await?;
            added += 1;
        }
    }
    Ok(added)
}

/// How far back the vote refresh looks for issues seen: a few job rounds,
/// so a round missed (a restart, another node's lease) is caught up.
const VOTES_LOOKBACK_MS: i64 = 15 * 60_000;

/// Adds the customers an issue reached since its backlog bug was made as
/// votes on that bug (each customer once: the feedback's external id is
/// the issue and the customer). Looks at issues seen lately; run by the
/// support job. Says how many votes were added.
pub async fn refresh_votes(state: &AppState) -> Result<usize> {
    // Counted over what this node has acknowledged, filed.
    state.errors_intake.caught_up(super::spool::CATCH_UP).await;
    let now = state.now_ms();
    let mut added = 0;
    for (i, item_id) in state
        .db
        .backlog_issues_seen_since(now - VOTES_LOOKBACK_MS)
        .await?
    {
        let prints = state.db.issue_prints(&i.id).await?;
        let project = i.project_id.clone();
        let affected = on_errors(state, move |t| {
            t.affected(&project, &prints, MAX_VOTES_FROM_ISSUE)
        })
        .await?;
        let actor = Actor::system();
        let mut w = Work::begin(&state.db, &*state.clock, &actor, Some(&i.project_id)).await?;
        let n = customer_votes(&mut w, &i.project_id, &i, &item_id, &affected, now).await?;
        if n > 0 {
            w.commit(
                Audit::new("errors.issue.votes", i.number.to_string())
                    .detail(json!({ "votes": n })),
            )
            .await?;
            added += n;
        }
    }
    Ok(added)
}

pub async fn to_backlog(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    number: i64,
) -> Result<i64> {
    let i = issue(state, project_id, number).await?;
    let users = users_of(state, project_id, std::slice::from_ref(&i))
        .await?
        .get(&i.id)
        .copied()
        .unwrap_or(0);
    let prints = state.db.issue_prints(&i.id).await?;
    let project = project_id.to_owned();
    let affected = on_errors(state, move |t| {
        t.affected(&project, &prints, MAX_VOTES_FROM_ISSUE)
    })
    .await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let body = format!(
        "From error issue #{number}: {} events, {users} users affected, first seen {} in {}.{}",
        i.times_seen,
        format_ms(i.first_seen),
        i.first_release.as_deref().unwrap_or("no release"),
        i.culprit
            .as_deref()
            .map(|c| format!("\n\nCulprit: {c}"))
            .unwrap_or_default()
    );
    let title: String = i.title.chars().take(200).collect();
    let item = crate::feedback::create_item_in(&mut w, project_id, "bug", &title, Some(&body))
        .await
        .map_err(|e| match e {
            crate::feedback::FeedbackError::Store(s) => SupportError::Store(s),
            other => SupportError::invalid(other.to_string()),
        })?;
    store::link(w.conn(), &i, "backlog", &item.id, now).await?;
    let votes = customer_votes(&mut w, project_id, &i, &item.id, &affected, now).await?;
    store::add_activity(
        w.conn(),
        &i,
        "linked",
        None,
        &actor.name,
        Some(&format!("backlog #{}", item.number)),
        now,
    )
    .await?;
    w.commit(
        Audit::new("errors.issue.backlog", number.to_string())
            .detail(json!({ "item": item.number, "votes": votes })),
    )
    .await?;
    Ok(item.number)
}
