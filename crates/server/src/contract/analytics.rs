//! The analytics contract: the questions asked of events (trends, active
//! users, stickiness, lifecycle, funnels, retention, features, persons),
//! their parameters and bodies, and the answers as the API shows them.

use liveops_core::TimeSpan;
use liveops_core::analytics::Interval;
use liveops_core::analytics::filter::parse_filters;
use liveops_core::analytics::funnel::{FunnelOrder, MAX_STEPS};
use liveops_core::analytics::math::{Formula, MAX_SERIES, SeriesMath};
use liveops_core::analytics::retention::{Cohort, ReturnMode};
use liveops_core::analytics::web::{Overview, Ranked};
use liveops_store::analytics::KeyFunnel;
use liveops_telemetry::analytics as q;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use crate::analytics::cohorts::CohortChoice;
use crate::analytics::trends::{SeriesSpec, TrendsAnswer, TrendsRequest};
use crate::analytics::web::MAX_TOP;
use crate::error::{ApiError, ApiResult};
use crate::state::format_ms;
use crate::timerange::{parse_when, query_range};

pub const DAY_MS: i64 = 86_400_000;

pub fn unprocessable(e: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(e.to_string())
}

/// A query's `[from, to)` as milliseconds: see [`query_range`].
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
    default_days: i64,
    max_days: i64,
    interval: Option<Interval>,
    now: i64,
) -> ApiResult<(i64, i64)> {
    query_range(from, to, default_days, max_days, interval, now).map(|r| (r.from_ms(), r.to_ms()))
}

pub fn event_list(field: &str, names: &[String]) -> ApiResult<Vec<String>> {
    names
        .iter()
        .map(|n| {
            let t = n.trim();
            if t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control) {
                Err(ApiError::unprocessable(format!(
                    "`{field}`: an event name needs 1 to 200 printable characters"
                )))
            } else {
                Ok(t.to_owned())
            }
        })
        .collect()
}

