//! Capacity planning: a service metric's history read from telemetry,
//! forecast 30, 60 and 90 days ahead with the core's exponential smoothing,
//! and read against the capacity configured for it, with the replicas the
//! Kubernetes HPA formula calls for. The API, the CLI and the UI share it.
//!
//! # Where the history comes from
//!
//! `requests` is the request rate per second from the span rollups; every
//! other metric name is an OTLP metric: the mean per bucket (a cumulative
//! sum's rate per second) on each host, summed over the service's hosts so
//! that the series is the service's total load.
//!
//! # Gaps
//!
//! A bucket without requests is a rate of 0. A metric bucket a host did not
//! report in, between two it did, is linearly interpolated from them: load
//! moves smoothly, so a straight line is closer than carrying the last value
//! forward through a trend. A host adds nothing before its first report or
//! after its last (it was not running, or scaled away); a bucket no host
//! covers at all is interpolated from the totals around it. The series starts
//! at the first bucket with data and, for metrics, ends at the last one.
//!
//! # Steps and seasons
//!
//! With at least 14 days of history the series has daily steps and a weekly
//! season (7 steps); with less, hourly steps and a daily season (24 steps).
//! Either way at least 8 days are needed: a 30-day forecast from a week of
//! data says little.

pub mod retention;

use std::collections::BTreeMap;

use liveops_core::scaling::{self, ForecastError, ForecastPoint, Model, Series, StepTime};
use liveops_store::scaling::Capacity;
use liveops_telemetry::performance::{MetricLine, Performance, RouteQuery};

use crate::contract::scaling::{
    BacktestView, BandView, CapacityForecast, CapacityView, HorizonValue, HorizonView,
    MetricSummary, ModelView, PointView, ServiceCapacity, Step,
};
use crate::state::{AppState, format_ms};

crate::area_error!(
    /// What went wrong in scaling.
    ScalingError
);

pub type Result<T, E = ScalingError> = std::result::Result<T, E>;

/// The request rate from spans, per second.
pub const REQUESTS: &str = "requests";

/// CPU metrics forecast without being asked for, when a service reports them.
pub const CPU_METRICS: [&str; 4] = [
    "process.cpu.utilization",
    "system.cpu.utilization",
    "container.cpu.utilization",
    "k8s.pod.cpu.utilization",
];

/// Memory metrics forecast without being asked for, when a service reports
/// them.
pub const MEMORY_METRICS: [&str; 3] = [
    "process.memory.usage",
    "container.memory.usage",
    "k8s.pod.memory.usage",
];

/// How far back a forecast reads by default.
pub const DEFAULT_HISTORY_DAYS: i64 = 56;
/// The least history a forecast is made from.
pub const MIN_HISTORY_DAYS: i64 = 8;
/// The most history a forecast reads.
pub const MAX_HISTORY_DAYS: i64 = 730;
/// How far ahead forecasts look, in days.
pub const HORIZON_DAYS: [i64; 3] = [30, 60, 90];
/// The history that daily steps with a weekly season need (two seasons).
const SEASONAL_DAYS: usize = 14;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const NS_PER_MS: i64 = 1_000_000;
/// The span rollups answer at most this many buckets per query.
const MAX_BUCKETS: i64 = 2000;
/// The most history hourly steps can cover: the span rollups answer at most
/// 2000 buckets a query.
pub const MAX_HOURLY_DAYS: i64 = MAX_BUCKETS / 24;

impl Step {
    /// `day` or `hour` (also `d`, `1d`, `daily`, and the same for hours).
    pub fn parse(s: &str) -> Option<Step> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "d" | "1d" | "daily" => Some(Step::Day),
            "hour" | "h" | "1h" | "hourly" => Some(Step::Hour),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Day => "day",
            Step::Hour => "hour",
        }
    }

    pub fn millis(self) -> i64 {
        match self {
            Step::Day => DAY_MS,
            Step::Hour => HOUR_MS,
        }
    }

    /// The season the model looks for: a week of days, a day of hours.
    pub fn season(self) -> usize {
        match self {
            Step::Day => 7,
            Step::Hour => 24,
        }
    }
}

impl BandView {
    fn of(p: &ForecastPoint) -> BandView {
        BandView {
            at: format_ms(p.at_ms),
            value: p.value,
            lo80: p.lo80,
            hi80: p.hi80,
            lo95: p.lo95,
            hi95: p.hi95,
            at_ms: p.at_ms,
        }
    }
}

