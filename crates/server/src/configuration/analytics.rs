//! Usage analytics' part of a configuration document: revenue settings
//! (one entry, named `revenue`, listed only when it differs from the
//! defaults), dated currency rates (named `CUR@YYYY-MM-DD`), cohorts,
//! saved insights with their goals and alerts, and dashboards (tiles name
//! insights). Cohorts, insights and dashboards change in place, so the ids
//! that other objects and links hold stay valid.

use std::collections::HashMap;

use liveops_core::analytics::cohort::{CohortRule, MAX_STATIC, cohort_name};
use liveops_core::analytics::insight::{InsightKind, insight_name};
use liveops_core::analytics::revenue::{Currency, Rate, RevenueSource};
use liveops_store::analytics::cohorts as cohort_store;
use liveops_store::analytics::dashboards::{self as board_store, Frame, Tile};
use liveops_store::analytics::insights as insight_store;
use liveops_store::analytics::{self as store, RateRow, RevenueSettings};

use super::{Cx, Named, Problem, at, vanished};
use crate::analytics::dashboards::{MAX_TILES, check_frame_shape, name_of};
use crate::analytics::insights::MAX_QUERY_BYTES;
use crate::analytics::revenue::day_of;
use crate::contract::cohorts::{CohortBody, RuleFields};
use crate::contract::configuration::{
    CohortSpec, DashboardSpec, DashboardTileSpec, Document, InsightSpec, RateSpec, RevenueSpec,
};
use crate::contract::dashboards::{AlertBody, GoalBody};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, format_ms};

const DAY_MS: i64 = 86_400_000;

/// The one name revenue settings have in a document.
pub const REVENUE_KEY: &str = "revenue";

impl Named for RevenueSpec {
    fn key(&self) -> String {
        REVENUE_KEY.to_owned()
    }
}

impl Named for RateSpec {
    fn key(&self) -> String {
        format!("{}@{}", self.currency.trim(), self.date.trim())
    }
}

impl Named for CohortSpec {
    fn key(&self) -> String {
        self.name.trim().to_owned()
    }
}

impl Named for InsightSpec {
    fn key(&self) -> String {
        self.name.trim().to_owned()
    }
}

impl Named for DashboardSpec {
    fn key(&self) -> String {
        self.name.trim().to_owned()
    }
}

fn defaults() -> RevenueSpec {
    let d = RevenueSettings::default();
    RevenueSpec {
        base_currency: d.base_currency,
        property: d.revenue_property,
    }
}

/// What an error says, for a problem line.
fn said(e: impl Into<ApiError>) -> String {
    let e: ApiError = e.into();
    e.detail()
        .map_or_else(|| e.status().to_string(), str::to_owned)
}

fn date_of(day: i64) -> String {
    format_ms(day * DAY_MS)[..10].to_owned()
}

// ---------------------------------------------------------------- reading

/// A cohort as a document lists it.
fn cohort_spec(name: &str, rule: &CohortRule, mut ids: Vec<String>) -> CohortSpec {
    ids.sort_unstable();
    ids.dedup();
    let f = RuleFields::of(rule);
    CohortSpec {
        name: name.to_owned(),
        kind: rule.kind().to_owned(),
        event: f.event,
        min_count: f.min_count,
        days: f.days,
        did: f.did,
        filter: f.filter,
        distinct_ids: ids,
    }
}

/// A cohort entry as the API's body for it.
fn body_of(c: &CohortSpec) -> CohortBody {
    CohortBody {
        name: c.name.clone(),
        kind: c.kind.clone(),
        event: c.event.clone(),
        min_count: c.min_count,
        days: c.days,
        did: c.did,
        filter: c.filter.clone(),
        distinct_ids: c.distinct_ids.clone(),
        csv: None,
    }
}

fn alert_body(
    rule: &liveops_core::analytics::insight::AlertRule,
    tier: &str,
    sev: &str,
) -> AlertBody {
    AlertBody {
        condition: rule.condition().to_owned(),
        value: rule.value(),
        tier: tier.to_owned(),
        severity: Some(sev.to_owned()),
    }
}

