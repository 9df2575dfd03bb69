//! The dashboards contract: a dashboard as the API takes it and shows it,
//! each tile answered (from the answer cache when the data has not
//! changed, saying how old the answer is) with its insight's headline
//! number and goal; the JSON a dashboard is copied between projects as;
//! and how a dashboard's range and filters are laid over each insight's
//! own request.

use liveops_core::analytics::insight::{AlertRule, Goal, GoalOp, InsightKind};
use liveops_core::support::escalation::Tier;
use liveops_core::support::incident::Severity;
use liveops_store::analytics::dashboards::{DashboardRow, Frame};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::answers;
use super::insights::InsightView;
use crate::analytics::alerts::AlertSpec;
use crate::analytics::cache::{Cached, Lookup};
use crate::analytics::dashboards::{CarriedInsight, TileSpec};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, format_ms};

const DAY_MS: i64 = 86_400_000;

/// A goal on an insight's headline number.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GoalBody {
    /// `>=` or `<=`.
    pub op: String,
    pub target: f64,
}

impl GoalBody {
    pub fn parse(&self) -> ApiResult<Goal> {
        let op = GoalOp::parse(&self.op)
            .ok_or_else(|| ApiError::unprocessable("a goal's op is `>=` or `<=`"))?;
        Goal::new(op, self.target)
            .ok_or_else(|| ApiError::unprocessable("a goal's target is a finite number"))
    }

    pub fn of(g: Goal) -> GoalBody {
        GoalBody {
            op: g.op.as_str().to_owned(),
            target: g.target,
        }
    }
}

/// The goal to set on an insight; none removes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalPut {
    pub goal: Option<GoalBody>,
}

/// An alert to set on an insight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertBody {
    /// `above` or `below` a value, or `change`: moved by `value` per cent
    /// against the period before (trends).
    pub condition: String,
    pub value: f64,
    /// Whose on-call people are told: l1, l2 or l3.
    pub tier: String,
    /// sev1 to sev4 (sev3 by default), matched against each person's
    /// notification rules.
    pub severity: Option<String>,
}

impl AlertBody {
    pub fn parse(&self) -> ApiResult<AlertSpec> {
        let rule = AlertRule::parse(&self.condition, self.value).ok_or_else(|| {
            ApiError::unprocessable(
                "an alert is `above` or `below` a finite value, or a `change` of a positive per cent",
            )
        })?;
        let tier = Tier::parse(&self.tier)
            .ok_or_else(|| ApiError::unprocessable("an alert's tier is l1, l2 or l3"))?;
        let severity = match self.severity.as_deref() {
            None => Severity::Sev3,
            Some(s) => s
                .parse()
                .map_err(|e: liveops_core::support::incident::UnknownValue| {
                    ApiError::unprocessable(e.to_string())
                })?,
        };
        Ok(AlertSpec {
            rule,
            tier,
            severity,
        })
    }
}

/// The alert to set on an insight; none removes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertPut {
    pub alert: Option<AlertBody>,
}

/// An alert with what its last check found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    pub condition: String,
    pub value: f64,
    pub tier: String,
    pub severity: String,
    /// The rule in words.
    pub rule: String,
    pub firing: bool,
    pub last_value: Option<f64>,
    pub checked_at: Option<String>,
    pub fired_at: Option<String>,
}

impl AlertView {
    pub fn new(a: &liveops_store::analytics::dashboards::AlertRow) -> AlertView {
        AlertView {
            condition: a.rule.condition().to_owned(),
            value: a.rule.value(),
            tier: a.tier.as_str().to_owned(),
            severity: a.severity.as_str().to_owned(),
            rule: a.rule.describe(),
            firing: a.firing,
            last_value: a.last_value,
            checked_at: a.checked_at.map(format_ms),
            fired_at: a.fired_at.map(format_ms),
        }
    }
}

/// A tile as asked for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TileBody {
    /// The saved insight's id or name.
    pub insight: String,
    /// Columns of three it spans: 1 (default) to 3.
    pub width: Option<i64>,
}