impl MetricSummary {
    fn of(metric: &str, f: &Result<CapacityForecast>) -> MetricSummary {
        match f {
            Ok(f) => MetricSummary {
                metric: metric.to_owned(),
                unit: Some(f.unit.clone()),
                latest: Some(f.latest),
                model: Some(f.model.description.clone()),
                horizons: f
                    .horizons
                    .iter()
                    .map(|h| HorizonValue {
                        days: h.days,
                        value: h.value,
                    })
                    .collect(),
                capacity: f.capacity.as_ref().map(|c| c.capacity),
                crossing: f.capacity.as_ref().and_then(|c| c.crossing.clone()),
                earliest_crossing: f
                    .capacity
                    .as_ref()
                    .and_then(|c| c.earliest_crossing.clone()),
                replicas_90d: f.horizons.last().and_then(|h| h.replicas),
                mape: f.backtest.as_ref().and_then(|b| b.mape),
                problem: None,
            },
            Err(e) => MetricSummary {
                metric: metric.to_owned(),
                unit: None,
                latest: None,
                model: None,
                horizons: Vec::new(),
                capacity: None,
                crossing: None,
                earliest_crossing: None,
                replicas_90d: None,
                mape: None,
                problem: Some(e.to_string()),
            },
        }
    }
}

/// A name for a service or metric: 1 to 200 printable characters.
pub fn check_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ScalingError::invalid(format!(
            "`{what}` needs 1 to 200 printable characters"
        )));
    }
    Ok(())
}

/// The observed series of one service metric.
#[derive(Debug, Clone, PartialEq)]
struct History {
    start_ms: i64,
    step: Step,
    values: Vec<f64>,
    filled: usize,
}

impl History {
    fn end_ms(&self) -> i64 {
        self.start_ms + self.values.len() as i64 * self.step.millis()
    }

    fn days(&self) -> i64 {
        self.values.len() as i64 * self.step.millis() / DAY_MS
    }
}

/// The request rate of `service` in buckets of `step` over `[from_ms,
/// to_ms)`, from the first whole bucket after its first request: a bucket
/// the traffic began in part-way would read low.
fn request_history(
    p: &dyn Performance,
    project: &str,
    service: &str,
    from_ms: i64,
    to_ms: i64,
    step: Step,
) -> Result<Option<History>, liveops_telemetry::TelemetryError> {
    let Some(first_ns) = p
        .releases(project)?
        .into_iter()
        .filter(|(k, _)| k.service == service)
        .map(|(_, at)| at)
        .min()
    else {
        return Ok(None);
    };
    let q = RouteQuery {
        from_ns: from_ms.saturating_mul(NS_PER_MS),
        to_ns: to_ms.saturating_mul(NS_PER_MS),
        service: Some(service.to_owned()),
        version: None,
        route: None,
    };
    let rows = p.series(project, &q, step.millis() * NS_PER_MS)?;
    let Some(skip) = rows.iter().position(|(at, _)| *at >= first_ns) else {
        return Ok(None);
    };
    let secs = step.millis() as f64 / 1000.0;
    let Some(start_ms) = rows.get(skip).map(|(at, _)| at / NS_PER_MS) else {
        return Ok(None);
    };
    Ok(Some(History {
        start_ms,
        step,
        values: rows[skip..]
            .iter()
            .map(|(_, s)| s.requests as f64 / secs)
            .collect(),
        filled: 0,
    }))
}

/// Fills the interior gaps of `values` on straight lines between their
/// neighbours; leading and trailing gaps stay. Each filled value is marked.
fn interpolate(values: &[Option<f64>]) -> Vec<Option<(f64, bool)>> {
    let mut out: Vec<Option<(f64, bool)>> = values.iter().map(|v| v.map(|x| (x, false))).collect();
    let mut last: Option<(usize, f64)> = None;
    for (i, v) in values.iter().enumerate() {
        let Some(v) = *v else { continue };
        if let Some((j, before)) = last
            && i > j + 1
        {
            let span = (i - j) as f64;
            for (k, slot) in out.iter_mut().enumerate().take(i).skip(j + 1) {
                let share = (k - j) as f64 / span;
                *slot = Some((before + (v - before) * share, true));
            }
        }
        last = Some((i, v));
    }
    out
}

