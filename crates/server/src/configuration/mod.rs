//! Configuration as a document: export a project's settings, and make them
//! match a document (`liveops apply -f`). It composes the areas' settings
//! (on-call, status page, alert rules and SLOs, capacity and retention, key
//! funnels, release trains, credentials, error alerts and grouping rules,
//! revenue settings and rates, cohorts, saved insights and dashboards)
//! behind one plan:
//!
//! 1. every object of the document is checked and put in its canonical form
//!    (defaults filled, names trimmed, addresses lower-cased), so that two
//!    spellings of the same setting compare equal;
//! 2. the project's objects are read in the same form;
//! 3. what differs becomes a create, an update (in place, so ids that other
//!    objects hold stay valid) or, with `prune`, a delete;
//! 4. all of it runs in one unit of work with one audit entry naming every
//!    change, so an apply happens whole or not at all. A dry run does the same work
//!    and rolls it back, which checks every reference the real run would.
//!
//! Applying the same document twice changes nothing the second time, and an
//! exported document applies as no change.

mod analytics;
mod errors;
mod others;
mod support;

pub use support::hook_key;

use std::collections::BTreeMap;

use liveops_store::audit::Actor;
use serde_json::json;

use crate::contract::configuration::{ChangeView, Document, KINDS, PlanView};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// What an apply works in: the server, the project and the open change.
pub(crate) struct Cx<'a> {
    pub state: &'a AppState,
    pub project_id: &'a str,
    pub w: Work,
}

/// The project's configuration now.
pub async fn export(state: &AppState, project_id: &str, slug: &str) -> ApiResult<Document> {
    let mut d = current(state, project_id).await?;
    d.project = Some(slug.to_owned());
    Ok(d)
}

async fn current(state: &AppState, project_id: &str) -> ApiResult<Document> {
    let (components, schedules, tiers, policies, integrations, hooks) =
        support::current(state, project_id).await?;
    let rest = others::current(state, project_id).await?;
    let (error_alerts, grouping_rules) = errors::current(state, project_id).await?;
    let a = analytics::current(state, project_id).await?;
    Ok(Document {
        revenue: a.revenue,
        revenue_rates: a.revenue_rates,
        cohorts: a.cohorts,
        insights: a.insights,
        dashboards: a.dashboards,
        project: None,
        components,
        schedules,
        tiers,
        policies,
        integrations,
        hooks,
        error_alerts,
        grouping_rules,
        ..rest
    })
}

/// Why an apply was refused: settings that do not check (each with the
/// line that names it, and the problem on its field), or another failure.
#[derive(Debug)]
pub enum Refusal {
    Invalid(Vec<(String, Problem)>),
    Failed(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal::Failed(e)
    }
}