/// A dashboard: its name, range and filters, and its insights in order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardBody {
    pub name: String,
    /// The last this many days, for every tile.
    pub days: Option<i64>,
    /// Or from this date (YYYY-MM-DD)…
    pub from: Option<String>,
    /// …to this one, exclusive.
    pub to: Option<String>,
    /// Every tile keeps to this cohort (id or name).
    pub in_cohort: Option<String>,
    /// Property filters joined by `;`, for the tiles that take them
    /// (trends).
    #[serde(rename = "where")]
    pub filter: Option<String>,
    #[serde(default)]
    pub tiles: Vec<TileBody>,
}

fn text(v: &Option<String>) -> String {
    v.as_deref().map(str::trim).unwrap_or("").to_owned()
}

impl DashboardBody {
    pub fn frame(&self) -> Frame {
        Frame {
            days: self.days,
            from_date: text(&self.from),
            to_date: text(&self.to),
            in_cohort: text(&self.in_cohort),
            filter: text(&self.filter),
        }
    }

    pub fn tiles(&self) -> Vec<TileSpec> {
        self.tiles
            .iter()
            .map(|t| TileSpec {
                insight: t.insight.clone(),
                width: t.width.unwrap_or(1),
            })
            .collect()
    }
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// A dashboard's settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DashboardView {
    pub id: String,
    pub name: String,
    pub days: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub in_cohort: Option<String>,
    #[serde(rename = "where")]
    pub filter: Option<String>,
    pub tiles: usize,
    pub link: String,
    pub updated_at: String,
}

impl DashboardView {
    pub fn new(d: &DashboardRow, slug: &str) -> DashboardView {
        DashboardView {
            id: d.id.clone(),
            name: d.name.clone(),
            days: d.frame.days,
            from: some(&d.frame.from_date),
            to: some(&d.frame.to_date),
            in_cohort: some(&d.frame.in_cohort),
            filter: some(&d.frame.filter),
            tiles: d.tiles.len(),
            link: format!("/p/{slug}/analytics/dashboards/{}", d.id),
            updated_at: format_ms(d.updated_at),
        }
    }
}

/// One tile answered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TileView {
    pub insight: InsightView,
    pub width: i64,
    /// What the insight's kind answers, with the dashboard's range and
    /// filters laid over its request; none when it could not be answered.
    #[schema(value_type = Object)]
    pub result: Option<Value>,
    /// Why it could not be answered.
    pub error: Option<String>,
    pub computed_at: Option<String>,
    /// How old the answer is.
    pub age_secs: Option<i64>,
    /// Made before the latest data arrived (it is made again within a
    /// minute).
    pub stale: bool,
    /// The insight's headline number: the latest value of a trend (or its
    /// formula), a funnel's conversion in per cent, retention's first
    /// period in per cent, the latest DAU, the new persons of the latest
    /// lifecycle period, visitors, revenue.
    pub headline: Option<f64>,
    pub goal: Option<GoalBody>,
    /// Headline ÷ target (target ÷ headline for `<=`).
    pub attainment: Option<f64>,
    pub met: Option<bool>,
    /// The insight's alert, with what its last check found.
    pub alert: Option<AlertView>,
}

/// A dashboard with every tile answered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DashboardAnswerView {
    pub dashboard: DashboardView,
    pub tiles: Vec<TileView>,
}