/// The total over hosts of `lines` in `buckets` buckets of `step` from
/// `from_ms`, gaps filled as the module docs say; `None` without data.
fn total_of(lines: &[MetricLine], from_ms: i64, buckets: usize, step: Step) -> Option<History> {
    let mut total: Vec<Option<f64>> = vec![None; buckets];
    let mut filled = vec![false; buckets];
    for line in lines {
        let mut own: Vec<Option<f64>> = vec![None; buckets];
        for &(at_ns, v) in &line.points {
            let offset = at_ns / NS_PER_MS - from_ms;
            if offset < 0 || !v.is_finite() {
                continue;
            }
            if let Some(slot) = usize::try_from(offset / step.millis())
                .ok()
                .and_then(|b| own.get_mut(b))
            {
                *slot = Some(v);
            }
        }
        for (i, v) in interpolate(&own).into_iter().enumerate() {
            if let Some((v, gap)) = v {
                total[i] = Some(total[i].unwrap_or(0.0) + v);
                filled[i] |= gap;
            }
        }
    }
    let first = total.iter().position(Option::is_some)?;
    let last = total.iter().rposition(Option::is_some)?;
    let mut values = Vec::with_capacity(last + 1 - first);
    let mut count = 0;
    for (i, v) in interpolate(&total[first..=last]).into_iter().enumerate() {
        let (v, gap) = v?;
        values.push(v);
        count += usize::from(gap || filled[first + i]);
    }
    Some(History {
        start_ms: from_ms + first as i64 * step.millis(),
        step,
        values,
        filled: count,
    })
}

/// Reads one service metric's history in buckets of `step` over `[from_ms,
/// to_ms)` (a whole number of steps); `None` without data. The unit comes
/// with it.
async fn load_history(
    state: &AppState,
    project_id: &str,
    service: &str,
    metric: &str,
    from_ms: i64,
    to_ms: i64,
    step: Step,
) -> Result<Option<(History, String)>> {
    let t = state.telemetry.clone();
    let (id, svc, name) = (project_id.to_owned(), service.to_owned(), metric.to_owned());
    tokio::task::spawn_blocking(move || {
        let p = t.performance();
        if name == REQUESTS {
            return Ok(
                request_history(p, &id, &svc, from_ms, to_ms, step)?.map(|h| (h, "1/s".to_owned()))
            );
        }
        let lines = p.metric_series(
            &id,
            &name,
            Some(&svc),
            from_ms.saturating_mul(NS_PER_MS),
            to_ms.saturating_mul(NS_PER_MS),
            step.millis() * NS_PER_MS,
        )?;
        let buckets = usize::try_from((to_ms - from_ms) / step.millis()).unwrap_or(0);
        let Some(history) = total_of(&lines, from_ms, buckets, step) else {
            return Ok(None);
        };
        let unit = p
            .metric_names(&id)?
            .into_iter()
            .find(|m| m.name == name)
            .map(|m| m.unit)
            .unwrap_or_default();
        Ok(Some((history, unit)))
    })
    .await
    .map_err(ScalingError::internal)?
    .map_err(|e: liveops_telemetry::TelemetryError| ScalingError::internal(e))
}

/// Every service with load data and the metrics it has: `requests` for
/// services that sent requests, the well-known CPU and memory metrics each
/// reports, and every metric with a configured capacity.
pub async fn catalogue(state: &AppState, project_id: &str) -> Result<Vec<(String, Vec<String>)>> {
    let to_ns = state.now_ms().saturating_mul(NS_PER_MS);
    let from_ns = to_ns - MAX_HISTORY_DAYS * DAY_MS * NS_PER_MS;
    let t = state.telemetry.clone();
    let id = project_id.to_owned();
    let found = tokio::task::spawn_blocking(move || {
        let p = t.performance();
        let mut found: Vec<(String, String)> = p
            .services(&id)?
            .into_iter()
            .map(|s| (s, REQUESTS.to_owned()))
            .collect();
        let known = p.metric_names(&id)?;
        for name in CPU_METRICS.iter().chain(MEMORY_METRICS.iter()) {
            if !known.iter().any(|m| m.name == *name) {
                continue;
            }
            for line in p.metric_series(&id, name, None, from_ns, to_ns, to_ns - from_ns)? {
                found.push((line.service, (*name).to_owned()));
            }
        }
        Ok::<_, liveops_telemetry::TelemetryError>(found)
    })
    .await
    .map_err(ScalingError::internal)??;
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let configured = state.db.capacities(project_id).await?;
    for (service, metric) in found
        .into_iter()
        .chain(configured.into_iter().map(|c| (c.service, c.metric)))
    {
        by.entry(service).or_default().push(metric);
    }
    Ok(by
        .into_iter()
        .map(|(service, mut metrics)| {
            metrics.sort_by(|a, b| (a != REQUESTS, a).cmp(&(b != REQUESTS, b)));
            metrics.dedup();
            (service, metrics)
        })
        .collect())
}