/// The project's analytics settings as document entries.
pub(super) async fn current(state: &AppState, project_id: &str) -> ApiResult<Document> {
    let settings = state.db.revenue_settings(project_id).await?;
    let revenue = RevenueSpec {
        base_currency: settings.base_currency,
        property: settings.revenue_property,
    };
    let revenue_rates = state
        .db
        .currency_rates(project_id)
        .await?
        .into_iter()
        .map(|r| RateSpec {
            currency: r.currency,
            date: date_of(r.day),
            rate: r.rate,
        })
        .collect();
    let mut cohorts = Vec::new();
    for c in state.db.cohorts(project_id).await? {
        let ids = match c.rule {
            CohortRule::Static => state.db.cohort_members(&c.id).await?,
            _ => Vec::new(),
        };
        cohorts.push(cohort_spec(&c.name, &c.rule, ids));
    }
    let rows = state.db.insights(project_id).await?;
    let mut insights = Vec::with_capacity(rows.len());
    for i in &rows {
        let query = serde_json::from_str(&i.query).map_err(ApiError::internal)?;
        let goal = state.db.insight_goal(&i.id).await?.map(GoalBody::of);
        let alert = state
            .db
            .insight_alert(&i.id)
            .await?
            .map(|a| alert_body(&a.rule, a.tier.as_str(), a.severity.as_str()));
        insights.push(InsightSpec {
            name: i.name.clone(),
            kind: i.kind.as_str().to_owned(),
            query,
            goal,
            alert,
        });
    }
    let names: HashMap<&str, &str> = rows
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let blank = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let dashboards = state
        .db
        .dashboards(project_id)
        .await?
        .into_iter()
        .map(|d| DashboardSpec {
            name: d.name,
            days: d.frame.days,
            from: blank(&d.frame.from_date),
            to: blank(&d.frame.to_date),
            in_cohort: blank(&d.frame.in_cohort),
            filter: blank(&d.frame.filter),
            tiles: d
                .tiles
                .iter()
                .map(|t| DashboardTileSpec {
                    insight: names
                        .get(t.insight_id.as_str())
                        .map_or_else(|| t.insight_id.clone(), |n| (*n).to_owned()),
                    width: Some(t.width),
                })
                .collect(),
        })
        .collect();
    Ok(Document {
        revenue: (revenue != defaults())
            .then_some(revenue)
            .into_iter()
            .collect(),
        revenue_rates,
        cohorts,
        insights,
        dashboards,
        ..Document::default()
    })
}

// ---------------------------------------------------------------- checking

fn revenue_spec(r: &RevenueSpec) -> Result<RevenueSpec, Problem> {
    let base = Currency::parse(&r.base_currency).map_err(|e| at("base_currency")(e.to_string()))?;
    let property = r.property.trim();
    if property.chars().count() > 200 {
        return Err(at("property")("at most 200 characters".into()));
    }
    Ok(RevenueSpec {
        base_currency: base.to_string(),
        property: RevenueSource::new(property).property().to_owned(),
    })
}

fn rate_spec(base: &Currency, r: &RateSpec) -> Result<RateSpec, Problem> {
    let currency = Currency::parse(&r.currency).map_err(|e| at("currency")(e.to_string()))?;
    let day = day_of(&r.date)
        .ok_or_else(|| at("date")(format!("{:?} is not a date: use YYYY-MM-DD", r.date)))?;
    let rate = Rate::new(base, currency, day, r.rate).map_err(|e| at("rate")(e.to_string()))?;
    Ok(RateSpec {
        currency: rate.currency.to_string(),
        date: date_of(rate.day),
        rate: rate.rate,
    })
}

