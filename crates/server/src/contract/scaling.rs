//! The scaling contract: capacity forecasts, per service and in brief, as
//! the API shows them and the CLI reads them back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The length of one step of a forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Day,
    Hour,
}

/// One observation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PointView {
    /// The start of the bucket.
    pub at: String,
    pub value: f64,
    #[serde(skip)]
    pub at_ms: i64,
}

/// One forecast step with its 80 % and 95 % prediction intervals.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BandView {
    /// The start of the bucket forecast.
    pub at: String,
    pub value: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
    #[serde(skip)]
    pub at_ms: i64,
}

/// The fitted model.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelView {
    /// The method and its parameters in words, e.g. `Holt-Winters additive,
    /// season 7 steps, α=0.30 β=0.05 γ=0.20`.
    pub description: String,
    /// holt_winters or holt.
    pub method: String,
    /// The season in steps, for Holt-Winters.
    pub period: Option<usize>,
    pub alpha: f64,
    pub beta: f64,
    pub gamma: Option<f64>,
    /// Standard deviation of the one-step errors, in the metric's unit.
    pub residual_sd: f64,
    /// Whether forecasts and bounds were raised to at least zero (the
    /// history has no negative value).
    pub clamped: bool,
}

/// The forecast some days ahead, and the replicas its peak needs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HorizonView {
    pub days: i64,
    /// Steps after the last observation.
    pub steps: usize,
    pub at: String,
    pub value: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
    /// The highest point forecast from now up to this horizon.
    pub peak: f64,
    /// The highest 95 % upper bound up to this horizon.
    pub peak_hi95: f64,
    /// Replicas that keep `peak` at the target utilisation:
    /// `ceil(peak / (capacity / replicas × target))`; with a capacity only.
    pub replicas: Option<u32>,
    /// The same for `peak_hi95`.
    pub replicas_hi95: Option<u32>,
}

/// The configured capacity and when the forecast reaches it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CapacityView {
    /// The most the current replicas together can take, in the metric's unit.
    pub capacity: f64,
    pub replicas: i64,
    /// The utilisation to scale for, in (0, 1].
    pub target_utilisation: f64,
    /// `capacity / replicas`: what one replica takes at 100 %.
    pub per_replica: f64,
    pub updated_at: String,
    /// The latest value over the capacity.
    pub utilisation: f64,
    /// The HPA's desired replicas now: `ceil(replicas × utilisation /
    /// target)`, unchanged within its 10 % tolerance.
    pub replicas_now: Option<u32>,
    /// When the point forecast first reaches the capacity, within 90 days.
    pub crossing: Option<String>,
    /// When the 95 % upper bound first reaches it: the earliest plausible date.
    pub earliest_crossing: Option<String>,
    /// When the point forecast first reaches capacity × target: the date to
    /// have scaled by.
    pub target_crossing: Option<String>,
}

/// How the model did on the last stretch of history, fitted without it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BacktestView {
    /// Steps held out: two seasons when they are at most 30 % of the
    /// history, else one season, or 20 % of the history if less.
    pub holdout: usize,
    /// The first step held out.
    pub from: String,
    /// Mean absolute percentage error, in percent; absent when every actual is 0.
    pub mape: Option<f64>,
    pub mae: f64,
    pub rmse: f64,
    /// Share of actuals inside the 80 % interval.
    pub coverage80: f64,
    /// Share of actuals inside the 95 % interval.
    pub coverage95: f64,
}

/// A service metric's history, forecast, capacity and backtest.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CapacityForecast {
    pub service: String,
    /// `requests` or an OTLP metric name.
    pub metric: String,
    /// spans (the request rate) or otlp (a metric, summed over hosts).
    pub source: String,
    pub unit: String,
    pub step: Step,
    /// Days of history the model was fitted to.
    pub history_days: i64,
    /// Buckets without data that were filled in (see the module docs).
    pub gaps_filled: usize,
    pub latest: f64,
    pub model: ModelView,
    pub history: Vec<PointView>,
    /// Every step up to 90 days ahead.
    pub forecast: Vec<BandView>,
    /// 30, 60 and 90 days ahead.
    pub horizons: Vec<HorizonView>,
    pub capacity: Option<CapacityView>,
    pub backtest: Option<BacktestView>,
}

/// Where a service metric stands, in brief.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MetricSummary {
    pub metric: String,
    pub unit: Option<String>,
    pub latest: Option<f64>,
    pub model: Option<String>,
    /// The point forecasts 30, 60 and 90 days ahead.
    pub horizons: Vec<HorizonValue>,
    pub capacity: Option<f64>,
    pub crossing: Option<String>,
    pub earliest_crossing: Option<String>,
    /// Replicas for the 90-day peak at the target utilisation.
    pub replicas_90d: Option<u32>,
    /// Backtest MAPE in percent.
    pub mape: Option<f64>,
    /// Why there is no forecast (too little history, no data).
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HorizonValue {
    pub days: i64,
    pub value: f64,
}

/// A service and its metrics.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceCapacity {
    pub service: String,
    pub metrics: Vec<MetricSummary>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityBody {
    /// The most the current replicas together can take, in the metric's unit.
    pub capacity: f64,
    /// The replicas that take it: 1 to 10000.
    pub replicas: i64,
    /// The utilisation to scale for, in (0, 1]; 0.7 by default.
    pub target_utilisation: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CapacitySettingView {
    pub service: String,
    pub metric: String,
    pub capacity: f64,
    pub replicas: i64,
    pub target_utilisation: f64,
    /// `capacity / replicas`.
    pub per_replica: f64,
    pub updated_at: String,
}

/// How long a project keeps one kind of telemetry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RetentionKindView {
    /// events, spans, metrics or rollups.
    pub kind: String,
    /// Days kept; null keeps everything.
    pub days: Option<i64>,
    /// Days kept when the project sets nothing; null keeps everything.
    pub default_days: Option<i64>,
    /// Whether the project has set this kind's retention.
    pub set: bool,
}

/// How long a project keeps each kind of telemetry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RetentionView {
    pub kinds: Vec<RetentionKindView>,
}

impl RetentionView {
    /// The days `kind` is kept; `None` keeps everything.
    pub fn days(&self, kind: liveops_core::scaling::retention::Kind) -> Option<i64> {
        self.kinds
            .iter()
            .find(|k| k.kind == kind.as_str())
            .and_then(|k| k.days)
    }
}

/// A new retention for one kind.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
    /// Days to keep, 1 to 3650; null keeps everything. Required, so that
    /// a body that forgot it never means "keep everything".
    #[serde(deserialize_with = "Option::deserialize")]
    pub days: Option<i64>,
}
