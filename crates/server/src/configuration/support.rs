//! The production-support settings of a configuration document: status
//! components, schedules, tiers, escalation policies, alert integrations
//! and outgoing hooks.

use std::collections::HashMap;

use jiff::civil::DateTime;
use liveops_core::Email;
use liveops_core::support::escalation::Tier;
use liveops_core::support::incident::Severity;
use liveops_core::support::schedule::{ShiftLength, time_zone};
use liveops_store::StoreError;
use liveops_store::support::intake::{self, IntegrationChange, IntegrationKind, NewIntegration};
use liveops_store::support::notify::{self, Channel};
use liveops_store::support::oncall::{
    self, LayerRow, Named as Table, StoredLevel, StoredTarget, build_policy,
};
use liveops_store::support::status;

use super::{Cx, Named, Problem, at, vanished};
use crate::auth::keys;
use crate::contract::configuration::{
    ComponentSpec, Document, HookSpec, IntegrationSpec, LayerSpec, LevelSpec, PolicySpec,
    ScheduleSpec, TierSpec,
};
use crate::error::{ApiError, ApiResult};
use crate::sealed::redact;
use crate::state::AppState;
use crate::support::tickets::clean_text;

impl Named for ComponentSpec {
    fn key(&self) -> String {
        self.name.clone()
    }
}
impl Named for ScheduleSpec {
    fn key(&self) -> String {
        self.name.clone()
    }
}
impl Named for TierSpec {
    fn key(&self) -> String {
        self.tier.clone()
    }
}
impl Named for PolicySpec {
    fn key(&self) -> String {
        self.name.clone()
    }
}
impl Named for IntegrationSpec {
    fn key(&self) -> String {
        self.name.clone()
    }
}
/// A hook is known by its URL as shown, secrets masked.
impl Named for HookSpec {
    fn key(&self) -> String {
        hook_key(&self.url)
    }
}

/// A hook URL as shown: masked, unless it already is (masking it again
/// would percent-encode the mask).
pub fn hook_key(url: &str) -> String {
    let url = url.trim();
    if url.contains('…') {
        url.to_owned()
    } else {
        redact(url)
    }
}

type Lists = (
    Vec<ComponentSpec>,
    Vec<ScheduleSpec>,
    Vec<TierSpec>,
    Vec<PolicySpec>,
    Vec<IntegrationSpec>,
    Vec<HookSpec>,
);

/// People's addresses by user id, looked up once each.
struct Emails<'a> {
    state: &'a AppState,
    known: HashMap<String, String>,
}

impl Emails<'_> {
    async fn of(&mut self, user_id: &str) -> ApiResult<String> {
        if let Some(e) = self.known.get(user_id) {
            return Ok(e.clone());
        }
        let email = match self.state.db.user_by_id(user_id).await {
            Ok(u) => u.email,
            Err(StoreError::NotFound) => format!("deleted-user-{user_id}@invalid.example"),
            Err(e) => return Err(e.into()),
        };
        self.known.insert(user_id.to_owned(), email.clone());
        Ok(email)
    }
}

