//! The rest of a configuration document: SLOs and alert rules
//! (performance), capacity and retention (scaling), key funnels
//! (analytics), release trains (releases) and the credential inventory
//! (security).

use std::collections::HashMap;

use jiff::civil::Date;
use liveops_core::analytics::funnel::MAX_STEPS;
use liveops_core::releases::plan::{Cadence, Train};
use liveops_core::scaling::retention::{self, Kind as RetentionKind};
use liveops_core::span::TimeSpan;
use liveops_store::analytics::KeyFunnel;
use liveops_store::performance as perf;
use liveops_store::security::NewCredential;

use super::{Cx, Named, Problem, at, vanished};
use crate::contract::analytics::funnel_steps;
use crate::contract::configuration::{
    CapacitySpec, CredentialSpec, Document, KeyFunnelSpec, RetentionSpec, RuleSpec, SloSpec,
    TrainSpec,
};
use crate::contract::performance::{RuleBody, SloBody};
use crate::contract::security::CredentialBody;
use crate::error::{ApiError, ApiResult};
use crate::performance::alerts::DEFAULT_INTEGRATION;
use crate::state::{AppState, format_ms};
use crate::support::tickets::clean_text;

impl Named for SloSpec {
    fn key(&self) -> String {
        self.name.clone()
    }
}
impl Named for RuleSpec {
    fn key(&self) -> String {
        self.name.clone()
    }
}
impl Named for CapacitySpec {
    fn key(&self) -> String {
        format!("{}/{}", self.service, self.metric)
    }
}
impl Named for RetentionSpec {
    fn key(&self) -> String {
        self.kind.clone()
    }
}
impl Named for KeyFunnelSpec {
    fn key(&self) -> String {
        self.name.clone()
    }
}
impl Named for TrainSpec {
    fn key(&self) -> String {
        self.name.clone()
    }
}
impl Named for CredentialSpec {
    fn key(&self) -> String {
        self.name.clone()
    }
}