impl From<liveops_store::StoreError> for Refusal {
    fn from(e: liveops_store::StoreError) -> Refusal {
        Refusal::Failed(e.into())
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        match r {
            Refusal::Invalid(problems) => ApiError::unprocessable(
                problems
                    .into_iter()
                    .map(|(line, _)| line)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Refusal::Failed(e) => e,
        }
    }
}

/// Makes the project's configuration match `doc`.
pub async fn apply(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    slug: &str,
    doc: Document,
    dry_run: bool,
    prune: bool,
) -> ApiResult<PlanView> {
    Ok(apply_checked(state, actor, project_id, slug, doc, dry_run, prune).await?)
}

async fn apply_checked(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    slug: &str,
    doc: Document,
    dry_run: bool,
    prune: bool,
) -> Result<PlanView, Refusal> {
    if let Some(p) = doc.project.as_deref()
        && p != slug
    {
        return Err(ApiError::unprocessable(format!(
            "this document configures project `{p}`, not `{slug}`"
        ))
        .into());
    }
    let now_doc = current(state, project_id).await?;
    let opened = support::opened_hooks(state, project_id).await?;
    let mut problems = Vec::new();
    let desired = canonical(&opened, &doc, &now_doc, state.now_ms(), &mut problems);
    if !problems.is_empty() {
        return Err(Refusal::Invalid(problems));
    }
    let w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let mut cx = Cx {
        state,
        project_id,
        w,
    };
    let mut changes = Vec::new();
    let mut kept = Vec::new();
    // Makes and changes first, in the order objects can name each other …
    for kind in KINDS {
        let (now_keys, want) = plan_of(kind, &now_doc, &desired);
        for (key, differs) in want {
            let exists = now_keys.contains(&key);
            if exists && !differs {
                continue;
            }
            let note = write(&mut cx, kind, &desired, &key, exists).await?;
            changes.push(ChangeView {
                kind: kind.into(),
                name: key,
                action: if exists { "update" } else { "create" }.into(),
                note,
            });
        }
    }
    // … then deletions, the other way round.
    for kind in KINDS.iter().rev() {
        let (now_keys, want) = plan_of(kind, &now_doc, &desired);
        for key in now_keys {
            if want.iter().any(|(k, _)| *k == key) || implicitly_kept(kind, &key, &desired) {
                continue;
            }
            let change = ChangeView {
                kind: (*kind).into(),
                name: key.clone(),
                action: "delete".into(),
                note: None,
            };
            if prune {
                delete(&mut cx, kind, &key).await?;
                changes.push(change);
            } else {
                kept.push(change);
            }
        }
    }
    let applied = !dry_run && !changes.is_empty();
    let rules_changed = changes.iter().any(|c| c.kind == "grouping_rules");
    if applied {
        // One entry for the whole change, naming each part.
        let parts: Vec<String> = changes
            .iter()
            .map(|c| format!("{} {}/{}", c.action, c.kind, c.name))
            .collect();
        cx.w.commit(
            Audit::new("configuration.apply", slug)
                .detail(json!({ "changes": parts, "prune": prune })),
        )
        .await?;
        if rules_changed {
            state.errors_cache.forget_rules(project_id);
        }
    }
    // Otherwise the work is dropped, which rolls it back.
    Ok(PlanView {
        applied,
        dry_run,
        changes: if dry_run {
            // A dry run shows no secrets it made and threw away.
            changes
                .into_iter()
                .map(|c| ChangeView { note: None, ..c })
                .collect()
        } else {
            changes
        },
        kept,
    })
}

/// The integration liveops makes for rules and SLOs that name none stays
/// while any of them files into it, listed or not.
fn implicitly_kept(kind: &str, key: &str, desired: &Document) -> bool {
    kind == "integrations"
        && key == crate::performance::alerts::DEFAULT_INTEGRATION
        && (desired
            .slos
            .iter()
            .any(|s| s.integration.as_deref() == Some(key))
            || desired
                .alert_rules
                .iter()
                .any(|r| r.integration.as_deref() == Some(key)))
}

/// Each object of the document in its canonical form; what cannot be read
/// goes into `problems`, each naming the object.
fn canonical(
    opened: &std::collections::HashMap<String, String>,
    doc: &Document,
    now: &Document,
    now_ms: i64,
    problems: &mut Vec<(String, Problem)>,
) -> Document {
    let mut out = Document::default();
    support::canonical(opened, doc, now, &mut out, problems);
    others::canonical(doc, &mut out, problems);
    errors::canonical(doc, &mut out, problems);
    analytics::canonical(doc, now, now_ms, &mut out, problems);
    for kind in KINDS {
        let mut seen = BTreeMap::new();
        for key in keys(kind, &out) {
            if seen.insert(key.clone(), ()).is_some() {
                problems.push((
                    format!("{kind}: `{key}` is listed twice"),
                    at("name")("is listed twice".into()),
                ));
            }
        }
    }
    out
}

/// What is wrong with one setting: the field it concerns (empty for the
/// setting as a whole) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub field: &'static str,
    pub message: String,
}

impl Problem {
    /// The problem as one line naming the setting.
    fn about(&self, kind: &str, key: &str) -> String {
        if self.field.is_empty() {
            format!("{kind} `{key}`: {}", self.message)
        } else {
            format!("{kind} `{key}`: {}: {}", self.field, self.message)
        }
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Problem {
        Problem { field: "", message }
    }
}

/// Puts a message on a field.
pub(crate) fn at(field: &'static str) -> impl Fn(String) -> Problem {
    move |message| Problem { field, message }
}

/// What names an object within its kind.
pub(crate) trait Named {
    fn key(&self) -> String;
}

fn keys_of<S: Named>(list: &[S]) -> Vec<String> {
    list.iter().map(Named::key).collect()
}

/// The object of `key` in `list`.
pub(crate) fn find<'a, S: Named>(list: &'a [S], key: &str) -> Option<&'a S> {
    list.iter().find(|s| s.key() == key)
}