/// What a forecast is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    pub history_days: i64,
    /// Daily or hourly; chosen from the history when absent.
    pub step: Option<Step>,
}

impl Default for Ask {
    fn default() -> Ask {
        Ask {
            history_days: DEFAULT_HISTORY_DAYS,
            step: None,
        }
    }
}

impl Ask {
    fn check(&self) -> Result<()> {
        if !(MIN_HISTORY_DAYS..=MAX_HISTORY_DAYS).contains(&self.history_days) {
            return Err(ScalingError::invalid(format!(
                "`history` must be {MIN_HISTORY_DAYS} to {MAX_HISTORY_DAYS} days, not {}",
                self.history_days
            )));
        }
        if self.step == Some(Step::Hour) && self.history_days > MAX_HOURLY_DAYS {
            return Err(ScalingError::invalid(format!(
                "hourly steps reach back at most {MAX_HOURLY_DAYS} days; ask for less history or daily steps"
            )));
        }
        Ok(())
    }
}

/// The forecast of one service metric. No data answers 404; too little
/// history, 422.
pub async fn forecast(
    state: &AppState,
    project_id: &str,
    service: &str,
    metric: &str,
    ask: Ask,
) -> Result<CapacityForecast> {
    check_name("service", service)?;
    check_name("metric", metric)?;
    ask.check()?;
    let capacity = state
        .db
        .capacities(project_id)
        .await?
        .into_iter()
        .find(|c| c.service == service && c.metric == metric);
    match forecast_with(state, project_id, service, metric, ask, capacity).await? {
        Some(f) => Ok(f),
        None => {
            let all = catalogue(state, project_id).await?;
            Err(match all.iter().find(|(s, _)| s == service) {
                Some((_, metrics)) => {
                    // A metric with only a capacity configured is listed
                    // too; the one asked for is not worth naming again.
                    let others: Vec<String> = metrics
                        .iter()
                        .filter(|m| *m != metric)
                        .map(|m| format!("`{m}`"))
                        .collect();
                    let days = ask.history_days;
                    ScalingError::not_found(if others.is_empty() {
                        format!("no `{metric}` data for {service} in the last {days} days")
                    } else {
                        format!(
                            "no `{metric}` data for {service} in the last {days} days; try {}",
                            others.join(", ")
                        )
                    })
                }
                None => ScalingError::not_found(format!(
                    "no service `{service}` has sent requests or load metrics"
                )),
            })
        }
    }
}

/// Every service's metrics (see [`catalogue`]), each forecast, or the
/// problem that kept it from one.
pub async fn forecasts(
    state: &AppState,
    project_id: &str,
    ask: Ask,
) -> Result<Vec<(String, Vec<(String, Result<CapacityForecast>)>)>> {
    ask.check()?;
    let capacities = state.db.capacities(project_id).await?;
    let mut out = Vec::new();
    for (service, metrics) in catalogue(state, project_id).await? {
        let mut done = Vec::with_capacity(metrics.len());
        for metric in metrics {
            let capacity = capacities
                .iter()
                .find(|c| c.service == service && c.metric == metric)
                .cloned();
            let f = match forecast_with(state, project_id, &service, &metric, ask, capacity).await {
                Ok(Some(f)) => Ok(f),
                Ok(None) => Err(ScalingError::not_found(format!(
                    "no data in the last {} days",
                    ask.history_days
                ))),
                Err(e) if !e.is_client_error() => return Err(e),
                Err(e) => Err(e),
            };
            done.push((metric, f));
        }
        out.push((service, done));
    }
    Ok(out)
}

/// Every service's metrics in brief.
pub async fn summary(state: &AppState, project_id: &str) -> Result<Vec<ServiceCapacity>> {
    Ok(forecasts(state, project_id, Ask::default())
        .await?
        .into_iter()
        .map(|(service, metrics)| ServiceCapacity {
            service,
            metrics: metrics
                .iter()
                .map(|(m, f)| MetricSummary::of(m, f))
                .collect(),
        })
        .collect())
}

/// The steps from the end of the history to `at_ms`, at least one.
fn steps_until(end_ms: i64, at_ms: i64, step_ms: i64) -> usize {
    let ahead = (at_ms - end_ms).max(step_ms);
    usize::try_from((ahead + step_ms - 1) / step_ms).unwrap_or(1)
}