/// The project's support settings now, in canonical form.
pub(super) async fn current(state: &AppState, project_id: &str) -> ApiResult<Lists> {
    let mut emails = Emails {
        state,
        known: HashMap::new(),
    };
    let components: Vec<_> = state.db.components(project_id).await?;
    let component_names: HashMap<String, String> = components
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let components = components
        .into_iter()
        .map(|c| ComponentSpec {
            name: c.name,
            description: c.description.filter(|d| !d.trim().is_empty()),
        })
        .collect();

    let mut schedules = Vec::new();
    let mut schedule_names = HashMap::new();
    for row in state.db.schedules(project_id).await? {
        let loaded = state.db.schedule(project_id, &row.id).await?;
        let mut layers = Vec::new();
        for l in &loaded.layers {
            let mut members = Vec::new();
            for m in &l.members {
                members.push(emails.of(m).await?);
            }
            layers.push(LayerSpec {
                members,
                start: l.start_local.clone(),
                shift: l.shift.clone(),
                days: l
                    .restrict_days
                    .as_ref()
                    .map(|d| d.split(',').map(str::to_owned).collect()),
                from: l.restrict_from.clone(),
                to: l.restrict_to.clone(),
            });
        }
        schedule_names.insert(row.id.clone(), row.name.clone());
        let spec = ScheduleSpec {
            name: row.name,
            time_zone: row.time_zone,
            layers,
        };
        schedules.push(schedule(&spec).unwrap_or(spec));
    }

    let mut tiers = Vec::new();
    for t in state.db.tiers(project_id).await? {
        if t.schedule_id.is_none() && t.members.is_empty() {
            continue;
        }
        let mut members = Vec::new();
        for m in &t.members {
            members.push(emails.of(m).await?);
        }
        members.sort();
        tiers.push(TierSpec {
            tier: t.tier.as_str().into(),
            schedule: t
                .schedule_id
                .map(|id| schedule_names.get(&id).cloned().unwrap_or(id)),
            members,
        });
    }

    let mut policies = Vec::new();
    let mut policy_names = HashMap::new();
    for p in state.db.policies(project_id).await? {
        let mut levels = Vec::new();
        for l in &p.levels {
            let mut notify = Vec::new();
            for t in &l.targets {
                notify.push(match t {
                    StoredTarget::User(u) => format!("user:{}", emails.of(u).await?),
                    StoredTarget::Schedule(s) => format!(
                        "schedule:{}",
                        schedule_names.get(s).cloned().unwrap_or_else(|| s.clone())
                    ),
                    StoredTarget::Tier(t) => format!("tier:{t}"),
                });
            }
            levels.push(LevelSpec {
                notify,
                delay_secs: l.delay_secs,
            });
        }
        policy_names.insert(p.id.clone(), p.name.clone());
        policies.push(PolicySpec {
            name: p.name,
            levels,
            repeat: p.repeat,
            ack_timeout_secs: p.ack_timeout_secs,
        });
    }

    let integrations = state
        .db
        .integrations(project_id)
        .await?
        .into_iter()
        .map(|i| IntegrationSpec {
            name: i.name,
            kind: i.kind.as_str().into(),
            policy: i
                .policy_id
                .map(|id| policy_names.get(&id).cloned().unwrap_or(id)),
            component: i
                .component_id
                .map(|id| component_names.get(&id).cloned().unwrap_or(id)),
            default_severity: Some(i.default_severity.as_str().into()),
            auto_resolve: i.auto_resolve,
        })
        .collect();

    let hooks = state
        .db
        .hooks(project_id)
        .await?
        .into_iter()
        .filter(|h| h.channel != Channel::Email)
        .map(|h| HookSpec {
            kind: h.channel.as_str().into(),
            url: state.sealer.shown(&h.url),
        })
        .collect();
    Ok((components, schedules, tiers, policies, integrations, hooks))
}

fn name(s: &str) -> Result<String, Problem> {
    clean_text("name", s, 100).map_err(at("name"))
}

pub(super) fn component(c: &ComponentSpec) -> Result<ComponentSpec, Problem> {
    Ok(ComponentSpec {
        name: name(&c.name)?,
        description: c
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| clean_text("description", d, 1000))
            .transpose()
            .map_err(at("description"))?,
    })
}

fn email(s: &str) -> Result<String, String> {
    Email::parse(s)
        .map(|e| e.to_string())
        .map_err(|e| e.to_string())
}