fn differs_in<S: Named + PartialEq>(now: &[S], desired: &[S], key: &str) -> bool {
    find(now, key) != find(desired, key)
}

/// Runs `$body` with `$list` bound to the kind's list in `$doc`.
macro_rules! by_kind {
    ($kind:expr, |$f:ident| $body:expr) => {
        match $kind {
            "components" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.components;
                $body
            }
            "schedules" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.schedules;
                $body
            }
            "tiers" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.tiers;
                $body
            }
            "policies" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.policies;
                $body
            }
            "integrations" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.integrations;
                $body
            }
            "hooks" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.hooks;
                $body
            }
            "slos" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.slos;
                $body
            }
            "alert_rules" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.alert_rules;
                $body
            }
            "capacity" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.capacity;
                $body
            }
            "retention" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.retention;
                $body
            }
            "key_funnels" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.key_funnels;
                $body
            }
            "trains" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.trains;
                $body
            }
            "credentials" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.credentials;
                $body
            }
            "error_alerts" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.error_alerts;
                $body
            }
            "grouping_rules" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.grouping_rules;
                $body
            }
            "revenue" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.revenue;
                $body
            }
            "revenue_rates" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.revenue_rates;
                $body
            }
            "cohorts" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.cohorts;
                $body
            }
            "insights" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.insights;
                $body
            }
            "dashboards" => {
                let $f: fn(&Document) -> &Vec<_> = |d| &d.dashboards;
                $body
            }
            _ => Default::default(),
        }
    };
}

/// The keys a kind has in a document, in its order.
fn keys(kind: &str, d: &Document) -> Vec<String> {
    by_kind!(kind, |list| keys_of(list(d)))
}

/// For one kind: the keys the project has now, and each key the document
/// wants with whether it differs from what is there.
fn plan_of(kind: &str, now: &Document, desired: &Document) -> (Vec<String>, Vec<(String, bool)>) {
    let now_keys = keys(kind, now);
    let want = keys(kind, desired)
        .into_iter()
        .map(|k| {
            let differs: bool = by_kind!(kind, |list| differs_in(list(now), list(desired), &k));
            (k, differs)
        })
        .collect();
    (now_keys, want)
}

async fn write(
    cx: &mut Cx<'_>,
    kind: &str,
    desired: &Document,
    key: &str,
    exists: bool,
) -> ApiResult<Option<String>> {
    fn get<'a, S: Named>(list: &'a [S], kind: &str, key: &str) -> ApiResult<&'a S> {
        find(list, key).ok_or_else(|| vanished(kind, key))
    }
    let d = desired;
    match kind {
        "components" => support::put_component(cx, get(&d.components, kind, key)?, exists).await,
        "schedules" => support::put_schedule(cx, get(&d.schedules, kind, key)?, exists).await,
        "tiers" => support::put_tier(cx, get(&d.tiers, kind, key)?).await,
        "policies" => support::put_policy(cx, get(&d.policies, kind, key)?, exists).await,
        "integrations" => {
            support::put_integration(cx, get(&d.integrations, kind, key)?, exists).await
        }
        "hooks" => support::put_hook(cx, get(&d.hooks, kind, key)?).await,
        "slos" => others::put_slo(cx, get(&d.slos, kind, key)?, exists).await,
        "alert_rules" => others::put_rule(cx, get(&d.alert_rules, kind, key)?, exists).await,
        "capacity" => others::put_capacity(cx, get(&d.capacity, kind, key)?).await,
        "retention" => others::put_retention(cx, get(&d.retention, kind, key)?).await,
        "key_funnels" => others::put_key_funnel(cx, get(&d.key_funnels, kind, key)?, exists).await,
        "trains" => others::put_train(cx, get(&d.trains, kind, key)?, exists).await,
        "credentials" => others::put_credential(cx, get(&d.credentials, kind, key)?).await,
        "error_alerts" => errors::put_alerts(cx, get(&d.error_alerts, kind, key)?).await,
        "grouping_rules" => errors::put_rule(cx, get(&d.grouping_rules, kind, key)?, exists).await,
        "revenue" => analytics::put_revenue(cx, get(&d.revenue, kind, key)?).await,
        "revenue_rates" => analytics::put_rate(cx, get(&d.revenue_rates, kind, key)?).await,
        "cohorts" => analytics::put_cohort(cx, get(&d.cohorts, kind, key)?, exists).await,
        "insights" => analytics::put_insight(cx, get(&d.insights, kind, key)?, exists).await,
        "dashboards" => analytics::put_dashboard(cx, get(&d.dashboards, kind, key)?, exists).await,
        other => Err(vanished(other, key)),
    }
}