async fn forecast_with(
    state: &AppState,
    project_id: &str,
    service: &str,
    metric: &str,
    ask: Ask,
    capacity: Option<Capacity>,
) -> Result<Option<CapacityForecast>> {
    // Whole minutes, so that a bucket boundary never splits a minute rollup.
    let to_ms = state.now_ms().div_euclid(60_000) * 60_000;
    let from_ms = to_ms - ask.history_days * DAY_MS;
    let load =
        |from: i64, step: Step| load_history(state, project_id, service, metric, from, to_ms, step);
    let too_short = |days: i64| {
        ScalingError::invalid(format!(
            "needs at least {MIN_HISTORY_DAYS} days of `{metric}` for {service}; has {days}"
        ))
    };
    let found = match ask.step {
        Some(step) => load(from_ms, step).await?,
        None => match load(from_ms, Step::Day).await? {
            // Days with data count, before an hourly series that runs only
            // from the first report to the last.
            Some((daily, _)) if daily.days() < MIN_HISTORY_DAYS => {
                return Err(too_short(daily.days()));
            }
            // Too short for a weekly season: hourly steps from a day before
            // the daily series starts (its first, partial day was dropped).
            Some((daily, _)) if daily.values.len() < SEASONAL_DAYS => {
                let from = (daily.start_ms - DAY_MS)
                    .max(from_ms)
                    .max(to_ms - MAX_HOURLY_DAYS * DAY_MS);
                load(from, Step::Hour).await?
            }
            other => other,
        },
    };
    let Some((history, unit)) = found else {
        return Ok(None);
    };
    let days = history.days();
    // The daily series passed the check; its hourly one may fall a few hours short.
    if days < MIN_HISTORY_DAYS
        && (ask.step.is_some() || history.values.len() < scaling::forecast::MIN_POINTS)
    {
        return Err(too_short(days));
    }
    let step = history.step;
    let horizons: Vec<usize> = HORIZON_DAYS
        .iter()
        .map(|d| steps_until(history.end_ms(), to_ms + d * DAY_MS, step.millis()))
        .collect();
    let series = Series::new(history.start_ms, step.millis(), history.values.clone())
        .map_err(ScalingError::internal)?;
    let threshold = capacity.as_ref().map(|c| c.capacity);
    let asked = horizons.clone();
    let plan = tokio::task::spawn_blocking(move || {
        scaling::plan(&series, step.season(), &asked, threshold)
    })
    .await
    .map_err(ScalingError::internal)?
    .map_err(|e: ForecastError| {
        ScalingError::invalid(format!("no forecast of `{metric}` for {service}: {e}"))
    })?;
    let latest = history.values.last().copied().unwrap_or(0.0);
    let capacity_view = match &capacity {
        Some(c) => Some(capacity_view(c, latest, &plan)?),
        None => None,
    };
    let horizon_views = HORIZON_DAYS
        .iter()
        .zip(&plan.at_horizons)
        .map(|(&days, p)| {
            let upto = &plan.points[..p.step.min(plan.points.len())];
            let peak = upto.iter().map(|x| x.value).fold(f64::MIN, f64::max);
            let peak_hi95 = upto.iter().map(|x| x.hi95).fold(f64::MIN, f64::max);
            let advice = |load: f64| {
                capacity.as_ref().and_then(|c| {
                    scaling::replicas_for_peak(
                        load.max(0.0),
                        c.capacity / c.replicas as f64,
                        c.target_utilisation,
                    )
                    .ok()
                })
            };
            HorizonView {
                days,
                steps: p.step,
                at: format_ms(p.at_ms),
                value: p.value,
                lo80: p.lo80,
                hi80: p.hi80,
                lo95: p.lo95,
                hi95: p.hi95,
                peak,
                peak_hi95,
                replicas: advice(peak),
                replicas_hi95: advice(peak_hi95),
            }
        })
        .collect();
    let backtest = plan.backtest.map(|b| BacktestView {
        holdout: b.holdout,
        from: format_ms(history.end_ms() - b.holdout as i64 * step.millis()),
        mape: b.mape,
        mae: b.mae,
        rmse: b.rmse,
        coverage80: b.coverage80,
        coverage95: b.coverage95,
    });
    let (method, period, alpha, beta, gamma) = match plan.model {
        Model::Holt { alpha, beta } => ("holt", None, alpha, beta, None),
        Model::HoltWinters {
            period,
            alpha,
            beta,
            gamma,
        } => ("holt_winters", Some(period), alpha, beta, Some(gamma)),
    };
    Ok(Some(CapacityForecast {
        service: service.to_owned(),
        metric: metric.to_owned(),
        source: if metric == REQUESTS { "spans" } else { "otlp" }.to_owned(),
        unit,
        step,
        history_days: days,
        gaps_filled: history.filled,
        latest,
        model: ModelView {
            description: plan.description.clone(),
            method: method.to_owned(),
            period,
            alpha,
            beta,
            gamma,
            residual_sd: plan.residual_sd,
            clamped: plan.clamped,
        },
        history: history
            .values
            .iter()
            .enumerate()
            .map(|(i, &value)| {
                let at_ms = history.start_ms + i as i64 * step.millis();
                PointView {
                    at: format_ms(at_ms),
                    value,
                    at_ms,
                }
            })
            .collect(),
        forecast: plan.points.iter().map(BandView::of).collect(),
        horizons: horizon_views,
        capacity: capacity_view,
        backtest,
    }))
}