fn cohort_of(c: &CohortSpec) -> Result<CohortSpec, Problem> {
    let body = body_of(c);
    let new = body.parse().map_err(|e| Problem::from(said(e)))?;
    let name = cohort_name(&new.name).map_err(|e| at("name")(e.to_string()))?;
    match (&new.rule, new.distinct_ids.is_empty()) {
        (CohortRule::Static, true) => {
            return Err(at("distinct_ids")(
                "a static cohort lists its distinct ids".into(),
            ));
        }
        (CohortRule::Static, false) => {}
        (_, false) => {
            return Err(at("distinct_ids")(
                "only a static cohort lists distinct ids".into(),
            ));
        }
        (_, true) => {}
    }
    if new.distinct_ids.len() > MAX_STATIC {
        return Err(at("distinct_ids")(format!(
            "a static cohort holds at most {MAX_STATIC} distinct ids"
        )));
    }
    Ok(cohort_spec(&name, &new.rule, new.distinct_ids))
}

fn insight_of(i: &InsightSpec, now: i64) -> Result<InsightSpec, Problem> {
    let name = insight_name(&i.name).ok_or_else(|| {
        at("name")(format!(
            "1 to {} printable characters",
            liveops_core::analytics::insight::MAX_NAME
        ))
    })?;
    let kind: InsightKind = i
        .kind
        .trim()
        .parse()
        .map_err(|e: liveops_core::analytics::insight::UnknownKind| at("kind")(e.to_string()))?;
    if !i.query.is_object() {
        return Err(at("query")(
            "the request its kind's endpoint takes, as an object".into(),
        ));
    }
    if i.query.to_string().len() > MAX_QUERY_BYTES {
        return Err(at("query")(format!("at most {MAX_QUERY_BYTES} bytes")));
    }
    crate::contract::answers::check(kind, &i.query, now).map_err(|e| at("query")(said(e)))?;
    let goal = match &i.goal {
        Some(g) => Some(GoalBody::of(g.parse().map_err(|e| at("goal")(said(e)))?)),
        None => None,
    };
    let alert = match &i.alert {
        Some(a) => {
            let s = a.parse().map_err(|e| at("alert")(said(e)))?;
            Some(alert_body(&s.rule, s.tier.as_str(), s.severity.as_str()))
        }
        None => None,
    };
    Ok(InsightSpec {
        name,
        kind: kind.as_str().to_owned(),
        query: i.query.clone(),
        goal,
        alert,
    })
}

fn frame_of(d: &DashboardSpec) -> Frame {
    let text = |s: &Option<String>| s.as_deref().map(str::trim).unwrap_or("").to_owned();
    Frame {
        days: d.days,
        from_date: text(&d.from),
        to_date: text(&d.to),
        in_cohort: text(&d.in_cohort),
        filter: text(&d.filter),
    }
}

fn dashboard_of(d: &DashboardSpec) -> Result<DashboardSpec, Problem> {
    let name = name_of(&d.name).map_err(|e| at("name")(said(e)))?;
    let frame = frame_of(d);
    check_frame_shape(&frame).map_err(|e| Problem::from(said(e)))?;
    if d.tiles.len() > MAX_TILES {
        return Err(at("tiles")(format!(
            "a dashboard holds at most {MAX_TILES} insights"
        )));
    }
    let mut tiles = Vec::with_capacity(d.tiles.len());
    for t in &d.tiles {
        let width = t.width.unwrap_or(1);
        if !(1..=3).contains(&width) {
            return Err(at("width")(format!(
                "insight `{}`: a tile is 1 to 3 columns wide",
                t.insight
            )));
        }
        tiles.push(DashboardTileSpec {
            insight: t.insight.trim().to_owned(),
            width: Some(width),
        });
    }
    let some = |s: String| (!s.is_empty()).then_some(s);
    Ok(DashboardSpec {
        name,
        days: frame.days,
        from: some(frame.from_date),
        to: some(frame.to_date),
        in_cohort: some(frame.in_cohort),
        filter: some(frame.filter),
        tiles,
    })
}