/// A dashboard copied out of a project, to make again in another.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardExport {
    pub name: String,
    pub days: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub in_cohort: Option<String>,
    #[serde(rename = "where")]
    pub filter: Option<String>,
    pub tiles: Vec<ExportedTile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportedTile {
    pub width: i64,
    pub insight: ExportedInsight,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportedInsight {
    pub name: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub query: Value,
    pub goal: Option<GoalBody>,
}

impl DashboardExport {
    pub fn frame(&self) -> Frame {
        Frame {
            days: self.days,
            from_date: text(&self.from),
            to_date: text(&self.to),
            in_cohort: text(&self.in_cohort),
            filter: text(&self.filter),
        }
    }

    /// Its insights, each checked against its kind at `now`.
    pub fn carried(&self, now: i64) -> ApiResult<Vec<CarriedInsight>> {
        self.tiles
            .iter()
            .map(|t| {
                let i = &t.insight;
                let kind: InsightKind = i.kind.parse().map_err(
                    |e: liveops_core::analytics::insight::UnknownKind| {
                        ApiError::unprocessable(format!("insight `{}`: {e}", i.name))
                    },
                )?;
                answers::check(kind, &i.query, now).map_err(|e| {
                    ApiError::unprocessable(format!(
                        "insight `{}`: {}",
                        i.name,
                        e.detail().unwrap_or("")
                    ))
                })?;
                Ok(CarriedInsight {
                    name: i.name.clone(),
                    kind,
                    query: i.query.to_string(),
                    goal: i.goal.as_ref().map(GoalBody::parse).transpose()?,
                    width: t.width,
                })
            })
            .collect()
    }
}

/// The date (YYYY-MM-DD) of a time.
fn date(ms: i64) -> String {
    format_ms(ms)[..10].to_owned()
}

/// An insight's request with the dashboard's range and filters laid over
/// it: the range replaces the insight's own (for retention and lifecycle,
/// its start: they keep their periods), the cohort replaces its cohort,
/// and property filters join a trend's own.
pub fn framed(kind: InsightKind, query: &Value, frame: &Frame, now: i64) -> Value {
    let mut q = query.clone();
    let Some(o) = q.as_object_mut() else {
        return q;
    };
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    let range = match frame.days {
        Some(d) => Some((date(today - (d - 1) * DAY_MS), Some(date(today + DAY_MS)))),
        None if !frame.from_date.is_empty() => Some((
            frame.from_date.clone(),
            (!frame.to_date.is_empty()).then(|| frame.to_date.clone()),
        )),
        None => None,
    };
    if let Some((from, to)) = range {
        o.insert("from".into(), Value::String(from));
        match kind {
            InsightKind::Retention | InsightKind::Lifecycle => {}
            _ => {
                match to {
                    Some(t) => o.insert("to".into(), Value::String(t)),
                    None => o.remove("to"),
                };
            }
        }
    }
    if !frame.in_cohort.is_empty() {
        o.insert("in_cohort".into(), Value::String(frame.in_cohort.clone()));
    }
    if !frame.filter.is_empty() && kind == InsightKind::Trends {
        let own = o.get("where").and_then(Value::as_str).unwrap_or("");
        let joined = if own.trim().is_empty() {
            frame.filter.clone()
        } else {
            format!("{own};{}", frame.filter)
        };
        o.insert("where".into(), Value::String(joined));
    }
    q
}

/// An insight's headline number, from its answer (see [`TileView`]).
pub fn headline(kind: InsightKind, result: &Value) -> Option<f64> {
    let last_value = |points: &Value| {
        points
            .as_array()
            .and_then(|p| p.last())
            .and_then(|p| p["value"].as_f64())
    };
    match kind {
        InsightKind::Trends => match result.get("formula").filter(|f| !f.is_null()) {
            Some(f) => last_value(&f["lines"][0]["points"]),
            None => last_value(&result["series"][0]["lines"][0]["points"]),
        },
        InsightKind::Funnel => result["steps"]
            .as_array()
            .and_then(|s| s.last())
            .and_then(|s| s["conversion"].as_f64())
            .map(|c| c * 100.0),
        InsightKind::Retention => result["cohorts"][0]["rates"][1].as_f64().map(|r| r * 100.0),
        InsightKind::Active => first_line_last(result).and_then(|d| d["dau"].as_f64()),
        InsightKind::Lifecycle => first_line_last(result).and_then(|d| d["new"].as_f64()),
        InsightKind::Stickiness => None,
        InsightKind::Web => result["visitors"].as_f64(),
        InsightKind::Revenue => result["revenue"].as_f64(),
    }
}

/// The last row of an answer's first line: with a cohort breakdown the
/// rows come per cohort, each naming it, and the first cohort leads as a
/// trend's first line does.
fn first_line_last(result: &Value) -> Option<&Value> {
    let rows = result.as_array()?;
    let first = rows.first()?.get("cohort");
    rows.iter().take_while(|r| r.get("cohort") == first).last()
}

/// The period before's headline, where a kind has one: a trend's
/// second-to-last point (of its formula, if it has one).
pub fn previous_headline(kind: InsightKind, result: &Value) -> Option<f64> {
    let before_last = |points: &Value| {
        points.as_array().and_then(|p| {
            p.len()
                .checked_sub(2)
                .and_then(|i| p.get(i))
                .and_then(|x| x["value"].as_f64())
        })
    };
    match kind {
        InsightKind::Trends => match result.get("formula").filter(|f| !f.is_null()) {
            Some(f) => before_last(&f["lines"][0]["points"]),
            None => before_last(&result["series"][0]["lines"][0]["points"]),
        },
        _ => None,
    }
}

/// Each tile's insight, in order, from one read of the project's insights.
async fn tile_insights(
    state: &AppState,
    project_id: &str,
    d: &DashboardRow,
) -> ApiResult<Vec<liveops_store::analytics::insights::InsightRow>> {
    let all = crate::analytics::insights::list(state, project_id).await?;
    d.tiles
        .iter()
        .map(|t| {
            all.iter()
                .find(|i| i.id == t.insight_id)
                .cloned()
                .ok_or_else(|| ApiError::not_found(format!("no insight `{}`", t.insight_id)))
        })
        .collect()
}

/// Answers one question through the answer cache. A stale answer is
/// shown as it is while a background task makes it again, so a dashboard
/// that is looked at keeps up with new data without waiting for it.
async fn cached_answer(
    state: &AppState,
    project_id: &str,
    kind: InsightKind,
    query: &Value,
    version: (u64, u64),
) -> ApiResult<(Cached, bool)> {
    let now = state.now_ms();
    let key = format!("{project_id}\u{1f}{}\u{1f}{query}", kind.as_str());
    match state.answers.lookup(&key, version, now) {
        Lookup::Fresh(c) => return Ok((c, false)),
        Lookup::Stale(c) => {
            if state.answers.begin_refresh(&key) {
                let (state, project_id, query) =
                    (state.clone(), project_id.to_owned(), query.clone());
                tokio::spawn(async move {
                    let made = make_answer(&state, &project_id, kind, &query, version, &key).await;
                    if let Err(e) = made {
                        tracing::warn!(
                            error = e.detail().unwrap_or("failed"),
                            "a dashboard answer was not made again"
                        );
                    }
                    state.answers.end_refresh(&key);
                });
            }
            return Ok((c, true));
        }
        Lookup::Missing => {}
    }
    make_answer(state, project_id, kind, query, version, &key)
        .await
        .map(|c| (c, false))
}

/// Answers a question and keeps the answer as made from `version`.
async fn make_answer(
    state: &AppState,
    project_id: &str,
    kind: InsightKind,
    query: &Value,
    version: (u64, u64),
    key: &str,
) -> ApiResult<Cached> {
    let computed_at = state.now_ms();
    let value = answers::answer(state, project_id, kind, query).await?;
    let c = Cached {
        value,
        computed_at,
        version,
    };
    state.answers.keep(key.to_owned(), c.clone());
    Ok(c)
}

/// A dashboard with each tile answered. A tile that cannot be answered
/// (its cohort was deleted, say) says why; the others are still shown.
pub async fn answer(
    state: &AppState,
    slug: &str,
    project_id: &str,
    d: &DashboardRow,
) -> ApiResult<DashboardAnswerView> {
    let id = project_id.to_owned();
    let stats = crate::analytics::telemetry(state, move |a| a.stats(&id)).await?;
    let version = (stats.events as u64, stats.persons as u64);
    let now = state.now_ms();
    let saved = tile_insights(state, project_id, d).await?;
    let mut tiles = Vec::with_capacity(d.tiles.len());
    for (t, row) in d.tiles.iter().zip(&saved) {
        let query = crate::analytics::insights::query_of(row)?;
        let q = framed(row.kind, &query, &d.frame, now);
        let goal = state.db.insight_goal(&row.id).await?;
        let alert = state.db.insight_alert(&row.id).await?;
        let (result, error, computed, stale) =
            match cached_answer(state, project_id, row.kind, &q, version).await {
                Ok((c, stale)) => (Some(c.value), None, Some(c.computed_at), stale),
                Err(e) => (
                    None,
                    Some(e.detail().unwrap_or("failed").to_owned()),
                    None,
                    false,
                ),
            };
        let head = result.as_ref().and_then(|r| headline(row.kind, r));
        let reached = match (goal, head) {
            (Some(g), Some(h)) => Some(g.attainment(h)),
            _ => None,
        };
        tiles.push(TileView {
            insight: InsightView::new(row, slug),
            width: t.width,
            result,
            error,
            computed_at: computed.map(format_ms),
            age_secs: computed.map(|c| (now - c).max(0) / 1000),
            stale,
            headline: head,
            goal: goal.map(GoalBody::of),
            attainment: reached.and_then(|r| r.ratio),
            met: reached.map(|r| r.met),
            alert: alert.as_ref().map(AlertView::new),
        });
    }
    Ok(DashboardAnswerView {
        dashboard: DashboardView::new(d, slug),
        tiles,
    })
}

/// A dashboard as JSON to copy into another project.
pub async fn export(
    state: &AppState,
    project_id: &str,
    d: &DashboardRow,
) -> ApiResult<DashboardExport> {
    let saved = tile_insights(state, project_id, d).await?;
    let mut tiles = Vec::with_capacity(d.tiles.len());
    for (t, row) in d.tiles.iter().zip(&saved) {
        tiles.push(ExportedTile {
            width: t.width,
            insight: ExportedInsight {
                name: row.name.clone(),
                kind: row.kind.as_str().to_owned(),
                query: crate::analytics::insights::query_of(row)?,
                goal: state.db.insight_goal(&row.id).await?.map(GoalBody::of),
            },
        });
    }
    Ok(DashboardExport {
        name: d.name.clone(),
        days: d.frame.days,
        from: some(&d.frame.from_date),
        to: some(&d.frame.to_date),
        in_cohort: some(&d.frame.in_cohort),
        filter: some(&d.frame.filter),
        tiles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_dashboard_frame_lays_over_each_request() {
        let now = liveops_core::analytics::days_from_civil(2026, 12, 7) * DAY_MS + 3_600_000;
        let frame = Frame {
            days: Some(7),
            in_cohort: "Pro".into(),
            filter: "plan=pro".into(),
            ..Frame::default()
        };
        let t = framed(
            InsightKind::Trends,
            &json!({"series": [], "where": "a=1", "from": "2020-01-01"}),
            &frame,
            now,
        );
        assert_eq!(
            t,
            json!({"series": [], "where": "a=1;plan=pro", "from": "2026-12-01",
                   "to": "2026-12-08", "in_cohort": "Pro"})
        );
        let r = framed(
            InsightKind::Retention,
            &json!({"start_event": "x", "periods": 4}),
            &frame,
            now,
        );
        assert_eq!(
            r,
            json!({"start_event": "x", "periods": 4, "from": "2026-12-01", "in_cohort": "Pro"})
        );
        let fixed = Frame {
            from_date: "2026-11-01".into(),
            ..Frame::default()
        };
        let w = framed(InsightKind::Web, &json!({"to": "2026-11-05"}), &fixed, now);
        assert_eq!(w, json!({"from": "2026-11-01"}));
        assert_eq!(
            framed(InsightKind::Web, &json!({"top": 5}), &Frame::default(), now),
            json!({"top": 5})
        );
    }

    #[test]
    fn headlines_come_from_each_kind() {
        let trend = json!({"series": [{"lines": [{"points": [{"value": 1.0}, {"value": 4.0}]}]}], "formula": null});
        assert_eq!(headline(InsightKind::Trends, &trend), Some(4.0));
        let formula = json!({"series": [], "formula": {"lines": [{"points": [{"value": 0.5}]}]}});
        assert_eq!(headline(InsightKind::Trends, &formula), Some(0.5));
        let funnel = json!({"steps": [{"conversion": 1.0}, {"conversion": 0.35}]});
        assert!((headline(InsightKind::Funnel, &funnel).unwrap_or(0.0) - 35.0).abs() < 1e-9);
        assert_eq!(
            headline(InsightKind::Revenue, &json!({"revenue": 12.5})),
            Some(12.5)
        );
        assert_eq!(headline(InsightKind::Stickiness, &json!([])), None);
        let by_cohort = json!([
            {"cohort": "a", "dau": 1}, {"cohort": "a", "dau": 2},
            {"cohort": "b", "dau": 7}
        ]);
        assert_eq!(headline(InsightKind::Active, &by_cohort), Some(2.0));
        let whole = json!([{"dau": 3}, {"dau": 5}]);
        assert_eq!(headline(InsightKind::Active, &whole), Some(5.0));
    }
}