fn capacity_view(c: &Capacity, latest: f64, plan: &scaling::Plan) -> Result<CapacityView> {
    let at = |s: Option<StepTime>| s.map(|s| format_ms(s.at_ms));
    let utilisation = latest / c.capacity;
    let target = scaling::crossing(&plan.points, c.capacity * c.target_utilisation)
        .map_err(ScalingError::internal)?;
    Ok(CapacityView {
        capacity: c.capacity,
        replicas: c.replicas,
        target_utilisation: c.target_utilisation,
        per_replica: c.capacity / c.replicas as f64,
        updated_at: format_ms(c.updated_at),
        utilisation,
        replicas_now: u32::try_from(c.replicas)
            .ok()
            .and_then(|r| scaling::replicas(r, utilisation.max(0.0), c.target_utilisation).ok()),
        crossing: at(plan.crossing.and_then(|x| x.expected)),
        earliest_crossing: at(plan.crossing.and_then(|x| x.earliest)),
        target_crossing: at(target.expected),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(host: &str, points: &[(i64, f64)]) -> MetricLine {
        MetricLine {
            service: "shop".into(),
            host: Some(host.into()),
            points: points
                .iter()
                .map(|&(day, v)| (day * DAY_MS * NS_PER_MS, v))
                .collect(),
        }
    }

    #[test]
    fn interior_gaps_are_interpolated_and_the_ends_left() {
        let got = interpolate(&[None, Some(1.0), None, None, Some(4.0), None]);
        assert_eq!(
            got,
            vec![
                None,
                Some((1.0, false)),
                Some((2.0, true)),
                Some((3.0, true)),
                Some((4.0, false)),
                None
            ]
        );
        assert_eq!(interpolate(&[None, None]), vec![None, None]);
    }

    #[test]
    fn hosts_are_summed_over_the_time_each_ran() {
        // web-1 runs days 1 to 5 with a gap on day 3; web-2 joins on day 4.
        let lines = [
            line("web-1", &[(1, 1.0), (2, 2.0), (4, 4.0), (5, 5.0)]),
            line("web-2", &[(4, 10.0), (5, 10.0)]),
        ];
        let h = total_of(&lines, 0, 8, Step::Day).expect("data");
        assert_eq!(h.start_ms, DAY_MS);
        assert_eq!(h.values, vec![1.0, 2.0, 3.0, 14.0, 15.0]);
        assert_eq!(h.filled, 1);
        // No host on days 2 and 3: the totals around them are joined.
        let apart = [line("a", &[(1, 2.0)]), line("b", &[(4, 8.0)])];
        let h = total_of(&apart, 0, 6, Step::Day).expect("data");
        assert_eq!(h.values, vec![2.0, 4.0, 6.0, 8.0]);
        assert_eq!(h.filled, 2);
        assert_eq!(total_of(&[], 0, 6, Step::Day), None);
    }

    #[test]
    fn horizons_count_from_the_end_of_the_history() {
        assert_eq!(steps_until(0, 30 * DAY_MS, DAY_MS), 30);
        assert_eq!(steps_until(-2 * DAY_MS, 30 * DAY_MS, DAY_MS), 32);
        assert_eq!(steps_until(0, 30 * DAY_MS, HOUR_MS), 720);
        assert_eq!(steps_until(0, 0, DAY_MS), 1);
    }

    #[test]
    fn steps_parse_by_name() {
        assert_eq!(Step::parse("day"), Some(Step::Day));
        assert_eq!(Step::parse("1h"), Some(Step::Hour));
        assert_eq!(Step::parse("week"), None);
    }
}