async fn delete(cx: &mut Cx<'_>, kind: &str, key: &str) -> ApiResult<()> {
    match kind {
        "components" => support::delete_component(cx, key).await,
        "schedules" => support::delete_schedule(cx, key).await,
        "tiers" => support::delete_tier(cx, key).await,
        "policies" => support::delete_policy(cx, key).await,
        "integrations" => support::delete_integration(cx, key).await,
        "hooks" => support::delete_hook(cx, key).await,
        "slos" => others::delete_slo(cx, key).await,
        "alert_rules" => others::delete_rule(cx, key).await,
        "capacity" => others::delete_capacity(cx, key).await,
        "retention" => others::delete_retention(cx, key).await,
        "key_funnels" => others::delete_key_funnel(cx, key).await,
        "trains" => others::delete_train(cx, key).await,
        "credentials" => others::delete_credential(cx, key).await,
        "error_alerts" => errors::delete_alerts(cx).await,
        "grouping_rules" => errors::delete_rule(cx, key).await,
        "revenue" => analytics::delete_revenue(cx).await,
        "revenue_rates" => analytics::delete_rate(cx, key).await,
        "cohorts" => analytics::delete_cohort(cx, key).await,
        "insights" => analytics::delete_insight(cx, key).await,
        "dashboards" => analytics::delete_dashboard(cx, key).await,
        other => Err(vanished(other, key)),
    }
}

/// A missing object, which the plan has just seen: a bug, not bad input.
pub(crate) fn vanished(kind: &str, key: &str) -> ApiError {
    ApiError::internal(format!("{kind} `{key}` vanished while applying"))
}

/// Replaces `list`'s object of the same key as `one`, or adds it.
fn merge<S: Named>(list: &mut Vec<S>, one: S) {
    let key = one.key();
    match list.iter_mut().find(|s| s.key() == key) {
        Some(slot) => *slot = one,
        None => list.push(one),
    }
}

/// Creates or changes one object, given as the document would list it
/// (`kind` is the document's key for its list, `key` its name).
pub async fn put_one(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    slug: &str,
    kind: &str,
    key: &str,
    spec: serde_json::Value,
) -> ApiResult<PlanView> {
    Ok(put_one_checked(state, actor, project_id, slug, kind, Some(key), spec).await?)
}