/// Checks the analytics settings of `doc` into `out`. Rates are checked
/// against the base currency the document sets, or else the one the
/// project has.
pub(super) fn canonical(
    doc: &Document,
    now_doc: &Document,
    now: i64,
    out: &mut Document,
    problems: &mut Vec<(String, Problem)>,
) {
    for r in &doc.revenue {
        match revenue_spec(r) {
            Ok(r) if r == defaults() => {}
            Ok(r) => out.revenue.push(r),
            Err(e) => problems.push((e.about("revenue", REVENUE_KEY), e)),
        }
    }
    let base = out
        .revenue
        .first()
        .or_else(|| {
            if doc.revenue.is_empty() {
                now_doc.revenue.first()
            } else {
                None
            }
        })
        .map_or_else(|| defaults().base_currency, |r| r.base_currency.clone());
    match Currency::parse(&base) {
        Ok(base) => {
            for r in &doc.revenue_rates {
                match rate_spec(&base, r) {
                    Ok(r) => out.revenue_rates.push(r),
                    Err(e) => problems.push((e.about("revenue_rates", &r.key()), e)),
                }
            }
        }
        Err(e) => problems.push((format!("revenue: {e}"), at("base_currency")(e.to_string()))),
    }
    for c in &doc.cohorts {
        match cohort_of(c) {
            Ok(c) => out.cohorts.push(c),
            Err(e) => problems.push((e.about("cohorts", &c.key()), e)),
        }
    }
    for i in &doc.insights {
        match insight_of(i, now) {
            Ok(i) => out.insights.push(i),
            Err(e) => problems.push((e.about("insights", &i.key()), e)),
        }
    }
    for d in &doc.dashboards {
        match dashboard_of(d) {
            Ok(d) => out.dashboards.push(d),
            Err(e) => problems.push((e.about("dashboards", &d.key()), e)),
        }
    }
}

// ---------------------------------------------------------------- writing

pub(super) async fn put_revenue(cx: &mut Cx<'_>, r: &RevenueSpec) -> ApiResult<Option<String>> {
    let before = cx.state.db.revenue_settings(cx.project_id).await?;
    if before.base_currency != r.base_currency
        && store::count_rates(cx.w.conn(), cx.project_id).await? > 0
    {
        return Err(ApiError::conflict(format!(
            "revenue: the rates are against {}: delete them before changing the base currency to {}",
            before.base_currency, r.base_currency
        )));
    }
    let settings = RevenueSettings {
        base_currency: r.base_currency.clone(),
        revenue_property: r.property.clone(),
    };
    let now = cx.w.now();
    store::put_revenue_settings(cx.w.conn(), cx.project_id, &settings, now).await?;
    Ok(None)
}

pub(super) async fn delete_revenue(cx: &mut Cx<'_>) -> ApiResult<()> {
    put_revenue(cx, &defaults()).await.map(drop)
}

pub(super) async fn put_rate(cx: &mut Cx<'_>, r: &RateSpec) -> ApiResult<Option<String>> {
    let day = day_of(&r.date).ok_or_else(|| vanished("revenue_rates", &r.key()))?;
    let row = RateRow {
        currency: r.currency.clone(),
        day,
        rate: r.rate,
    };
    store::put_rates(cx.w.conn(), cx.project_id, &[row]).await?;
    Ok(None)
}

pub(super) async fn delete_rate(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let (currency, day) = key
        .split_once('@')
        .and_then(|(c, d)| Some((c, day_of(d)?)))
        .ok_or_else(|| vanished("revenue_rates", key))?;
    store::delete_rate(cx.w.conn(), cx.project_id, currency, day).await?;
    Ok(())
}

/// The rule a checked cohort entry states.
fn rule_of(c: &CohortSpec) -> ApiResult<CohortRule> {
    let body = CohortBody {
        distinct_ids: Vec::new(),
        ..body_of(c)
    };
    Ok(body.parse()?.rule)
}

async fn cohort_id(cx: &mut Cx<'_>, name: &str) -> ApiResult<Option<String>> {
    Ok(cohort_store::cohort_id(cx.w.conn(), cx.project_id, name).await?)
}

pub(super) async fn put_cohort(
    cx: &mut Cx<'_>,
    c: &CohortSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let rule = rule_of(c)?;
    let now = cx.w.now();
    let id = if exists {
        let id = cohort_id(cx, &c.name)
            .await?
            .ok_or_else(|| vanished("cohorts", &c.name))?;
        cohort_store::update_cohort(cx.w.conn(), cx.project_id, &id, &rule, now).await?;
        id
    } else {
        cohort_store::insert_cohort(cx.w.conn(), cx.project_id, &c.name, &rule, now)
            .await?
            .id
    };
    cohort_store::put_members(cx.w.conn(), &id, &c.distinct_ids).await?;
    Ok(None)
}