/// A problem from an API body's checks, on the field its message names
/// in backticks when it names one of `fields`.
fn from_body<'a>(fields: &'a [&'static str]) -> impl Fn(ApiError) -> Problem + 'a {
    move |e| {
        let message = e.detail().unwrap_or("not valid").to_owned();
        let field = fields
            .iter()
            .find(|f| message.contains(&format!("`{f}`")))
            .copied()
            .unwrap_or("");
        Problem { field, message }
    }
}

const SLO_FIELDS: [&str; 8] = [
    "name",
    "kind",
    "objective",
    "latency_ms",
    "period_days",
    "service",
    "route",
    "integration",
];
const RULE_FIELDS: [&str; 10] = [
    "name",
    "metric",
    "comparator",
    "threshold",
    "for",
    "window",
    "service",
    "route",
    "severity",
    "integration",
];
const CREDENTIAL_FIELDS: [&str; 5] = ["name", "kind", "owner", "system", "expires_at"];

fn some_text(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

pub(super) fn slo(s: &SloSpec) -> Result<SloSpec, Problem> {
    let n = SloBody {
        name: s.name.clone(),
        kind: s.kind.trim().to_owned(),
        objective: s.objective,
        latency_ms: s.latency_ms,
        period_days: s.period_days,
        service: s.service.clone(),
        route: s.route.clone(),
        integration: s.integration.clone(),
    }
    .parse()
    .map_err(from_body(&SLO_FIELDS))?;
    Ok(SloSpec {
        name: n.name,
        kind: n.kind,
        objective: n.objective,
        latency_ms: n.latency_ms,
        period_days: Some(n.period_days),
        service: some_text(&n.service),
        route: some_text(&n.route),
        integration: Some(
            n.integration
                .map(|i| i.trim().to_owned())
                .unwrap_or_else(|| DEFAULT_INTEGRATION.into()),
        ),
    })
}

fn span(secs: i64) -> Option<String> {
    TimeSpan::from_seconds(secs).map(|t| t.to_string())
}

pub(super) fn rule(r: &RuleSpec) -> Result<RuleSpec, Problem> {
    let n = RuleBody {
        name: r.name.clone(),
        metric: r.metric.trim().to_owned(),
        comparator: r.comparator.clone(),
        threshold: r.threshold,
        for_: r.for_.clone(),
        window: r.window.clone(),
        service: r.service.clone(),
        route: r.route.clone(),
        severity: r.severity.clone(),
        integration: r.integration.clone(),
    }
    .parse()
    .map_err(from_body(&RULE_FIELDS))?;
    Ok(RuleSpec {
        name: n.name,
        metric: n.metric.as_string(),
        comparator: Some(n.comparator.as_str().into()),
        threshold: n.threshold,
        for_: if n.for_secs == 0 {
            None
        } else {
            span(n.for_secs)
        },
        window: span(n.window_secs),
        service: some_text(&n.service),
        route: some_text(&n.route),
        severity: Some(n.severity.as_str().into()),
        integration: Some(
            n.integration
                .map(|i| i.trim().to_owned())
                .unwrap_or_else(|| DEFAULT_INTEGRATION.into()),
        ),
    })
}

const MAX_REPLICAS: i64 = 10_000;

pub(super) fn capacity(c: &CapacitySpec) -> Result<CapacitySpec, Problem> {
    let service = clean_text("service", &c.service, 200).map_err(at("service"))?;
    if service.contains('/') {
        // The two together name a capacity as SERVICE/METRIC.
        return Err(at("service")("a service name has no `/`".into()));
    }
    let metric = clean_text("metric", &c.metric, 200).map_err(at("metric"))?;
    if !(c.capacity.is_finite() && c.capacity > 0.0) {
        return Err(at("capacity")("must be a number above 0".into()));
    }
    if !(1..=MAX_REPLICAS).contains(&c.replicas) {
        return Err(at("replicas")(format!("must be 1 to {MAX_REPLICAS}")));
    }
    let target = c.target_utilisation.unwrap_or(0.7);
    if !(target > 0.0 && target <= 1.0) {
        return Err(at("target_utilisation")(
            "is a share above 0 and at most 1, like 0.7".into(),
        ));
    }
    Ok(CapacitySpec {
        service,
        metric,
        capacity: c.capacity,
        replicas: c.replicas,
        target_utilisation: Some(target),
    })
}

pub(super) fn retention_of(r: &RetentionSpec) -> Result<RetentionSpec, Problem> {
    let kind: RetentionKind = r
        .kind
        .trim()
        .parse()
        .map_err(|e| at("kind")(format!("{e}")))?;
    let days = retention::days(r.days).map_err(|e| at("days")(e.to_string()))?;
    Ok(RetentionSpec {
        kind: kind.as_str().into(),
        days,
    })
}

pub(super) fn key_funnel(f: &KeyFunnelSpec) -> Result<KeyFunnelSpec, Problem> {
    let name = clean_text("name", &f.name, 100).map_err(at("name"))?;
    if f.steps.len() < 2 || f.steps.len() > MAX_STEPS {
        return Err(at("steps")(format!(
            "a key funnel has 2 to {MAX_STEPS} steps"
        )));
    }
    let steps = funnel_steps(&f.steps).map_err(|e| Problem {
        field: "steps",
        ..from_body(&[])(e)
    })?;
    let window: TimeSpan = f
        .window
        .as_deref()
        .unwrap_or("14d")
        .parse()
        .map_err(|e| at("window")(format!("{e}")))?;
    Ok(KeyFunnelSpec {
        name,
        steps: steps.iter().map(|s| s.join("|")).collect(),
        window: Some(window.to_string()),
    })
}

pub(super) fn train(t: &TrainSpec) -> Result<TrainSpec, Problem> {
    let name = clean_text("name", &t.name, 100).map_err(at("name"))?;
    let c = Cadence::parse(t.cadence.trim()).ok_or_else(|| {
        at("cadence")(format!(
            "`{}` is not a cadence: weekly, biweekly or monthly",
            t.cadence
        ))
    })?;
    let first: Date = t.first_release.trim().parse().map_err(|_| {
        at("first_release")(format!(
            "`{}` is not a date like 2026-12-02",
            t.first_release
        ))
    })?;
    let freeze = u8::try_from(t.freeze_days.unwrap_or(2))
        .map_err(|_| at("freeze_days")("must be 0 to 255".to_owned()))?;
    Train::new(c, first, freeze).map_err(|e| e.to_string())?;
    Ok(TrainSpec {
        name,
        cadence: c.as_str().into(),
        first_release: first.to_string(),
        freeze_days: Some(i64::from(freeze)),
    })
}

const CREDENTIAL_KINDS: [&str; 4] = [
    "api_key",
    "oauth_client_secret",
    "signing_key",
    "tls_certificate",
];

fn parsed_credential(c: &CredentialSpec) -> Result<NewCredential, Problem> {
    let kind = c.kind.trim();
    if !CREDENTIAL_KINDS.contains(&kind) {
        return Err(at("kind")(
            "is api_key, oauth_client_secret, signing_key or tls_certificate".into(),
        ));
    }
    CredentialBody {
        kind: kind.to_owned(),
        name: c.name.clone(),
        owner: c.owner.clone(),
        system: c.system.clone(),
        expires_at: c.expires_at.clone(),
        last_used_at: None,
    }
    .parse()
    .map_err(from_body(&CREDENTIAL_FIELDS))
}

pub(super) fn credential(c: &CredentialSpec) -> Result<CredentialSpec, Problem> {
    let n = parsed_credential(c)?;
    Ok(CredentialSpec {
        name: n.name,
        kind: n.kind,
        owner: n.owner,
        system: n.system,
        expires_at: n.expires_at.map(format_ms),
    })
}

/// Checks these settings of `doc` into `out`.
pub(super) fn canonical(doc: &Document, out: &mut Document, problems: &mut Vec<(String, Problem)>) {
    fn each<S: Named, T>(
        kind: &str,
        list: &[S],
        check: impl Fn(&S) -> Result<T, Problem>,
        out: &mut Vec<T>,
        problems: &mut Vec<(String, Problem)>,
    ) {
        for s in list {
            match check(s) {
                Ok(t) => out.push(t),
                Err(e) => problems.push((e.about(kind, &s.key()), e)),
            }
        }
    }
    each("slos", &doc.slos, slo, &mut out.slos, problems);
    each(
        "alert_rules",
        &doc.alert_rules,
        rule,
        &mut out.alert_rules,
        problems,
    );
    each(
        "capacity",
        &doc.capacity,
        capacity,
        &mut out.capacity,
        problems,
    );
    each(
        "retention",
        &doc.retention,
        retention_of,
        &mut out.retention,
        problems,
    );
    each(
        "key_funnels",
        &doc.key_funnels,
        key_funnel,
        &mut out.key_funnels,
        problems,
    );
    each("trains", &doc.trains, train, &mut out.trains, problems);
    each(
        "credentials",
        &doc.credentials,
        credential,
        &mut out.credentials,
        problems,
    );
}

/// These settings now, in canonical form, in a document of their own.
pub(super) async fn current(state: &AppState, project_id: &str) -> ApiResult<Document> {
    let integration_names: HashMap<String, String> = state
        .db
        .integrations(project_id)
        .await?
        .into_iter()
        .map(|i| (i.id, i.name))
        .collect();
    let integration = |id: &str| {
        Some(
            integration_names
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.to_owned()),
        )
    };
    let slos = state
        .db
        .slos(Some(project_id))
        .await?
        .into_iter()
        .map(|s| {
            let spec = SloSpec {
                name: s.name,
                kind: s.kind,
                objective: s.objective,
                latency_ms: s.latency_ms,
                period_days: Some(s.period_days),
                service: some_text(&s.service),
                route: some_text(&s.route),
                integration: integration(&s.integration_id),
            };
            slo(&spec).unwrap_or(spec)
        })
        .collect();
    let alert_rules = state
        .db
        .rules(Some(project_id))
        .await?
        .into_iter()
        .map(|r| {
            let spec = RuleSpec {
                name: r.name,
                metric: r.metric,
                comparator: Some(r.comparator),
                threshold: r.threshold,
                for_: if r.for_secs == 0 {
                    None
                } else {
                    span(r.for_secs)
                },
                window: span(r.window_secs),
                service: some_text(&r.service),
                route: some_text(&r.route),
                severity: Some(r.severity),
                integration: integration(&r.integration_id),
            };
            rule(&spec).unwrap_or(spec)
        })
        .collect();
    let capacity = state
        .db
        .capacities(project_id)
        .await?
        .into_iter()
        .map(|c| CapacitySpec {
            service: c.service,
            metric: c.metric,
            capacity: c.capacity,
            replicas: c.replicas,
            target_utilisation: Some(c.target_utilisation),
        })
        .collect();
    let retention = state
        .db
        .retention_settings(Some(project_id))
        .await?
        .into_iter()
        .map(|(_, kind, days)| RetentionSpec { kind, days })
        .collect();
    let key_funnels = state
        .db
        .key_funnels(project_id)
        .await?
        .into_iter()
        .map(|f| KeyFunnelSpec {
            name: f.name,
            steps: f.steps.iter().map(|s| s.join("|")).collect(),
            window: TimeSpan::from_seconds(f.window_ms / 1000).map(|t| t.to_string()),
        })
        .collect();
    let trains = state
        .db
        .trains(project_id)
        .await?
        .into_iter()
        .map(|t| TrainSpec {
            name: t.name,
            cadence: t.cadence,
            first_release: t.first_release,
            freeze_days: Some(t.freeze_days),
        })
        .collect();
    let credentials = state
        .db
        .credentials(project_id)
        .await?
        .into_iter()
        .map(|c| CredentialSpec {
            name: c.name,
            kind: c.kind,
            owner: c.owner,
            system: c.system,
            expires_at: c.expires_at.map(format_ms),
        })
        .collect();
    Ok(Document {
        slos,
        alert_rules,
        capacity,
        retention,
        key_funnels,
        trains,
        credentials,
        ..Document::default()
    })
}

// ---------------------------------------------------------------- writing

fn invalid(kind: &str, key: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(format!("{kind} `{key}`: {e}"))
}

/// The integration a rule or SLO files into: liveops' own is made when
/// missing; any other must exist (or be made earlier in this apply).
async fn integration_id(cx: &mut Cx<'_>, kind: &str, key: &str, name: &str) -> ApiResult<String> {
    let now = cx.w.now();
    let wanted = (name != DEFAULT_INTEGRATION).then_some(name);
    crate::performance::alerts::integration_in(cx.w.conn(), cx.project_id, wanted, now)
        .await
        .map(|i| i.id)
        .map_err(|e| invalid(kind, key, e))
}

fn or_default(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

async fn id_by(cx: &mut Cx<'_>, kind: &str, key: &str) -> ApiResult<String> {
    let (state, project_id) = (cx.state, cx.project_id);
    let found = match kind {
        "slos" => state
            .db
            .slos(Some(project_id))
            .await?
            .into_iter()
            .find(|s| s.name == key)
            .map(|s| s.id),
        _ => state
            .db
            .rules(Some(project_id))
            .await?
            .into_iter()
            .find(|r| r.name == key)
            .map(|r| r.id),
    };
    found.ok_or_else(|| vanished(kind, key))
}

pub(super) async fn put_slo(
    cx: &mut Cx<'_>,
    s: &SloSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let integration =
        integration_id(cx, "slos", &s.name, s.integration.as_deref().unwrap_or("")).await?;
    let n = perf::NewSlo {
        name: &s.name,
        kind: &s.kind,
        objective: s.objective,
        latency_ms: s.latency_ms,
        period_days: s.period_days.unwrap_or(30),
        service: or_default(&s.service),
        route: or_default(&s.route),
        integration_id: &integration,
    };
    if exists {
        let id = id_by(cx, "slos", &s.name).await?;
        perf::update_slo(cx.w.conn(), cx.project_id, &id, &n).await?;
    } else {
        let now = cx.w.now();
        perf::insert_slo(cx.w.conn(), cx.project_id, &n, now).await?;
    }
    Ok(None)
}

pub(super) async fn delete_slo(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = id_by(cx, "slos", key).await?;
    perf::delete_slo(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}

fn secs(s: &Option<String>) -> i64 {
    s.as_deref()
        .and_then(|t| t.parse::<TimeSpan>().ok())
        .map_or(0, TimeSpan::seconds)
}

pub(super) async fn put_rule(
    cx: &mut Cx<'_>,
    r: &RuleSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let integration = integration_id(
        cx,
        "alert_rules",
        &r.name,
        r.integration.as_deref().unwrap_or(""),
    )
    .await?;
    let n = perf::NewRule {
        name: &r.name,
        metric: &r.metric,
        comparator: or_default(&r.comparator),
        threshold: r.threshold,
        for_secs: secs(&r.for_),
        window_secs: secs(&r.window),
        service: or_default(&r.service),
        route: or_default(&r.route),
        severity: or_default(&r.severity),
        integration_id: &integration,
    };
    if exists {
        let id = id_by(cx, "alert_rules", &r.name).await?;
        perf::update_rule(cx.w.conn(), cx.project_id, &id, &n).await?;
    } else {
        let now = cx.w.now();
        perf::insert_rule(cx.w.conn(), cx.project_id, &n, now).await?;
    }
    Ok(None)
}

pub(super) async fn delete_rule(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = id_by(cx, "alert_rules", key).await?;
    perf::delete_rule(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}

pub(super) async fn put_capacity(cx: &mut Cx<'_>, c: &CapacitySpec) -> ApiResult<Option<String>> {
    let now = cx.w.now();
    liveops_store::scaling::put_capacity(
        cx.w.conn(),
        cx.project_id,
        &liveops_store::scaling::Capacity {
            service: c.service.clone(),
            metric: c.metric.clone(),
            capacity: c.capacity,
            replicas: c.replicas,
            target_utilisation: c.target_utilisation.unwrap_or(0.7),
            updated_at: now,
        },
    )
    .await?;
    Ok(None)
}

pub(super) async fn delete_capacity(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let (service, metric) = key
        .split_once('/')
        .ok_or_else(|| vanished("capacity", key))?;
    liveops_store::scaling::delete_capacity(cx.w.conn(), cx.project_id, service, metric).await?;
    Ok(())
}

pub(super) async fn put_retention(cx: &mut Cx<'_>, r: &RetentionSpec) -> ApiResult<Option<String>> {
    let now = cx.w.now();
    liveops_store::scaling::set_retention(cx.w.conn(), cx.project_id, &r.kind, r.days, now).await?;
    Ok(None)
}

pub(super) async fn delete_retention(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    liveops_store::scaling::clear_retention(cx.w.conn(), cx.project_id, key).await?;
    Ok(())
}

pub(super) async fn put_key_funnel(
    cx: &mut Cx<'_>,
    f: &KeyFunnelSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let window: TimeSpan = f
        .window
        .as_deref()
        .unwrap_or("14d")
        .parse()
        .map_err(|e| invalid("key_funnels", &f.name, e))?;
    if exists {
        liveops_store::analytics::delete_key_funnel(cx.w.conn(), cx.project_id, &f.name).await?;
    }
    let now = cx.w.now();
    liveops_store::analytics::insert_key_funnel(
        cx.w.conn(),
        cx.project_id,
        &KeyFunnel {
            name: f.name.clone(),
            steps: f
                .steps
                .iter()
                .map(|s| s.split('|').map(str::to_owned).collect())
                .collect(),
            window_ms: window.millis(),
            created_at: now,
        },
    )
    .await?;
    Ok(None)
}

pub(super) async fn delete_key_funnel(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    liveops_store::analytics::delete_key_funnel(cx.w.conn(), cx.project_id, key).await?;
    Ok(())
}

pub(super) async fn put_train(
    cx: &mut Cx<'_>,
    t: &TrainSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let freeze = t.freeze_days.unwrap_or(2);
    if exists {
        let id = liveops_store::releases::train_in(cx.w.conn(), cx.project_id, &t.name)
            .await?
            .id;
        liveops_store::releases::update_train(
            cx.w.conn(),
            cx.project_id,
            &id,
            &t.cadence,
            &t.first_release,
            freeze,
        )
        .await?;
    } else {
        let now = cx.w.now();
        liveops_store::releases::insert_train(
            cx.w.conn(),
            cx.project_id,
            &t.name,
            &t.cadence,
            &t.first_release,
            freeze,
            now,
        )
        .await?;
    }
    Ok(None)
}

pub(super) async fn delete_train(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = liveops_store::releases::train_in(cx.w.conn(), cx.project_id, key)
        .await?
        .id;
    liveops_store::releases::delete_train(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}

pub(super) async fn put_credential(
    cx: &mut Cx<'_>,
    c: &CredentialSpec,
) -> ApiResult<Option<String>> {
    let mut n = parsed_credential(c)
        .map_err(|e| ApiError::unprocessable(e.about("credentials", &c.name)))?;
    // A certificate's fingerprint came from its upload; the document does
    // not carry it, so it stays.
    let (state, project_id) = (cx.state, cx.project_id);
    n.fingerprint = state
        .db
        .credentials(project_id)
        .await?
        .into_iter()
        .find(|x| x.name == c.name)
        .and_then(|x| x.fingerprint);
    let now = cx.w.now();
    liveops_store::security::upsert_credential(cx.w.conn(), cx.project_id, &n, now).await?;
    Ok(None)
}

pub(super) async fn delete_credential(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    liveops_store::security::delete_credential(cx.w.conn(), cx.project_id, key).await?;
    Ok(())
}