/// Like [`put_one`], saying which field a problem is on; `key` (when
/// given) must be the name the object has.
pub async fn put_one_checked(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    slug: &str,
    kind: &str,
    key: Option<&str>,
    spec: serde_json::Value,
) -> Result<PlanView, Refusal> {
    if !KINDS.contains(&kind) {
        return Err(unknown_kind(kind).into());
    }
    let one: Document = serde_json::from_value(json!({ kind: [spec] })).map_err(|e| {
        let message = e.to_string();
        let field = message
            .split('`')
            .nth(1)
            .and_then(|f| FIELDS.iter().find(|k| **k == f).copied())
            .unwrap_or("");
        Refusal::Invalid(vec![(
            format!("{kind}: {message}"),
            Problem { field, message },
        )])
    })?;
    let given = keys(kind, &one);
    if let Some(key) = key
        && given.iter().any(|k| k != key)
    {
        return Err(ApiError::unprocessable(format!(
            "the body names {kind} `{}`, the path `{key}`",
            given.join(", ")
        ))
        .into());
    }
    let mut doc = current(state, project_id).await?;
    macro_rules! put {
        ($($k:literal => $f:ident),*) => {
            match kind {
                $($k => { for s in one.$f { merge(&mut doc.$f, s); } })*
                _ => return Err(unknown_kind(kind).into()),
            }
        };
    }
    put!("components" => components, "schedules" => schedules, "tiers" => tiers,
        "policies" => policies, "integrations" => integrations, "hooks" => hooks,
        "slos" => slos, "alert_rules" => alert_rules, "capacity" => capacity,
        "retention" => retention, "key_funnels" => key_funnels, "trains" => trains,
        "credentials" => credentials, "error_alerts" => error_alerts,
        "grouping_rules" => grouping_rules, "revenue" => revenue,
        "revenue_rates" => revenue_rates, "cohorts" => cohorts, "insights" => insights,
        "dashboards" => dashboards);
    apply_checked(state, actor, project_id, slug, doc, false, false).await
}

/// Field names a serde message may name, to put it on its field.
const FIELDS: [&str; 55] = [
    "name",
    "description",
    "time_zone",
    "layers",
    "tier",
    "schedule",
    "members",
    "levels",
    "repeat",
    "ack_timeout_secs",
    "kind",
    "policy",
    "component",
    "default_severity",
    "auto_resolve",
    "url",
    "objective",
    "latency_ms",
    "period_days",
    "service",
    "route",
    "integration",
    "metric",
    "threshold",
    "window",
    "capacity",
    "replicas",
    "target_utilisation",
    "days",
    "steps",
    "on_new",
    "on_regression",
    "spike_events",
    "spike_minutes",
    "spike_percent",
    "notify",
    "severities",
    "matcher",
    "pattern",
    "fingerprint",
    "base_currency",
    "property",
    "currency",
    "date",
    "rate",
    "event",
    "min_count",
    "did",
    "where",
    "distinct_ids",
    "query",
    "goal",
    "alert",
    "tiles",
    "width",
];

/// Deletes one object; a 404 when there is none of that name.
pub async fn delete_one(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    slug: &str,
    kind: &str,
    key: &str,
) -> ApiResult<PlanView> {
    if !KINDS.contains(&kind) {
        return Err(unknown_kind(kind));
    }
    let mut doc = current(state, project_id).await?;
    if !keys(kind, &doc).iter().any(|k| k == key) {
        return Err(ApiError::not_found(format!("no {kind} `{key}`")));
    }
    macro_rules! drop_key {
        ($($k:literal => $f:ident),*) => {
            match kind {
                $($k => doc.$f.retain(|s| s.key() != key),)*
                _ => return Err(unknown_kind(kind)),
            }
        };
    }
    drop_key!("components" => components, "schedules" => schedules, "tiers" => tiers,
        "policies" => policies, "integrations" => integrations, "hooks" => hooks,
        "slos" => slos, "alert_rules" => alert_rules, "capacity" => capacity,
        "retention" => retention, "key_funnels" => key_funnels, "trains" => trains,
        "credentials" => credentials, "error_alerts" => error_alerts,
        "grouping_rules" => grouping_rules, "revenue" => revenue,
        "revenue_rates" => revenue_rates, "cohorts" => cohorts, "insights" => insights,
        "dashboards" => dashboards);
    // Only the one object may go: a dry run first proves it, since anything
    // else would mean stored settings that do not read back as written.
    let dry = apply(state, actor, project_id, slug, doc.clone(), true, true).await?;
    if dry.changes.iter().any(|c| c.kind != kind || c.name != key) {
        return Err(ApiError::internal(format!(
            "deleting {kind} `{key}` would change more than it"
        )));
    }
    apply(state, actor, project_id, slug, doc, false, true).await
}

fn unknown_kind(kind: &str) -> ApiError {
    ApiError::not_found(format!(
        "`{kind}` is not a kind of setting: use one of {}",
        KINDS.join(", ")
    ))
}