pub(super) fn schedule(s: &ScheduleSpec) -> Result<ScheduleSpec, Problem> {
    let name = name(&s.name)?;
    let tz = s.time_zone.trim();
    time_zone(tz).map_err(|e| at("time_zone")(e.to_string()))?;
    if s.layers.is_empty() || s.layers.len() > 20 {
        return Err(at("layers")("a schedule needs 1 to 20 layers".into()));
    }
    let mut layers = Vec::new();
    for (i, l) in s.layers.iter().enumerate() {
        let at = |e: String| at("layers")(format!("layer {}: {e}", i + 1));
        if l.members.is_empty() || l.members.len() > 100 {
            return Err(at("a rotation needs 1 to 100 members".into()));
        }
        let members = l
            .members
            .iter()
            .map(|m| email(m))
            .collect::<Result<Vec<_>, _>>()
            .map_err(at)?;
        let start: DateTime = l.start.trim().parse().map_err(|_| {
            at(format!(
                "`{}` is not a local date and time like 2026-01-05T09:00",
                l.start
            ))
        })?;
        let shift = ShiftLength::parse(l.shift.trim())
            .map_err(|e| at(e.to_string()))?
            .to_string();
        let row = LayerRow {
            members: members.clone(),
            start_local: start.to_string(),
            shift: shift.clone(),
            restrict_days: l.days.as_ref().map(|d| {
                d.iter()
                    .map(|x| x.trim().to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            restrict_from: l.from.as_ref().map(|x| x.trim().to_owned()),
            restrict_to: l.to.as_ref().map(|x| x.trim().to_owned()),
        };
        row.to_layer(tz).map_err(at)?;
        layers.push(LayerSpec {
            members,
            start: row.start_local,
            shift,
            days: row
                .restrict_days
                .map(|d| d.split(',').map(str::to_owned).collect()),
            from: row.restrict_from,
            to: row.restrict_to,
        });
    }
    Ok(ScheduleSpec {
        name,
        time_zone: tz.to_owned(),
        layers,
    })
}

pub(super) fn tier(t: &TierSpec) -> Result<TierSpec, Problem> {
    let tier = Tier::parse(t.tier.trim())
        .ok_or_else(|| at("tier")(format!("`{}` is not a tier: use l1, l2 or l3", t.tier)))?;
    let mut members = t
        .members
        .iter()
        .map(|m| email(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(at("members"))?;
    members.sort();
    members.dedup();
    Ok(TierSpec {
        tier: tier.as_str().into(),
        schedule: t.schedule.as_deref().map(|s| s.trim().to_owned()),
        members,
    })
}

pub(super) fn policy(p: &PolicySpec) -> Result<PolicySpec, Problem> {
    let name = name(&p.name)?;
    if p.ack_timeout_secs
        .is_some_and(|s| !(60..=86_400).contains(&s))
    {
        return Err(at("ack_timeout_secs")(
            "must be between 60 and 86400 seconds".into(),
        ));
    }
    levels(p)
        .map(|levels| PolicySpec {
            name,
            levels,
            repeat: p.repeat,
            ack_timeout_secs: p.ack_timeout_secs,
        })
        .map_err(at("levels"))
}

fn levels(p: &PolicySpec) -> Result<Vec<LevelSpec>, String> {
    let mut levels = Vec::new();
    let mut stored = Vec::new();
    for (i, l) in p.levels.iter().enumerate() {
        let mut notify = Vec::new();
        let mut targets = Vec::new();
        for t in &l.notify {
            let (kind, value) = t.split_once(':').ok_or_else(|| {
                format!(
                    "level {}: `{t}` must look like user:EMAIL, schedule:NAME or tier:l1",
                    i + 1
                )
            })?;
            let (shown, target) = match kind.trim() {
                "user" => {
                    let e = email(value).map_err(|e| format!("level {}: {e}", i + 1))?;
                    (format!("user:{e}"), StoredTarget::User(e))
                }
                "schedule" => {
                    let v = value.trim().to_owned();
                    (format!("schedule:{v}"), StoredTarget::Schedule(v))
                }
                "tier" => {
                    let v = value.trim().to_ascii_lowercase();
                    (format!("tier:{v}"), StoredTarget::Tier(v))
                }
                other => {
                    return Err(format!(
                        "level {}: unknown target kind `{other}`: use user, schedule or tier",
                        i + 1
                    ));
                }
            };
            notify.push(shown);
            targets.push(target);
        }
        levels.push(LevelSpec {
            notify,
            delay_secs: l.delay_secs,
        });
        stored.push(StoredLevel {
            targets,
            delay_secs: l.delay_secs,
        });
    }
    build_policy(&stored, p.repeat)?;
    Ok(levels)
}

pub(super) fn integration(i: &IntegrationSpec) -> Result<IntegrationSpec, Problem> {
    let name = name(&i.name)?;
    let kind: IntegrationKind = i.kind.trim().parse().map_err(at("kind"))?;
    let severity: Severity = i
        .default_severity
        .as_deref()
        .unwrap_or("sev3")
        .trim()
        .parse()
        .map_err(|e: <Severity as std::str::FromStr>::Err| at("default_severity")(e.to_string()))?;
    Ok(IntegrationSpec {
        name,
        kind: kind.as_str().into(),
        policy: i.policy.as_deref().map(|s| s.trim().to_owned()),
        component: i.component.as_deref().map(|s| s.trim().to_owned()),
        default_severity: Some(severity.as_str().into()),
        auto_resolve: i.auto_resolve,
    })
}

/// A hook as the document gives it, matched to the hook it names: a
/// redacted URL, or the full URL of a hook there is, is that hook.
/// `opened` has the full URL of each hook there is, by its redacted one.
pub(super) fn hook(
    h: &HookSpec,
    now: &[HookSpec],
    opened: &HashMap<String, String>,
) -> Result<HookSpec, Problem> {
    let channel: Channel = h.kind.trim().parse().map_err(at("kind"))?;
    if channel == Channel::Email {
        return Err(at("kind")("a hook is a webhook or slack URL".into()));
    }
    let url = h.url.trim().to_owned();
    let shown = hook_key(&url);
    let spec = HookSpec {
        kind: channel.as_str().into(),
        url: url.clone(),
    };
    if let Some(there) = now.iter().find(|n| n.url == shown) {
        let same_url = url == shown || opened.get(&shown) == Some(&url);
        if same_url && there.kind == spec.kind {
            return Ok(there.clone());
        }
        if url.contains('…') {
            return Err(at("url")(
                "give the full URL to change this hook: the one shown is redacted".into(),
            ));
        }
        return Ok(spec);
    }
    if url.contains('…') {
        return Err(at("url")(format!(
            "`{url}` is a redacted URL that matches no hook: give the full URL"
        )));
    }
    Ok(spec)
}

/// The full URL of each of the project's hooks, by the URL as shown.
pub(super) async fn opened_hooks(
    state: &AppState,
    project_id: &str,
) -> ApiResult<HashMap<String, String>> {
    Ok(state
        .db
        .hooks(project_id)
        .await?
        .into_iter()
        .filter_map(|h| {
            let full = state.sealer.open(&h.url).ok()?;
            Some((redact(&full), full))
        })
        .collect())
}

/// Checks the support settings of `doc` into `out`.
pub(super) fn canonical(
    opened: &HashMap<String, String>,
    doc: &Document,
    now: &Document,
    out: &mut Document,
    problems: &mut Vec<(String, Problem)>,
) {
    fn each<S, T>(
        kind: &str,
        list: &[S],
        label: impl Fn(&S) -> String,
        mut check: impl FnMut(&S) -> Result<T, Problem>,
        out: &mut Vec<T>,
        problems: &mut Vec<(String, Problem)>,
    ) {
        for s in list {
            match check(s) {
                Ok(t) => out.push(t),
                Err(e) => problems.push((e.about(kind, &label(s)), e)),
            }
        }
    }
    each(
        "components",
        &doc.components,
        |c| c.name.clone(),
        component,
        &mut out.components,
        problems,
    );
    each(
        "schedules",
        &doc.schedules,
        |s| s.name.clone(),
        schedule,
        &mut out.schedules,
        problems,
    );
    each(
        "tiers",
        &doc.tiers,
        |t| t.tier.clone(),
        tier,
        &mut out.tiers,
        problems,
    );
    each(
        "policies",
        &doc.policies,
        |p| p.name.clone(),
        policy,
        &mut out.policies,
        problems,
    );
    each(
        "integrations",
        &doc.integrations,
        |i| i.name.clone(),
        integration,
        &mut out.integrations,
        problems,
    );
    each(
        "hooks",
        &doc.hooks,
        |h| hook_key(&h.url),
        |h| hook(h, &now.hooks, opened),
        &mut out.hooks,
        problems,
    );
}

// ---------------------------------------------------------------- writing

fn invalid(kind: &str, key: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(format!("{kind} `{key}`: {e}"))
}

async fn id_of(cx: &mut Cx<'_>, table: Table, name: &str) -> ApiResult<Option<String>> {
    Ok(oncall::id_by_name(cx.w.conn(), table, cx.project_id, name).await?)
}

async fn user_id(cx: &mut Cx<'_>, kind: &str, key: &str, email: &str) -> ApiResult<String> {
    let parsed = Email::parse(email).map_err(|e| invalid(kind, key, e))?;
    let (state, project_id) = (cx.state, cx.project_id);
    crate::auth::member_of(state, project_id, &parsed)
        .await?
        .ok_or_else(|| {
            invalid(
                kind,
                key,
                format!("{parsed} is not a member of this project"),
            )
        })
}

pub(super) async fn put_component(
    cx: &mut Cx<'_>,
    c: &ComponentSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let now = cx.w.now();
    if exists {
        let id = id_of(cx, Table::Component, &c.name)
            .await?
            .ok_or_else(|| vanished("components", &c.name))?;
        status::describe_component(cx.w.conn(), &id, c.description.as_deref()).await?;
    } else {
        status::insert_component(
            cx.w.conn(),
            cx.project_id,
            &c.name,
            c.description.as_deref(),
            now,
        )
        .await?;
    }
    Ok(None)
}

pub(super) async fn delete_component(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = id_of(cx, Table::Component, key)
        .await?
        .ok_or_else(|| vanished("components", key))?;
    status::delete_component(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}

pub(super) async fn put_schedule(
    cx: &mut Cx<'_>,
    s: &ScheduleSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let mut rows = Vec::new();
    for l in &s.layers {
        let mut members = Vec::new();
        for m in &l.members {
            members.push(user_id(cx, "schedules", &s.name, m).await?);
        }
        rows.push(LayerRow {
            members,
            start_local: l.start.clone(),
            shift: l.shift.clone(),
            restrict_days: l.days.as_ref().map(|d| d.join(",")),
            restrict_from: l.from.clone(),
            restrict_to: l.to.clone(),
        });
    }
    let now = cx.w.now();
    if exists {
        let id = id_of(cx, Table::Schedule, &s.name)
            .await?
            .ok_or_else(|| vanished("schedules", &s.name))?;
        oncall::update_schedule(cx.w.conn(), &id, &s.time_zone, &rows).await?;
    } else {
        oncall::insert_schedule(
            cx.w.conn(),
            cx.project_id,
            &s.name,
            &s.time_zone,
            &rows,
            now,
        )
        .await?;
    }
    Ok(None)
}

/// Refuses to delete what others still use, naming them.
fn in_use(kind: &str, key: &str, users_kind: &str, users: &[String]) -> ApiResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    Err(ApiError::conflict(format!(
        "{kind} `{key}` is used by {users_kind} {}: change them first",
        users
            .iter()
            .map(|u| format!("`{u}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

pub(super) async fn delete_schedule(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = id_of(cx, Table::Schedule, key)
        .await?
        .ok_or_else(|| vanished("schedules", key))?;
    let users = oncall::schedule_users(cx.w.conn(), cx.project_id, &id).await?;
    in_use("schedule", key, "the escalation policies", &users)?;
    oncall::delete_schedule(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}

fn tier_of(key: &str) -> ApiResult<Tier> {
    Tier::parse(key).ok_or_else(|| vanished("tiers", key))
}

pub(super) async fn put_tier(cx: &mut Cx<'_>, t: &TierSpec) -> ApiResult<Option<String>> {
    let tier = tier_of(&t.tier)?;
    let schedule_id = match t.schedule.as_deref() {
        Some(s) => Some(
            id_of(cx, Table::Schedule, s)
                .await?
                .ok_or_else(|| invalid("tiers", &t.tier, format!("no schedule `{s}`")))?,
        ),
        None => None,
    };
    let mut members = Vec::new();
    for m in &t.members {
        members.push(user_id(cx, "tiers", &t.tier, m).await?);
    }
    oncall::set_tier(
        cx.w.conn(),
        cx.project_id,
        tier,
        schedule_id.as_deref(),
        &members,
    )
    .await?;
    Ok(None)
}

pub(super) async fn delete_tier(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let tier = tier_of(key)?;
    oncall::set_tier(cx.w.conn(), cx.project_id, tier, None, &[]).await?;
    Ok(())
}

pub(super) async fn put_policy(
    cx: &mut Cx<'_>,
    p: &PolicySpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let mut levels = Vec::new();
    for l in &p.levels {
        let mut targets = Vec::new();
        for t in &l.notify {
            let (kind, value) = t
                .split_once(':')
                .ok_or_else(|| invalid("policies", &p.name, format!("bad target `{t}`")))?;
            targets.push(match kind {
                "user" => StoredTarget::User(user_id(cx, "policies", &p.name, value).await?),
                "schedule" => {
                    StoredTarget::Schedule(id_of(cx, Table::Schedule, value).await?.ok_or_else(
                        || invalid("policies", &p.name, format!("no schedule `{value}`")),
                    )?)
                }
                _ => StoredTarget::Tier(value.to_owned()),
            });
        }
        levels.push(StoredLevel {
            targets,
            delay_secs: l.delay_secs,
        });
    }
    let now = cx.w.now();
    if exists {
        let id = id_of(cx, Table::Policy, &p.name)
            .await?
            .ok_or_else(|| vanished("policies", &p.name))?;
        oncall::update_policy(cx.w.conn(), &id, &levels, p.repeat, p.ack_timeout_secs).await?;
    } else {
        oncall::insert_policy(
            cx.w.conn(),
            cx.project_id,
            &p.name,
            &levels,
            p.repeat,
            p.ack_timeout_secs,
            now,
        )
        .await?;
    }
    Ok(None)
}

pub(super) async fn delete_policy(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = id_of(cx, Table::Policy, key)
        .await?
        .ok_or_else(|| vanished("policies", key))?;
    let users = oncall::policy_users(cx.w.conn(), &id).await?;
    in_use("policy", key, "the integrations", &users)?;
    oncall::delete_policy(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}

pub(super) async fn put_integration(
    cx: &mut Cx<'_>,
    i: &IntegrationSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let bad = |e: String| invalid("integrations", &i.name, e);
    let kind: IntegrationKind = i.kind.parse().map_err(bad)?;
    let default_severity: Severity = i
        .default_severity
        .as_deref()
        .unwrap_or("sev3")
        .parse()
        .map_err(|e: <Severity as std::str::FromStr>::Err| bad(e.to_string()))?;
    let policy_id = match i.policy.as_deref() {
        Some(p) => Some(
            id_of(cx, Table::Policy, p)
                .await?
                .ok_or_else(|| bad(format!("no escalation policy `{p}`")))?,
        ),
        None => None,
    };
    let component_id = match i.component.as_deref() {
        Some(c) => Some(
            id_of(cx, Table::Component, c)
                .await?
                .ok_or_else(|| bad(format!("no component `{c}`")))?,
        ),
        None => None,
    };
    if exists {
        let id = id_of(cx, Table::Integration, &i.name)
            .await?
            .ok_or_else(|| vanished("integrations", &i.name))?;
        intake::update_integration(
            cx.w.conn(),
            &id,
            &IntegrationChange {
                kind,
                policy_id: policy_id.as_deref(),
                component_id: component_id.as_deref(),
                default_severity,
                auto_resolve: i.auto_resolve,
            },
        )
        .await?;
        return Ok(None);
    }
    let (secret, sealed) = crate::support::integrations::new_secret(cx.state);
    let now = cx.w.now();
    intake::insert_integration(
        cx.w.conn(),
        &NewIntegration {
            project_id: cx.project_id,
            name: &i.name,
            kind,
            secret_hash: &keys::hash(&secret),
            secret_sealed: Some(&sealed),
            policy_id: policy_id.as_deref(),
            component_id: component_id.as_deref(),
            default_severity,
            auto_resolve: i.auto_resolve,
        },
        now,
    )
    .await?;
    Ok(Some(format!(
        "alerts go to /ingest/alerts/{secret} (shown once)"
    )))
}

pub(super) async fn delete_integration(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = id_of(cx, Table::Integration, key)
        .await?
        .ok_or_else(|| vanished("integrations", key))?;
    let users = intake::integration_users(cx.w.conn(), &id).await?;
    in_use(
        "integration",
        key,
        "the alert rules, SLOs and error alerts",
        &users,
    )?;
    intake::delete_integration(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}

/// The stored hook a key names: its id.
async fn hook_id(cx: &mut Cx<'_>, key: &str) -> ApiResult<Option<String>> {
    let (state, project_id) = (cx.state, cx.project_id);
    Ok(state
        .db
        .hooks(project_id)
        .await?
        .into_iter()
        .find(|h| state.sealer.shown(&h.url) == key)
        .map(|h| h.id))
}

/// Adds a hook, or replaces the one its redacted URL names (a hook has
/// nothing else to change).
pub(super) async fn put_hook(cx: &mut Cx<'_>, h: &HookSpec) -> ApiResult<Option<String>> {
    let key = h.key();
    let channel: Channel = h
        .kind
        .parse()
        .map_err(|e: String| invalid("hooks", &key, e))?;
    if let Some(old) = hook_id(cx, &key).await? {
        // The same URL as shown, with another kind or another secret part.
        notify::delete_hook(cx.w.conn(), cx.project_id, &old).await?;
    }
    let url = cx
        .state
        .outbound
        .policy()
        .check_url(&h.url)
        .await
        .map_err(|e| {
            invalid(
                "hooks",
                &key,
                format!("this URL cannot receive notifications: {e}"),
            )
        })?
        .to_string();
    let now = cx.w.now();
    notify::insert_hook(
        cx.w.conn(),
        cx.project_id,
        channel,
        &cx.state.sealer.seal(&url),
        now,
    )
    .await?;
    Ok(None)
}

pub(super) async fn delete_hook(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = hook_id(cx, key)
        .await?
        .ok_or_else(|| vanished("hooks", key))?;
    notify::delete_hook(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}