pub fn interval(s: Option<&str>, default: Interval) -> ApiResult<Interval> {
    s.map(|i| i.parse::<Interval>().map_err(unprocessable))
        .transpose()
        .map(|i| i.unwrap_or(default))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventNameView {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendsParams {
    /// One event; every event when absent.
    pub event: Option<String>,
    /// hour, day (default), week or month.
    pub interval: Option<String>,
    /// Start (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; the end of today by default.
    pub to: Option<String>,
    /// Event property filters joined by `;`: `key=value`, `key!=value`,
    /// `key~text` (contains, any case), `key!~text`, `key=~regex`,
    /// `key!=~regex`, `key>n`, `key>=n`, `key<n`, `key<=n`, `key?` (set) and
    /// `key!?` (not set). Negative ones also match events without the key.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// An event property to break down by.
    pub breakdown: Option<String>,
    /// The most breakdown values shown, by event count (25 by default, at
    /// most 300); the others are summed into one series marked `other`.
    pub breakdown_limit: Option<usize>,
    /// What each point's `value` is: `events` (default), `persons`, or an
    /// aggregate of a numeric property, `AGGREGATE:PROPERTY`, with sum,
    /// avg, min, max, median, p90, p95 or p99 (`sum:amount`).
    pub math: Option<String>,
    /// With property math: take each person's aggregate first, then this
    /// aggregate of those (`avg` gives the average of each person's sum).
    pub per_person: Option<String>,
    /// Only the persons of this cohort (its id or name).
    pub in_cohort: Option<String>,
    /// `event` (default): `breakdown` is an event property; `cohort`: it
    /// lists cohorts (ids or names, separated by commas), a line each.
    pub breakdown_type: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrendPointView {
    pub start: String,
    pub events: u64,
    /// Unique persons.
    pub persons: u64,
    /// The number the math asked for; null where no event gave a number
    /// (a sum of nothing is 0).
    pub value: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrendSeriesView {
    /// The breakdown value; null without a breakdown or when unset.
    pub value: Option<String>,
    /// This series sums every breakdown value past `breakdown_limit`.
    pub other: bool,
    pub points: Vec<TrendPointView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrendsView {
    pub interval: String,
    pub series: Vec<TrendSeriesView>,
}

/// One series of a trend.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesBody {
    /// One event; every event when absent.
    pub event: Option<String>,
    /// `events` (default), `persons`, or `AGGREGATE:PROPERTY` such as
    /// `sum:amount` (sum, avg, min, max, median, p90, p95, p99).
    pub math: Option<String>,
    /// With property math: the aggregate of each person's aggregate.
    pub per_person: Option<String>,
    /// Filters of this series only, in the `where` syntax of the trends query.
    #[serde(rename = "where")]
    pub filter: Option<String>,
}

/// Trends of several series, and a formula over them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrendsBody {
    /// The series, named A, B, … in order (1 to 26).
    pub series: Vec<SeriesBody>,
    /// Combines the series point by point: `A / B`, `(A - B) / A * 100`.
    /// A division by zero gives no value, never an infinity.
    pub formula: Option<String>,
    /// hour, day (default), week or month.
    pub interval: Option<String>,
    /// Start (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; the end of today by default.
    pub to: Option<String>,
    /// Filters every series keeps to.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// An event property to break down by, or with `breakdown_type`
    /// `cohort`, cohorts (ids or names, separated by commas).
    pub breakdown: Option<String>,
    /// `event` (default) or `cohort`.
    pub breakdown_type: Option<String>,
    /// The most breakdown values shown (25 by default, at most 300).
    pub breakdown_limit: Option<usize>,
    /// Only the persons of this cohort (its id or name).
    pub in_cohort: Option<String>,
}

impl From<TrendsParams> for TrendsBody {
    fn from(p: TrendsParams) -> TrendsBody {
        TrendsBody {
            series: vec![SeriesBody {
                event: p.event,
                math: p.math,
                per_person: p.per_person,
                filter: None,
            }],
            formula: None,
            interval: p.interval,
            from: p.from,
            to: p.to,
            filter: p.filter,
            breakdown: p.breakdown,
            breakdown_type: p.breakdown_type,
            breakdown_limit: p.breakdown_limit,
            in_cohort: p.in_cohort,
        }
    }
}

/// Parses a trends request: each series' event, math and filters, the
/// formula (checked against the number of series), the range and the
/// breakdown.
pub fn trends_request(body: &TrendsBody, now: i64) -> ApiResult<TrendsRequest> {
    let interval = interval(body.interval.as_deref(), Interval::Day)?;
    let (from_ms, to_ms) = range(
        body.from.as_deref(),
        body.to.as_deref(),
        30,
        3660,
        Some(interval),
        now,
    )?;
    if body.series.is_empty() || body.series.len() > MAX_SERIES {
        return Err(ApiError::unprocessable(format!(
            "a trend needs 1 to {MAX_SERIES} series (A to Z)"
        )));
    }
    let series = body
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = (b'A' + i as u8) as char;
            let event = s
                .event
                .as_ref()
                .filter(|e| !e.trim().is_empty())
                .map(|e| event_list("event", std::slice::from_ref(e)))
                .transpose()?
                .and_then(|v| v.into_iter().next());
            let math = SeriesMath::parse(s.math.as_deref().unwrap_or(""), s.per_person.as_deref())
                .map_err(|e| ApiError::unprocessable(format!("series {name}: {e}")))?;
            let filters = parse_filters(s.filter.as_deref().unwrap_or(""))
                .map_err(|e| ApiError::unprocessable(format!("series {name}: {e}")))?;
            Ok(SeriesSpec {
                event,
                math,
                filters,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let formula = body
        .formula
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(|f| Formula::parse(f, series.len()))
        .transpose()
        .map_err(unprocessable)?;
    Ok(TrendsRequest {
        series,
        formula,
        interval,
        from_ms,
        to_ms,
        filters: parse_filters(body.filter.as_deref().unwrap_or("")).map_err(unprocessable)?,
        breakdown: match body.breakdown_type.as_deref() {
            Some("cohort") => None,
            _ => body.breakdown.clone().filter(|b| !b.trim().is_empty()),
        },
        breakdown_limit: breakdown_limit(body.breakdown_limit)?,
        cohorts: cohort_choice(
            body.in_cohort.as_deref(),
            body.breakdown_type.as_deref(),
            body.breakdown.as_deref(),
            &["event", "cohort"],
        )?,
    })
}

/// The cohorts an insight names: the one it keeps to (`in_cohort`), and
/// with `breakdown_type` `cohort`, those `breakdown` lists, separated by
/// commas. `types` are the breakdown types the insight takes.
pub fn cohort_choice(
    in_cohort: Option<&str>,
    breakdown_type: Option<&str>,
    breakdown: Option<&str>,
    types: &[&str],
) -> ApiResult<CohortChoice> {
    let kind = breakdown_type.unwrap_or("event");
    if !types.contains(&kind) {
        return Err(ApiError::unprocessable(format!(
            "breakdown_type `{kind}` is not one of: {}",
            types.join(", ")
        )));
    }
    let breakdown: Vec<String> = if kind == "cohort" {
        breakdown
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        Vec::new()
    };
    if kind == "cohort" && breakdown.is_empty() {
        return Err(ApiError::unprocessable(
            "breakdown_type `cohort` needs the cohorts in `breakdown`, separated by commas",
        ));
    }
    Ok(CohortChoice {
        filter: in_cohort
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        breakdown,
    })
}

/// A choice of cohorts for an insight that breaks down by named cohorts
/// only (`what` names the insight in the refusal).
pub fn cohorts_only(
    what: &str,
    in_cohort: Option<&str>,
    breakdown_type: Option<&str>,
    breakdown: Option<&str>,
) -> ApiResult<CohortChoice> {
    let asked = breakdown.is_some_and(|b| !b.trim().is_empty());
    if (asked || breakdown_type.is_some()) && breakdown_type != Some("cohort") {
        return Err(ApiError::unprocessable(format!(
            "{what} breaks down by named cohorts only: breakdown_type `cohort`"
        )));
    }
    cohort_choice(in_cohort, breakdown_type, breakdown, &["event", "cohort"])
}

/// A series' lines as the API shows them.
pub fn trend_lines_view(lines: Vec<q::TrendSeries>) -> Vec<TrendSeriesView> {
    lines
        .into_iter()
        .map(|s| TrendSeriesView {
            value: s.value,
            other: s.other,
            points: s
                .points
                .into_iter()
                .map(|pt| TrendPointView {
                    start: format_ms(pt.start_ms),
                    events: pt.events,
                    persons: pt.persons,
                    value: pt.value,
                })
                .collect(),
        })
        .collect()
}

/// One series of a trends answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NamedSeriesView {
    /// A, B, … as the formula names it.
    pub name: String,
    /// The event; null for every event.
    pub event: Option<String>,
    /// The math, as read: `events`, `persons` or `sum:amount`.
    pub math: String,
    /// One line per breakdown value (one line without a breakdown).
    pub lines: Vec<TrendSeriesView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FormulaPointView {
    pub start: String,
    /// Null where the formula has no value (a division by zero).
    pub value: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FormulaLineView {
    pub value: Option<String>,
    pub other: bool,
    pub points: Vec<FormulaPointView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FormulaView {
    pub formula: String,
    pub lines: Vec<FormulaLineView>,
}

/// The answer to a trends request with several series.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrendsResultView {
    pub interval: String,
    pub series: Vec<NamedSeriesView>,
    pub formula: Option<FormulaView>,
}

impl TrendsResultView {
    pub fn new(req: &TrendsRequest, answer: TrendsAnswer) -> TrendsResultView {
        TrendsResultView {
            interval: req.interval.as_str().into(),
            series: answer
                .series
                .into_iter()
                .zip(&req.series)
                .enumerate()
                .map(|(i, (lines, spec))| NamedSeriesView {
                    name: ((b'A' + i as u8) as char).to_string(),
                    event: spec.event.clone(),
                    math: spec.math.to_string(),
                    lines: trend_lines_view(lines),
                })
                .collect(),
            formula: answer
                .formula
                .zip(req.formula.as_ref())
                .map(|(lines, f)| FormulaView {
                    formula: f.to_string(),
                    lines: lines
                        .into_iter()
                        .map(|l| FormulaLineView {
                            value: l.value,
                            other: l.other,
                            points: l
                                .points
                                .into_iter()
                                .map(|(start, value)| FormulaPointView {
                                    start: format_ms(start),
                                    value,
                                })
                                .collect(),
                        })
                        .collect(),
                }),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebParams {
    /// Start (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; the end of today by default.
    pub to: Option<String>,
    /// The most values each breakdown shows (10 by default, at most 100).
    pub top: Option<usize>,
    /// Only the page views of this cohort's persons (its id or name).
    pub in_cohort: Option<String>,
    /// `cohort` to compare named cohorts (the only breakdown here).
    pub breakdown_type: Option<String>,
    /// With `breakdown_type=cohort`: cohorts (ids or names) separated by
    /// commas, each summed on its own in `breakdown`.
    pub breakdown: Option<String>,
}

/// One value of a web breakdown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RankedView {
    pub value: String,
    /// Page views for pages; sessions for everything else.
    pub count: u64,
    pub visitors: u64,
}

/// The web overview of a range's `$pageview` events. A session is one
/// person's views sharing `$session_id`, or, without one, views less than
/// 30 minutes apart; a bounce is a session of one view; a session's
/// referrer, UTM parameters, device, browser and OS are its first view's.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebOverviewView {
    pub from: String,
    pub to: String,
    pub visitors: u64,
    pub page_views: u64,
    pub sessions: u64,
    pub views_per_session: f64,
    /// Bounces ÷ sessions, 0 to 1.
    pub bounce_rate: f64,
    pub mean_session_seconds: f64,
    pub median_session_seconds: f64,
    pub pages: Vec<RankedView>,
    pub entry_pages: Vec<RankedView>,
    pub exit_pages: Vec<RankedView>,
    /// Referring domains, with search engines and social networks named
    /// (`Google`, `Reddit`) whatever their country domain.
    pub referrers: Vec<RankedView>,
    /// direct, search, social or referral.
    pub channels: Vec<RankedView>,
    pub utm_sources: Vec<RankedView>,
    pub utm_mediums: Vec<RankedView>,
    pub utm_campaigns: Vec<RankedView>,
    pub devices: Vec<RankedView>,
    pub browsers: Vec<RankedView>,
    pub oses: Vec<RankedView>,
    /// From `$geoip_country_name` (or `_code`), which ingest sets when a
    /// GeoIP database is configured; `(none)` for views without one.
    pub countries: Vec<RankedView>,
    /// Whether this server has a GeoIP database (`geoip_database`).
    /// Without one, countries come only from events that carried them.
    pub geoip_database: bool,
    /// With a cohort breakdown: the headline figures of each cohort's
    /// persons' views (within `in_cohort`, if set), in the order asked.
    #[serde(default)]
    pub breakdown: Vec<WebCohortView>,
}

/// The web overview's headline figures for one cohort.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebCohortView {
    /// The cohort's name.
    pub value: String,
    pub visitors: u64,
    pub page_views: u64,
    pub sessions: u64,
    pub views_per_session: f64,
    pub bounce_rate: f64,
    pub mean_session_seconds: f64,
    pub median_session_seconds: f64,
}

impl WebCohortView {
    pub fn new(value: String, o: &Overview) -> WebCohortView {
        WebCohortView {
            value,
            visitors: o.visitors,
            page_views: o.page_views,
            sessions: o.sessions,
            views_per_session: o.views_per_session,
            bounce_rate: o.bounce_rate,
            mean_session_seconds: o.mean_session_ms / 1000.0,
            median_session_seconds: o.median_session_ms / 1000.0,
        }
    }
}

impl WebOverviewView {
    pub fn new(from_ms: i64, to_ms: i64, o: Overview, geoip_database: bool) -> WebOverviewView {
        let ranked = |r: Vec<Ranked>| {
            r.into_iter()
                .map(|r| RankedView {
                    value: r.value,
                    count: r.count,
                    visitors: r.visitors,
                })
                .collect()
        };
        WebOverviewView {
            from: format_ms(from_ms),
            to: format_ms(to_ms),
            visitors: o.visitors,
            page_views: o.page_views,
            sessions: o.sessions,
            views_per_session: o.views_per_session,
            bounce_rate: o.bounce_rate,
            mean_session_seconds: o.mean_session_ms / 1000.0,
            median_session_seconds: o.median_session_ms / 1000.0,
            pages: ranked(o.pages),
            entry_pages: ranked(o.entry_pages),
            exit_pages: ranked(o.exit_pages),
            referrers: ranked(o.referrers),
            channels: ranked(o.channels),
            utm_sources: ranked(o.utm_sources),
            utm_mediums: ranked(o.utm_mediums),
            utm_campaigns: ranked(o.utm_campaigns),
            devices: ranked(o.devices),
            browsers: ranked(o.browsers),
            oses: ranked(o.oses),
            countries: ranked(o.countries),
            geoip_database,
            breakdown: Vec::new(),
        }
    }
}

/// How many values a web breakdown shows, as asked for.
pub fn web_top(asked: Option<usize>) -> ApiResult<usize> {
    match asked {
        None => Ok(10),
        Some(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::unprocessable(format!(
            "top must be between 1 and {MAX_TOP}"
        ))),
    }
}

/// A breakdown limit as asked for, or the default.
pub fn breakdown_limit(asked: Option<usize>) -> ApiResult<usize> {
    match asked {
        None => Ok(q::DEFAULT_BREAKDOWN_LIMIT),
        Some(n) if (1..=q::MAX_BREAKDOWN_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::unprocessable(format!(
            "breakdown_limit must be between 1 and {}",
            q::MAX_BREAKDOWN_LIMIT
        ))),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActiveParams {
    /// Count only people who did this event; any event when absent.
    pub event: Option<String>,
    /// First day; 30 days before `to` by default.
    pub from: Option<String>,
    /// Day after the last; tomorrow by default.
    pub to: Option<String>,
    /// Only the persons of this cohort (its id or name).
    pub in_cohort: Option<String>,
    /// `cohort` to compare named cohorts (the only breakdown here).
    pub breakdown_type: Option<String>,
    /// With `breakdown_type=cohort`: cohorts (ids or names) separated by
    /// commas; the rows then come per cohort, each naming it in `cohort`.
    pub breakdown: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActiveDayView {
    /// With a cohort breakdown, the cohort this row counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    pub date: String,
    pub dau: u64,
    /// Distinct people over the 7 days ending this day.
    pub wau: u64,
    /// Distinct people over the 30 days ending this day.
    pub mau: u64,
}

pub fn day_range(p: &ActiveParams, now: i64) -> ApiResult<(i64, usize, Vec<String>)> {
    let (from, to) = range(
        p.from.as_deref(),
        p.to.as_deref(),
        30,
        400,
        Some(Interval::Day),
        now,
    )?;
    let first = from.div_euclid(DAY_MS);
    let days = (to - 1).div_euclid(DAY_MS) - first + 1;
    let events = match &p.event {
        Some(e) => event_list("event", std::slice::from_ref(e))?,
        None => Vec::new(),
    };
    Ok((first, days as usize, events))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StickinessView {
    /// With a cohort breakdown, the cohort this row counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    /// Days active in the range.
    pub days: u64,
    pub persons: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LifecycleParams {
    pub event: Option<String>,
    /// day, week (default) or month.
    pub interval: Option<String>,
    /// Start of the first interval; 8 intervals ago by default.
    pub from: Option<String>,
    /// Intervals, 1 to 120; 8 by default.
    pub periods: Option<usize>,
    /// Only the persons of this cohort (its id or name).
    pub in_cohort: Option<String>,
    /// `cohort` to compare named cohorts (the only breakdown here).
    pub breakdown_type: Option<String>,
    /// With `breakdown_type=cohort`: cohorts (ids or names) separated by
    /// commas; the rows then come per cohort, each naming it in `cohort`.
    pub breakdown: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LifecycleView {
    /// With a cohort breakdown, the cohort this row counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    pub start: String,
    pub new: u64,
    pub returning: u64,
    pub resurrecting: u64,
    /// Active the interval before, not this one (shown negative in charts).
    pub dormant: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusionBody {
    pub event: String,
    /// The step (1-based) after which the event excludes.
    pub after_step: usize,
    /// The step (1-based) before which it excludes.
    pub before_step: usize,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FunnelBody {
    /// Each step is one event name, or several separated by `|` (any of them).
    pub steps: Vec<String>,
    /// Conversion window, like `14d` (default), `1h` or `2w`.
    pub window: Option<String>,
    /// ordered (default), strict or unordered.
    pub order: Option<String>,
    #[serde(default)]
    pub exclusions: Vec<ExclusionBody>,
    /// Start (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; the end of today by default.
    pub to: Option<String>,
    /// A property to break down by.
    pub breakdown: Option<String>,
    /// `event` (default): the property as the person's step-1 event carried
    /// it; `person`: the person property as it is now; `cohort`:
    /// `breakdown` lists cohorts (ids or names, separated by commas).
    pub breakdown_type: Option<String>,
    /// Only the persons of this cohort (its id or name).
    pub in_cohort: Option<String>,
    /// List who dropped off after this step (1-based) and what they did next.
    pub dropoff_after: Option<usize>,
    /// Also give the revenue of the persons who converted, in the range,
    /// and per converted person.
    #[serde(default)]
    pub revenue: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FunnelStepView {
    pub step: usize,
    pub event: String,
    pub persons: u64,
    /// Share of step 1, 0 to 1.
    pub conversion: f64,
    /// Share of the step before.
    pub from_previous: f64,
    pub dropoff: f64,
    /// Time from the step before, in seconds.
    pub median_secs: Option<f64>,
    pub mean_secs: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FunnelBreakdownView {
    pub value: String,
    pub steps: Vec<FunnelStepView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NextEventView {
    pub event: String,
    pub persons: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DropOffView {
    pub after_step: usize,
    pub persons: u64,
    /// Up to 100 of them, by a distinct id.
    pub sample: Vec<String>,
    /// What they did next, most common first.
    pub next_events: Vec<NextEventView>,
    /// Their next few events (repeats in a row counted once), most common
    /// first; an empty list means they did nothing more.
    pub paths: Vec<DropOffPathView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DropOffPathView {
    pub events: Vec<String>,
    pub persons: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FunnelView {
    pub steps: Vec<FunnelStepView>,
    pub breakdown: Vec<FunnelBreakdownView>,
    pub dropoff: Option<DropOffView>,
    /// People removed by exclusion steps.
    pub excluded: u64,
    /// Asked for with `revenue`: what the converted persons paid in the
    /// range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<FunnelRevenueView>,
}

/// The revenue of a funnel's converted persons over its range, in the base
/// currency (see the revenue API for what counts).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FunnelRevenueView {
    pub currency: String,
    pub revenue: f64,
    pub converted: u64,
    /// Revenue ÷ converted persons, when anyone converted.
    pub per_converted: Option<f64>,
    /// Their payments left out for want of a rate.
    pub unconverted_payments: u64,
}

pub fn step_views(steps: Vec<q::FunnelStep>) -> Vec<FunnelStepView> {
    steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| FunnelStepView {
            step: i + 1,
            event: s.label,
            persons: s.count,
            conversion: s.conversion,
            from_previous: s.from_previous,
            dropoff: s.dropoff,
            median_secs: s.median_ms.map(|m| m as f64 / 1000.0),
            mean_secs: s.mean_ms.map(|m| m / 1000.0),
        })
        .collect()
}

/// A funnel's steps: event names, `a|b` for either.
pub fn funnel_steps(steps: &[String]) -> ApiResult<Vec<Vec<String>>> {
    steps
        .iter()
        .map(|s| {
            let names: Vec<String> = s.split('|').map(str::to_owned).collect();
            event_list("steps", &names)
        })
        .collect()
}

/// How long a person has to finish a funnel; 14 days by default.
pub fn funnel_window(window: Option<&str>) -> ApiResult<TimeSpan> {
    window.unwrap_or("14d").parse().map_err(unprocessable)
}

/// Parses a funnel request into a query.
pub fn funnel_query(body: &FunnelBody, now: i64) -> ApiResult<q::FunnelQuery> {
    if body.steps.is_empty() || body.steps.len() > MAX_STEPS {
        return Err(ApiError::unprocessable(format!(
            "a funnel needs 1 to {MAX_STEPS} steps"
        )));
    }
    let steps = funnel_steps(&body.steps)?;
    let window = funnel_window(body.window.as_deref())?;
    let order: FunnelOrder = body
        .order
        .as_deref()
        .unwrap_or("ordered")
        .parse()
        .map_err(unprocessable)?;
    let n = steps.len();
    let exclusions = body
        .exclusions
        .iter()
        .map(|x| {
            if x.after_step < 1 || x.before_step <= x.after_step || x.before_step > n {
                return Err(ApiError::unprocessable(format!(
                    "an exclusion sits between two steps: 1 ≤ after_step < before_step ≤ {n}"
                )));
            }
            Ok((
                event_list("exclusions", std::slice::from_ref(&x.event))?,
                x.after_step - 1,
                x.before_step - 1,
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    if let Some(d) = body.dropoff_after
        && (d < 1 || d >= n)
    {
        return Err(ApiError::unprocessable(format!(
            "dropoff_after names a step from 1 to {}",
            n.saturating_sub(1)
        )));
    }
    let (from_ms, to_ms) = range(
        body.from.as_deref(),
        body.to.as_deref(),
        30,
        3660,
        None,
        now,
    )?;
    let key = body
        .breakdown
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned);
    let breakdown = match (body.breakdown_type.as_deref().unwrap_or("event"), key) {
        (_, None) | ("cohort", _) => None,
        ("event", Some(k)) => Some(q::FunnelBreakdown::Event(k)),
        ("person", Some(k)) => Some(q::FunnelBreakdown::Person(k)),
        (other, _) => {
            return Err(ApiError::unprocessable(format!(
                "breakdown_type `{other}` is not one of: event, person, cohort"
            )));
        }
    };
    Ok(q::FunnelQuery {
        persons: None,
        steps,
        window_ms: window.millis(),
        order,
        exclusions,
        from_ms,
        to_ms,
        breakdown,
        dropoff_after: body.dropoff_after,
        converted: body.revenue,
    })
}

/// The cohorts a funnel names.
pub fn funnel_cohorts(body: &FunnelBody) -> ApiResult<CohortChoice> {
    cohort_choice(
        body.in_cohort.as_deref(),
        body.breakdown_type.as_deref(),
        body.breakdown.as_deref(),
        &["event", "person", "cohort"],
    )
}

pub fn funnel_view(
    a: q::FunnelAnswer,
    revenue: Option<crate::analytics::funnels::FunnelRevenue>,
) -> FunnelView {
    FunnelView {
        revenue: revenue.map(|r| FunnelRevenueView {
            currency: r.currency,
            revenue: r.revenue,
            converted: r.converted,
            per_converted: r.per_converted,
            unconverted_payments: r.unconverted,
        }),
        steps: step_views(a.steps),
        breakdown: a
            .breakdown
            .into_iter()
            .map(|(value, steps)| FunnelBreakdownView {
                value,
                steps: step_views(steps),
            })
            .collect(),
        dropoff: a.dropoff.map(|d| DropOffView {
            after_step: d.after_step,
            persons: d.total,
            sample: d.persons,
            next_events: d
                .next_events
                .into_iter()
                .map(|(event, persons)| NextEventView { event, persons })
                .collect(),
            paths: d
                .paths
                .into_iter()
                .map(|(events, persons)| DropOffPathView { events, persons })
                .collect(),
        }),
        excluded: a.excluded,
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
    /// The event that puts a person in a cohort.
    pub start_event: String,
    /// The event that counts as coming back; the start event by default.
    pub return_event: Option<String>,
    /// day, week (default) or month.
    pub interval: Option<String>,
    /// The first cohort (date or RFC 3339); `periods` intervals ago by default.
    pub from: Option<String>,
    /// Cohorts and periods, 1 to 64; 8 by default.
    pub periods: Option<usize>,
    /// first_time (default) or recurring.
    pub cohort: Option<String>,
    /// on (default) or on_or_after.
    pub mode: Option<String>,
    /// Only the persons of this cohort (a named cohort's id or name).
    pub in_cohort: Option<String>,
    /// `cohort` to break down by named cohorts, listed in `breakdown`.
    pub breakdown_type: Option<String>,
    /// Named cohorts (ids or names) separated by commas.
    pub breakdown: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CohortView {
    pub start: String,
    pub size: u64,
    /// People back in period 0, 1, …; the first is the cohort's size.
    pub counts: Vec<u64>,
    /// The same as shares of the cohort.
    pub rates: Vec<f64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetentionView {
    pub interval: String,
    pub cohorts: Vec<CohortView>,
    /// With a breakdown by named cohorts: the same table for each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakdown: Vec<RetentionLineView>,
}

/// Retention of one named cohort's persons.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetentionLineView {
    /// The named cohort.
    pub value: String,
    pub cohorts: Vec<CohortView>,
}

pub fn retention_query(body: &RetentionBody, now: i64) -> ApiResult<q::RetentionQuery> {
    let interval = interval(body.interval.as_deref(), Interval::Week)?;
    if interval == Interval::Hour {
        return Err(ApiError::unprocessable(
            "retention works per day, week or month",
        ));
    }
    let periods = body.periods.unwrap_or(8);
    if !(1..=64).contains(&periods) {
        return Err(ApiError::unprocessable("periods must be 1 to 64"));
    }
    let start = event_list("start_event", std::slice::from_ref(&body.start_event))?;
    let returning = match &body.return_event {
        Some(r) => event_list("return_event", std::slice::from_ref(r))?,
        None => start.clone(),
    };
    let from_ms = match &body.from {
        Some(f) => parse_when("from", f)?,
        None => interval.bucket_start(interval.bucket(now) - periods as i64 + 1),
    };
    Ok(q::RetentionQuery {
        persons: None,
        start,
        returning,
        interval,
        from_ms,
        periods,
        cohort: body
            .cohort
            .as_deref()
            .unwrap_or("first_time")
            .parse::<Cohort>()
            .map_err(unprocessable)?,
        mode: body
            .mode
            .as_deref()
            .unwrap_or("on")
            .parse::<ReturnMode>()
            .map_err(unprocessable)?,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureBody {
    pub name: String,
    /// The events that mean someone used it.
    pub events: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureView {
    pub name: String,
    pub events: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FeatureUseView {
    pub name: String,
    pub users: u64,
    /// Share of the range's active people who used it, 0 to 1.
    pub adoption: f64,
    pub events: u64,
    /// Uses per user.
    pub per_user: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FeatureUsageView {
    pub from: String,
    pub to: String,
    pub active_users: u64,
    /// Most used first.
    pub features: Vec<FeatureUseView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonView {
    pub id: String,
    pub distinct_ids: Vec<String>,
    /// The person's properties.
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    pub created_at: String,
}

pub fn person_view(p: q::PersonView) -> PersonView {
    PersonView {
        id: p.id,
        distinct_ids: p.distinct_ids,
        properties: serde_json::from_str(&p.properties).unwrap_or_default(),
        created_at: format_ms(p.created_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonsParams {
    /// Part of a distinct id, or a person id.
    pub search: Option<String>,
    /// 1 to 500; 100 by default.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub uuid: String,
    pub event: String,
    pub distinct_id: String,
    pub timestamp: String,
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonDetail {
    pub person: PersonView,
    /// The latest 100 events, newest first.
    pub events: Vec<EventView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeletedPerson {
    pub events_deleted: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsSettings {
    /// Days of events to keep; null keeps them all.
    pub retention_days: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyFunnelBody {
    pub name: String,
    /// Event names in order; `a|b` means either.
    pub steps: Vec<String>,
    /// How long a person has to finish (`14d` by default).
    pub window: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyFunnelView {
    pub name: String,
    pub steps: Vec<String>,
    pub window_secs: i64,
    pub created_at: String,
}

pub fn key_funnel_view(f: KeyFunnel) -> KeyFunnelView {
    KeyFunnelView {
        name: f.name,
        steps: f.steps.iter().map(|s| s.join("|")).collect(),
        window_secs: f.window_ms / 1000,
        created_at: format_ms(f.created_at),
    }
}

/// Feature usage over `[from, to)` as the API shows it.
pub fn feature_usage_view(from: i64, to: i64, report: q::FeatureReport) -> FeatureUsageView {
    FeatureUsageView {
        from: format_ms(from),
        to: format_ms(to),
        active_users: report.active_users,
        features: report
            .features
            .into_iter()
            .map(|f| FeatureUseView {
                name: f.name,
                users: f.users,
                adoption: f.adoption,
                events: f.events,
                per_user: f.per_user,
            })
            .collect(),
    }
}