pub(super) async fn delete_cohort(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = cohort_id(cx, key)
        .await?
        .ok_or_else(|| vanished("cohorts", key))?;
    cohort_store::delete_cohort(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}

async fn insight_id(cx: &mut Cx<'_>, name: &str) -> ApiResult<Option<String>> {
    Ok(insight_store::insight_id(cx.w.conn(), cx.project_id, name).await?)
}

pub(super) async fn put_insight(
    cx: &mut Cx<'_>,
    i: &InsightSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let kind: InsightKind = i.kind.parse().map_err(|_| vanished("insights", &i.name))?;
    let query = i.query.to_string();
    let now = cx.w.now();
    let (id, alert_before) = if exists {
        let id = insight_id(cx, &i.name)
            .await?
            .ok_or_else(|| vanished("insights", &i.name))?;
        insight_store::update_insight(cx.w.conn(), cx.project_id, &id, kind, &query, now).await?;
        let before = cx
            .state
            .db
            .insight_alert(&id)
            .await?
            .map(|a| alert_body(&a.rule, a.tier.as_str(), a.severity.as_str()));
        (id, before)
    } else {
        let by = cx.w.actor().name.clone();
        let row = insight_store::insert_insight(
            cx.w.conn(),
            cx.project_id,
            &i.name,
            kind,
            &query,
            &by,
            now,
        )
        .await?;
        (row.id, None)
    };
    let goal = i.goal.as_ref().map(GoalBody::parse).transpose()?;
    board_store::put_goal(cx.w.conn(), &id, goal).await?;
    // An alert that stays the same keeps what its checks found.
    if alert_before != i.alert {
        let spec = i.alert.as_ref().map(AlertBody::parse).transpose()?;
        board_store::put_alert(
            cx.w.conn(),
            cx.project_id,
            &id,
            spec.map(|s| (s.rule, s.tier, s.severity)),
        )
        .await?;
    }
    Ok(None)
}

pub(super) async fn delete_insight(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = insight_id(cx, key)
        .await?
        .ok_or_else(|| vanished("insights", key))?;
    insight_store::delete_insight(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}

pub(super) async fn put_dashboard(
    cx: &mut Cx<'_>,
    d: &DashboardSpec,
    exists: bool,
) -> ApiResult<Option<String>> {
    let frame = frame_of(d);
    if !frame.in_cohort.is_empty() && cohort_id(cx, &frame.in_cohort).await?.is_none() {
        return Err(ApiError::unprocessable(format!(
            "dashboards `{}`: no cohort `{}`",
            d.name, frame.in_cohort
        )));
    }
    let mut tiles = Vec::with_capacity(d.tiles.len());
    for t in &d.tiles {
        let id = insight_id(cx, &t.insight).await?.ok_or_else(|| {
            ApiError::unprocessable(format!(
                "dashboards `{}`: no insight `{}`",
                d.name, t.insight
            ))
        })?;
        tiles.push(Tile {
            insight_id: id,
            width: t.width.unwrap_or(1),
        });
    }
    let now = cx.w.now();
    if exists {
        let row = cx
            .state
            .db
            .dashboard(cx.project_id, &d.name)
            .await
            .map_err(|_| vanished("dashboards", &d.name))?;
        board_store::update_dashboard(cx.w.conn(), &row.id, &frame, &tiles, now).await?;
    } else {
        board_store::insert_dashboard(cx.w.conn(), cx.project_id, &d.name, &frame, &tiles, now)
            .await?;
    }
    Ok(None)
}

pub(super) async fn delete_dashboard(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let row = cx
        .state
        .db
        .dashboard(cx.project_id, key)
        .await
        .map_err(|_| vanished("dashboards", key))?;
    board_store::delete_dashboard(cx.w.conn(), cx.project_id, &row.id).await?;
    Ok(())
}
